package dev.ferrolock

import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Tag
import org.junit.jupiter.api.Test
import java.io.File

/**
 * Token handoff both ways between Kotlin and the ferrolock command (SQLite
 * in every build, Redis with the servers), Python and Node (Redis, with the
 * packages scripts/suites/kotlin installs: $FERROLOCK_PYTHON, $FERROLOCK_NODE_PROJECT).
 */
class HandoffTest {
    private fun cli(vararg args: String, status: Int = 0): String {
        val r = run(cliPath(), *args)
        assertEquals(status, r.status, r.stderr)
        return r.stdout.trim()
    }

    private fun kotlinToCli(url: String) = runBlocking {
        Locks.connect(url).use { locks ->
            val held = locks.lock("job", holder = "kotlin").acquire()
            val fence = held.fence
            val token = held.intoToken()
            assertFalse(held.isArmed)
            assertTrue(Regex("^name +job$", RegexOption.MULTILINE).containsMatchIn(cli("decode", token)))
            assertTrue("kotlin" in cli("--url", url, "state", "job"))
            cli("--url", url, "release", token)
            assertNull(locks.state("job"))
            // Released already: the command says so with exit status 1.
            cli("--url", url, "release", token, status = 1)
            assertEquals(fence + 1, locks.lock("job").tryAcquire()!!.fence)
        }
    }

    private fun cliToKotlin(url: String) = runBlocking {
        val token = cli("--url", url, "acquire", "--ttl", "30s", "job2")
        assertTrue(token.startsWith("flk1."))
        Locks.connect(url).use { locks ->
            assertTrue(locks.state("job2") != null)
            assertNull(locks.lock("job2").tryAcquire())
            val held = locks.resume(token)
            assertEquals("job2", held.name)
            assertEquals(decodeToken(token).fence, held.fence)
            assertTrue(held.release())
            assertNull(locks.state("job2"))
        }
    }

    private fun sqlite(body: (String) -> Unit) {
        val dir = tempDir()
        try {
            body("sqlite://${File(dir, "locks.db").path}")
        } finally {
            dir.deleteRecursively()
        }
    }

    private fun redis() = withQuery(env("FERROLOCK_TEST_REDIS_URL"), "namespace=kt-handoff-${System.nanoTime()}")

    @Test fun `Kotlin to CLI on SQLite`() = sqlite(::kotlinToCli)
    @Test fun `CLI to Kotlin on SQLite`() = sqlite(::cliToKotlin)
    @Tag("servers") @Test fun `Kotlin to CLI on Redis`() = kotlinToCli(redis())
    @Tag("servers") @Test fun `CLI to Kotlin on Redis`() = cliToKotlin(redis())

    // Python and Node: each resumes and releases a Kotlin token, and hands
    // Kotlin one of its own.
    private val pyResumeRelease = """
import sys, ferrolock
locks = ferrolock.connect(sys.argv[1])
held = locks.resume(sys.argv[2])
print(held.fence)
print(held.release())
locks.close()
"""
    private val pyAcquireHandoff = """
import sys, ferrolock
locks = ferrolock.connect(sys.argv[1])
held = locks.lock(sys.argv[2], holder="python").acquire(timeout=5)
print(held.fence)
print(held.into_token())
locks.close()
"""
    private val nodeResumeRelease = """
const { Locks } = require('ferrolock')
;(async () => {
  const locks = await Locks.connect(process.argv[1])
  const held = await locks.resume(process.argv[2])
  console.log(String(held.fence))
  console.log(String(await held.release()))
  await locks.close()
})().catch((e) => { console.error(e); process.exit(1) })
"""
    private val nodeAcquireHandoff = """
const { Locks } = require('ferrolock')
;(async () => {
  const locks = await Locks.connect(process.argv[1])
  const held = await locks.lock(process.argv[2], { holder: 'node' }).acquire({ timeout: '5s' })
  console.log(String(held.fence))
  console.log(held.intoToken())
  await locks.close()
})().catch((e) => { console.error(e); process.exit(1) })
"""

    private fun other(language: String, script: String, vararg args: String): List<String> {
        val r = when (language) {
            "python" -> run(env("FERROLOCK_PYTHON"), "-c", script, *args)
            else -> {
                val project = env("FERROLOCK_NODE_PROJECT")
                run("node", "-e", script, *args, env = mapOf("NODE_PATH" to "$project/node_modules"))
            }
        }
        assertEquals(0, r.status, r.stderr)
        return r.stdout.trim().lines()
    }

    private fun bothWays(language: String, resume: String, handoff: String) = runBlocking {
        val url = redis()
        Locks.connect(url).use { locks ->
            // Kotlin -> other
            val held = locks.lock("x-$language", holder = "kotlin").acquire()
            val token = held.intoToken()
            val (fence, released) = other(language, resume, url, token)
            assertEquals(held.fence.toString(), fence)
            assertEquals(if (language == "python") "True" else "true", released)
            assertNull(locks.state("x-$language"))
            // other -> Kotlin
            val (theirFence, theirToken) = other(language, handoff, url, "y-$language")
            assertEquals(language, locks.state("y-$language")!!.holder)
            val resumed = locks.resume(theirToken)
            assertEquals(theirFence, resumed.fence.toString())
            assertTrue(resumed.release())
            assertNull(locks.state("y-$language"))
        }
    }

    @Tag("servers") @Test fun `Kotlin and Python hand locks both ways on Redis`() = bothWays("python", pyResumeRelease, pyAcquireHandoff)
    @Tag("servers") @Test fun `Kotlin and Node hand locks both ways on Redis`() = bothWays("node", nodeResumeRelease, nodeAcquireHandoff)
}
