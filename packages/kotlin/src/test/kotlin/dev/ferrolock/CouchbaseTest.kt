package dev.ferrolock

import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Tag
import org.junit.jupiter.api.Test
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds
import kotlin.time.TimeSource

/**
 * BoxLang CouchbaseLock's usage patterns in Kotlin, on gocaves (Couchbase's
 * mock cluster, started by scripts/suites/kotlin or scripts/test:
 * FERROLOCK_TEST_COUCHBASE_URL, mode=getl), as core/tests/couchbase.rs has
 * them in Rust: the callback form (`withLock`), the manual form with
 * try/finally and `use {}`, `acquireOrNull` on a held lock
 * (throwOnTimeout=false), `bypass`, the 31 s error, a lock handed by token
 * to another JVM that releases it, and what get-and-lock refuses.
 */
@Tag("servers")
class CouchbaseTest {
    private var seq = 0

    /** A namespace of its own on the getl cluster, for one test. */
    private fun getlUrl(): String = withQuery(
        env("FERROLOCK_TEST_COUCHBASE_URL"),
        "namespace=boxlang-${ProcessHandle.current().pid()}-${System.currentTimeMillis()}-${++seq}",
    )

    @Test
    fun `the callback form runs the body under the lock`(): Unit = runBlocking {
        Locks.connect(getlUrl()).use { locks ->
            val caps = locks.capabilities
            assertEquals(Triple(30.seconds, false, true), Triple(caps.maxTtl, caps.shared, caps.handoff))
            val lock = locks.lock("invoice", ttl = 10.seconds)
            val fence = lock.withLock(5.seconds) { held ->
                assertTrue(locks.state("invoice") != null)
                held.fence
            }
            assertEquals(1L, fence)
            assertNull(locks.state("invoice"))
            // A failing body's exception comes back, and the lock is released too.
            val bad = IllegalStateException("the work failed")
            val thrown = runCatching { lock.withLock<Unit> { throw bad } }.exceptionOrNull()
            assertTrue(thrown === bad, "$thrown")
            assertNull(locks.state("invoice"))
        }
    }

    @Test
    fun `the manual form releases in finally and in use`(): Unit = runBlocking {
        Locks.connect(getlUrl()).use { locks ->
            val lock = locks.lock("invoice", ttl = 10.seconds)
            val held = lock.acquire(5.seconds)
            try {
                val state = locks.state("invoice")!!
                assertEquals(held.fence, state.fence)
                assertEquals(LockMode.EXCLUSIVE, state.mode)
                assertEquals(held.holder, state.holder)
                assertTrue(state.expiresIn > 5.seconds && state.expiresIn <= 10.seconds, "${state.expiresIn}")
            } finally {
                assertTrue(held.release())
            }
            assertNull(locks.state("invoice"))
            // use {} (Closeable) releases when the work throws too.
            val thrown = runCatching {
                lock.acquire(5.seconds).use { h ->
                    assertEquals(2L, h.fence)
                    error("the work failed")
                }
            }.exceptionOrNull()
            assertTrue(thrown is IllegalStateException, "$thrown")
            assertNull(locks.state("invoice"))
        }
    }

    @Test
    fun `acquireOrNull on a held lock is null without waiting out the lock`(): Unit = runBlocking {
        val url = getlUrl()
        Locks.connect(url).use { locks ->
            Locks.connect(url).use { other ->
                val held = locks.lock("invoice", ttl = 10.seconds).tryAcquire()!!
                val start = TimeSource.Monotonic.markNow()
                assertNull(other.lock("invoice", ttl = 10.seconds).acquireOrNull(300.milliseconds))
                val waited = start.elapsedNow()
                assertTrue(waited >= 290.milliseconds && waited < 3.seconds, "waited $waited")
                assertTrue(held.release())
                val next = other.lock("invoice", ttl = 10.seconds).acquireOrNull(300.milliseconds)!!
                assertEquals(held.fence + 1, next.fence)
                assertTrue(next.release())
            }
        }
    }

    @Test
    fun `bypass grants every lock without touching Couchbase`(): Unit = runBlocking {
        val url = getlUrl()
        Locks.connect(url).use { locks ->
            Locks.connect(withQuery(url, "bypass=true")).use { bypass ->
                val a = bypass.lock("invoice").tryAcquire()!!
                val b = bypass.lock("invoice").tryAcquire()!!
                assertEquals(0L to 0L, a.fence to b.fence)
                assertEquals(0L, bypass.lock("invoice").withLock { it.fence })
                assertNull(locks.state("invoice"))
                a.release()
                b.release()
                // The real lock was untouched: its first fence is still 1.
                assertEquals(1L, locks.lock("invoice").withLock { it.fence })
            }
        }
    }

    @Test
    fun `a ttl above 30 s is INVALID_ARGUMENT naming the limit`(): Unit = runBlocking {
        Locks.connect(getlUrl()).use { locks ->
            val e = expect<InvalidArgumentException> { locks.lock("long", ttl = 31.seconds).tryAcquire() }
            assertEquals("INVALID_ARGUMENT", e.code)
            assertTrue("31s" in e.message!! && "30s" in e.message!!, e.message)
            val half = expect<InvalidArgumentException> { locks.lock("half", ttl = 1500.milliseconds).tryAcquire() }
            assertTrue("whole number of seconds" in half.message!!, half.message)
            // 30 s itself is fine.
            assertEquals(1L, locks.lock("long", ttl = 30.seconds).withLock { it.fence })
        }
    }

    @Test
    fun `getl refuses what get-and-lock cannot do`(): Unit = runBlocking {
        Locks.connect(getlUrl()).use { locks ->
            val held = locks.lock("caps", ttl = 10.seconds).tryAcquire()!!
            for ((operation, call) in listOf<Pair<String, suspend () -> Any?>>(
                "refresh" to { held.refresh(10.seconds) },
                "force_release" to { locks.forceRelease("caps") },
                "shared" to { locks.lock("caps-r", shared = true).tryAcquire() },
                "list" to { locks.list() },
            )) {
                val e = expect<UnsupportedException> { call() }
                assertEquals("UNSUPPORTED", e.code)
                assertTrue("couchbase" in e.message!! && operation in e.message!!, e.message)
            }
            // None of them freed it: only its holder (the CAS) does.
            assertNull(locks.lock("caps").tryAcquire())
            assertTrue(held.release())
        }
    }

    @Test
    fun `a lock handed off by token is released by another process`(): Unit = runBlocking {
        // BoxLang's couchbaseUnlock(cache, name, cas) from elsewhere: the token
        // carries the CAS to another JVM, which resumes and releases it.
        val url = getlUrl()
        Locks.connect(url).use { locks ->
            val held = locks.lock("report", ttl = 20.seconds, holder = "kotlin-parent").acquire(5.seconds)
            val fence = held.fence
            val token = held.intoToken()
            assertNull(locks.lock("report").tryAcquire(), "the token holds the lock")
            val r = run(*jvm("dev.ferrolock.TokenReleaser", url, token))
            assertEquals(0, r.status, r.stderr)
            assertEquals(listOf("$fence", "true"), r.stdout.trim().lines())
            assertFalse("password@" in r.stderr)
            assertNull(locks.state("report"))
            // The token is spent: resuming it again is LOST.
            expect<LockLostException> { locks.resume(token) }
            val next = locks.lock("report").tryAcquire()!!
            assertEquals(fence + 1, next.fence)
            next.release()
        }
    }
}

/** The other process of CouchbaseTest: `TokenReleaser URL TOKEN` resumes the token and releases it (blocking API). */
object TokenReleaser {
    @JvmStatic
    fun main(args: Array<String>) {
        val (url, token) = args
        Locks.connectBlocking(url).use { locks ->
            val held = locks.resumeBlocking(token)
            println(held.fence)
            println(held.releaseBlocking())
        }
    }
}
