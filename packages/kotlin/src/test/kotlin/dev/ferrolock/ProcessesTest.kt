package dev.ferrolock

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Tag
import org.junit.jupiter.api.Test
import java.io.File

/**
 * Several JVM processes contend for one lock around a counter kept in a
 * file (read, write back plus one): it ends exact. SQLite in every build,
 * Redis with the servers.
 */
class ProcessesTest {
    private fun contend(url: String) {
        val dir = tempDir()
        try {
            val counter = File(dir, "counter").apply { writeText("0") }
            val procs = 4
            val rounds = 25
            val started = (1..procs).map {
                ProcessBuilder(*jvm("dev.ferrolock.CounterWorker", url, counter.path, "$rounds"))
                    .redirectErrorStream(true).start()
            }
            for (p in started) {
                val out = p.inputStream.bufferedReader().readText()
                assertEquals(0, p.waitFor(), out)
            }
            assertEquals("${procs * rounds}", counter.readText())
        } finally {
            dir.deleteRecursively()
        }
    }

    @Test
    fun `JVM processes on one SQLite file keep an exact counter`() {
        val dir = tempDir()
        try {
            contend("sqlite://${File(dir, "locks.db").path}")
        } finally {
            dir.deleteRecursively()
        }
    }

    @Tag("servers")
    @Test
    fun `JVM processes on Redis keep an exact counter`() =
        contend(withQuery(env("FERROLOCK_TEST_REDIS_URL"), "namespace=kt-procs-${System.nanoTime()}"))
}
