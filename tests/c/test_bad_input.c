/* The bad-input matrix: every entry point with NULL pointers, invalid
 * UTF-8, ttl 0, out-of-range values, and released or handed-off handles.
 * Each gives a status and a message naming the function and the argument;
 * out-parameters are reset; nothing crashes or leaks. */
#include "harness.h"
#include "vectors.h"
#include <math.h>
#include <pthread.h>

#define GARBAGE ((void *)0x1)

static const char BAD_UTF8[] = "bad\xff\xfe";

static void connect_refuses_bad_input(const char *u) {
    (void)u;
    ferrolock_locks *locks = GARBAGE;
    EXPECT_ERR(ferrolock_connect(NULL, &locks), FERROLOCK_INVALID_ARGUMENT, "url is NULL");
    CHECK(locks == NULL);
    EXPECT_ERR(ferrolock_connect("memory://", NULL), FERROLOCK_INVALID_ARGUMENT, "locks is NULL");
    EXPECT_ERR(ferrolock_connect_default(NULL), FERROLOCK_INVALID_ARGUMENT, "locks is NULL");
    locks = GARBAGE;
    EXPECT_ERR(ferrolock_connect(BAD_UTF8, &locks), FERROLOCK_INVALID_ARGUMENT, "UTF-8");
    CHECK(locks == NULL);
    EXPECT_ERR(ferrolock_connect("nope://x", &locks), FERROLOCK_INVALID_ARGUMENT, "unknown scheme");
    EXPECT_ERR(ferrolock_connect("no-scheme-here", &locks), FERROLOCK_INVALID_ARGUMENT, "no scheme");
    EXPECT_ERR(ferrolock_connect("memory://?namespace=bad/ns", &locks), FERROLOCK_INVALID_ARGUMENT, "namespace");
    EXPECT_ERR(ferrolock_connect("memory://?colour=blue", &locks), FERROLOCK_INVALID_ARGUMENT, "colour");
    EXPECT_ERR(ferrolock_connect("sqlite://", &locks), FERROLOCK_INVALID_ARGUMENT, "path");
    EXPECT_ERR(ferrolock_connect("ftp://alice:hunter2@example", &locks), FERROLOCK_INVALID_ARGUMENT, "ferrolock_connect");
    CHECK(strstr(ferrolock_last_error(), "hunter2") == NULL);
    EXPECT_ERR(ferrolock_connect("redis+runner://alice:hunter2@db", &locks), FERROLOCK_UNSUPPORTED, "redis-runner");
    CHECK(strstr(ferrolock_last_error(), "hunter2") == NULL);
    CHECK(locks == NULL);
    /* Couchbase (in this build) at a dead port: UNAVAILABLE within its
     * connect_timeout, the password replaced by ***. */
    double t0 = now_ms();
    EXPECT(ferrolock_connect("couchbase://alice:hunter2@127.0.0.1:1/app?connect_timeout=1", &locks), FERROLOCK_UNAVAILABLE);
    CHECK(now_ms() - t0 < 10000);
    CHECK(strstr(ferrolock_last_error(), "hunter2") == NULL && strstr(ferrolock_last_error(), "***") != NULL);
    CHECK(locks == NULL);
    /* An unreachable server: UNAVAILABLE, password redacted. */
    ferrolock_status s = ferrolock_connect("redis://alice:hunter2@127.0.0.1:1", &locks);
    if (s == FERROLOCK_OK) {
        EXPECT(ferrolock_ping(locks), FERROLOCK_UNAVAILABLE);
        ferrolock_locks_free(locks);
    } else {
        EXPECT(s, FERROLOCK_UNAVAILABLE);
    }
    CHECK(strstr(ferrolock_last_error(), "hunter2") == NULL);
    CHECK(strstr(ferrolock_last_error(), "127.0.0.1:1") != NULL); /* the server, as the URL names it */
    /* A scheme without its slashes: the fix, not "no scheme". */
    EXPECT_ERR(ferrolock_connect("sqlite:locks.db", &locks), FERROLOCK_INVALID_ARGUMENT, "write sqlite://locks.db");
    /* A backend this library was built without (the WebAssembly build's
     * Redis through an embedder's client) names its cargo feature. */
    EXPECT_ERR(ferrolock_connect("redis+runner://h", &locks), FERROLOCK_UNSUPPORTED, "rebuild with it: --features redis-runner");
    CHECK(strstr(ferrolock_last_error(), "planned") == NULL);
}

static void connect_default_reads_ferrolock_url(const char *u) {
    (void)u;
    REQUIRE(setenv("FERROLOCK_URL", "memory://from-env?namespace=env-ns", 1) == 0);
    ferrolock_locks *locks = NULL;
    OK(ferrolock_connect_default(&locks));
    REQUIRE(locks != NULL);
    ferrolock_held *h = NULL;
    OK(ferrolock_try_acquire(locks, "e", 1000, &h));
    REQUIRE(h != NULL);
    char *token = NULL;
    OK(ferrolock_into_token(h, &token));
    ferrolock_token_info *t = NULL;
    OK(ferrolock_decode_token(token, &t));
    CHECK(t != NULL && strcmp(t->namespace_, "env-ns") == 0);
    ferrolock_token_info_free(t);
    ferrolock_string_free(token);
    ferrolock_held_free(h);
    ferrolock_locks_free(locks);
    REQUIRE(setenv("FERROLOCK_URL", "nope://", 1) == 0);
    locks = GARBAGE;
    EXPECT_ERR(ferrolock_connect_default(&locks), FERROLOCK_INVALID_ARGUMENT, "ferrolock_connect_default");
    CHECK(locks == NULL);
    unsetenv("FERROLOCK_URL");
}

static void acquire_refuses_bad_input(const char *u) {
    (void)u;
    ferrolock_locks *locks = NULL;
    OK(ferrolock_connect("memory://bad-input", &locks));
    REQUIRE(locks != NULL);
    ferrolock_held *h = GARBAGE;
    EXPECT_ERR(ferrolock_try_acquire(NULL, "n", 1000, &h), FERROLOCK_INVALID_ARGUMENT, "locks is NULL");
    CHECK(h == NULL);
    h = GARBAGE;
    EXPECT_ERR(ferrolock_try_acquire(locks, NULL, 1000, &h), FERROLOCK_INVALID_ARGUMENT, "name is NULL");
    CHECK(h == NULL);
    EXPECT_ERR(ferrolock_try_acquire(locks, "n", 1000, NULL), FERROLOCK_INVALID_ARGUMENT, "held is NULL");
    EXPECT_ERR(ferrolock_try_acquire(locks, BAD_UTF8, 1000, &h), FERROLOCK_INVALID_ARGUMENT, "name is not valid UTF-8");
    EXPECT_ERR(ferrolock_try_acquire(locks, "", 1000, &h), FERROLOCK_INVALID_ARGUMENT, "empty");
    char long_name[600];
    memset(long_name, 'x', 513);
    long_name[513] = '\0';
    EXPECT_ERR(ferrolock_try_acquire(locks, long_name, 1000, &h), FERROLOCK_INVALID_ARGUMENT, "513");
    EXPECT_ERR(ferrolock_try_acquire(locks, "bad\nname", 1000, &h), FERROLOCK_INVALID_ARGUMENT, "control");
    /* In the unit C gives (milliseconds), not Rust's `0ns`. */
    EXPECT_ERR(ferrolock_try_acquire(locks, "t", 0, &h), FERROLOCK_INVALID_ARGUMENT, "ttl 0ms is too short");
    EXPECT_ERR(ferrolock_try_acquire(locks, "t", UINT64_MAX, &h), FERROLOCK_INVALID_ARGUMENT, "maximum");
    h = GARBAGE;
    EXPECT_ERR(ferrolock_acquire(locks, "t", 0, 100, &h), FERROLOCK_INVALID_ARGUMENT, "ferrolock_acquire: ");
    CHECK(h == NULL);
    /* Every timeout is in range in milliseconds: the largest but one is a
       (very long) wait, UINT64_MAX forever; a free lock is had at once. */
    OK(ferrolock_acquire(locks, "big-timeout", 1000, UINT64_MAX - 1, &h));
    RELEASE_FREE(h);
    OK(ferrolock_acquire(locks, "big-timeout", 1000, FERROLOCK_WAIT_FOREVER, &h));
    RELEASE_FREE(h);
    EXPECT_ERR(ferrolock_acquire(NULL, "t", 1000, 100, &h), FERROLOCK_INVALID_ARGUMENT, "locks");
    EXPECT_ERR(ferrolock_acquire(locks, NULL, 1000, 100, &h), FERROLOCK_INVALID_ARGUMENT, "name");
    EXPECT_ERR(ferrolock_acquire(locks, "t", 1000, 100, NULL), FERROLOCK_INVALID_ARGUMENT, "held");
    EXPECT_ERR(ferrolock_acquire(locks, BAD_UTF8, 1000, 100, &h), FERROLOCK_INVALID_ARGUMENT, "UTF-8");
    /* 512 bytes of UTF-8 is fine, and so is any UTF-8. */
    char name512[600] = "";
    for (int i = 0; i < 256; i++) strcat(name512, "\xc3\xa9");
    OK(ferrolock_try_acquire(locks, name512, 1000, &h));
    CHECK(h != NULL);
    ferrolock_held_free(h);
    /* Nothing was left held by the failed calls. */
    ferrolock_lock_list *list = NULL;
    OK(ferrolock_list(locks, "t", &list));
    REQUIRE(list != NULL);
    CHECK(list->len == 0);
    ferrolock_lock_list_free(list);
    ferrolock_locks_free(locks);
}

static void options_refuse_bad_input(const char *u) {
    (void)u;
    ferrolock_locks *locks = NULL;
    OK(ferrolock_connect("memory://bad-options", &locks));
    ferrolock_held *h = GARBAGE;
    EXPECT_ERR(ferrolock_try_acquire_with(locks, "o", NULL, &h), FERROLOCK_INVALID_ARGUMENT, "options is NULL");
    CHECK(h == NULL);
    ferrolock_lock_options o;
    memset(&o, 0, sizeof o);
    EXPECT_ERR(ferrolock_try_acquire_with(locks, "o", &o, &h), FERROLOCK_INVALID_ARGUMENT, "options->size");
    o = ferrolock_lock_options_init();
    CHECK(o.size == sizeof o && o.ttl_ms == 30000 && o.auto_renew && !o.shared && o.holder == NULL);
    o.size = sizeof o - 1;
    EXPECT_ERR(ferrolock_acquire_with(locks, "o", &o, 100, &h), FERROLOCK_INVALID_ARGUMENT, "options->size");
    /* A struct from a newer header: unknown fields must be zero. */
    struct {
        ferrolock_lock_options o;
        uint64_t newer;
    } bigger;
    memset(&bigger, 0, sizeof bigger);
    bigger.o = ferrolock_lock_options_init();
    bigger.o.size = sizeof bigger;
    bigger.newer = 7;
    EXPECT_ERR(ferrolock_try_acquire_with(locks, "o", &bigger.o, &h), FERROLOCK_INVALID_ARGUMENT, "does not know");
    bigger.newer = 0;
    OK(ferrolock_try_acquire_with(locks, "o", &bigger.o, &h));
    REQUIRE(h != NULL);
    RELEASE_FREE(h);
    /* A bool byte that is neither 0 nor 1 (memset, a cast) reads as true. */
    o = ferrolock_lock_options_init();
    memset(&o.shared, 0x7f, 1);
    OK(ferrolock_try_acquire_with(locks, "odd-bool", &o, &h));
    REQUIRE(h != NULL);
    ferrolock_lock_info *info = NULL;
    OK(ferrolock_state(locks, "odd-bool", &info));
    CHECK(info != NULL && info->shared);
    ferrolock_lock_info_free(info);
    RELEASE_FREE(h);
    o = ferrolock_lock_options_init();
    o.ttl_ms = 0;
    EXPECT_ERR(ferrolock_try_acquire_with(locks, "o", &o, &h), FERROLOCK_INVALID_ARGUMENT, "ttl 0ms is too short");
    o = ferrolock_lock_options_init();
    o.holder = BAD_UTF8;
    EXPECT_ERR(ferrolock_try_acquire_with(locks, "o", &o, &h), FERROLOCK_INVALID_ARGUMENT, "options->holder");
    o.holder = "a\ab";
    EXPECT_ERR(ferrolock_try_acquire_with(locks, "o", &o, &h), FERROLOCK_INVALID_ARGUMENT, "holder");
    o = ferrolock_lock_options_init();
    EXPECT_ERR(ferrolock_try_acquire_with(NULL, "o", &o, &h), FERROLOCK_INVALID_ARGUMENT, "locks");
    EXPECT_ERR(ferrolock_try_acquire_with(locks, NULL, &o, &h), FERROLOCK_INVALID_ARGUMENT, "name");
    EXPECT_ERR(ferrolock_try_acquire_with(locks, "o", &o, NULL), FERROLOCK_INVALID_ARGUMENT, "held");
    EXPECT_ERR(ferrolock_acquire_with(locks, "o", &o, 100, NULL), FERROLOCK_INVALID_ARGUMENT, "held");
    EXPECT_ERR(ferrolock_acquire_with(locks, "o", NULL, 100, &h), FERROLOCK_INVALID_ARGUMENT, "options");
    ferrolock_locks_free(locks);
}

static void handle_calls_refuse_bad_input(const char *u) {
    (void)u;
    ferrolock_locks *locks = NULL;
    OK(ferrolock_connect("memory://bad-handles", &locks));
    bool was_held = true;
    EXPECT_ERR(ferrolock_release(NULL, &was_held), FERROLOCK_INVALID_ARGUMENT, "held is NULL");
    CHECK(!was_held);
    EXPECT_ERR(ferrolock_refresh(NULL, 1000), FERROLOCK_INVALID_ARGUMENT, "held is NULL");
    CHECK(ferrolock_fence(NULL) == 0);
    CHECK(!ferrolock_is_lost(NULL));
    char *token = GARBAGE;
    EXPECT_ERR(ferrolock_into_token(NULL, &token), FERROLOCK_INVALID_ARGUMENT, "held is NULL");
    CHECK(token == NULL);

    ferrolock_held *h = NULL;
    OK(ferrolock_try_acquire(locks, "h", 10000, &h));
    REQUIRE(h != NULL);
    EXPECT_ERR(ferrolock_into_token(h, NULL), FERROLOCK_INVALID_ARGUMENT, "token is NULL");
    EXPECT_ERR(ferrolock_refresh(h, 0), FERROLOCK_INVALID_ARGUMENT, "ttl");
    EXPECT_ERR(ferrolock_refresh(h, UINT64_MAX), FERROLOCK_INVALID_ARGUMENT, "maximum");
    OK(ferrolock_refresh(h, 20000));
    RELEASE_FREE(h);

    /* Released and handed-off (not freed) handles: NOT_HELD, release false. */
    OK(ferrolock_try_acquire(locks, "h", 10000, &h));
    OK(ferrolock_release(h, NULL));
    EXPECT_ERR(ferrolock_refresh(h, 1000), FERROLOCK_NOT_HELD, "ferrolock_refresh");
    token = GARBAGE;
    EXPECT_ERR(ferrolock_into_token(h, &token), FERROLOCK_NOT_HELD, "ferrolock_into_token");
    CHECK(token == NULL);
    ferrolock_held_free(h);
    OK(ferrolock_try_acquire(locks, "h", 10000, &h));
    OK(ferrolock_into_token(h, &token));
    EXPECT(ferrolock_refresh(h, 1000), FERROLOCK_NOT_HELD);
    OK(ferrolock_release(h, &was_held));
    CHECK(!was_held);
    CHECK(ferrolock_fence(h) > 0); /* still readable */
    ferrolock_held_free(h);

    ferrolock_held *r = GARBAGE;
    EXPECT_ERR(ferrolock_resume(NULL, token, &r), FERROLOCK_INVALID_ARGUMENT, "locks is NULL");
    CHECK(r == NULL);
    EXPECT_ERR(ferrolock_resume(locks, NULL, &r), FERROLOCK_INVALID_ARGUMENT, "token is NULL");
    EXPECT_ERR(ferrolock_resume(locks, token, NULL), FERROLOCK_INVALID_ARGUMENT, "held is NULL");
    EXPECT_ERR(ferrolock_resume(locks, BAD_UTF8, &r), FERROLOCK_INVALID_ARGUMENT, "token is not valid UTF-8");
    EXPECT_ERR(ferrolock_resume(locks, "flk1.nope", &r), FERROLOCK_INVALID_TOKEN, "ferrolock_resume");
    OK(ferrolock_resume(locks, token, &r));
    RELEASE_FREE(r);
    ferrolock_string_free(token);

    ferrolock_token_info *t = GARBAGE;
    EXPECT_ERR(ferrolock_decode_token(NULL, &t), FERROLOCK_INVALID_ARGUMENT, "token is NULL");
    CHECK(t == NULL);
    EXPECT_ERR(ferrolock_decode_token("flk1.", NULL), FERROLOCK_INVALID_ARGUMENT, "info is NULL");
    EXPECT_ERR(ferrolock_decode_token(BAD_UTF8, &t), FERROLOCK_INVALID_ARGUMENT, "UTF-8");
    ferrolock_locks_free(locks);
}

static void provider_calls_refuse_bad_input(const char *u) {
    (void)u;
    ferrolock_locks *locks = NULL;
    OK(ferrolock_connect("memory://bad-provider", &locks));
    ferrolock_lock_info *info = GARBAGE;
    EXPECT_ERR(ferrolock_state(NULL, "s", &info), FERROLOCK_INVALID_ARGUMENT, "locks is NULL");
    CHECK(info == NULL);
    EXPECT_ERR(ferrolock_state(locks, NULL, &info), FERROLOCK_INVALID_ARGUMENT, "name is NULL");
    EXPECT_ERR(ferrolock_state(locks, "s", NULL), FERROLOCK_INVALID_ARGUMENT, "info is NULL");
    EXPECT_ERR(ferrolock_state(locks, "", &info), FERROLOCK_INVALID_ARGUMENT, "empty");
    EXPECT_ERR(ferrolock_state(locks, BAD_UTF8, &info), FERROLOCK_INVALID_ARGUMENT, "UTF-8");
    ferrolock_lock_list *list = GARBAGE;
    EXPECT_ERR(ferrolock_list(NULL, "", &list), FERROLOCK_INVALID_ARGUMENT, "locks is NULL");
    CHECK(list == NULL);
    EXPECT_ERR(ferrolock_list(locks, NULL, &list), FERROLOCK_INVALID_ARGUMENT, "prefix is NULL");
    EXPECT_ERR(ferrolock_list(locks, "", NULL), FERROLOCK_INVALID_ARGUMENT, "list is NULL");
    EXPECT_ERR(ferrolock_list(locks, "a\x01", &list), FERROLOCK_INVALID_ARGUMENT, "control");
    EXPECT_ERR(ferrolock_list(locks, BAD_UTF8, &list), FERROLOCK_INVALID_ARGUMENT, "UTF-8");
    bool was_held = true;
    EXPECT_ERR(ferrolock_force_release(NULL, "f", &was_held), FERROLOCK_INVALID_ARGUMENT, "locks is NULL");
    EXPECT_ERR(ferrolock_force_release(locks, NULL, &was_held), FERROLOCK_INVALID_ARGUMENT, "name is NULL");
    EXPECT_ERR(ferrolock_force_release(locks, "a\x01", &was_held), FERROLOCK_INVALID_ARGUMENT, "control");
    EXPECT_ERR(ferrolock_force_release(locks, BAD_UTF8, NULL), FERROLOCK_INVALID_ARGUMENT, "UTF-8");
    OK(ferrolock_force_release(locks, "free", &was_held));
    CHECK(!was_held);
    EXPECT_ERR(ferrolock_ping(NULL), FERROLOCK_INVALID_ARGUMENT, "ferrolock_ping: invalid argument: locks is NULL");
    EXPECT_ERR(ferrolock_close(NULL), FERROLOCK_INVALID_ARGUMENT, "locks is NULL");
    ferrolock_locks_free(locks);
}

static void frees_accept_null(const char *u) {
    (void)u;
    ferrolock_locks_free(NULL);
    ferrolock_held_free(NULL);
    ferrolock_string_free(NULL);
    ferrolock_lock_info_free(NULL);
    ferrolock_lock_list_free(NULL);
    ferrolock_token_info_free(NULL);
    ferrolock_event_free(NULL);
    ferrolock_events_free(NULL);
    CHECK(strlen(ferrolock_version()) > 0);
}

static void events_and_capabilities_refuse_bad_input(const char *u) {
    (void)u;
    ferrolock_events *events = GARBAGE;
    EXPECT_ERR(ferrolock_events_subscribe(NULL, &events), FERROLOCK_INVALID_ARGUMENT, "locks is NULL");
    CHECK(events == NULL);
    ferrolock_locks *locks = NULL;
    OK(ferrolock_connect("memory://bad-events", &locks));
    EXPECT_ERR(ferrolock_events_subscribe(locks, NULL), FERROLOCK_INVALID_ARGUMENT, "events is NULL");
    OK(ferrolock_events_subscribe(locks, &events));
    ferrolock_event *event = GARBAGE;
    EXPECT_ERR(ferrolock_events_next(NULL, 0, &event), FERROLOCK_INVALID_ARGUMENT, "events is NULL");
    CHECK(event == NULL);
    EXPECT_ERR(ferrolock_events_next(events, 0, NULL), FERROLOCK_INVALID_ARGUMENT, "event is NULL");
    event = GARBAGE;
    EXPECT_ERR(ferrolock_events_next(events, 0, &event), FERROLOCK_TIMEOUT, "ferrolock_events_next: no event");
    CHECK(event == NULL);
    ferrolock_backend_capabilities caps;
    EXPECT_ERR(ferrolock_capabilities(NULL, &caps), FERROLOCK_INVALID_ARGUMENT, "locks is NULL");
    EXPECT_ERR(ferrolock_capabilities(locks, NULL), FERROLOCK_INVALID_ARGUMENT, "capabilities is NULL");
    /* A subscription outliving its provider's free ends with CLOSED. */
    ferrolock_locks_free(locks);
    EXPECT_ERR(ferrolock_events_next(events, 1000, &event), FERROLOCK_CLOSED, "closed");
    ferrolock_events_free(events);
}

static void *read_last_error(void *out) {
    /* Copied: the pointer dies with the thread. */
    snprintf((char *)out, 64, "%s", ferrolock_last_error());
    return NULL;
}

static void last_error_is_per_thread(const char *u) {
    (void)u;
    EXPECT(ferrolock_ping(NULL), FERROLOCK_INVALID_ARGUMENT);
    char other[64] = "unset";
    pthread_t tid;
    REQUIRE(pthread_create(&tid, NULL, read_last_error, other) == 0);
    pthread_join(tid, NULL);
    CHECK(other[0] == '\0'); /* a new thread has none */
    CHECK(strstr(ferrolock_last_error(), "ferrolock_ping") != NULL);
    /* A successful call leaves it (like errno). */
    ferrolock_lock_options o = ferrolock_lock_options_init();
    (void)o;
    CHECK(strstr(ferrolock_last_error(), "ferrolock_ping") != NULL);
}

/* tests/vectors/durations.json: a string carries its unit; "30" is refused,
 * naming it (a bare 30 is seconds in Python, milliseconds here). */
static void duration_strings_follow_the_shared_table(const char *u) {
    (void)u;
    uint64_t ms = 7;
    for (size_t i = 0; i < N_DURATION_STRINGS; i++) {
        const duration_row *d = &DURATION_STRINGS[i];
        if (d->ms == floor(d->ms)) {
            OK(ferrolock_parse_duration(d->input, &ms));
            CHECK(ms == (uint64_t)d->ms);
        } else {
            EXPECT_ERR(ferrolock_parse_duration(d->input, &ms), FERROLOCK_INVALID_ARGUMENT, "whole number of milliseconds");
            CHECK(ms == 0);
        }
    }
    for (size_t i = 0; i < N_BARE_DURATIONS; i++) {
        ms = 7;
        EXPECT_ERR(ferrolock_parse_duration(BARE_DURATIONS[i], &ms), FERROLOCK_INVALID_ARGUMENT, "has no unit");
        CHECK(strstr(ferrolock_last_error(), BARE_DURATIONS[i]) != NULL);
        CHECK(ms == 0);
    }
    for (size_t i = 0; i < N_INVALID_DURATIONS; i++) {
        EXPECT_ERR(ferrolock_parse_duration(INVALID_DURATIONS[i], &ms), FERROLOCK_INVALID_ARGUMENT, "duration");
    }
    EXPECT_ERR(ferrolock_parse_duration(NULL, &ms), FERROLOCK_INVALID_ARGUMENT, "text is NULL");
    EXPECT_ERR(ferrolock_parse_duration("10s", NULL), FERROLOCK_INVALID_ARGUMENT, "ms is NULL");
}

int main(void) {
    RUN(connect_refuses_bad_input, "");
    RUN(connect_default_reads_ferrolock_url, "");
    RUN(acquire_refuses_bad_input, "");
    RUN(options_refuse_bad_input, "");
    RUN(handle_calls_refuse_bad_input, "");
    RUN(provider_calls_refuse_bad_input, "");
    RUN(frees_accept_null, "");
    RUN(events_and_capabilities_refuse_bad_input, "");
    RUN(last_error_is_per_thread, "");
    RUN(duration_strings_follow_the_shared_table, "");
    return finish("test_bad_input");
}
