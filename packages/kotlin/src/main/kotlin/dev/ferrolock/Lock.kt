package dev.ferrolock

import kotlinx.coroutines.NonCancellable
import kotlinx.coroutines.withContext
import kotlin.time.Duration
import kotlin.time.Duration.Companion.seconds
import dev.ferrolock.ffi.Lock as NativeLock

/** A named lock with its options, made by [Locks.lock]. No I/O until used. */
class Lock internal constructor(private val native: NativeLock) {
    val name: String get() = native.name()

    /** Take the lock if it is free now; null if someone holds it. Never waits. */
    suspend fun tryAcquire(): Held? = native { native.tryAcquire() }?.let(::Held)

    /**
     * Wait up to [timeout] ([Duration.INFINITE]: forever) for the lock;
     * [LockTimeoutException] after it. Cancelling the coroutine ends the
     * wait and leaves the queue; nothing stays held.
     */
    suspend fun acquire(timeout: Duration = DEFAULT_TIMEOUT): Held = Held(native { native.acquire(timeout.millis()) })

    /** Like [acquire], but null instead of a [LockTimeoutException]. */
    suspend fun acquireOrNull(timeout: Duration = DEFAULT_TIMEOUT): Held? =
        native { native.acquireOrNone(timeout.millis()) }?.let(::Held)

    /**
     * Acquire (waiting up to [timeout]), run [block] while the lock is
     * renewed, then release it (also when the block throws or is
     * cancelled). Returns the block's value; [LockLostException] after the
     * block if the lock was lost meanwhile (unless the block threw: its
     * exception goes on).
     */
    suspend fun <T> withLock(timeout: Duration = DEFAULT_TIMEOUT, block: suspend (Held) -> T): T {
        val held = acquire(timeout)
        val value = try {
            block(held)
        } catch (t: Throwable) {
            withContext(NonCancellable) { held.finish(bodyFailed = true) }
            throw t
        }
        withContext(NonCancellable) { held.finish(bodyFailed = false) }
        return value
    }

    /** [tryAcquire], blocking the calling thread (Java). */
    fun tryAcquireBlocking(): Held? = native { native.tryAcquireBlocking() }?.let(::Held)

    /** [acquire], blocking (Kotlin). */
    fun acquireBlocking(timeout: Duration = DEFAULT_TIMEOUT): Held = Held(native { native.acquireBlocking(timeout.millis()) })

    /** [acquire], blocking (Java). */
    fun acquireBlocking(timeout: java.time.Duration): Held = Held(native { native.acquireBlocking(timeout.millis()) })

    /** [acquireOrNull], blocking (Java). */
    fun acquireOrNullBlocking(timeout: java.time.Duration): Held? =
        native { native.acquireOrNoneBlocking(timeout.millis()) }?.let(::Held)

    /** [withLock] for Java: the body runs on the calling thread. */
    fun <T> withLockBlocking(timeout: java.time.Duration, body: java.util.function.Function<Held, T>): T {
        val held = acquireBlocking(timeout)
        val value = try {
            body.apply(held)
        } catch (t: Throwable) {
            held.finishBlocking(bodyFailed = true)
            throw t
        }
        held.finishBlocking(bodyFailed = false)
        return value
    }

    companion object {
        /** The ttl of a lock that sets none (30 s). */
        val DEFAULT_TTL: Duration = 30.seconds
        /** How long forms without a timeout wait (10 s). */
        val DEFAULT_TIMEOUT: Duration = 10.seconds
    }
}
