/* The callback wrapper: ferrolock_run and ferrolock_run_with. argv[1]:
 * memory, sqlite or redis. */
#include "harness.h"

typedef struct {
    ferrolock_locks *locks;
    ferrolock_locks *admin;
    const char *name;
    int calls;
    uint64_t fence;
    bool lost_seen;
    ferrolock_status inner;
} ctx;

static int count_and_return_42(void *p) {
    ctx *c = p;
    c->calls++;
    /* Held while the callback runs: another owner cannot have it. */
    ferrolock_held *other = NULL;
    c->inner = ferrolock_try_acquire(c->locks, c->name, 10000, &other);
    if (other != NULL) {
        c->inner = FERROLOCK_INTERNAL;
        ferrolock_held_free(other);
    }
    return 42;
}

static void run_returns_the_callback_value_and_releases(const char *backend) {
    fixture fx;
    fixture_open(&fx, backend, "run");
    ferrolock_locks *locks = fixture_connect(&fx);
    ctx c = {locks, NULL, "run", 0, 0, false, FERROLOCK_INTERNAL};
    int result = -1;
    OK(ferrolock_run(locks, "run", 10000, 5000, count_and_return_42, &c, &result));
    CHECK(result == 42);
    CHECK(c.calls == 1);
    OK(c.inner);
    ferrolock_lock_info *info = (ferrolock_lock_info *)&fx;
    OK(ferrolock_state(locks, "run", &info));
    CHECK(info == NULL);
    /* callback_result is optional */
    OK(ferrolock_run(locks, "run", 10000, 5000, count_and_return_42, &c, NULL));
    CHECK(c.calls == 2);
    ferrolock_locks_free(locks);
    fixture_close(&fx);
}

static int read_fence(const ferrolock_held *held, void *p) {
    ctx *c = p;
    c->calls++;
    c->fence = ferrolock_fence(held);
    c->lost_seen = ferrolock_is_lost(held);
    c->inner = ferrolock_refresh(held, 20000);
    return (int)ferrolock_fence(held) * 10;
}

static void run_with_gives_the_callback_its_handle(const char *backend) {
    fixture fx;
    fixture_open(&fx, backend, "runwith");
    ferrolock_locks *locks = fixture_connect(&fx);
    ferrolock_held *h = NULL;
    OK(ferrolock_try_acquire(locks, "rw", 10000, &h));
    RELEASE_FREE(h); /* fence 1 */
    ferrolock_lock_options o = ferrolock_lock_options_init();
    o.holder = "runner";
    ctx c = {locks, NULL, "rw", 0, 0, true, FERROLOCK_INTERNAL};
    int result = 0;
    OK(ferrolock_run_with(locks, "rw", &o, 5000, read_fence, &c, &result));
    CHECK(result == 20);
    CHECK(c.fence == 2);
    CHECK(!c.lost_seen);
    OK(c.inner);
    ferrolock_lock_info *info = (ferrolock_lock_info *)&fx;
    OK(ferrolock_state(locks, "rw", &info));
    CHECK(info == NULL);
    ferrolock_locks_free(locks);
    fixture_close(&fx);
}

static void run_times_out_without_calling(const char *backend) {
    fixture fx;
    fixture_open(&fx, backend, "runto");
    ferrolock_locks *locks = fixture_connect(&fx);
    ferrolock_held *h = NULL;
    OK(ferrolock_try_acquire(locks, "busy", 10000, &h));
    ctx c = {locks, NULL, "busy", 0, 0, false, FERROLOCK_OK};
    int result = 7;
    EXPECT_ERR(ferrolock_run(locks, "busy", 10000, 100, count_and_return_42, &c, &result), FERROLOCK_TIMEOUT,
               "busy");
    CHECK(c.calls == 0);
    CHECK(result == 0);
    /* Not reentrant: a run inside a run of the same lock waits like anyone. */
    RELEASE_FREE(h);
    ferrolock_locks_free(locks);
    fixture_close(&fx);
}

static int nested_same_lock(void *p) {
    ctx *c = p;
    int inner_result = 0;
    c->inner = ferrolock_run(c->locks, c->name, 10000, 100, count_and_return_42, c, &inner_result);
    return 1;
}

static void run_is_not_reentrant(const char *backend) {
    fixture fx;
    fixture_open(&fx, backend, "reent");
    ferrolock_locks *locks = fixture_connect(&fx);
    ctx c = {locks, NULL, "re", 0, 0, false, FERROLOCK_OK};
    int result = 0;
    OK(ferrolock_run(locks, "re", 10000, 5000, nested_same_lock, &c, &result));
    CHECK(result == 1);
    EXPECT(c.inner, FERROLOCK_TIMEOUT);
    ferrolock_locks_free(locks);
    fixture_close(&fx);
}

static int lose_the_lock(void *p) {
    ctx *c = p;
    c->calls++;
    bool was_held = false;
    c->inner = ferrolock_force_release(c->admin, c->name, &was_held);
    /* Renewal (every ttl/3 = 100 ms) finds it lost; the callback goes on. */
    sleep_ms(700);
    return 5;
}

static void loss_during_run_ends_with_lost(const char *backend) {
    fixture fx;
    fixture_open(&fx, backend, "runlost");
    ferrolock_locks *locks = fixture_connect(&fx), *admin = fixture_connect(&fx);
    ctx c = {locks, admin, "lost", 0, 0, false, FERROLOCK_INTERNAL};
    int result = 0;
    /* The message names a force release among the causes (not only "expired or taken over"). */
    EXPECT_ERR(ferrolock_run(locks, "lost", 300, 5000, lose_the_lock, &c, &result), FERROLOCK_LOST, "force-released");
    CHECK(result == 5); /* the callback ran to its end */
    CHECK(c.calls == 1);
    OK(c.inner);
    ferrolock_locks_free(admin);
    ferrolock_locks_free(locks);
    fixture_close(&fx);
}

static void run_refuses_bad_arguments(const char *backend) {
    fixture fx;
    fixture_open(&fx, backend, "runbad");
    ferrolock_locks *locks = fixture_connect(&fx);
    ctx c = {locks, NULL, "b", 0, 0, false, FERROLOCK_OK};
    int result = 9;
    EXPECT_ERR(ferrolock_run(locks, "b", 10000, 100, NULL, &c, &result), FERROLOCK_INVALID_ARGUMENT, "callback");
    CHECK(result == 0);
    EXPECT_ERR(ferrolock_run(locks, "b", 0, 100, count_and_return_42, &c, &result), FERROLOCK_INVALID_ARGUMENT, "ttl");
    EXPECT_ERR(ferrolock_run(NULL, "b", 10000, 100, count_and_return_42, &c, &result), FERROLOCK_INVALID_ARGUMENT,
               "locks");
    EXPECT_ERR(ferrolock_run(locks, NULL, 10000, 100, count_and_return_42, &c, &result), FERROLOCK_INVALID_ARGUMENT,
               "name");
    EXPECT_ERR(ferrolock_run_with(locks, "b", NULL, 100, read_fence, &c, &result), FERROLOCK_INVALID_ARGUMENT,
               "options");
    ferrolock_lock_options o = ferrolock_lock_options_init();
    EXPECT_ERR(ferrolock_run_with(locks, "b", &o, 100, NULL, &c, &result), FERROLOCK_INVALID_ARGUMENT, "callback");
    CHECK(c.calls == 0);
    ferrolock_locks_free(locks);
    fixture_close(&fx);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: test_run FIXTURE (memory, sqlite or redis: a row of tests/vectors/backends.json)\n");
        return 2;
    }
    RUN(run_returns_the_callback_value_and_releases, argv[1]);
    RUN(run_with_gives_the_callback_its_handle, argv[1]);
    RUN(run_times_out_without_calling, argv[1]);
    RUN(run_is_not_reentrant, argv[1]);
    RUN(loss_during_run_ends_with_lost, argv[1]);
    RUN(run_refuses_bad_arguments, argv[1]);
    return finish("test_run");
}
