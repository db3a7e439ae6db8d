package dev.ferrolock

import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withContext
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Tag
import org.junit.jupiter.api.Test
import java.io.File
import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds
import kotlin.time.TimeSource

/** What the Kotlin layer adds over the scenarios: Java, the jar, use {}, the blocking forms. */
class ApiTest {
    private fun url() = "memory://api-${System.nanoTime()}"

    @Test
    fun `the Java example compiles and runs`() {
        val dir = tempDir()
        try {
            val r = run(*jvm("dev.ferrolock.example.JavaExample", "sqlite://${File(dir, "locks.db").path}"))
            assertEquals(0, r.status, r.stdout + r.stderr)
            assertEquals("ok", r.stdout.trim())
        } finally {
            dir.deleteRecursively()
        }
    }

    @Test
    fun `the native library is loaded from the class path where JNA looks`() {
        val res = Locks::class.java.classLoader.getResource("linux-x86-64/libferrolock_uniffi.so")
        assertNotNull(res, "linux-x86-64/libferrolock_uniffi.so is not on the class path")
        assertEquals(dev.ferrolock.ffi.nativeVersion(), "0.1.0")
    }

    @Test
    fun `use releases the handle and closes the provider`() = runBlocking {
        val url = url()
        val other = Locks.connect(url)
        Locks.connect(url).use { locks ->
            locks.lock("u").acquire().use { held -> assertEquals(1L, held.fence) }
            assertNull(locks.state("u"))
        }
        other.close()
        expect<ClosedException> { other.ping() }
        other.close() // a second close does nothing
    }

    // Each thread reuses one UniFFI call status (scripts/gen/uniffi-kotlin-status.py):
    // an error must not outlive its call, nor a call see another thread's.
    @Test
    fun `errors and successes alternate on one thread and across threads`() {
        Locks.connectBlocking(url()).use { locks ->
            val threads = (1..4).map { t ->
                Thread {
                    repeat(500) { i ->
                        val e = runCatching { locks.lock("").tryAcquireBlocking() }.exceptionOrNull()
                        assertTrue(e is InvalidArgumentException, "call $i on thread $t: $e")
                        val held = present(locks.lock("s$t").tryAcquireBlocking(), "thread $t, call $i")
                        assertEquals("s$t", held.name)
                        assertTrue(held.releaseBlocking())
                        val again = runCatching { held.refreshBlocking(1.seconds) }.exceptionOrNull()
                        assertTrue(again is NotHeldException, "refresh after release: $again")
                    }
                }
            }
            val failures = java.util.concurrent.ConcurrentLinkedQueue<Throwable>()
            threads.forEach { th -> th.setUncaughtExceptionHandler { _, e -> failures.add(e) }; th.start() }
            threads.forEach { it.join(60_000) }
            assertTrue(threads.none { it.isAlive }, "a thread did not finish")
            assertTrue(failures.isEmpty(), failures.joinToString { it.toString() })
        }
    }

    @Test
    fun `blocking forms for Kotlin and Java callers`() {
        Locks.connectBlocking(url()).use { locks ->
            val held = locks.lock("b", ttl = 5.seconds).acquireBlocking(1.seconds)
            assertNull(locks.lock("b").acquireOrNullBlocking(java.time.Duration.ofMillis(20)))
            held.refreshBlocking(10.seconds)
            assertEquals(10.seconds, held.ttl)
            assertEquals(1, locks.listBlocking().size)
            assertTrue(held.releaseBlocking())
            assertFalse(held.releaseBlocking())
            locks.pingBlocking()
        }
    }

    @Test
    fun `a cancelled coroutine ends its wait and leaves the queue`() = runBlocking {
        Locks.connect(url()).use { locks ->
            val held = locks.lock("c").acquire()
            val sub = locks.subscribe()
            val waiter = async { locks.lock("c", holder = "w").acquire(Duration.INFINITE) }
            while (sub.next()!!.kind != EventKind.QUEUED) Unit
            val start = TimeSource.Monotonic.markNow()
            waiter.cancelAndJoin()
            assertTrue(start.elapsedNow() < 2.seconds)
            assertTrue(held.release())
            // The cancelled waiter leaves the queue in the background (the
            // core's design): the next acquire gets the lock promptly, not
            // after a queue entry's 5 s staleness.
            val next = TimeSource.Monotonic.markNow()
            locks.lock("c").acquire(5.seconds).release()
            assertTrue(next.elapsedNow() < 2.seconds, "a cancelled waiter held up the queue")
            sub.close()
        }
    }

    @Test
    fun `withLock renews past the ttl and returns the value`() = runBlocking {
        Locks.connect(url()).use { locks ->
            val sub = locks.subscribe()
            val v = locks.lock("r", ttl = 150.milliseconds).withLock { held ->
                withTimeout(5.seconds) { while (sub.next()!!.kind != EventKind.RENEWED) Unit }
                assertFalse(held.isLost)
                held.fence
            }
            assertEquals(1L, v)
            assertNull(locks.state("r"))
        }
    }

    // A Redis reply resumes its coroutine through a JNA callback on the
    // runtime's thread ("ferrolock-wake"); under Dispatchers.Unconfined the
    // coroutine goes on there. A memory call made on that thread, blocking
    // form or suspend, completes in place: it must not try to block on the
    // runtime that thread runs (tokio refuses, and the call failed INTERNAL).
    @Tag("servers")
    @Test
    fun `memory calls work on the thread a Redis reply resumed`() = runBlocking {
        Locks.connect(withQuery(env("FERROLOCK_TEST_REDIS_URL"), "namespace=kt-api-${System.nanoTime()}")).use { redis ->
            Locks.connect(url()).use { memory ->
                withContext(Dispatchers.Unconfined) {
                    // A reply that comes before the coroutine suspends resumes
                    // it where it was: ping until one came later.
                    val onWakeThread = { Thread.currentThread().name.startsWith("ferrolock-wake") }
                    repeat(200) { if (!onWakeThread()) redis.ping() }
                    assertTrue(onWakeThread(), "never resumed on the runtime's thread (${Thread.currentThread().name})")
                    val lock = memory.lock("m")
                    lock.tryAcquireBlocking()!!.use { held -> assertEquals(1L, held.fence) }
                    val held = lock.tryAcquire()!!
                    assertEquals(2L, held.fence)
                    assertEquals(held.holder, memory.state("m")?.holder)
                    assertTrue(held.release())
                    assertNull(memory.stateBlocking("m"))
                }
            }
        }
    }
}
