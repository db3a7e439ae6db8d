/* What only the C ABI has, on the backend named by argv[1] (memory, sqlite,
 * redis): its provider handle (ping, the lock description it reuses
 * between calls, its files closed on free) and the capabilities accessor.
 * Not conformance scenarios (those are tests/vectors/scenarios.json, in
 * test_conformance.c). */
#include "harness.h"

static void ping_answers(const char *backend) {
    fixture fx;
    fixture_open(&fx, backend, "ping");
    ferrolock_locks *locks = fixture_connect(&fx);
    OK(ferrolock_ping(locks));
    ferrolock_locks_free(locks);
    fixture_close(&fx);
}

/* Repeated calls with one name reuse a description of the lock inside the
 * library: a new ttl, or a new provider at a freed one's address, must
 * still be honoured. */
static void repeated_calls_honour_each_ttl_and_provider(const char *backend) {
    fixture fx;
    fixture_open(&fx, backend, "repeat");
    ferrolock_locks *locks = fixture_connect(&fx);
    uint64_t ttls[] = {20000, 20000, 5000, 60000};
    for (size_t i = 0; i < sizeof ttls / sizeof ttls[0]; i++) {
        ferrolock_held *h = NULL;
        OK(ferrolock_try_acquire(locks, "rep", ttls[i], &h));
        REQUIRE(h != NULL);
        ferrolock_lock_info *info = NULL;
        OK(ferrolock_state(locks, "rep", &info));
        REQUIRE(info != NULL);
        CHECK(info->expires_in_ms <= ttls[i] && info->expires_in_ms + 3000 > ttls[i]);
        ferrolock_lock_info_free(info);
        RELEASE_FREE(h);
    }
    for (int i = 0; i < 3; i++) {
        ferrolock_locks_free(locks);
        locks = fixture_connect(&fx); /* often at the same address */
        ferrolock_held *h = NULL;
        OK(ferrolock_try_acquire(locks, "rep", 20000, &h));
        REQUIRE(h != NULL);
        RELEASE_FREE(h);
    }
    ferrolock_locks_free(locks);
    fixture_close(&fx);
}

/* How many of this process's open files are under `dir`. */
static int open_files_under(const char *dir) {
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL) return -1;
    int n = 0;
    struct dirent *e;
    char link[600], target[600];
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        snprintf(link, sizeof link, "/proc/self/fd/%s", e->d_name);
        ssize_t len = readlink(link, target, sizeof target - 1);
        if (len <= 0) continue;
        target[len] = '\0';
        n += strncmp(target, dir, strlen(dir)) == 0;
    }
    closedir(d);
    return n;
}

/* Freeing a provider closes its files (SQLite), even though the library
 * keeps the description of the last lock used. */
static void freeing_a_provider_closes_its_files(const char *backend) {
    fixture fx;
    fixture_open(&fx, backend, "fds");
    ferrolock_locks *locks = fixture_connect(&fx);
    ferrolock_held *h = NULL;
    OK(ferrolock_try_acquire(locks, "fd", 10000, &h));
    REQUIRE(h != NULL);
    RELEASE_FREE(h);
    if (fx.dir[0] != '\0') CHECK(open_files_under(fx.dir) > 0);
    ferrolock_locks_free(locks);
    if (fx.dir[0] != '\0') {
        int open = 0;
        for (int i = 0; i < 50 && (open = open_files_under(fx.dir)) > 0; i++) sleep_ms(20);
        CHECK(open == 0);
    }
    fixture_close(&fx);
}

static void capabilities_describe_the_backend(const char *backend) {
    fixture fx;
    fixture_open(&fx, backend, "caps");
    ferrolock_locks *locks = fixture_connect(&fx);
    ferrolock_backend_capabilities caps;
    memset(&caps, 0xff, sizeof caps);
    OK(ferrolock_capabilities(locks, &caps));
    /* Every backend built here has them all (the Redis quorum has no queue). */
    CHECK(caps.shared && caps.handoff && caps.queue && caps.notices);
    CHECK(caps.max_ttl_ms >= 60000);
    ferrolock_held *h = NULL;
    EXPECT_ERR(ferrolock_try_acquire(locks, "t", caps.max_ttl_ms + 1, &h), FERROLOCK_INVALID_ARGUMENT, "maximum");
    OK(ferrolock_try_acquire(locks, "t", caps.max_ttl_ms, &h));
    RELEASE_FREE(h);
    ferrolock_locks_free(locks);
    fixture_close(&fx);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: test_provider FIXTURE (memory, sqlite or redis: a row of tests/vectors/backends.json)\n");
        return 2;
    }
    const char *b = argv[1];
    RUN(ping_answers, b);
    RUN(repeated_calls_honour_each_ttl_and_provider, b);
    RUN(freeing_a_provider_closes_its_files, b);
    RUN(capabilities_describe_the_backend, b);
    return finish("test_provider");
}
