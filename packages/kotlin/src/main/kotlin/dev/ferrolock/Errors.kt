package dev.ferrolock

import dev.ferrolock.ffi.FfiException
import dev.ferrolock.ffi.InternalException

/**
 * Every ferrolock error: [code] is the stable code of the error table
 * (`INVALID_ARGUMENT`, `TIMEOUT`, `BACKEND_UNAVAILABLE`…), the same in
 * every language. Messages name what is wrong and never show a password.
 */
open class LockException(message: String, val code: String, cause: Throwable? = null) :
    RuntimeException(message, cause)

/** A bad argument: a name, namespace, ttl, timeout, holder or URL. */
open class InvalidArgumentException(message: String, code: String = "INVALID_ARGUMENT", cause: Throwable? = null) :
    LockException(message, code, cause)

/** A malformed, truncated, oversized or foreign token. */
class InvalidTokenException(message: String, cause: Throwable? = null) :
    InvalidArgumentException(message, "INVALID_TOKEN", cause)

/** The lock could not be had within the timeout. */
class LockTimeoutException(message: String, cause: Throwable? = null) : LockException(message, "TIMEOUT", cause)

/** The lock was lost: it expired or was taken over (or force-released). */
class LockLostException(message: String, cause: Throwable? = null) : LockException(message, "LOST", cause)

/** The handle was already released or handed off. */
class NotHeldException(message: String, cause: Throwable? = null) : LockException(message, "NOT_HELD", cause)

/** The backend cannot do this operation. */
class UnsupportedException(message: String, cause: Throwable? = null) : LockException(message, "UNSUPPORTED", cause)

/** The backend could not be reached or failed; [cause] carries its own error. */
class BackendUnavailableException(message: String, cause: Throwable? = null) :
    LockException(message, "BACKEND_UNAVAILABLE", cause)

/** The provider was closed. */
class ClosedException(message: String, cause: Throwable? = null) : LockException(message, "CLOSED", cause)

/** The backend's own error, as the [Throwable.cause] of a [LockException]. */
class BackendCause(message: String) : RuntimeException(message)

/** The one mapping from the native error to this package's exceptions. */
internal fun lockException(e: Throwable): Throwable = when (e) {
    is FfiException -> {
        val (code, detail, cause) = when (e) {
            is FfiException.InvalidArgument -> Triple(e.code, e.detail, e.backendCause)
            is FfiException.InvalidToken -> Triple(e.code, e.detail, e.backendCause)
            is FfiException.Timeout -> Triple(e.code, e.detail, e.backendCause)
            is FfiException.Lost -> Triple(e.code, e.detail, e.backendCause)
            is FfiException.NotHeld -> Triple(e.code, e.detail, e.backendCause)
            is FfiException.Unsupported -> Triple(e.code, e.detail, e.backendCause)
            is FfiException.Unavailable -> Triple(e.code, e.detail, e.backendCause)
            is FfiException.Closed -> Triple(e.code, e.detail, e.backendCause)
            is FfiException.Internal -> Triple(e.code, e.detail, e.backendCause)
        }
        val c = cause?.let { BackendCause(it) }
        when (e) {
            is FfiException.InvalidArgument -> InvalidArgumentException(detail, code, c)
            is FfiException.InvalidToken -> InvalidTokenException(detail, c)
            is FfiException.Timeout -> LockTimeoutException(detail, c)
            is FfiException.Lost -> LockLostException(detail, c)
            is FfiException.NotHeld -> NotHeldException(detail, c)
            is FfiException.Unsupported -> UnsupportedException(detail, c)
            is FfiException.Unavailable -> BackendUnavailableException(detail, c)
            is FfiException.Closed -> ClosedException(detail, c)
            is FfiException.Internal -> LockException(detail, code, c)
        }
    }
    // A panic caught at the boundary (UniFFI's own exception).
    is InternalException -> LockException("internal error: ${e.message}", "INTERNAL", e)
    else -> e
}

/** Run a native call, its errors mapped. */
internal inline fun <T> native(call: () -> T): T =
    try {
        call()
    } catch (e: FfiException) {
        throw lockException(e)
    } catch (e: InternalException) {
        throw lockException(e)
    }
