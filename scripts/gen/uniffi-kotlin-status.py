"""Patch uniffi-bindgen 0.32's Kotlin: reuse each thread's call status.

The generated `uniffiRustCallWithError` allocates a `UniffiRustCallStatus`
(a JNA Structure, with a nested RustBuffer.ByValue) for every crossing into
Rust, a method call costing two (the handle's clone, then the call). Each
allocates JNA `Memory`, which JNA tracks in one global ConcurrentHashMap
keyed by address and frees only after a GC, from its cleaner thread: in
bench/run-kotlin that map's inserts, resizes and tree bins were over half of
a memory pair's ~50 µs (JFR). A status is only read after its call returns,
so each thread keeps one for its next call; a call made while that one is in
use (a callback into Kotlin that calls Rust again) makes its own, as before.

Reads the generated file on stdin, writes the patched one on stdout; fails
if the generated code no longer has the expected shape (a new uniffi).
"""
import sys

src = sys.stdin.read()
old = """private inline fun <U, E: kotlin.Exception> uniffiRustCallWithError(errorHandler: UniffiRustCallStatusErrorHandler<E>, callback: (UniffiRustCallStatus) -> U): U {
    var status = UniffiRustCallStatus()
    val return_value = callback(status)
    uniffiCheckCallStatus(errorHandler, status)
    return return_value
}
"""
new = """private inline fun <U, E: kotlin.Exception> uniffiRustCallWithError(errorHandler: UniffiRustCallStatusErrorHandler<E>, callback: (UniffiRustCallStatus) -> U): U {
    // Patched by scripts/gen/uniffi-kotlin-status.py: one status per thread, reused.
    val status = uniffiIdleStatus.get() ?: UniffiRustCallStatus()
    uniffiIdleStatus.set(null)
    status.code = UNIFFI_CALL_SUCCESS
    status.error_buf.capacity = 0
    status.error_buf.len = 0
    status.error_buf.data = null
    try {
        val return_value = callback(status)
        uniffiCheckCallStatus(errorHandler, status)
        return return_value
    } finally {
        uniffiIdleStatus.set(status)
    }
}

/** Each thread's call status between calls (scripts/gen/uniffi-kotlin-status.py). */
private val uniffiIdleStatus = ThreadLocal<UniffiRustCallStatus?>()
"""
if src.count(old) != 1:
    sys.exit("scripts/gen/uniffi-kotlin-status.py: uniffiRustCallWithError is not as expected; "
             "check what uniffi-bindgen generates now before patching it")
sys.stdout.write(src.replace(old, new))
