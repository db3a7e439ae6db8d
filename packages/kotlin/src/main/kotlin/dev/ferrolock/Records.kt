@file:JvmName("Ferrolock")

package dev.ferrolock

import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds
import dev.ferrolock.ffi.LockMode as NativeMode
import dev.ferrolock.ffi.EventKind as NativeEventKind

/** Exclusive (one holder) or shared (many readers, no writer meanwhile). */
enum class LockMode(val wire: String) {
    EXCLUSIVE("exclusive"),
    SHARED("shared");

    internal companion object {
        fun of(m: NativeMode): LockMode = when (m) {
            NativeMode.EXCLUSIVE -> EXCLUSIVE
            NativeMode.SHARED -> SHARED
        }
    }
}

/** What an event reports; [wire] is the name every language uses (`timed_out`…). */
enum class EventKind(val wire: String) {
    ACQUIRED("acquired"),
    RELEASED("released"),
    QUEUED("queued"),
    TIMED_OUT("timed_out"),
    RENEWED("renewed"),
    LOST("lost"),
    FORCE_RELEASED("force_released");

    internal companion object {
        fun of(k: NativeEventKind): EventKind = when (k) {
            NativeEventKind.ACQUIRED -> ACQUIRED
            NativeEventKind.RELEASED -> RELEASED
            NativeEventKind.QUEUED -> QUEUED
            NativeEventKind.TIMED_OUT -> TIMED_OUT
            NativeEventKind.RENEWED -> RENEWED
            NativeEventKind.LOST -> LOST
            NativeEventKind.FORCE_RELEASED -> FORCE_RELEASED
        }
    }
}

/** One held lock, as [Locks.state] and [Locks.list] report it. Never an owner id. */
data class LockInfo(
    val name: String,
    /** The fence of the (latest) acquisition. */
    val fence: Long,
    val mode: LockMode,
    /** The holder label (of one reader, for a shared lock). */
    val holder: String,
    /** How long until the lease expires unless renewed. */
    val expiresIn: Duration,
    /** How many hold it shared (0 for an exclusive lock). */
    val readers: Int,
) {
    /** [expiresIn] in milliseconds, for Java. */
    val expiresInMillis: Long get() = expiresIn.inWholeMilliseconds

    internal companion object {
        fun of(i: dev.ferrolock.ffi.LockInfo) = LockInfo(
            i.name, i.fence.toLong(), LockMode.of(i.mode), i.holder, i.expiresInMs.toLong().milliseconds, i.readers.toInt(),
        )
    }
}

/** What a backend can do. */
data class Capabilities(
    /** The longest ttl the backend accepts. */
    val maxTtl: Duration,
    /** Shared (reader) locks. */
    val shared: Boolean,
    /** Locks outlive their process, so they can be handed off as tokens. */
    val handoff: Boolean,
    /** A FIFO wait queue kept in the backend. */
    val queue: Boolean,
    /** The backend tells waiters when a lock may be free. */
    val notices: Boolean,
)

/** One event of a provider. Never an owner id. */
data class LockEvent(
    val kind: EventKind,
    val namespace: String,
    val name: String,
    /** The fence of the acquisition concerned (0 where there is none). */
    val fence: Long,
    val mode: LockMode,
    val holder: String,
) {
    internal companion object {
        fun of(e: dev.ferrolock.ffi.LockEvent) =
            LockEvent(EventKind.of(e.kind), e.namespace, e.name, e.fence.toLong(), LockMode.of(e.mode), e.holder)
    }
}

/**
 * The public fields of a token (never its owner id). [fence] is the
 * token's 64-bit unsigned fence as a Long (above Long.MAX_VALUE it reads
 * negative: `java.lang.Long.toUnsignedString(fence)` shows it).
 */
data class TokenInfo(
    val backend: String,
    val namespace: String,
    val name: String,
    val fence: Long,
    val mode: LockMode,
    val expiresAtMs: Long,
    val ttlMs: Long,
    val holder: String,
)

/** A token's public fields, checking its format ([InvalidTokenException] if bad). */
fun decodeToken(token: String): TokenInfo = native {
    val i = dev.ferrolock.ffi.decodeToken(token)
    TokenInfo(
        i.backend, i.namespace, i.name, i.fence.toLong(), LockMode.of(i.mode),
        i.expiresAtMs.toLong(), i.ttlMs.toLong(), i.holder,
    )
}

/** The URL [Locks.connect] uses without one: `$FERROLOCK_URL`, else a SQLite file. */
fun defaultUrl(): String = dev.ferrolock.ffi.defaultUrl()

/** A duration as milliseconds for the native library (INFINITE: Long.MAX_VALUE). */
internal fun Duration.millis(): Long = if (this == Duration.INFINITE) Long.MAX_VALUE else inWholeMilliseconds

internal fun java.time.Duration.millis(): Long =
    try {
        toMillis()
    } catch (_: ArithmeticException) {
        if (isNegative) Long.MIN_VALUE else Long.MAX_VALUE
    }
