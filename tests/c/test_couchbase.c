/* BoxLang CouchbaseLock's usage patterns through the C ABI, on gocaves
 * (Couchbase's mock cluster, started by scripts/suites/c or scripts/test:
 * the `couchbase` row of tests/vectors/backends.json, mode=getl), as
 * core/tests/couchbase.rs has them in Rust: the callback form
 * (ferrolock_run), the manual form (acquire, then release on every path),
 * an acquire of a held lock ending in FERROLOCK_TIMEOUT with no handle
 * (throwOnTimeout=false), the 31 s error, a lock handed by token to
 * another process (the ferrolock command, $FERROLOCK_CLI) that releases
 * it, and what get-and-lock refuses (FERROLOCK_UNSUPPORTED). Bypass is
 * test_conformance.c's bypass_grants_every_lock, which runs on this row
 * (conformance.couchbase) and on the lease row. */
#include "harness.h"
#include <sys/wait.h>

static int fence_of(const ferrolock_held *held, void *p) {
    ferrolock_locks *locks = p;
    /* Held while the callback runs: another owner cannot have it. */
    ferrolock_held *other = NULL;
    ferrolock_status s = ferrolock_try_acquire(locks, "invoice", 10000, &other);
    if (s != FERROLOCK_OK || other != NULL) return -1;
    return (int)ferrolock_fence(held);
}

static void callback_form_runs_under_the_lock(const char *backend) {
    fixture fx;
    fixture_open(&fx, backend, "run");
    ferrolock_locks *locks = fixture_connect(&fx);
    ferrolock_backend_capabilities caps;
    OK(ferrolock_capabilities(locks, &caps));
    CHECK(caps.max_ttl_ms == 30000 && !caps.shared && caps.handoff);
    ferrolock_lock_options o = ferrolock_lock_options_init();
    o.ttl_ms = 10000;
    int result = 0;
    OK(ferrolock_run_with(locks, "invoice", &o, 5000, fence_of, locks, &result));
    CHECK(result == 1);
    ferrolock_lock_info *info = (ferrolock_lock_info *)&fx;
    OK(ferrolock_state(locks, "invoice", &info));
    CHECK(info == NULL); /* released after the callback */
    ferrolock_locks_free(locks);
    fixture_close(&fx);
}

/* The work of the manual form: fails (non-zero) half the time. */
static int work(ferrolock_locks *locks, const ferrolock_held *held, bool fail) {
    ferrolock_lock_info *info = NULL;
    if (ferrolock_state(locks, "invoice", &info) != FERROLOCK_OK || info == NULL) return -1;
    bool ok = info->fence == ferrolock_fence(held) && info->expires_in_ms > 5000 && info->expires_in_ms <= 10000;
    ferrolock_lock_info_free(info);
    return !ok ? -1 : fail ? 1 : 0;
}

static void manual_form_releases_on_every_path(const char *backend) {
    fixture fx;
    fixture_open(&fx, backend, "manual");
    ferrolock_locks *locks = fixture_connect(&fx);
    for (int round = 0; round < 2; round++) {
        ferrolock_held *held = NULL;
        OK(ferrolock_acquire(locks, "invoice", 10000, 5000, &held));
        REQUIRE(held != NULL);
        CHECK(ferrolock_fence(held) == (uint64_t)round + 1);
        int rc = work(locks, held, round == 1);
        CHECK(rc == (round == 1 ? 1 : 0));
        /* C's finally: the one exit path releases whatever the work said. */
        bool was_held = false;
        OK(ferrolock_release(held, &was_held));
        CHECK(was_held);
        ferrolock_held_free(held);
        ferrolock_lock_info *info = (ferrolock_lock_info *)&fx;
        OK(ferrolock_state(locks, "invoice", &info));
        CHECK(info == NULL);
    }
    ferrolock_locks_free(locks);
    fixture_close(&fx);
}

static void acquire_of_a_held_lock_times_out_with_no_handle(const char *backend) {
    fixture fx;
    fixture_open(&fx, backend, "ornone");
    ferrolock_locks *locks = fixture_connect(&fx), *other = fixture_connect(&fx);
    ferrolock_held *held = NULL, *none = (ferrolock_held *)&fx;
    OK(ferrolock_try_acquire(locks, "invoice", 10000, &held));
    REQUIRE(held != NULL);
    /* throwOnTimeout=false: a status to test, no handle, and no wait for
     * the SDK retrying the locked document until it lapses. */
    double t0 = now_ms();
    EXPECT_ERR(ferrolock_acquire(other, "invoice", 10000, 300, &none), FERROLOCK_TIMEOUT, "invoice");
    double waited = now_ms() - t0;
    CHECK(none == NULL);
    CHECK(waited >= 290 && waited < 3000);
    uint64_t fence = ferrolock_fence(held);
    RELEASE_FREE(held);
    ferrolock_held *next = NULL;
    OK(ferrolock_acquire(other, "invoice", 10000, 300, &next));
    REQUIRE(next != NULL);
    CHECK(ferrolock_fence(next) == fence + 1);
    RELEASE_FREE(next);
    ferrolock_locks_free(other);
    ferrolock_locks_free(locks);
    fixture_close(&fx);
}

static void a_ttl_above_30s_is_invalid_argument(const char *backend) {
    fixture fx;
    fixture_open(&fx, backend, "ttl");
    ferrolock_locks *locks = fixture_connect(&fx);
    ferrolock_held *h = (ferrolock_held *)&fx;
    EXPECT_ERR(ferrolock_try_acquire(locks, "long", 31000, &h), FERROLOCK_INVALID_ARGUMENT, "30s");
    CHECK(strstr(ferrolock_last_error(), "31s") != NULL);
    CHECK(h == NULL);
    EXPECT_ERR(ferrolock_try_acquire(locks, "half", 1500, &h), FERROLOCK_INVALID_ARGUMENT, "whole number of seconds");
    CHECK(h == NULL);
    OK(ferrolock_try_acquire(locks, "long", 30000, &h)); /* 30 s itself is fine */
    REQUIRE(h != NULL);
    RELEASE_FREE(h);
    ferrolock_locks_free(locks);
    fixture_close(&fx);
}

static void getl_refuses_what_get_and_lock_cannot_do(const char *backend) {
    fixture fx;
    fixture_open(&fx, backend, "caps");
    ferrolock_locks *locks = fixture_connect(&fx);
    ferrolock_held *held = NULL, *shared = (ferrolock_held *)&fx, *other = NULL;
    OK(ferrolock_try_acquire(locks, "caps", 10000, &held));
    REQUIRE(held != NULL);
    EXPECT_ERR(ferrolock_refresh(held, 10000), FERROLOCK_UNSUPPORTED, "refresh");
    CHECK(strstr(ferrolock_last_error(), "couchbase") != NULL);
    EXPECT_ERR(ferrolock_force_release(locks, "caps", NULL), FERROLOCK_UNSUPPORTED, "force_release");
    CHECK(strstr(ferrolock_last_error(), "couchbase") != NULL);
    ferrolock_lock_options o = ferrolock_lock_options_init();
    o.shared = true;
    EXPECT_ERR(ferrolock_try_acquire_with(locks, "caps-r", &o, &shared), FERROLOCK_UNSUPPORTED, "shared");
    CHECK(shared == NULL);
    ferrolock_lock_list *list = (ferrolock_lock_list *)&fx;
    EXPECT_ERR(ferrolock_list(locks, "", &list), FERROLOCK_UNSUPPORTED, "list");
    CHECK(list == NULL);
    /* None of them freed it: only its holder (the CAS) does. */
    OK(ferrolock_try_acquire(locks, "caps", 10000, &other));
    CHECK(other == NULL);
    RELEASE_FREE(held);
    ferrolock_locks_free(locks);
    fixture_close(&fx);
}

/* `$FERROLOCK_CLI --url URL ARGS`: its exit status. */
static int run_cli(const char *url, const char *args) {
    const char *cli = getenv("FERROLOCK_CLI");
    if (cli == NULL || *cli == '\0') {
        fprintf(stderr, "FERROLOCK_CLI is not set: run scripts/suites/c, which builds the ferrolock command\n");
        exit(1);
    }
    char cmd[8192];
    int len = snprintf(cmd, sizeof cmd, "'%s' --url '%s' %s >/dev/null", cli, url, args);
    REQUIRE(len > 0 && (size_t)len < sizeof cmd);
    int status = system(cmd);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void a_token_is_released_by_another_process(const char *backend) {
    /* BoxLang's couchbaseUnlock(cache, name, cas) from elsewhere: the token
     * carries the CAS to the ferrolock command, which releases the lock. */
    fixture fx;
    fixture_open(&fx, backend, "handoff");
    ferrolock_locks *locks = fixture_connect(&fx);
    ferrolock_held *held = NULL, *other = NULL;
    OK(ferrolock_acquire(locks, "report", 20000, 5000, &held));
    REQUIRE(held != NULL);
    uint64_t fence = ferrolock_fence(held);
    char *token = NULL;
    OK(ferrolock_into_token(held, &token));
    REQUIRE(token != NULL);
    ferrolock_held_free(held); /* handed off: freeing it does not release */
    OK(ferrolock_try_acquire(locks, "report", 10000, &other));
    CHECK(other == NULL); /* the token holds the lock */
    char args[4200];
    snprintf(args, sizeof args, "release '%s'", token);
    CHECK(run_cli(fx.url, args) == 0);
    ferrolock_lock_info *info = (ferrolock_lock_info *)&fx;
    OK(ferrolock_state(locks, "report", &info));
    CHECK(info == NULL);
    /* The token is spent: resuming it again is LOST. */
    ferrolock_held *resumed = (ferrolock_held *)&fx;
    EXPECT(ferrolock_resume(locks, token, &resumed), FERROLOCK_LOST);
    CHECK(resumed == NULL);
    OK(ferrolock_try_acquire(locks, "report", 10000, &other));
    REQUIRE(other != NULL);
    CHECK(ferrolock_fence(other) == fence + 1);
    RELEASE_FREE(other);
    ferrolock_string_free(token);
    ferrolock_locks_free(locks);
    fixture_close(&fx);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: test_couchbase FIXTURE (couchbase: the getl row of tests/vectors/backends.json)\n");
        return 2;
    }
    RUN(callback_form_runs_under_the_lock, argv[1]);
    RUN(manual_form_releases_on_every_path, argv[1]);
    RUN(acquire_of_a_held_lock_times_out_with_no_handle, argv[1]);
    RUN(a_ttl_above_30s_is_invalid_argument, argv[1]);
    RUN(getl_refuses_what_get_and_lock_cannot_do, argv[1]);
    RUN(a_token_is_released_by_another_process, argv[1]);
    return finish("test_couchbase");
}
