package dev.ferrolock

import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/** tests/vectors/tokens.json and errors.json, as every suite reads them. */
class VectorsTest {
    @Test
    fun `valid tokens decode to their fields`() {
        val valid = vectors("tokens.json").getAsJsonArray("valid")
        assertTrue(valid.size() > 0)
        for (v in valid.map { it.asJsonObject }) {
            val info = decodeToken(v["token"].asString)
            assertEquals(v["backend"].asString, info.backend)
            assertEquals(v["namespace"].asString, info.namespace)
            assertEquals(v["name"].asString, info.name)
            assertEquals(v["mode"].asString, info.mode.wire)
            assertEquals(v["holder"].asString, info.holder)
            // Integers are strings in the vectors: u64 read as unsigned.
            assertEquals(v["fence"].asString, java.lang.Long.toUnsignedString(info.fence))
            assertEquals(v["expires_at_ms"].asString, info.expiresAtMs.toString())
            assertEquals(v["ttl_ms"].asString, info.ttlMs.toString())
        }
    }

    @Test
    fun `invalid tokens are INVALID_TOKEN`() {
        val invalid = vectors("tokens.json").getAsJsonArray("invalid")
        assertTrue(invalid.size() > 0)
        for (v in invalid.map { it.asJsonObject }) {
            val e = runBlocking { expect<LockException> { decodeToken(v["token"].asString) } }
            assertEquals(v["error"].asString, e.code, v["why"].asString)
            assertTrue(e is InvalidTokenException && e is InvalidArgumentException, "${v["why"]}: $e")
        }
    }

    @Test
    fun `the native error codes are those of errors json`() {
        val table = vectors("errors.json").getAsJsonArray("errors").map { it.asJsonObject }
        val native = dev.ferrolock.ffi.errorCodes().map { it.kind to it.code }
        assertEquals(table.map { it["kind"].asString to it["code"].asString }, native)
    }

    /** Each kind's exception class: its code, and the classes it extends. */
    @Test
    fun `each kind maps to its exception with its code`() {
        val classes = mapOf(
            "InvalidArgument" to InvalidArgumentException::class.java,
            "InvalidToken" to InvalidTokenException::class.java,
            "Timeout" to LockTimeoutException::class.java,
            "Lost" to LockLostException::class.java,
            "NotHeld" to NotHeldException::class.java,
            "Unsupported" to UnsupportedException::class.java,
            "Unavailable" to BackendUnavailableException::class.java,
            "Closed" to ClosedException::class.java,
            "Internal" to LockException::class.java,
        )
        val table = vectors("errors.json").getAsJsonArray("errors").map { it.asJsonObject }
        assertEquals(classes.keys, table.map { it["kind"].asString }.toSet())
        for (row in table) {
            val kind = row["kind"].asString
            val code = row["code"].asString
            val variant = when (kind) {
                "InvalidArgument" -> dev.ferrolock.ffi.FfiException.InvalidArgument(code, "d", null)
                "InvalidToken" -> dev.ferrolock.ffi.FfiException.InvalidToken(code, "d", null)
                "Timeout" -> dev.ferrolock.ffi.FfiException.Timeout(code, "d", null)
                "Lost" -> dev.ferrolock.ffi.FfiException.Lost(code, "d", null)
                "NotHeld" -> dev.ferrolock.ffi.FfiException.NotHeld(code, "d", null)
                "Unsupported" -> dev.ferrolock.ffi.FfiException.Unsupported(code, "d", null)
                "Unavailable" -> dev.ferrolock.ffi.FfiException.Unavailable(code, "d", "refused")
                "Closed" -> dev.ferrolock.ffi.FfiException.Closed(code, "d", null)
                else -> dev.ferrolock.ffi.FfiException.Internal(code, "d", null)
            }
            val e = lockException(variant) as LockException
            assertEquals(classes.getValue(kind), e.javaClass, kind)
            assertEquals(code, e.code)
            if (kind == "Unavailable") assertEquals("refused", e.cause?.message)
        }
        // InvalidToken is an InvalidArgument, as in Python.
        assertTrue(InvalidArgumentException::class.java.isAssignableFrom(InvalidTokenException::class.java))
    }

    @Test
    fun `an unreachable backend is BACKEND_UNAVAILABLE with its cause and no password`() = runBlocking {
        // A port nobody listens on (bound, then closed).
        val port = java.net.ServerSocket(0).use { it.localPort }
        val e = expect<BackendUnavailableException> { Locks.connect("redis://:hunter2@127.0.0.1:$port") }
        assertEquals("BACKEND_UNAVAILABLE", e.code)
        assertTrue("hunter2" !in e.message!!, e.message)
        assertTrue("hunter2" !in (e.cause?.message ?: ""), e.cause?.message)
    }
}
