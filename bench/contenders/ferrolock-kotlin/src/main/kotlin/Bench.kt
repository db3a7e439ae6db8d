// The ferrolock Kotlin package as a contender of bench/run-redis.
// pair: acquire + release of one lock, ttl 10 s, autoRenew false, with the
// suspend API (`Locks.connect`, runBlocking) and the blocking API as Java
// code uses it (`Locks.connectBlocking`, `acquireBlocking`), one JSON line
// each. worker: the blocking API (a JVM service's threads), acquire waiting
// as long as needed, ttl 10 s, the counter read and written with a plain
// RESP client (a socket, GET/SET), after a warm-up of its own (WARM_UP
// uncontended pairs) before "ready".
// memory: the pair on memory:// (bench/run-kotlin), both APIs.
import dev.ferrolock.Locks
import kotlinx.coroutines.runBlocking
import java.io.BufferedInputStream
import java.net.Socket
import java.net.URI
import java.time.Instant
import kotlin.time.Duration.Companion.seconds

fun parse(argv: Array<String>): Map<String, String> =
    argv.drop(1).chunked(2).associate { (k, v) -> k.removePrefix("--") to v } + ("mode" to argv[0])

/** CLOCK_REALTIME in ns. */
fun nowNs(): Long = Instant.now().let { it.epochSecond * 1_000_000_000L + it.nano }

fun pairs(url: String, label: String, pairs: Int, rounds: Int) {
    val suspending = runBlocking {
        Locks.connect(url).use { locks ->
            val lock = locks.lock("bench-pair-ferrolock-kotlin-${ProcessHandle.current().pid()}", ttl = 10.seconds, autoRenew = false)
            val timeout = 10.seconds
            repeat(maxOf(WARM_UP, pairs)) { lock.acquire(timeout).release() }
            (1..rounds).map {
                val t = System.nanoTime()
                repeat(pairs) { lock.acquire(timeout).release() }
                (System.nanoTime() - t).toDouble() / pairs
            }
        }
    }
    val blocking = Locks.connectBlocking(url).use { locks ->
        val lock = locks.lock("bench-pair-ferrolock-kotlin-${ProcessHandle.current().pid()}-b", ttl = 10.seconds, autoRenew = false)
        val jt = java.time.Duration.ofSeconds(10)
        repeat(maxOf(WARM_UP, pairs)) { lock.acquireBlocking(jt).releaseBlocking() }
        (1..rounds).map {
            val t = System.nanoTime()
            repeat(pairs) { lock.acquireBlocking(jt).releaseBlocking() }
            (System.nanoTime() - t).toDouble() / pairs
        }
    }
    println("""{"name": "ferrolock 0.1.0 (Kotlin$label, suspend)", "ns_per_pair": ${suspending.joinToString(", ", "[", "]")}}""")
    println("""{"name": "ferrolock 0.1.0 (Kotlin$label, blocking)", "ns_per_pair": ${blocking.joinToString(", ", "[", "]")}}""")
}

/** A minimal RESP client: enough for GET and SET of the counter. */
class Resp(url: String) : AutoCloseable {
    private val uri = URI(url)
    private val socket = Socket(uri.host, if (uri.port > 0) uri.port else 6379).apply { tcpNoDelay = true }
    private val out = socket.getOutputStream()
    private val inp = BufferedInputStream(socket.getInputStream())

    private fun line(): String {
        val sb = StringBuilder()
        while (true) {
            val c = inp.read()
            if (c == '\r'.code) { inp.read(); return sb.toString() }
            sb.append(c.toChar())
        }
    }

    fun call(vararg args: String): String? {
        val b = StringBuilder("*${args.size}\r\n")
        for (a in args) b.append("$${a.toByteArray().size}\r\n$a\r\n")
        out.write(b.toString().toByteArray())
        out.flush()
        val head = line()
        return when (head[0]) {
            '$' -> if (head == "$-1") null else String(inp.readNBytes(head.substring(1).toInt())).also { line() }
            '-' -> error(head)
            else -> head.substring(1)
        }
    }

    override fun close() = socket.close()
}

/** Uncontended pairs before anything is timed (a worker makes them before
 * it says it is ready; the pair runs at least as many per API). */
const val WARM_UP = 3000

fun worker(a: Map<String, String>) {
    Locks.connectBlocking(a.getValue("url")).use { locks ->
        val lock = locks.lock(a.getValue("lock"), ttl = 10.seconds)
        val forever = java.time.Duration.ofDays(1)
        Resp(a.getValue("url")).use { plain ->
            plain.call("PING")
            // Warm up before the contended phase, as a running service is:
            // the same calls, uncontended, on a lock and a key of this
            // worker's own, until the JIT has compiled them (a cold JVM
            // spends its first seconds interpreting and compiling, which on
            // a 2-core machine stalls every other worker's handoffs too).
            val warm = locks.lock("${a.getValue("lock")}-warm-${a.getValue("worker")}", ttl = 10.seconds)
            repeat(WARM_UP) {
                val held = warm.acquireBlocking(forever)
                plain.call("GET", "${a.getValue("counter")}-warm")
                held.releaseBlocking()
            }
            println("ready")
            System.out.flush()
            check(readLine()?.trim() == "go") { "expected go" }
            val n = a.getValue("iterations").toInt()
            val records = ArrayList<String>(n)
            repeat(n) {
                val t0 = nowNs()
                val held = lock.acquireBlocking(forever)
                val t1 = nowNs()
                val v = plain.call("GET", a.getValue("counter"))?.toLong() ?: 0 // deliberately not atomic
                plain.call("SET", a.getValue("counter"), "${v + 1}")
                val t2 = nowNs()
                held.releaseBlocking()
                records += """{"w": ${a.getValue("worker")}, "t0": $t0, "t1": $t1, "t2": $t2}"""
            }
            println(records.joinToString("\n"))
            println("done")
        }
    }
}

fun main(argv: Array<String>) {
    val a = parse(argv)
    when (a["mode"]) {
        "pair" -> pairs(a.getValue("url"), "", a.getValue("pairs").toInt(), a.getValue("rounds").toInt())
        "memory" -> pairs("memory://bench-kotlin", ", memory", a.getValue("pairs").toInt(), a.getValue("rounds").toInt())
        else -> worker(a)
    }
}
