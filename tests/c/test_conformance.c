/* The conformance scenarios of core/tests/conformance.rs that make sense in
 * C, on the backend named by argv[1] (memory, sqlite, redis). */
#include "harness.h"

static void try_acquire_on_held_lock_is_null(const char *backend) {
    fixture fx;
    fixture_open(&fx, backend, "try");
    ferrolock_locks *locks = fixture_connect(&fx);
    ferrolock_held *a = NULL, *b = (ferrolock_held *)&fx; /* garbage: must be overwritten */
    OK(ferrolock_try_acquire(locks, "t", 10000, &a));
    REQUIRE(a != NULL);
    OK(ferrolock_try_acquire(locks, "t", 10000, &b));
    CHECK(b == NULL);
    RELEASE_FREE(a);
    ferrolock_locks_free(locks);
    fixture_close(&fx);
}

static void acquire_times_out_not_early(const char *backend) {
    fixture fx;
    fixture_open(&fx, backend, "timeout");
    ferrolock_locks *locks = fixture_connect(&fx), *other = fixture_connect(&fx);
    ferrolock_held *a = NULL, *b = (ferrolock_held *)&fx;
    OK(ferrolock_try_acquire(locks, "to", 10000, &a));
    double t0 = now_ms();
    EXPECT_ERR(ferrolock_acquire(other, "to", 10000, 200, &b), FERROLOCK_TIMEOUT, "\"to\"");
    double waited = now_ms() - t0;
    CHECK(waited >= 195);
    CHECK(waited < 5000);
    CHECK(b == NULL);
    RELEASE_FREE(a);
    ferrolock_locks_free(other);
    ferrolock_locks_free(locks);
    fixture_close(&fx);
}

static void fences_start_at_1_and_increase(const char *backend) {
    fixture fx;
    fixture_open(&fx, backend, "fence");
    ferrolock_locks *locks = fixture_connect(&fx);
    for (uint64_t want = 1; want <= 3; want++) {
        ferrolock_held *h = NULL;
        OK(ferrolock_acquire(locks, "f", 10000, 5000, &h));
        REQUIRE(h != NULL);
        CHECK(ferrolock_fence(h) == want);
        RELEASE_FREE(h);
    }
    ferrolock_locks_free(locks);
    fixture_close(&fx);
}

/* expiry_lets_another_owner_in_with_higher_fence,
 * stale_release_is_false_and_leaves_new_holder, refresh_after_loss_is_lost */
static void expiry_takeover_stale_release_and_refresh(const char *backend) {
    fixture fx;
    fixture_open(&fx, backend, "expiry");
    ferrolock_locks *locks = fixture_connect(&fx);
    ferrolock_lock_options o = ferrolock_lock_options_init();
    o.ttl_ms = 200;
    o.auto_renew = false;
    ferrolock_held *old = NULL, *next = NULL;
    OK(ferrolock_try_acquire_with(locks, "e", &o, &old));
    REQUIRE(old != NULL);
    sleep_ms(450);
    OK(ferrolock_acquire(locks, "e", 10000, 5000, &next));
    REQUIRE(next != NULL);
    CHECK(ferrolock_fence(next) > ferrolock_fence(old));
    bool was_held = true;
    OK(ferrolock_release(old, &was_held));
    CHECK(!was_held);
    ferrolock_lock_info *info = NULL;
    OK(ferrolock_state(locks, "e", &info));
    REQUIRE(info != NULL);
    CHECK(info->fence == ferrolock_fence(next));
    ferrolock_lock_info_free(info);
    /* A second old handle, lost: refresh says so. */
    ferrolock_held *old2 = NULL, *taker = NULL;
    OK(ferrolock_try_acquire_with(locks, "e2", &o, &old2));
    REQUIRE(old2 != NULL);
    sleep_ms(450);
    OK(ferrolock_try_acquire(locks, "e2", 10000, &taker));
    REQUIRE(taker != NULL);
    EXPECT_ERR(ferrolock_refresh(old2, 10000), FERROLOCK_LOST, "e2");
    CHECK(ferrolock_is_lost(old2));
    ferrolock_held_free(old2);
    ferrolock_held_free(old);
    RELEASE_FREE(taker);
    RELEASE_FREE(next);
    ferrolock_locks_free(locks);
    fixture_close(&fx);
}

static void release_is_idempotent(const char *backend) {
    fixture fx;
    fixture_open(&fx, backend, "idem");
    ferrolock_locks *locks = fixture_connect(&fx);
    ferrolock_held *h = NULL;
    OK(ferrolock_try_acquire(locks, "i", 10000, &h));
    REQUIRE(h != NULL);
    bool was_held = false;
    OK(ferrolock_release(h, &was_held));
    CHECK(was_held);
    OK(ferrolock_release(h, &was_held));
    CHECK(!was_held);
    OK(ferrolock_release(h, NULL)); /* was_held is optional */
    ferrolock_held_free(h);
    ferrolock_locks_free(locks);
    fixture_close(&fx);
}

/* operations_after_release_or_handoff_are_not_held, and
 * token_resumes_in_another_provider */
static void released_or_handed_off_handles(const char *backend) {
    fixture fx;
    fixture_open(&fx, backend, "handoff");
    ferrolock_locks *locks = fixture_connect(&fx), *other = fixture_connect(&fx);
    ferrolock_held *h = NULL;
    OK(ferrolock_try_acquire(locks, "h", 10000, &h));
    REQUIRE(h != NULL);
    OK(ferrolock_release(h, NULL));
    char *token = (char *)"garbage";
    EXPECT_ERR(ferrolock_refresh(h, 10000), FERROLOCK_NOT_HELD, "\"h\"");
    EXPECT_ERR(ferrolock_into_token(h, &token), FERROLOCK_NOT_HELD, "released or handed off");
    CHECK(token == NULL);
    ferrolock_held_free(h);

    OK(ferrolock_try_acquire(locks, "h", 10000, &h));
    REQUIRE(h != NULL);
    uint64_t fence = ferrolock_fence(h);
    OK(ferrolock_into_token(h, &token));
    REQUIRE(token != NULL);
    CHECK(strncmp(token, "flk1.", 5) == 0);
    EXPECT(ferrolock_refresh(h, 10000), FERROLOCK_NOT_HELD);
    char *again = NULL;
    EXPECT(ferrolock_into_token(h, &again), FERROLOCK_NOT_HELD);
    bool was_held = true;
    OK(ferrolock_release(h, &was_held));
    CHECK(!was_held); /* handed off: not this handle's to release */
    ferrolock_held_free(h); /* nor to release on free */
    ferrolock_lock_info *info = NULL;
    OK(ferrolock_state(other, "h", &info));
    CHECK(info != NULL);
    ferrolock_lock_info_free(info);

    ferrolock_held *resumed = NULL;
    OK(ferrolock_resume(other, token, &resumed));
    REQUIRE(resumed != NULL);
    CHECK(ferrolock_fence(resumed) == fence);
    OK(ferrolock_refresh(resumed, 10000));
    RELEASE_FREE(resumed);
    /* The token no longer holds the lock. */
    ferrolock_held *stale = (ferrolock_held *)&fx;
    EXPECT(ferrolock_resume(other, token, &stale), FERROLOCK_LOST);
    CHECK(stale == NULL);
    ferrolock_string_free(token);
    ferrolock_locks_free(other);
    ferrolock_locks_free(locks);
    fixture_close(&fx);
}

/* force_release_state_and_list_show_no_owner_id */
static void force_release_state_and_list(const char *backend) {
    fixture fx;
    fixture_open(&fx, backend, "admin");
    ferrolock_locks *locks = fixture_connect(&fx);
    ferrolock_lock_options o = ferrolock_lock_options_init();
    o.holder = "worker-7";
    o.ttl_ms = 20000;
    ferrolock_held *h = NULL, *h2 = NULL, *h3 = NULL;
    OK(ferrolock_try_acquire_with(locks, "inv:1", &o, &h));
    OK(ferrolock_try_acquire(locks, "inv:2", 10000, &h2));
    OK(ferrolock_try_acquire(locks, "other", 10000, &h3)); /* not under the prefix */
    REQUIRE(h != NULL && h2 != NULL && h3 != NULL);

    ferrolock_lock_info *info = NULL;
    OK(ferrolock_state(locks, "inv:1", &info));
    REQUIRE(info != NULL);
    CHECK(strcmp(info->name, "inv:1") == 0);
    CHECK(strcmp(info->holder, "worker-7") == 0);
    CHECK(info->fence == 1);
    CHECK(!info->shared);
    CHECK(info->readers == 0);
    CHECK(info->expires_in_ms > 10000 && info->expires_in_ms <= 20000);
    ferrolock_lock_info_free(info);

    ferrolock_lock_list *list = NULL;
    OK(ferrolock_list(locks, "inv:", &list));
    REQUIRE(list != NULL);
    CHECK(list->len == 2);
    int seen = 0;
    for (size_t i = 0; i < list->len; i++) {
        seen += strcmp(list->items[i].name, "inv:1") == 0 || strcmp(list->items[i].name, "inv:2") == 0;
        CHECK(list->items[i].holder != NULL);
    }
    CHECK(seen == 2);
    ferrolock_lock_list_free(list);
    OK(ferrolock_list(locks, "nothing-here:", &list));
    REQUIRE(list != NULL);
    CHECK(list->len == 0 && list->items == NULL);
    ferrolock_lock_list_free(list);

    char *token = NULL;
    OK(ferrolock_into_token(h, &token));
    bool was_held = false;
    OK(ferrolock_force_release(locks, "inv:1", &was_held));
    CHECK(was_held);
    OK(ferrolock_force_release(locks, "inv:1", &was_held));
    CHECK(!was_held);
    OK(ferrolock_state(locks, "inv:1", &info));
    CHECK(info == NULL);
    ferrolock_held *resumed = (ferrolock_held *)&fx;
    EXPECT(ferrolock_resume(locks, token, &resumed), FERROLOCK_LOST);
    CHECK(resumed == NULL);
    ferrolock_string_free(token);
    ferrolock_held_free(h);
    RELEASE_FREE(h2);
    RELEASE_FREE(h3);
    ferrolock_locks_free(locks);
    fixture_close(&fx);
}

/* shared_locks_admit_readers_and_exclude_writers (every backend built
 * here supports shared locks; one that did not would answer UNSUPPORTED). */
static void shared_locks_admit_readers_and_exclude_writers(const char *backend) {
    fixture fx;
    fixture_open(&fx, backend, "rw");
    ferrolock_locks *locks = fixture_connect(&fx);
    ferrolock_lock_options shared = ferrolock_lock_options_init();
    shared.shared = true;
    ferrolock_held *readers[3] = {NULL, NULL, NULL}, *writer = NULL;
    for (int i = 0; i < 3; i++) {
        OK(ferrolock_try_acquire_with(locks, "rw", &shared, &readers[i]));
        REQUIRE(readers[i] != NULL);
    }
    ferrolock_lock_info *info = NULL;
    OK(ferrolock_state(locks, "rw", &info));
    REQUIRE(info != NULL);
    CHECK(info->shared && info->readers == 3);
    ferrolock_lock_info_free(info);
    OK(ferrolock_try_acquire(locks, "rw", 10000, &writer));
    CHECK(writer == NULL);
    for (int i = 0; i < 3; i++) RELEASE_FREE(readers[i]);
    OK(ferrolock_try_acquire(locks, "rw", 10000, &writer));
    REQUIRE(writer != NULL);
    ferrolock_held *reader = NULL;
    OK(ferrolock_try_acquire_with(locks, "rw", &shared, &reader));
    CHECK(reader == NULL);
    RELEASE_FREE(writer);
    ferrolock_locks_free(locks);
    fixture_close(&fx);
}

static void watchdog_keeps_lock_past_its_ttl(const char *backend) {
    fixture fx;
    fixture_open(&fx, backend, "wd");
    ferrolock_locks *locks = fixture_connect(&fx);
    ferrolock_held *h = NULL, *other = NULL;
    OK(ferrolock_try_acquire(locks, "wd", 300, &h));
    REQUIRE(h != NULL);
    sleep_ms(1000);
    CHECK(!ferrolock_is_lost(h));
    OK(ferrolock_try_acquire(locks, "wd", 10000, &other));
    CHECK(other == NULL);
    RELEASE_FREE(h);
    ferrolock_locks_free(locks);
    fixture_close(&fx);
}

static void without_auto_renew_the_lock_expires_at_its_ttl(const char *backend) {
    fixture fx;
    fixture_open(&fx, backend, "nr");
    ferrolock_locks *locks = fixture_connect(&fx);
    ferrolock_lock_options o = ferrolock_lock_options_init();
    o.ttl_ms = 300;
    o.auto_renew = false;
    ferrolock_held *h = NULL, *other = NULL;
    OK(ferrolock_try_acquire_with(locks, "nr", &o, &h));
    REQUIRE(h != NULL);
    OK(ferrolock_try_acquire(locks, "nr", 10000, &other));
    CHECK(other == NULL);
    sleep_ms(500);
    ferrolock_lock_info *info = (ferrolock_lock_info *)&fx;
    OK(ferrolock_state(locks, "nr", &info));
    CHECK(info == NULL);
    bool was_held = true;
    OK(ferrolock_release(h, &was_held));
    CHECK(!was_held);
    ferrolock_held_free(h);
    ferrolock_locks_free(locks);
    fixture_close(&fx);
}

/* cancelled_wait_leaves_nothing_held: C has no cancellation but the
 * timeout, which must leave nothing behind either. */
static void timed_out_wait_leaves_nothing_held(const char *backend) {
    fixture fx;
    fixture_open(&fx, backend, "c");
    ferrolock_locks *locks = fixture_connect(&fx);
    ferrolock_held *h = NULL, *w = NULL;
    OK(ferrolock_try_acquire(locks, "c", 10000, &h));
    EXPECT(ferrolock_acquire(locks, "c", 10000, 100, &w), FERROLOCK_TIMEOUT);
    RELEASE_FREE(h);
    double t0 = now_ms();
    OK(ferrolock_acquire(locks, "c", 10000, 10000, &w));
    CHECK(now_ms() - t0 < 3000);
    REQUIRE(w != NULL);
    CHECK(ferrolock_fence(w) == 2);
    RELEASE_FREE(w);
    ferrolock_locks_free(locks);
    fixture_close(&fx);
}

static void closed_provider_refuses_operations(const char *backend) {
    fixture fx;
    fixture_open(&fx, backend, "closed");
    ferrolock_locks *locks = fixture_connect(&fx);
    ferrolock_held *h = NULL, *h2 = NULL;
    OK(ferrolock_try_acquire(locks, "x", 10000, &h));
    REQUIRE(h != NULL);
    OK(ferrolock_close(locks));
    OK(ferrolock_close(locks)); /* twice is fine */
    EXPECT_ERR(ferrolock_try_acquire(locks, "x", 10000, &h2), FERROLOCK_CLOSED, "closed");
    ferrolock_lock_info *info = NULL;
    EXPECT(ferrolock_state(locks, "x", &info), FERROLOCK_CLOSED);
    EXPECT(ferrolock_refresh(h, 1000), FERROLOCK_CLOSED);
    EXPECT(ferrolock_ping(locks), FERROLOCK_CLOSED);
    char *token = NULL;
    EXPECT(ferrolock_into_token(h, &token), FERROLOCK_CLOSED);
    EXPECT(ferrolock_release(h, NULL), FERROLOCK_CLOSED);
    ferrolock_held_free(h);
    ferrolock_locks_free(locks);
    fixture_close(&fx);
}

static void bypass_grants_every_lock(const char *backend) {
    fixture fx;
    fixture_open(&fx, backend, "bypass");
    char url[1100];
    fixture_url_with(&fx, "bypass=true", url, sizeof url);
    ferrolock_locks *bypass = NULL, *real = fixture_connect(&fx);
    OK(ferrolock_connect(url, &bypass));
    REQUIRE(bypass != NULL);
    ferrolock_held *a = NULL, *b = NULL;
    OK(ferrolock_try_acquire(bypass, "b", 10000, &a));
    OK(ferrolock_try_acquire(bypass, "b", 10000, &b));
    REQUIRE(a != NULL && b != NULL);
    CHECK(ferrolock_fence(a) == 0 && ferrolock_fence(b) == 0);
    ferrolock_lock_info *info = (ferrolock_lock_info *)&fx;
    OK(ferrolock_state(real, "b", &info));
    CHECK(info == NULL);
    OK(ferrolock_release(a, NULL));
    OK(ferrolock_release(b, NULL));
    ferrolock_held_free(a);
    ferrolock_held_free(b);
    ferrolock_locks_free(bypass);
    ferrolock_locks_free(real);
    fixture_close(&fx);
}

/* dropped_handle_releases_its_lock: ferrolock_held_free of an armed handle */
static void freed_handle_releases_its_lock(const char *backend) {
    fixture fx;
    fixture_open(&fx, backend, "freed");
    ferrolock_locks *locks = fixture_connect(&fx);
    ferrolock_held *h = NULL, *next = NULL;
    OK(ferrolock_try_acquire(locks, "d", 10000, &h));
    REQUIRE(h != NULL);
    /* ... and warns on stderr that it was not released explicitly. */
    fflush(stderr);
    FILE *log = tmpfile();
    REQUIRE(log != NULL);
    int saved = dup(2);
    dup2(fileno(log), 2);
    ferrolock_held_free(h);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char text[2048] = "";
    rewind(log);
    size_t n = fread(text, 1, sizeof text - 1, log);
    text[n] = '\0';
    fclose(log);
    CHECK(strstr(text, "WARN") != NULL && strstr(text, "without release") != NULL);
    if (strstr(text, "without release") == NULL) fprintf(stderr, "stderr was: %s\n", text);
    OK(ferrolock_acquire(locks, "d", 10000, 5000, &next));
    REQUIRE(next != NULL);
    CHECK(ferrolock_fence(next) == 2);
    RELEASE_FREE(next);
    ferrolock_locks_free(locks);
    fixture_close(&fx);
}

static void foreign_and_malformed_tokens_are_invalid(const char *backend) {
    fixture fx, other_fx;
    fixture_open(&fx, backend, "foreign");
    fixture_open(&other_fx, strcmp(backend, "memory") == 0 ? "sqlite" : "memory", "foreign");
    ferrolock_locks *locks = fixture_connect(&fx), *foreign = fixture_connect(&other_fx);
    ferrolock_held *h = NULL, *r = NULL;
    OK(ferrolock_try_acquire(foreign, "f", 10000, &h));
    REQUIRE(h != NULL);
    char *token = NULL;
    OK(ferrolock_into_token(h, &token));
    ferrolock_held_free(h);
    EXPECT_ERR(ferrolock_resume(locks, token, &r), FERROLOCK_INVALID_TOKEN, "backend");
    CHECK(r == NULL);
    const char *bad[] = {"", "flk1.", "flk1.!!!!", "flk2.AAAA"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        EXPECT(ferrolock_resume(locks, bad[i], &r), FERROLOCK_INVALID_TOKEN);
    }
    token[strlen(token) - 4] = '\0'; /* truncated */
    EXPECT(ferrolock_resume(locks, token, &r), FERROLOCK_INVALID_TOKEN);
    ferrolock_string_free(token);
    /* The foreign lock was handed off: free it there by name. */
    OK(ferrolock_force_release(foreign, "f", NULL));
    ferrolock_locks_free(foreign);
    ferrolock_locks_free(locks);
    fixture_close(&other_fx);
    fixture_close(&fx);
}

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

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: test_conformance memory|sqlite|redis\n");
        return 2;
    }
    const char *b = argv[1];
    RUN(try_acquire_on_held_lock_is_null, b);
    RUN(acquire_times_out_not_early, b);
    RUN(fences_start_at_1_and_increase, b);
    RUN(expiry_takeover_stale_release_and_refresh, b);
    RUN(release_is_idempotent, b);
    RUN(released_or_handed_off_handles, b);
    RUN(force_release_state_and_list, b);
    RUN(shared_locks_admit_readers_and_exclude_writers, b);
    RUN(watchdog_keeps_lock_past_its_ttl, b);
    RUN(without_auto_renew_the_lock_expires_at_its_ttl, b);
    RUN(timed_out_wait_leaves_nothing_held, b);
    RUN(closed_provider_refuses_operations, b);
    RUN(bypass_grants_every_lock, b);
    RUN(freed_handle_releases_its_lock, b);
    RUN(foreign_and_malformed_tokens_are_invalid, b);
    RUN(ping_answers, b);
    RUN(repeated_calls_honour_each_ttl_and_provider, b);
    RUN(freeing_a_provider_closes_its_files, b);
    return finish("test_conformance");
}
