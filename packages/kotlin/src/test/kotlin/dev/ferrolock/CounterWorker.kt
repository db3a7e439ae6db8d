package dev.ferrolock

import java.io.File
import kotlin.time.Duration.Companion.seconds

/** One contending process of ProcessesTest: `CounterWorker URL FILE ROUNDS` (blocking API). */
object CounterWorker {
    @JvmStatic
    fun main(args: Array<String>) {
        val (url, path, rounds) = args
        val file = File(path)
        Locks.connectBlocking(url).use { locks ->
            val lock = locks.lock("counter")
            repeat(rounds.toInt()) {
                lock.acquireBlocking(60.seconds).use {
                    val v = file.readText().trim().toInt()
                    Thread.sleep(1)
                    file.writeText("${v + 1}")
                }
            }
        }
    }
}
