package dev.ferrolock.example;

import dev.ferrolock.Held;
import dev.ferrolock.Lock;
import dev.ferrolock.LockException;
import dev.ferrolock.LockInfo;
import dev.ferrolock.LockTimeoutException;
import dev.ferrolock.Locks;
import java.time.Duration;

/**
 * The blocking API from Java: what a Java user writes. Compiled and run by
 * JavaExampleTest: `JavaExample URL` prints "ok" and exits 0.
 */
public final class JavaExample {
    public static void main(String[] args) {
        try (Locks locks = Locks.connectBlocking(args[0])) {
            Lock lock = locks.lock("invoice:42", Duration.ofSeconds(30));

            // try-with-resources releases the lock.
            long fence;
            try (Held held = lock.acquireBlocking(Duration.ofSeconds(5))) {
                fence = held.getFence();
                if (lock.tryAcquireBlocking() != null) throw new AssertionError("not exclusive");
                LockInfo info = locks.stateBlocking("invoice:42");
                if (info == null || info.getFence() != fence) throw new AssertionError("state: " + info);
            }
            if (locks.stateBlocking("invoice:42") != null) throw new AssertionError("not released");

            // A scoped body: acquire, run, release; the body's value comes back.
            long total = lock.withLockBlocking(Duration.ofSeconds(5), held -> held.getFence() * 10);
            if (total != (fence + 1) * 10) throw new AssertionError("withLockBlocking: " + total);

            // Errors carry the stable code of every language.
            Held held = lock.acquireBlocking(Duration.ofSeconds(5));
            try {
                locks.lock("invoice:42").acquireBlocking(Duration.ofMillis(100));
                throw new AssertionError("acquired a held lock");
            } catch (LockTimeoutException e) {
                if (!e.getCode().equals("TIMEOUT")) throw new AssertionError(e.getCode());
            }
            // Hand off as a token, resume it, release.
            String token = held.intoToken();
            Held resumed = locks.resumeBlocking(token);
            if (!resumed.releaseBlocking()) throw new AssertionError("resumed release");
            try {
                locks.lock("").tryAcquireBlocking();
                throw new AssertionError("empty name accepted");
            } catch (LockException e) {
                if (!e.getCode().equals("INVALID_ARGUMENT")) throw new AssertionError(e.getCode());
            }
        }
        System.out.println("ok");
    }
}
