/* The C side of the C ABI benchmark (bench/run-c): uncontended
 * ferrolock_try_acquire + ferrolock_release + ferrolock_held_free pairs,
 * the same work as bench/c/pair.rs does through ferrolock::blocking.
 *
 *   bench-c-pair URL PAIRS      prints the wall-clock and the process CPU
 *                               ns per pair
 */
#include <ferrolock.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double clock_ns(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void pair(ferrolock_locks *locks, uint64_t i) {
    ferrolock_held *held = NULL;
    bool was_held = false;
    if (ferrolock_try_acquire(locks, "bench-c", 10000, &held) != FERROLOCK_OK || held == NULL) {
        fprintf(stderr, "pair %" PRIu64 ": try_acquire: %s\n", i, ferrolock_last_error());
        exit(1);
    }
    if (ferrolock_release(held, &was_held) != FERROLOCK_OK || !was_held) {
        fprintf(stderr, "pair %" PRIu64 ": release: %s\n", i, ferrolock_last_error());
        exit(1);
    }
    ferrolock_held_free(held);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: bench-c-pair URL PAIRS\n");
        return 64;
    }
    uint64_t pairs = strtoull(argv[2], NULL, 10);
    ferrolock_locks *locks = NULL;
    if (ferrolock_connect(argv[1], &locks) != FERROLOCK_OK) {
        fprintf(stderr, "connect: %s\n", ferrolock_last_error());
        return 1;
    }
    for (uint64_t i = 0; i < pairs / 10 + 1; i++) pair(locks, i); /* warm-up */
    double start = clock_ns(CLOCK_MONOTONIC), cpu_start = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
    for (uint64_t i = 0; i < pairs; i++) pair(locks, i);
    double elapsed = clock_ns(CLOCK_MONOTONIC) - start, cpu = clock_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu_start;
    printf("%.1f %.1f\n", elapsed / (double)pairs, cpu / (double)pairs);
    ferrolock_locks_free(locks);
    return 0;
}
