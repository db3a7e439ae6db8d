package dev.ferrolock

import java.io.Closeable
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.flow
import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds
import dev.ferrolock.ffi.Events as NativeEvents
import dev.ferrolock.ffi.Locks as NativeLocks

/**
 * A connection to one backend, chosen by URL: `memory://NAME`,
 * `sqlite:///path/locks.db`, `redis://host:6379`, `postgres://…`.
 *
 * ```kotlin
 * Locks.connect("redis://127.0.0.1:6379").use { locks ->
 *     val total = locks.lock("invoice:42").withLock { held -> compute(held.fence) }
 * }
 * ```
 */
class Locks private constructor(private val native: NativeLocks) : Closeable {
    /** `memory`, `sqlite`, `redis` or `postgres`. */
    val backend: String get() = native.backend()
    val namespace: String get() = native.namespace()
    /** The URL, its password replaced by `***`. */
    val url: String get() = native.url()
    /** What this backend can do. */
    val capabilities: Capabilities
        get() = native.capabilities().let {
            Capabilities(it.maxTtlMs.toLong().milliseconds, it.shared, it.handoff, it.queue, it.notices)
        }

    /**
     * The lock [name] with these options (no I/O: a bad name or ttl is
     * reported by its first operation). [ttl] is the lease's time to live,
     * renewed at ttl/3 while held unless [autoRenew] is false.
     */
    fun lock(
        name: String,
        ttl: Duration = Lock.DEFAULT_TTL,
        shared: Boolean = false,
        holder: String? = null,
        autoRenew: Boolean = true,
    ): Lock = Lock(native.lock(name, ttl.millis(), shared, holder, autoRenew))

    /** The lock [name], exclusive, ttl 30 s, renewed (Java). */
    fun lock(name: String): Lock = lock(name, Lock.DEFAULT_TTL)

    /** The lock [name] with these options (Java). */
    @JvmOverloads
    fun lock(
        name: String,
        ttl: java.time.Duration,
        shared: Boolean = false,
        holder: String? = null,
        autoRenew: Boolean = true,
    ): Lock = Lock(native.lock(name, ttl.millis(), shared, holder, autoRenew))

    /** An armed handle from a token written by `intoToken` in any process or language. */
    suspend fun resume(token: String): Held = Held(native { native.resume(token) })

    /** [resume], blocking (Java). */
    fun resumeBlocking(token: String): Held = Held(native { native.resumeBlocking(token) })

    /** Who holds [name], or null when it is free. */
    suspend fun state(name: String): LockInfo? = native { native.state(name) }?.let(LockInfo::of)

    fun stateBlocking(name: String): LockInfo? = native { native.stateBlocking(name) }?.let(LockInfo::of)

    /** The held locks whose names start with [prefix]. */
    suspend fun list(prefix: String = ""): List<LockInfo> = native { native.list(prefix) }.map(LockInfo::of)

    @JvmOverloads
    fun listBlocking(prefix: String = ""): List<LockInfo> = native { native.listBlocking(prefix) }.map(LockInfo::of)

    /** Free [name] whoever holds it (an administrator's tool); whether it was held. */
    suspend fun forceRelease(name: String): Boolean = native { native.forceRelease(name) }

    fun forceReleaseBlocking(name: String): Boolean = native { native.forceReleaseBlocking(name) }

    /** Check the backend answers. */
    suspend fun ping() = native { native.ping() }

    fun pingBlocking() = native { native.pingBlocking() }

    /**
     * The provider's events from now on, as a Flow (subscribed when this is
     * called, so nothing done after the call is missed; collect it once).
     * It ends when the provider is closed.
     */
    fun events(): Flow<LockEvent> = subscribe().asFlow()

    /** A subscription to the provider's events from now on (Java: [Subscription.nextBlocking]). */
    fun subscribe(): Subscription = Subscription(native.events())

    /** Close without blocking a thread: pending waits end with [ClosedException]. */
    suspend fun shutdown() = native.shutdown()

    /**
     * Close: pending waits end with [ClosedException], renewals stop, later
     * calls are [ClosedException]. A second close does nothing.
     */
    override fun close() = native.shutdownBlocking()

    override fun toString(): String = "Locks(url=$url)"

    companion object {
        init {
            // A suspended call is resumed by the Rust runtime's thread that
            // got the reply, through a JNA callback: keep that thread
            // attached to the JVM (as a daemon) instead of JNA's default,
            // attaching and detaching it on every wake-up.
            com.sun.jna.Native.setCallbackThreadInitializer(
                dev.ferrolock.ffi.uniffiRustFutureContinuationCallbackImpl,
                com.sun.jna.CallbackThreadInitializer(true, false, "ferrolock-wake"),
            )
        }

        /** Connect to the backend [url] names ("" : [defaultUrl]). */
        suspend fun connect(url: String = ""): Locks = Locks(native { dev.ferrolock.ffi.connect(url) })

        /** [connect], blocking the calling thread (Java). */
        @JvmStatic
        @JvmOverloads
        fun connectBlocking(url: String = ""): Locks = Locks(native { dev.ferrolock.ffi.connectBlocking(url) })
    }
}

/** A subscription to a provider's events. Slow readers skip events rather than slow the locks. */
class Subscription internal constructor(private val native: NativeEvents) : Closeable {
    /** The next event; null once the provider is closed. */
    suspend fun next(): LockEvent? = native { native.next() }?.let(LockEvent::of)

    /** The next event within [timeout], or null (Java). */
    fun nextBlocking(timeout: java.time.Duration): LockEvent? =
        native { native.nextBlocking(timeout.millis()) }?.let(LockEvent::of)

    /** The next event if one is ready, without waiting. */
    fun tryNext(): LockEvent? = native.tryNext()?.let(LockEvent::of)

    /** The events as a Flow, ending when the provider is closed. */
    fun asFlow(): Flow<LockEvent> = flow {
        while (true) emit(next() ?: break)
    }

    override fun close() = native.close()
}
