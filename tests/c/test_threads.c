/* Threads contending for one lock, longer than the conformance scenario
 * mutual_exclusion_of_8_tasks: an exact counter (a non-atomic
 * read-pause-write under the lock) and strictly increasing fences, with a
 * provider per thread and one shared by all. argv[1]: memory, sqlite or
 * redis. (A waiter woken by a release: release_wakes_a_waiter_promptly in
 * test_conformance.c.) */
#include "harness.h"
#include <pthread.h>

#define THREADS 8

typedef struct {
    ferrolock_locks *locks; /* one provider per thread: as separate processes would */
    int iterations;
    volatile long *counter;
    volatile uint64_t *last_fence;
    int errors;
} worker_arg;

static void *worker(void *p) {
    worker_arg *a = p;
    for (int i = 0; i < a->iterations; i++) {
        ferrolock_held *h = NULL;
        if (ferrolock_acquire(a->locks, "counter", 10000, 60000, &h) != FERROLOCK_OK || h == NULL) {
            fprintf(stderr, "acquire: %s\n", ferrolock_last_error());
            a->errors++;
            continue;
        }
        uint64_t fence = ferrolock_fence(h);
        if (fence <= *a->last_fence) a->errors++; /* fences strictly increase */
        *a->last_fence = fence;
        long v = *a->counter;
        if (i % 4 == 0) sched_yield(); /* invite a race the lock must prevent */
        *a->counter = v + 1;
        bool was_held = false;
        if (ferrolock_release(h, &was_held) != FERROLOCK_OK || !was_held) a->errors++;
        ferrolock_held_free(h);
    }
    return NULL;
}

static int iterations_for(const char *backend) {
    const char *env = getenv("FERROLOCK_C_THREAD_ITERATIONS");
    if (env != NULL) return atoi(env);
    return strcmp(backend, "memory") == 0 ? 200 : 40;
}

static void threads_contending_keep_an_exact_counter(const char *backend) {
    fixture fx;
    fixture_open(&fx, backend, "threads");
    volatile long counter = 0;
    volatile uint64_t last_fence = 0;
    pthread_t tids[THREADS];
    worker_arg args[THREADS];
    int iterations = iterations_for(backend);
    for (int t = 0; t < THREADS; t++) { /* connect all first: then contend */
        args[t] = (worker_arg){fixture_connect(&fx), iterations, &counter, &last_fence, 0};
    }
    for (int t = 0; t < THREADS; t++) {
        REQUIRE(pthread_create(&tids[t], NULL, worker, &args[t]) == 0);
    }
    int errors = 0;
    for (int t = 0; t < THREADS; t++) {
        pthread_join(tids[t], NULL);
        errors += args[t].errors;
        ferrolock_locks_free(args[t].locks);
    }
    CHECK(errors == 0);
    CHECK(counter == (long)THREADS * iterations);
    if (counter != (long)THREADS * iterations) fprintf(stderr, "counter %ld, expected %ld\n", counter, (long)THREADS * iterations);
    CHECK(last_fence == (uint64_t)THREADS * iterations);
    fixture_close(&fx);
}

/* One provider shared by every thread (handles are thread-safe). */
static void threads_share_one_provider(const char *backend) {
    fixture fx;
    fixture_open(&fx, backend, "shared-provider");
    ferrolock_locks *locks = fixture_connect(&fx);
    volatile long counter = 0;
    volatile uint64_t last_fence = 0;
    pthread_t tids[4];
    worker_arg args[4];
    int iterations = iterations_for(backend) / 2 + 1;
    for (int t = 0; t < 4; t++) {
        args[t] = (worker_arg){locks, iterations, &counter, &last_fence, 0};
        REQUIRE(pthread_create(&tids[t], NULL, worker, &args[t]) == 0);
    }
    int errors = 0;
    for (int t = 0; t < 4; t++) {
        pthread_join(tids[t], NULL);
        errors += args[t].errors;
    }
    CHECK(errors == 0);
    CHECK(counter == 4L * iterations);
    ferrolock_locks_free(locks);
    fixture_close(&fx);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: test_threads FIXTURE (memory, sqlite or redis: a row of tests/vectors/backends.json)\n");
        return 2;
    }
    RUN(threads_contending_keep_an_exact_counter, argv[1]);
    RUN(threads_share_one_provider, argv[1]);
    return finish("test_threads");
}
