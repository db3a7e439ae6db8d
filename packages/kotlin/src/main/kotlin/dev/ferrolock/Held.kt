package dev.ferrolock

import java.io.Closeable
import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds
import dev.ferrolock.ffi.Held as NativeHeld

/**
 * Proof of an acquired lock. Renewed in the background (at ttl/3) unless
 * its lock was made with `autoRenew = false`; `close()` (and `use {}`)
 * releases it. A handle garbage-collected without a release releases its
 * lock too, but later: release it.
 */
class Held internal constructor(internal val native: NativeHeld) : Closeable {
    val name: String get() = native.name()
    val namespace: String get() = native.namespace()
    /** The fencing token: higher than every earlier acquisition's of this lock. */
    val fence: Long get() = native.fence().toLong()
    val mode: LockMode get() = LockMode.of(native.mode())
    val holder: String get() = native.holder()
    /** The ttl renewals use. */
    val ttl: Duration get() = native.ttlMs().toLong().milliseconds
    /** When the lease expires unless renewed, in unix milliseconds. */
    val expiresAtMs: Long get() = native.expiresAtMs().toLong()
    /** Whether the lock was found lost (by renewal or refresh). */
    val isLost: Boolean get() = native.isLost()
    /** Whether this handle still owns the lock (not released or handed off). */
    val isArmed: Boolean get() = native.isArmed()

    /** Release; whether this handle still held the lock (false the second time). */
    suspend fun release(): Boolean = native { native.release() }

    /** [release], blocking the calling thread (Java). */
    fun releaseBlocking(): Boolean = native { native.releaseBlocking() }

    /** Extend the lease to [ttl] from now; later renewals use it too. [LockLostException] if lost. */
    suspend fun refresh(ttl: Duration) = native { native.refresh(ttl.millis()) }

    /** [refresh], blocking (Kotlin). */
    fun refreshBlocking(ttl: Duration) = native { native.refreshBlocking(ttl.millis()) }

    /** [refresh], blocking (Java). */
    fun refreshBlocking(ttl: java.time.Duration) = native { native.refreshBlocking(ttl.millis()) }

    /**
     * Hand the lock off: its token, which [Locks.resume] takes in any process
     * or language. This handle is disarmed (releases and renews nothing).
     */
    fun intoToken(): String = native { native.takeToken() }

    /** Wait until the lock is found lost, up to [timeout]; whether it was. */
    suspend fun awaitLost(timeout: Duration = Duration.INFINITE): Boolean = native { native.waitLost(timeout.millis()) }

    internal suspend fun finish(bodyFailed: Boolean) = native { native.finish(bodyFailed) }
    internal fun finishBlocking(bodyFailed: Boolean) = native { native.finishBlocking(bodyFailed) }

    /** Release if still held (`use {}`). */
    override fun close() {
        if (native.isArmed()) releaseBlocking()
    }

    override fun toString(): String = "Held(name=$name, fence=$fence, mode=${mode.wire})"
}
