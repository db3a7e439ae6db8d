package dev.ferrolock

import com.google.gson.JsonObject
import com.google.gson.JsonParser
import java.io.File
import java.nio.file.Files
import java.util.concurrent.atomic.AtomicInteger

/** The repository (the suite sets FERROLOCK_REPO; else two folders up). */
val repo: File = File(System.getenv("FERROLOCK_REPO") ?: "../..").canonicalFile

fun vectors(name: String): JsonObject =
    JsonParser.parseString(File(repo, "tests/vectors/$name").readText()).asJsonObject

/**
 * The cargo features of backends.json's `feature` rows this binding has: it
 * builds the core's `backends`, which has every one of them (couchbase too).
 */
val BUILT_FEATURES = setOf("couchbase")

/** tests/vectors/backends.json's rows by name. */
val FIXTURES: Map<String, JsonObject> =
    vectors("backends.json").getAsJsonArray("fixtures").map { it.asJsonObject }
        .filter { !it.has("feature") || it["feature"].asString in BUILT_FEATURES }
        .associateBy { it["name"].asString }

/** The rows that need nothing but this build (`mvn install`), and the rest (servers). */
val LOCAL_FIXTURES = FIXTURES.filterValues { it["url"].asString != "env" }.keys.toList()
val SERVER_FIXTURES = FIXTURES.filterValues { it["url"].asString == "env" }.keys.toList()

private val counter = AtomicInteger()
private fun suffix() = "${ProcessHandle.current().pid()}-${System.currentTimeMillis()}-${counter.incrementAndGet()}"

fun env(variable: String): String =
    System.getenv(variable) ?: error("$variable is not set: run scripts/suites/kotlin, which starts the servers")

fun tempDir(prefix: String = "ferrolock-kotlin-"): File = Files.createTempDirectory(prefix).toFile()

fun withQuery(url: String, query: String) = url + (if ('?' in url) "&" else "?") + query

/** A fresh store of the backends.json row [fixture], as the row says to make it. */
open class Fixture(val fixture: String, scenario: String) {
    private val row = FIXTURES[fixture] ?: error("backends.json has no fixture $fixture")
    val kind: String = row["backend"].asString
    private var dir: File? = null
    val url: String = when (row["url"].asString) {
        "memory" -> "memory://$scenario-${suffix()}"
        "sqlite" -> "sqlite://" + File(tempDir().also { dir = it }, "locks.db").path
        "env" -> {
            val ns = "$scenario-${suffix()}".replace(Regex("[^A-Za-z0-9_.-]"), "-").takeLast(64)
            withQuery(env(row["env"].asString), "namespace=$ns")
        }
        else -> error("backends.json: $fixture makes its URL by ${row["url"]}")
    }
    private val providers = mutableListOf<Locks>()

    /** Operations the backend refuses as UNSUPPORTED (backends.json `unsupported`). */
    val refuses: Set<String> = row.getAsJsonArray("unsupported")?.map { it.asString }?.toSet() ?: emptySet()

    /** The backend's ttl step (backends.json `ttl_unit_ms`: Couchbase's get-and-lock takes whole seconds). */
    private val ttlUnitMs: Long = row["ttl_unit_ms"]?.asLong ?: 1

    /** A short ttl of [ms] milliseconds, rounded up to the backend's ttl step. */
    fun short(ms: Long): kotlin.time.Duration =
        kotlin.time.Duration.parse("${(ms + ttlUnitMs - 1) / ttlUnitMs * ttlUnitMs}ms")

    /**
     * [call]'s result, or null where backends.json says the backend refuses
     * [operation]: then [call] must throw UnsupportedException naming the backend.
     */
    suspend fun <T : Any> refused(operation: String, call: suspend () -> T): T? {
        if (operation !in refuses) return call()
        val e = try {
            call()
            null
        } catch (e: UnsupportedException) {
            e
        }
        check(e != null && e.code == "UNSUPPORTED" && kind in e.message!!) {
            "backends.json says $operation is UNSUPPORTED on $fixture: got ${e?.message ?: "no error"}"
        }
        return null
    }

    suspend fun connect(): Locks {
        val locks = Locks.connect(url)
        providers += locks
        check(locks.backend == kind) { "backends.json: $fixture opens $kind, not ${locks.backend}" }
        return locks
    }

    fun urlWith(query: String) = withQuery(url, query)

    fun cleanup() {
        for (p in providers) runCatching { p.close() }
        dir?.deleteRecursively()
    }
}

/** The ferrolock command: $FERROLOCK_CLI, else the one of this build (pom.xml), else target/release or debug. */
fun cliPath(): String {
    System.getenv("FERROLOCK_CLI")?.let { return it }
    System.getProperty("ferrolock.cli")?.takeIf { File(it).canExecute() }?.let { return it }
    for (profile in listOf("release", "debug")) {
        val f = File(repo, "target/$profile/ferrolock")
        if (f.canExecute()) return f.path
    }
    error("no ferrolock command: set FERROLOCK_CLI or build ferrolock-cli")
}

class Ran(val status: Int, val stdout: String, val stderr: String)

/** Run a command to its end (stdin closed), capturing its output. */
fun run(vararg command: String, env: Map<String, String> = emptyMap(), timeoutSeconds: Long = 60): Ran {
    val pb = ProcessBuilder(*command).redirectInput(ProcessBuilder.Redirect.from(File("/dev/null")))
    pb.environment().putAll(env)
    val p = pb.start()
    val out = StringBuilder()
    val err = StringBuilder()
    val t1 = Thread { out.append(p.inputStream.bufferedReader().readText()) }.apply { start() }
    val t2 = Thread { err.append(p.errorStream.bufferedReader().readText()) }.apply { start() }
    if (!p.waitFor(timeoutSeconds, java.util.concurrent.TimeUnit.SECONDS)) {
        p.destroyForcibly()
        error("${command.joinToString(" ")} did not end within ${timeoutSeconds}s")
    }
    t1.join()
    t2.join()
    return Ran(p.exitValue(), out.toString(), err.toString())
}

/** A JVM running [main] of the test classes, with the same class path. */
fun jvm(main: String, vararg args: String): Array<String> = arrayOf(
    File(System.getProperty("java.home"), "bin/java").path,
    "-cp", System.getProperty("java.class.path"),
    main, *args,
)
