/* The conformance scenarios of tests/vectors/scenarios.json (written once in
 * core/tests/conformance.rs), ported to the C ABI and run on the fixture of
 * tests/vectors/backends.json named by argv[1] (CMakeLists.txt adds one test
 * per row: conformance.memory, conformance.redis_quorum, ...). The list comes in through
 * vectors.h (gen_vectors.py): the run fails when it names a scenario this
 * file does not have, or this file has one it does not name. A scenario
 * that needs a capability the backend lacks asserts its UNSUPPORTED status
 * instead (`has`). Cancellation in C is a timeout. */
#include "harness.h"
#include "vectors.h"
#include <pthread.h>

/* ------------------------------------------------------------ the harness */

static const scenario_row *current; /* the scenario running */
static unsigned asked;              /* bit i: current->needs[i] was consulted */

static bool capability_of(const ferrolock_backend_capabilities *caps, const char *cap, bool *unsupported) {
    for (size_t i = 0; i < N_CAPABILITY_ROWS; i++) {
        if (strcmp(CAPABILITY_ROWS[i].name, cap) == 0) {
            *unsupported = strcmp(CAPABILITY_ROWS[i].without, "unsupported") == 0;
        }
    }
    if (strcmp(cap, "shared") == 0) return caps->shared;
    if (strcmp(cap, "handoff") == 0) return caps->handoff;
    if (strcmp(cap, "queue") == 0) return caps->queue;
    if (strcmp(cap, "notices") == 0) return caps->notices;
    fprintf(stderr, "%s is not a capability\n", cap);
    exit(1);
}

/* Whether the backend of `locks` has capability `cap`, which the scenario
 * must declare in its needs. Where a missing capability makes operations
 * unsupported, this asserts that status first; the scenario then ends. */
static bool has(ferrolock_locks *locks, const char *cap) {
    int declared = -1;
    for (int i = 0; current->needs[i] != NULL; i++) {
        if (strcmp(current->needs[i], cap) == 0) declared = i;
    }
    if (declared < 0) {
        fprintf(stderr, "%s consults %s, which scenarios.json does not list in its needs\n", current->name, cap);
        exit(1);
    }
    asked |= 1u << declared;
    ferrolock_backend_capabilities caps;
    OK(ferrolock_capabilities(locks, &caps));
    bool unsupported = false, value = capability_of(&caps, cap, &unsupported);
    if (!value && unsupported) {
        ferrolock_lock_options shared = ferrolock_lock_options_init();
        shared.shared = true;
        ferrolock_held *probe = NULL;
        if (strcmp(cap, "shared") == 0) {
            EXPECT(ferrolock_try_acquire_with(locks, "unsupported-probe", &shared, &probe), FERROLOCK_UNSUPPORTED);
        } else {
            char *token = NULL;
            OK(ferrolock_try_acquire(locks, "unsupported-probe", 10000, &probe));
            REQUIRE(probe != NULL);
            EXPECT(ferrolock_into_token(probe, &token), FERROLOCK_UNSUPPORTED);
            ferrolock_string_free(token);
            RELEASE_FREE(probe);
            probe = NULL;
        }
        ferrolock_held_free(probe);
    }
    return value;
}

static bool slow(void) { return getenv("FERROLOCK_C_SLOW") != NULL; } /* valgrind */

/* Wait (up to 20 s, 60 s under valgrind) for the `queued` event of the waiter
 * labelled `holder`: it has found the lock busy, registered for wake-ups and
 * joined the queue. */
static void wait_queued(ferrolock_events *events, const char *holder) {
    double deadline = now_ms() + (slow() ? 60000 : 20000);
    while (now_ms() < deadline) {
        ferrolock_event *e = NULL;
        ferrolock_status s = ferrolock_events_next(events, 100, &e);
        if (s == FERROLOCK_TIMEOUT) continue;
        OK(s);
        REQUIRE(e != NULL);
        bool found = strcmp(e->kind, "queued") == 0 && strcmp(e->holder, holder) == 0;
        ferrolock_event_free(e);
        if (found) return;
    }
    fprintf(stderr, "no queued event for %s\n", holder);
    exit(1);
}

static ferrolock_events *subscribe(ferrolock_locks *locks) {
    ferrolock_events *events = NULL;
    OK(ferrolock_events_subscribe(locks, &events));
    REQUIRE(events != NULL);
    return events;
}

static ferrolock_lock_options holder_options(const char *holder) {
    ferrolock_lock_options o = ferrolock_lock_options_init();
    o.holder = holder;
    return o;
}


/* A waiting thread: acquire `name` on its own provider with `options`. */
typedef struct {
    ferrolock_locks *locks;
    const char *name;
    ferrolock_lock_options options;
    uint64_t timeout_ms;
    ferrolock_status status;
    uint64_t fence;
    double got_at;
    /* FIFO: where it was served */
    pthread_mutex_t *order_mutex;
    int *order, *served, index;
} waiter_arg;

static void *waiter(void *p) {
    waiter_arg *a = p;
    ferrolock_held *h = NULL;
    a->status = ferrolock_acquire_with(a->locks, a->name, &a->options, a->timeout_ms, &h);
    a->got_at = now_ms();
    a->fence = ferrolock_fence(h);
    if (h != NULL) {
        if (a->order != NULL) {
            pthread_mutex_lock(a->order_mutex);
            a->order[(*a->served)++] = a->index;
            pthread_mutex_unlock(a->order_mutex);
            sleep_ms(10);
        }
        ferrolock_release(h, NULL);
        ferrolock_held_free(h);
    }
    return NULL;
}

/* ----------------------------------------------------------- the scenarios */

typedef struct {
    ferrolock_locks *locks; /* one provider per thread: as separate processes would */
    int iterations;
    volatile long *counter;
    int errors;
} counter_arg;

static void *count_under_the_lock(void *p) {
    counter_arg *a = p;
    for (int i = 0; i < a->iterations; i++) {
        ferrolock_held *h = NULL;
        if (ferrolock_acquire(a->locks, "counter", 10000, 60000, &h) != FERROLOCK_OK || h == NULL) {
            fprintf(stderr, "acquire: %s\n", ferrolock_last_error());
            a->errors++;
            continue;
        }
        long v = *a->counter; /* a non-atomic increment: read, yield, write */
        sched_yield();
        *a->counter = v + 1;
        bool was_held = false;
        if (ferrolock_release(h, &was_held) != FERROLOCK_OK || !was_held) a->errors++;
        ferrolock_held_free(h);
    }
    return NULL;
}

static void mutual_exclusion_of_8_tasks(const char *backend) {
    fixture fx;
    fixture_open(&fx, backend, "counter");
    volatile long counter = 0;
    pthread_t tids[8];
    counter_arg args[8];
    const char *env = getenv("FERROLOCK_C_THREAD_ITERATIONS");
    int iterations = env != NULL ? atoi(env) : 25;
    for (int t = 0; t < 8; t++) args[t] = (counter_arg){fixture_connect(&fx), iterations, &counter, 0};
    for (int t = 0; t < 8; t++) REQUIRE(pthread_create(&tids[t], NULL, count_under_the_lock, &args[t]) == 0);
    int errors = 0;
    for (int t = 0; t < 8; t++) {
        pthread_join(tids[t], NULL);
        errors += args[t].errors;
        ferrolock_locks_free(args[t].locks);
    }
    CHECK(errors == 0);
    CHECK(counter == 8L * iterations);
    fixture_close(&fx);
}

static void try_acquire_on_held_lock_is_none(const char *backend) {
    fixture fx;
    fixture_open(&fx, backend, "try");
    ferrolock_locks *locks = fixture_connect(&fx);
    ferrolock_held *a = NULL, *b = (ferrolock_held *)&fx; /* garbage: must be overwritten */
    OK(ferrolock_try_acquire(locks, "t", 10000, &a));
    REQUIRE(a != NULL);
    OK(ferrolock_try_acquire(locks, "t", 10000, &b));
    CHECK(b == NULL);
    /* Not reentrant: the same provider and lock wait like anyone else. */
    EXPECT(ferrolock_acquire(locks, "t", 10000, 50, &b), FERROLOCK_TIMEOUT);
    CHECK(b == NULL);
    RELEASE_FREE(a);
    OK(ferrolock_try_acquire(locks, "t", 10000, &b));
    REQUIRE(b != NULL);
    RELEASE_FREE(b);
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
    EXPECT_ERR(ferrolock_acquire(other, "to", 10000, 300, &b), FERROLOCK_TIMEOUT, "\"to\"");
    double waited = now_ms() - t0;
    CHECK(waited >= 299);
    CHECK(b == NULL);
    CHECK(strcmp(ferrolock_status_code(FERROLOCK_TIMEOUT), "TIMEOUT") == 0);
    RELEASE_FREE(a);
    ferrolock_locks_free(other);
    ferrolock_locks_free(locks);
    fixture_close(&fx);
}

static void fences_start_at_1_and_increase(const char *backend) {
    fixture fx;
    fixture_open(&fx, backend, "fence");
    ferrolock_locks *locks = fixture_connect(&fx);
    uint64_t last = 0;
    for (int i = 0; i < 5; i++) {
        ferrolock_held *h = NULL;
        OK(ferrolock_try_acquire(locks, "f", 10000, &h));
        REQUIRE(h != NULL);
        if (i == 0) CHECK(ferrolock_fence(h) == 1);
        CHECK(ferrolock_fence(h) > last);
        last = ferrolock_fence(h);
        RELEASE_FREE(h);
    }
    /* Fences are per key. */
    ferrolock_held *g = NULL;
    OK(ferrolock_try_acquire(locks, "g", 10000, &g));
    REQUIRE(g != NULL);
    CHECK(ferrolock_fence(g) == 1);
    RELEASE_FREE(g);
    ferrolock_locks_free(locks);
    fixture_close(&fx);
}

static ferrolock_lock_options short_lease(uint64_t ttl_ms) {
    ferrolock_lock_options o = ferrolock_lock_options_init();
    o.ttl_ms = ttl_ms;
    o.auto_renew = false;
    return o;
}

static void expiry_lets_another_owner_in_with_higher_fence(const char *backend) {
    fixture fx;
    fixture_open(&fx, backend, "expiry");
    ferrolock_locks *locks = fixture_connect(&fx), *other = fixture_connect(&fx);
    uint64_t ttl = fixture_short(&fx, 200);
    ferrolock_lock_options o = short_lease(ttl);
    ferrolock_held *first = NULL, *second = NULL;
    OK(ferrolock_try_acquire_with(locks, "e", &o, &first));
    REQUIRE(first != NULL);
    double t0 = now_ms();
    OK(ferrolock_acquire(other, "e", 10000, 10000, &second));
    REQUIRE(second != NULL);
    CHECK(now_ms() - t0 >= ttl * 3 / 4); /* not before the expiry */
    CHECK(ferrolock_fence(second) > ferrolock_fence(first));
    bool was_held = true;
    OK(ferrolock_release(first, &was_held));
    CHECK(!was_held);
    ferrolock_held_free(first);
    RELEASE_FREE(second);
    ferrolock_locks_free(other);
    ferrolock_locks_free(locks);
    fixture_close(&fx);
}

static void stale_release_is_false_and_leaves_new_holder(const char *backend) {
    fixture fx;
    fixture_open(&fx, backend, "stale");
    ferrolock_locks *locks = fixture_connect(&fx);
    uint64_t ttl = fixture_short(&fx, 100);
    ferrolock_lock_options o = short_lease(ttl);
    ferrolock_held *stale = NULL, *fresh = NULL;
    OK(ferrolock_try_acquire_with(locks, "s", &o, &stale));
    REQUIRE(stale != NULL);
    sleep_ms(ttl * 3 / 2); /* the lease expires */
    OK(ferrolock_try_acquire(locks, "s", 10000, &fresh));
    REQUIRE(fresh != NULL);
    bool was_held = true;
    OK(ferrolock_release(stale, &was_held));
    CHECK(!was_held);
    ferrolock_lock_info *info = NULL;
    OK(ferrolock_state(locks, "s", &info));
    REQUIRE(info != NULL); /* a stale release must not free the new holder's lock */
    CHECK(info->fence == ferrolock_fence(fresh));
    ferrolock_lock_info_free(info);
    ferrolock_held_free(stale);
    RELEASE_FREE(fresh);
    ferrolock_locks_free(locks);
    fixture_close(&fx);
}

static void refresh_after_loss_is_lost(const char *backend) {
    fixture fx;
    fixture_open(&fx, backend, "loss");
    ferrolock_locks *locks = fixture_connect(&fx);
    uint64_t ttl = fixture_short(&fx, 100);
    /* Taken for long, then shortened by the refresh: a loaded machine that
     * stalls between the acquire and the refresh must not lose it there. */
    ferrolock_lock_options o = short_lease(10000);
    ferrolock_held *held = NULL, *other = NULL;
    OK(ferrolock_try_acquire_with(locks, "r", &o, &held));
    REQUIRE(held != NULL);
    if (REFUSED(&fx, "refresh", ferrolock_refresh(held, ttl))) {
        RELEASE_FREE(held);
    } else {
        sleep_ms(ttl * 3 / 2); /* the lease expires */
        OK(ferrolock_try_acquire(locks, "r", 10000, &other));
        REQUIRE(other != NULL);
        EXPECT_ERR(ferrolock_refresh(held, 1000), FERROLOCK_LOST, "\"r\"");
        CHECK(ferrolock_is_lost(held));
        ferrolock_held_free(held);
        RELEASE_FREE(other);
    }
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

static void operations_after_release_or_handoff_are_not_held(const char *backend) {
    fixture fx;
    fixture_open(&fx, backend, "handoff");
    ferrolock_locks *locks = fixture_connect(&fx);
    if (!has(locks, "handoff")) goto done;
    ferrolock_held *h = NULL;
    OK(ferrolock_try_acquire(locks, "n", 10000, &h));
    REQUIRE(h != NULL);
    OK(ferrolock_release(h, NULL));
    char *token = (char *)"garbage";
    EXPECT_ERR(ferrolock_refresh(h, 10000), FERROLOCK_NOT_HELD, "\"n\"");
    EXPECT_ERR(ferrolock_into_token(h, &token), FERROLOCK_NOT_HELD, "released or handed off");
    CHECK(token == NULL);
    ferrolock_held_free(h);

    OK(ferrolock_try_acquire(locks, "n", 10000, &h));
    REQUIRE(h != NULL);
    OK(ferrolock_into_token(h, &token));
    REQUIRE(token != NULL);
    EXPECT(ferrolock_refresh(h, 10000), FERROLOCK_NOT_HELD);
    char *again = NULL;
    EXPECT(ferrolock_into_token(h, &again), FERROLOCK_NOT_HELD);
    bool was_held = true;
    OK(ferrolock_release(h, &was_held));
    CHECK(!was_held); /* handed off: not this handle's to release */
    ferrolock_held_free(h); /* nor to release on free */
    /* The lock is still held: the token owns it. */
    ferrolock_lock_info *info = NULL;
    OK(ferrolock_state(locks, "n", &info));
    CHECK(info != NULL);
    ferrolock_lock_info_free(info);
    ferrolock_held *resumed = NULL;
    OK(ferrolock_resume(locks, token, &resumed));
    REQUIRE(resumed != NULL);
    RELEASE_FREE(resumed);
    ferrolock_string_free(token);
done:
    ferrolock_locks_free(locks);
    fixture_close(&fx);
}

static void token_resumes_in_another_provider(const char *backend) {
    fixture fx;
    fixture_open(&fx, backend, "resume");
    ferrolock_locks *a = fixture_connect(&fx), *b = fixture_connect(&fx);
    if (!has(a, "handoff")) goto done;
    ferrolock_lock_options o = holder_options("worker-a");
    ferrolock_held *h = NULL, *other = NULL;
    OK(ferrolock_try_acquire_with(a, "job", &o, &h));
    REQUIRE(h != NULL);
    uint64_t fence = ferrolock_fence(h);
    char *token = NULL;
    OK(ferrolock_into_token(h, &token));
    ferrolock_held_free(h);
    REQUIRE(token != NULL);
    CHECK(strncmp(token, "flk1.", 5) == 0);
    ferrolock_token_info *info = NULL;
    OK(ferrolock_decode_token(token, &info));
    REQUIRE(info != NULL);
    CHECK(strcmp(info->name, "job") == 0 && info->fence == fence && strcmp(info->holder, "worker-a") == 0);
    CHECK(strcmp(info->backend, fx.row->backend) == 0);
    ferrolock_token_info_free(info);

    ferrolock_held *resumed = NULL;
    OK(ferrolock_resume(b, token, &resumed));
    REQUIRE(resumed != NULL);
    CHECK(ferrolock_fence(resumed) == fence);
    OK(ferrolock_try_acquire(a, "job", 10000, &other));
    CHECK(other == NULL);
    RELEASE_FREE(resumed);
    ferrolock_lock_info *state = (ferrolock_lock_info *)&fx;
    OK(ferrolock_state(a, "job", &state));
    CHECK(state == NULL);
    /* A token whose lock is gone resumes to LOST. */
    ferrolock_held *stale = (ferrolock_held *)&fx;
    EXPECT(ferrolock_resume(b, token, &stale), FERROLOCK_LOST);
    CHECK(stale == NULL);
    ferrolock_string_free(token);
done:
    ferrolock_locks_free(b);
    ferrolock_locks_free(a);
    fixture_close(&fx);
}

static void force_release_state_and_list_show_no_owner_id(const char *backend) {
    fixture fx;
    fixture_open(&fx, backend, "admin");
    ferrolock_locks *locks = fixture_connect(&fx);
    if (!has(locks, "handoff")) goto done;
    ferrolock_lock_info *info = (ferrolock_lock_info *)&fx;
    OK(ferrolock_state(locks, "inv:1", &info));
    CHECK(info == NULL);
    ferrolock_lock_options o = holder_options("billing");
    ferrolock_held *h = NULL, *h2 = NULL, *h3 = NULL;
    OK(ferrolock_try_acquire_with(locks, "inv:1", &o, &h));
    OK(ferrolock_try_acquire(locks, "inv:2", 10000, &h2));
    OK(ferrolock_try_acquire(locks, "other", 10000, &h3)); /* not under the prefix */
    REQUIRE(h != NULL && h2 != NULL && h3 != NULL);

    /* The records have no owner id field: it lives only in the token. */
    OK(ferrolock_state(locks, "inv:1", &info));
    REQUIRE(info != NULL);
    CHECK(strcmp(info->name, "inv:1") == 0);
    CHECK(strcmp(info->holder, "billing") == 0);
    CHECK(info->fence == ferrolock_fence(h));
    CHECK(!info->shared);
    CHECK(info->readers == 0);
    CHECK(info->expires_in_ms > 20000 && info->expires_in_ms <= 30000);
    ferrolock_lock_info_free(info);

    ferrolock_lock_list *list = NULL;
    if (!REFUSED(&fx, "list", ferrolock_list(locks, "inv:", &list))) {
        REQUIRE(list != NULL);
        CHECK(list->len == 2);
        int seen = 0;
        for (size_t i = 0; i < list->len; i++) {
            seen += strcmp(list->items[i].name, "inv:1") == 0 || strcmp(list->items[i].name, "inv:2") == 0;
        }
        CHECK(seen == 2);
        ferrolock_lock_list_free(list);
        OK(ferrolock_list(locks, "", &list));
        REQUIRE(list != NULL);
        CHECK(list->len == 3);
        ferrolock_lock_list_free(list);
    }

    char *token = NULL;
    OK(ferrolock_into_token(h, &token));
    bool was_held = false;
    if (REFUSED(&fx, "force_release", ferrolock_force_release(locks, "inv:1", &was_held))) {
        /* Only its owner frees it here: with its token. */
        ferrolock_held *owner = NULL;
        OK(ferrolock_resume(locks, token, &owner));
        REQUIRE(owner != NULL);
        OK(ferrolock_release(owner, &was_held));
        CHECK(was_held);
        ferrolock_held_free(owner);
    } else {
        CHECK(was_held);
        OK(ferrolock_force_release(locks, "inv:1", &was_held));
        CHECK(!was_held);
    }
    OK(ferrolock_state(locks, "inv:1", &info));
    CHECK(info == NULL);
    ferrolock_held *resumed = (ferrolock_held *)&fx;
    EXPECT(ferrolock_resume(locks, token, &resumed), FERROLOCK_LOST);
    CHECK(resumed == NULL);
    ferrolock_string_free(token);
    ferrolock_held_free(h);
    RELEASE_FREE(h2);
    RELEASE_FREE(h3);
done:
    ferrolock_locks_free(locks);
    fixture_close(&fx);
}

static void shared_locks_admit_readers_and_exclude_writers(const char *backend) {
    fixture fx;
    fixture_open(&fx, backend, "rw");
    ferrolock_locks *locks = fixture_connect(&fx);
    if (!has(locks, "shared")) goto done;
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
    CHECK(writer == NULL); /* no writer beside readers */
    for (int i = 0; i < 3; i++) RELEASE_FREE(readers[i]);
    OK(ferrolock_try_acquire(locks, "rw", 10000, &writer));
    REQUIRE(writer != NULL);
    ferrolock_held *reader = NULL;
    OK(ferrolock_try_acquire_with(locks, "rw", &shared, &reader));
    CHECK(reader == NULL); /* no reader beside a writer */
    RELEASE_FREE(writer);
done:
    ferrolock_locks_free(locks);
    fixture_close(&fx);
}

static void waiting_writer_is_not_starved_by_new_readers(const char *backend) {
    fixture fx;
    fixture_open(&fx, backend, "ws");
    ferrolock_locks *locks = fixture_connect(&fx), *other = fixture_connect(&fx);
    if (!has(locks, "shared")) {
        has(locks, "queue"); /* consulted too, as scenarios.json says, though it decides nothing then */
        goto done;
    }
    ferrolock_lock_options shared = ferrolock_lock_options_init();
    shared.shared = true;
    ferrolock_held *first_reader = NULL;
    OK(ferrolock_try_acquire_with(locks, "ws", &shared, &first_reader));
    REQUIRE(first_reader != NULL);
    ferrolock_events *events = subscribe(other);
    waiter_arg w = {other, "ws", holder_options("writer"), 15000, FERROLOCK_INTERNAL, 0, 0, NULL, NULL, NULL, 0};
    pthread_t tid;
    REQUIRE(pthread_create(&tid, NULL, waiter, &w) == 0);
    wait_queued(events, "writer");
    if (has(locks, "queue")) {
        for (int i = 0; i < 5; i++) {
            ferrolock_held *reader = NULL;
            OK(ferrolock_try_acquire_with(locks, "ws", &shared, &reader));
            CHECK(reader == NULL); /* a new reader must not pass a waiting writer */
            if (reader != NULL) RELEASE_FREE(reader);
            sleep_ms(20);
        }
    }
    /* Without a queue there is no order to keep: the writer is served once
     * the reader is gone, and that is all that is promised. */
    RELEASE_FREE(first_reader);
    pthread_join(tid, NULL);
    OK(w.status);
    ferrolock_events_free(events);
done:
    ferrolock_locks_free(other);
    ferrolock_locks_free(locks);
    fixture_close(&fx);
}

static void waiters_are_served_in_fifo_order(const char *backend) {
    fixture fx;
    fixture_open(&fx, backend, "fifo");
    ferrolock_locks *locks = fixture_connect(&fx);
    bool fifo = has(locks, "queue");
    ferrolock_held *holder = NULL;
    OK(ferrolock_try_acquire(locks, "q", 10000, &holder));
    REQUIRE(holder != NULL);
    pthread_mutex_t order_mutex = PTHREAD_MUTEX_INITIALIZER;
    int order[4] = {-1, -1, -1, -1}, served = 0;
    char labels[4][16];
    waiter_arg w[4];
    pthread_t tids[4];
    for (int i = 0; i < 4; i++) {
        /* Each waiter on a provider of its own, queued before the next starts. */
        snprintf(labels[i], sizeof labels[i], "waiter-%d", i);
        ferrolock_locks *mine = fixture_connect(&fx);
        ferrolock_events *events = subscribe(mine);
        w[i] = (waiter_arg){mine, "q", holder_options(labels[i]), 15000, FERROLOCK_INTERNAL, 0, 0,
                            &order_mutex, order, &served, i};
        REQUIRE(pthread_create(&tids[i], NULL, waiter, &w[i]) == 0);
        wait_queued(events, labels[i]);
        ferrolock_events_free(events);
    }
    RELEASE_FREE(holder);
    for (int i = 0; i < 4; i++) {
        pthread_join(tids[i], NULL);
        OK(w[i].status);
        ferrolock_locks_free(w[i].locks);
    }
    CHECK(served == 4);
    if (fifo) {
        for (int i = 0; i < 4; i++) CHECK(order[i] == i);
    } else {
        /* Without a queue (a quorum), waiters race on release notices: each
         * is still served once, in some order. */
        int seen = 0;
        for (int i = 0; i < 4; i++) seen |= 1 << order[i];
        CHECK(seen == 0xf);
    }
    ferrolock_locks_free(locks);
    fixture_close(&fx);
}

static void release_wakes_a_waiter_promptly(const char *backend) {
    fixture fx;
    fixture_open(&fx, backend, "wake");
    ferrolock_locks *locks = fixture_connect(&fx), *other = fixture_connect(&fx);
    bool notices = has(locks, "notices");
    ferrolock_held *h = NULL;
    OK(ferrolock_try_acquire(locks, "w", 10000, &h));
    REQUIRE(h != NULL);
    ferrolock_events *events = subscribe(other);
    waiter_arg w = {other, "w", holder_options("waiter"), 15000, FERROLOCK_INTERNAL, 0, 0, NULL, NULL, NULL, 0};
    pthread_t tid;
    REQUIRE(pthread_create(&tid, NULL, waiter, &w) == 0);
    wait_queued(events, "waiter");
    sleep_ms(700); /* the waiter's fallback poll has backed off past the release */
    double released_at = now_ms();
    RELEASE_FREE(h);
    pthread_join(tid, NULL);
    OK(w.status);
    /* A later fence than the holder's (1); not exactly 2: on a quorum a
     * waiter woken by the first server's notice may race the release on
     * the others, and a withdrawn grant skips a fence by design. */
    CHECK(w.fence > 1);
    /* Woken by the release, not by a poll (not checked under valgrind, where
     * every thread runs serialized; without notices a poll serves it). */
    double took = w.got_at - released_at;
    if (notices && !slow()) {
        CHECK(took < 400);
        if (took >= 400) fprintf(stderr, "waiter woke %.0f ms after the release\n", took);
    }
    ferrolock_events_free(events);
    ferrolock_locks_free(other);
    ferrolock_locks_free(locks);
    fixture_close(&fx);
}

static void cancelled_wait_leaves_nothing_held(const char *backend) {
    fixture fx;
    fixture_open(&fx, backend, "c");
    ferrolock_locks *locks = fixture_connect(&fx), *other = fixture_connect(&fx);
    ferrolock_held *h = NULL, *next = NULL;
    OK(ferrolock_try_acquire(locks, "c", 10000, &h));
    REQUIRE(h != NULL);
    uint64_t first = ferrolock_fence(h);
    /* C cancels a wait by its timeout: a queued waiter gives up. */
    ferrolock_events *events = subscribe(other);
    waiter_arg w = {other, "c", holder_options("waiter"), 300, FERROLOCK_INTERNAL, 0, 0, NULL, NULL, NULL, 0};
    pthread_t tid;
    REQUIRE(pthread_create(&tid, NULL, waiter, &w) == 0);
    wait_queued(events, "waiter");
    pthread_join(tid, NULL);
    EXPECT(w.status, FERROLOCK_TIMEOUT);
    RELEASE_FREE(h);
    /* Neither the lock nor the cancelled waiter's place in the queue stays held. */
    double t0 = now_ms();
    OK(ferrolock_acquire(locks, "c", 10000, 10000, &next));
    CHECK(now_ms() - t0 < 3000);
    REQUIRE(next != NULL);
    CHECK(ferrolock_fence(next) > first);
    RELEASE_FREE(next);
    ferrolock_events_free(events);
    ferrolock_locks_free(other);
    ferrolock_locks_free(locks);
    fixture_close(&fx);
}

typedef struct {
    ferrolock_locks *locks;
    volatile int *done;
    int iterations, errors, cancelled;
    unsigned seed;
    bool fair; /* a queue: without one, waiters race (see scenarios.json) */
    uint64_t ttl_ms; /* long: a leaked grant would outlast every wait */
    unsigned pause_ms; /* between a racing waiter's attempts */
} churn_arg;

/* Takes and releases the lock while the others cancel around it. */
static void *take_and_release(void *p) {
    churn_arg *a = p;
    ferrolock_lock_options o = holder_options("worker");
    o.ttl_ms = a->ttl_ms;
    for (int i = 0; i < a->iterations; i++) {
        ferrolock_held *h = NULL;
        if (ferrolock_acquire_with(a->locks, "cx", &o, 10000, &h) != FERROLOCK_OK) {
            fprintf(stderr, "worker: %s\n", ferrolock_last_error());
            a->errors++;
            break;
        }
        sleep_ms(rand_r(&a->seed) % 3);
        bool was_held = false;
        if (ferrolock_release(h, &was_held) != FERROLOCK_OK || !was_held) a->errors++;
        ferrolock_held_free(h);
    }
    __atomic_store_n(a->done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

/* One acquire given up after 0-4 ms; a grant that won the race is released. */
static void cancelled_acquire(churn_arg *a) {
    ferrolock_held *h = NULL;
    ferrolock_status s = ferrolock_acquire(a->locks, "cx", a->ttl_ms, rand_r(&a->seed) % 5, &h);
    if (s == FERROLOCK_TIMEOUT) {
        a->cancelled++;
    } else if (s != FERROLOCK_OK || ferrolock_release(h, NULL) != FERROLOCK_OK) {
        fprintf(stderr, "cancelled acquire: %s\n", ferrolock_last_error());
        a->errors++;
    }
    ferrolock_held_free(h);
}

static void *cancel_around(void *p) {
    churn_arg *a = p;
    while (!__atomic_load_n(a->done, __ATOMIC_SEQ_CST)) {
        cancelled_acquire(a);
        if (!a->fair) sleep_ms(a->pause_ms);
    }
    return NULL;
}

static void cancelled_acquires_leave_the_lock_free(const char *backend) {
    fixture fx;
    fixture_open(&fx, backend, "cx");
    volatile int done = 0;
    churn_arg worker = {fixture_connect(&fx), &done, slow() ? 10 : 40, 0, 0, 1, true, 60000, 1};
    /* Without a queue, waiters race: see scenarios.json. */
    bool fair = has(worker.locks, "queue");
    if (!fair) worker.iterations /= 3;
    /* Within the backend's maximum (Couchbase's get-and-lock: 30 s). */
    ferrolock_backend_capabilities caps;
    OK(ferrolock_capabilities(worker.locks, &caps));
    if (caps.max_ttl_ms < worker.ttl_ms) worker.ttl_ms = caps.max_ttl_ms;
    /* Racing waiters pause between attempts for four times an uncontended
     * acquire-release pair (at least 1 ms): on a backend whose round trips
     * are slower they would starve the worker. */
    ferrolock_held *pace = NULL;
    double t_pace = now_ms();
    OK(ferrolock_try_acquire(worker.locks, "pace", 10000, &pace));
    REQUIRE(pace != NULL);
    RELEASE_FREE(pace);
    double pause = (now_ms() - t_pace) * 4;
    /* (Under valgrind every round trip is slow, and the pause would leave
     * the cancellers too few attempts to cancel any: 1 ms there, as before.) */
    worker.pause_ms = pause < 1 || slow() ? 1 : (unsigned)pause;
    /* Under valgrind every call is ~50x slower: six threads hammering one
     * SQLite file there starve a writer past SQLite's busy limit (5 s). */
    int n = slow() ? 2 : 6;
    churn_arg others[6];
    pthread_t worker_tid, tids[6];
    for (int t = 0; t < n; t++) {
        others[t] = (churn_arg){fixture_connect(&fx), &done, 0, 0, 0, (unsigned)(t + 2) * 7919u, fair, worker.ttl_ms,
                                worker.pause_ms};
    }
    REQUIRE(pthread_create(&worker_tid, NULL, take_and_release, &worker) == 0);
    for (int t = 0; t < n; t++) REQUIRE(pthread_create(&tids[t], NULL, cancel_around, &others[t]) == 0);
    pthread_join(worker_tid, NULL);
    int errors = worker.errors, cancelled = 0;
    for (int t = 0; t < n; t++) {
        pthread_join(tids[t], NULL);
        errors += others[t].errors;
        cancelled += others[t].cancelled;
    }
    /* How many the churn gave up depends on the machine's timing (on a
     * loaded one, none); these are given up for certain: the lock is held. */
    /* Held by acquire, not try_acquire: a grant that won its race with a
     * give-up is given back in the background, after the call returned. */
    ferrolock_held *hold = NULL;
    OK(ferrolock_acquire(worker.locks, "cx", worker.ttl_ms, 10000, &hold));
    REQUIRE(hold != NULL);
    int before = others[0].cancelled;
    for (int i = 0; i < 5; i++) cancelled_acquire(&others[0]);
    CHECK(others[0].cancelled - before == 5);
    RELEASE_FREE(hold);
    /* Uncontended too: acquires of a free lock given up at once or nearly. */
    for (int i = 0; i < 30; i++) cancelled_acquire(&others[0]);
    CHECK(errors == 0);
    if (cancelled == 0) fprintf(stderr, "(the churn gave up no acquire)\n");
    /* A newcomer gets the lock at once: no lease (ttl_ms) nor queue entry
     * (stale after 5 s) of a given-up acquire is in its way. */
    ferrolock_locks *newcomer = fixture_connect(&fx);
    ferrolock_held *h = NULL;
    double t0 = now_ms();
    OK(ferrolock_acquire(newcomer, "cx", 10000, 4000, &h));
    CHECK(now_ms() - t0 < 4000);
    if (h != NULL) RELEASE_FREE(h);
    ferrolock_locks_free(newcomer);
    ferrolock_locks_free(worker.locks);
    for (int t = 0; t < n; t++) ferrolock_locks_free(others[t].locks);
    fixture_close(&fx);
}

static void watchdog_keeps_lock_past_its_ttl(const char *backend) {
    fixture fx;
    fixture_open(&fx, backend, "wd");
    ferrolock_locks *locks = fixture_connect(&fx);
    ferrolock_events *events = subscribe(locks);
    ferrolock_held *h = NULL, *other = NULL;
    /* Three ttls and more; under valgrind (every thread serialized, each
     * renewal a round trip ~50x slower) a 300 ms lease was lost at load. */
    uint64_t ttl = fixture_short(&fx, slow() ? 900 : 300);
    OK(ferrolock_try_acquire(locks, "wd", ttl, &h));
    REQUIRE(h != NULL);
    int renewed = 0;
    ferrolock_event *e = NULL;
    if (REFUSED(&fx, "refresh", ferrolock_refresh(h, ttl))) {
        /* Nothing renews a lock the backend cannot extend: it lapses at its ttl. */
        sleep_ms(ttl * 3 / 2);
        OK(ferrolock_try_acquire(locks, "wd", 10000, &other));
        CHECK(other != NULL); /* a lock that cannot be renewed outlived its ttl */
        if (other != NULL) RELEASE_FREE(other);
        bool was_held = true;
        OK(ferrolock_release(h, &was_held));
        CHECK(!was_held);
        ferrolock_held_free(h);
        while (ferrolock_events_next(events, 0, &e) == FERROLOCK_OK) {
            renewed += strcmp(e->kind, "renewed") == 0;
            ferrolock_event_free(e);
        }
        CHECK(renewed == 0);
        goto done;
    }
    sleep_ms(ttl * 10 / 3);
    CHECK(!ferrolock_is_lost(h));
    OK(ferrolock_try_acquire(locks, "wd", 10000, &other));
    CHECK(other == NULL); /* the renewed lock was not taken */
    RELEASE_FREE(h);
    while (ferrolock_events_next(events, 0, &e) == FERROLOCK_OK) {
        renewed += strcmp(e->kind, "renewed") == 0;
        ferrolock_event_free(e);
    }
    CHECK(renewed >= 2);
done:
    ferrolock_events_free(events);
    ferrolock_locks_free(locks);
    fixture_close(&fx);
}

static void without_auto_renew_the_lock_expires_at_its_ttl(const char *backend) {
    fixture fx;
    fixture_open(&fx, backend, "nr");
    ferrolock_locks *locks = fixture_connect(&fx);
    uint64_t ttl = fixture_short(&fx, 300);
    ferrolock_lock_options o = short_lease(ttl);
    ferrolock_held *h = NULL, *other = NULL;
    OK(ferrolock_try_acquire_with(locks, "nr", &o, &h));
    REQUIRE(h != NULL);
    OK(ferrolock_try_acquire(locks, "nr", 10000, &other));
    CHECK(other == NULL);
    sleep_ms(ttl * 5 / 3);
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

typedef struct {
    ferrolock_locks *admin;
    int calls;
    bool noticed;
    uint64_t fence;
} run_ctx;

static int lose_the_lock(const ferrolock_held *held, void *p) {
    run_ctx *c = p;
    c->calls++;
    OK(ferrolock_force_release(c->admin, "lost", NULL));
    /* Renewal (every ttl/3 = 100 ms) finds it lost; the callback sees it. */
    for (int i = 0; i < 1000 && !ferrolock_is_lost(held); i++) sleep_ms(10);
    c->noticed = ferrolock_is_lost(held);
    return 7;
}

static void loss_is_noticed_and_run_ends_with_lost(const char *backend) {
    fixture fx;
    fixture_open(&fx, backend, "runlost");
    ferrolock_locks *locks = fixture_connect(&fx), *admin = fixture_connect(&fx);
    run_ctx c = {admin, 0, false, 0};
    ferrolock_lock_options o = ferrolock_lock_options_init();
    o.ttl_ms = 300;
    int result = 0;
    /* Nothing can take a lock from its holder where force release is refused
     * (it only lapses). */
    if (!REFUSED(&fx, "force_release", ferrolock_force_release(admin, "lost", NULL))) {
        EXPECT_ERR(ferrolock_run_with(locks, "lost", &o, 5000, lose_the_lock, &c, &result), FERROLOCK_LOST, "lost");
        CHECK(c.noticed);
        CHECK(result == 7); /* the callback ran to its end */
        CHECK(c.calls == 1);
    }
    ferrolock_locks_free(admin);
    ferrolock_locks_free(locks);
    fixture_close(&fx);
}

static int fence_times_10(const ferrolock_held *held, void *p) {
    run_ctx *c = p;
    c->calls++;
    c->fence = ferrolock_fence(held);
    return (int)ferrolock_fence(held) * 10;
}

static void run_returns_the_body_value_and_releases(const char *backend) {
    fixture fx;
    fixture_open(&fx, backend, "run");
    ferrolock_locks *locks = fixture_connect(&fx);
    run_ctx c = {NULL, 0, false, 0};
    ferrolock_lock_options o = ferrolock_lock_options_init();
    int result = -1;
    OK(ferrolock_run_with(locks, "run", &o, 5000, fence_times_10, &c, &result));
    CHECK(result == 10 && c.fence == 1 && c.calls == 1);
    ferrolock_lock_info *info = (ferrolock_lock_info *)&fx;
    OK(ferrolock_state(locks, "run", &info));
    CHECK(info == NULL);
    /* (A C callback cannot fail: its int comes back whatever it means.) A
     * busy lock times out without calling the callback. */
    ferrolock_held *h = NULL;
    OK(ferrolock_try_acquire(locks, "run", 10000, &h));
    REQUIRE(h != NULL);
    result = 5;
    EXPECT_ERR(ferrolock_run_with(locks, "run", &o, 50, fence_times_10, &c, &result), FERROLOCK_TIMEOUT, "run");
    CHECK(c.calls == 1 && result == 0);
    RELEASE_FREE(h);
    ferrolock_locks_free(locks);
    fixture_close(&fx);
}

static void events_report_what_happened(const char *backend) {
    fixture fx;
    fixture_open(&fx, backend, "ev");
    ferrolock_locks *locks = fixture_connect(&fx);
    ferrolock_events *events = subscribe(locks);
    ferrolock_lock_options me = holder_options("me");
    ferrolock_held *held = NULL, *none = NULL, *again = NULL;
    OK(ferrolock_try_acquire_with(locks, "ev", &me, &held));
    REQUIRE(held != NULL);
    EXPECT(ferrolock_acquire(locks, "ev", 10000, 50, &none), FERROLOCK_TIMEOUT);
    RELEASE_FREE(held);
    OK(ferrolock_try_acquire(locks, "ev", 10000, &again));
    REQUIRE(again != NULL);
    bool forced = !REFUSED(&fx, "force_release", ferrolock_force_release(locks, "ev", NULL));
    if (!forced) OK(ferrolock_release(again, NULL));
    const char *want[] = {"acquired", "queued", "timed_out", "released", "acquired", forced ? "force_released" : "released"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        ferrolock_event *e = NULL;
        OK(ferrolock_events_next(events, 5000, &e));
        REQUIRE(e != NULL);
        CHECK(strcmp(e->kind, want[i]) == 0);
        if (strcmp(e->kind, want[i]) != 0) fprintf(stderr, "event %zu: %s, expected %s\n", i, e->kind, want[i]);
        CHECK(strcmp(e->name, "ev") == 0);
        if (i == 0) CHECK(strcmp(e->holder, "me") == 0 && e->fence == 1 && !e->shared);
        ferrolock_event_free(e);
    }
    /* Nothing more came. */
    ferrolock_event *e = (ferrolock_event *)&fx;
    EXPECT_ERR(ferrolock_events_next(events, 50, &e), FERROLOCK_TIMEOUT, "no event");
    CHECK(e == NULL);
    bool was_held = true;
    OK(ferrolock_release(again, &was_held));
    CHECK(!was_held); /* force-released */
    ferrolock_held_free(again);
    ferrolock_events_free(events);
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
    CHECK(strcmp(ferrolock_status_code(FERROLOCK_CLOSED), "CLOSED") == 0);
    ferrolock_held_free(h);
    ferrolock_locks_free(locks);
    fixture_close(&fx);
}

static void close_ends_pending_waits(const char *backend) {
    fixture fx;
    fixture_open(&fx, backend, "closewait");
    ferrolock_locks *locks = fixture_connect(&fx), *other = fixture_connect(&fx);
    ferrolock_held *held = NULL, *next = NULL;
    OK(ferrolock_try_acquire(locks, "w", 10000, &held));
    REQUIRE(held != NULL);
    ferrolock_events *events = subscribe(other);
    waiter_arg w = {other, "w", holder_options("waiter"), FERROLOCK_WAIT_FOREVER, FERROLOCK_INTERNAL, 0, 0,
                    NULL, NULL, NULL, 0};
    pthread_t tid;
    REQUIRE(pthread_create(&tid, NULL, waiter, &w) == 0);
    wait_queued(events, "waiter");
    ferrolock_events_free(events);
    double t0 = now_ms();
    OK(ferrolock_close(other));
    /* A wait that would never end on its own ends with CLOSED, holding nothing. */
    pthread_join(tid, NULL);
    EXPECT(w.status, FERROLOCK_CLOSED);
    CHECK(now_ms() - t0 < 5000 || slow());
    uint64_t fence = ferrolock_fence(held);
    RELEASE_FREE(held);
    /* The closed waiter left its queue before ferrolock_close returned:
     * nobody is ahead of a newcomer, and the release handed the lock to nobody. */
    OK(ferrolock_try_acquire(locks, "w", 10000, &next));
    REQUIRE(next != NULL);
    CHECK(ferrolock_fence(next) > fence);
    RELEASE_FREE(next);
    ferrolock_locks_free(other);
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
    /* The real backend was not touched. */
    ferrolock_lock_info *info = (ferrolock_lock_info *)&fx;
    OK(ferrolock_state(real, "b", &info));
    CHECK(info == NULL);
    OK(ferrolock_release(a, NULL));
    OK(ferrolock_release(b, NULL));
    ferrolock_held_free(a);
    ferrolock_held_free(b);
    /* Nor its fence counter: the real lock's first fence is still 1. */
    ferrolock_held *first = NULL;
    OK(ferrolock_try_acquire(real, "b", 10000, &first));
    REQUIRE(first != NULL);
    CHECK(ferrolock_fence(first) == 1);
    OK(ferrolock_release(first, NULL));
    ferrolock_held_free(first);
    ferrolock_locks_free(bypass);
    ferrolock_locks_free(real);
    fixture_close(&fx);
}

static void bad_input_gives_typed_errors(const char *backend) {
    fixture fx;
    fixture_open(&fx, backend, "bad");
    ferrolock_locks *locks = fixture_connect(&fx);
    ferrolock_held *h = (ferrolock_held *)&fx;
    char long_name[514];
    memset(long_name, 'x', 513);
    long_name[513] = '\0';
    EXPECT_ERR(ferrolock_try_acquire(locks, "", 10000, &h), FERROLOCK_INVALID_ARGUMENT, "empty");
    CHECK(h == NULL);
    EXPECT_ERR(ferrolock_try_acquire(locks, long_name, 10000, &h), FERROLOCK_INVALID_ARGUMENT, "513");
    EXPECT_ERR(ferrolock_try_acquire(locks, "bad\nname", 10000, &h), FERROLOCK_INVALID_ARGUMENT, "control");
    EXPECT_ERR(ferrolock_try_acquire(locks, "t", 0, &h), FERROLOCK_INVALID_ARGUMENT, "ttl");
    ferrolock_backend_capabilities caps;
    OK(ferrolock_capabilities(locks, &caps));
    EXPECT_ERR(ferrolock_try_acquire(locks, "t", caps.max_ttl_ms + 1000, &h), FERROLOCK_INVALID_ARGUMENT, "maximum");
    ferrolock_lock_options o = holder_options("a\ab");
    EXPECT_ERR(ferrolock_try_acquire_with(locks, "t", &o, &h), FERROLOCK_INVALID_ARGUMENT, "holder");
    /* (Every timeout in milliseconds is in range in C: none to refuse. A
     * name cannot hold a NUL here: C strings end there.) */
    /* A name of exactly 512 bytes is fine, and so is any UTF-8. */
    char e_acute[513] = "";
    for (int i = 0; i < 256; i++) strcat(e_acute, "\xc3\xa9");
    ferrolock_held *ok1 = NULL, *ok2 = NULL;
    OK(ferrolock_try_acquire(locks, e_acute, 10000, &ok1));
    OK(ferrolock_try_acquire(locks, "{braces}:and spaces/\xc3\xbc" "n\xc3\xaf" "code", 10000, &ok2));
    CHECK(ok1 != NULL && ok2 != NULL);
    /* Nothing was left held by the failed calls. */
    ferrolock_lock_list *list = NULL;
    if (!REFUSED(&fx, "list", ferrolock_list(locks, "t", &list))) {
        REQUIRE(list != NULL);
        CHECK(list->len == 0);
        ferrolock_lock_list_free(list);
    }
    ferrolock_lock_info *info = NULL;
    EXPECT(ferrolock_state(locks, "", &info), FERROLOCK_INVALID_ARGUMENT);
    EXPECT(ferrolock_force_release(locks, "bad\x01name", NULL), FERROLOCK_INVALID_ARGUMENT);
    const char *urls[][2] = {
        {"nope://x", "unknown scheme"},          {"no-scheme-here", "no scheme"},
        {"memory://?namespace=bad/ns", "namespace"}, {"memory://?namespace=", "namespace"},
        {"memory://?colour=blue", "colour"},     {"memory://?bypass=maybe", "bypass"},
        {"sqlite://", "path"},
    };
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        ferrolock_locks *bad = (ferrolock_locks *)&fx;
        EXPECT_ERR(ferrolock_connect(urls[i][0], &bad), FERROLOCK_INVALID_ARGUMENT, urls[i][1]);
        CHECK(bad == NULL);
    }
    ferrolock_locks *bad = NULL;
    EXPECT(ferrolock_connect("ftp://alice:hunter2@example", &bad), FERROLOCK_INVALID_ARGUMENT);
    CHECK(strstr(ferrolock_last_error(), "hunter2") == NULL);
    /* A scheme this build leaves out (redis+runner is the WebAssembly build's)
     * is UNSUPPORTED naming its cargo feature. */
    EXPECT_ERR(ferrolock_connect("redis+runner://alice:hunter2@db", &bad), FERROLOCK_UNSUPPORTED, "redis-runner");
    CHECK(strstr(ferrolock_last_error(), "hunter2") == NULL);
    RELEASE_FREE(ok1);
    RELEASE_FREE(ok2);
    ferrolock_locks_free(locks);
    fixture_close(&fx);
}

static void foreign_and_malformed_tokens_are_invalid(const char *backend) {
    fixture fx, other_fx;
    fixture_open(&fx, backend, "foreign");
    fixture_open(&other_fx, strcmp(fx.row->backend, "memory") == 0 ? "sqlite" : "memory", "foreign");
    ferrolock_locks *locks = fixture_connect(&fx), *foreign = fixture_connect(&other_fx);
    if (!has(locks, "handoff")) goto done;
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
    char oversized[5 * 1000 + 1] = "";
    for (int i = 0; i < 1000; i++) strcat(oversized, "flk1.");
    EXPECT(ferrolock_resume(locks, oversized, &r), FERROLOCK_INVALID_TOKEN);
    token[strlen(token) - 4] = '\0'; /* truncated */
    EXPECT(ferrolock_resume(locks, token, &r), FERROLOCK_INVALID_TOKEN);
    ferrolock_string_free(token);
    /* The foreign lock was handed off: free it there by name. */
    OK(ferrolock_force_release(foreign, "f", NULL));
done:
    ferrolock_locks_free(foreign);
    ferrolock_locks_free(locks);
    fixture_close(&other_fx);
    fixture_close(&fx);
}

/* ferrolock_held_free of an armed handle: the C way to drop it. */
static void dropped_handle_releases_its_lock(const char *backend) {
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

/* ------------------------------------------------------------- the list */

#define SCENARIO(fn) {#fn, fn}
static const struct {
    const char *name;
    scenario_fn fn;
} HERE[] = {
    SCENARIO(mutual_exclusion_of_8_tasks),
    SCENARIO(try_acquire_on_held_lock_is_none),
    SCENARIO(acquire_times_out_not_early),
    SCENARIO(fences_start_at_1_and_increase),
    SCENARIO(expiry_lets_another_owner_in_with_higher_fence),
    SCENARIO(stale_release_is_false_and_leaves_new_holder),
    SCENARIO(refresh_after_loss_is_lost),
    SCENARIO(release_is_idempotent),
    SCENARIO(operations_after_release_or_handoff_are_not_held),
    SCENARIO(token_resumes_in_another_provider),
    SCENARIO(force_release_state_and_list_show_no_owner_id),
    SCENARIO(shared_locks_admit_readers_and_exclude_writers),
    SCENARIO(waiting_writer_is_not_starved_by_new_readers),
    SCENARIO(waiters_are_served_in_fifo_order),
    SCENARIO(release_wakes_a_waiter_promptly),
    SCENARIO(cancelled_wait_leaves_nothing_held),
    SCENARIO(cancelled_acquires_leave_the_lock_free),
    SCENARIO(watchdog_keeps_lock_past_its_ttl),
    SCENARIO(without_auto_renew_the_lock_expires_at_its_ttl),
    SCENARIO(loss_is_noticed_and_run_ends_with_lost),
    SCENARIO(run_returns_the_body_value_and_releases),
    SCENARIO(events_report_what_happened),
    SCENARIO(closed_provider_refuses_operations),
    SCENARIO(close_ends_pending_waits),
    SCENARIO(bypass_grants_every_lock),
    SCENARIO(bad_input_gives_typed_errors),
    SCENARIO(foreign_and_malformed_tokens_are_invalid),
    SCENARIO(dropped_handle_releases_its_lock),
};
#define N_HERE (sizeof HERE / sizeof HERE[0])

/* The scenarios here are those of scenarios.json: none missing, none extra. */
static bool same_list(void) {
    bool same = true;
    for (size_t i = 0; i < N_SCENARIOS; i++) {
        size_t found = 0;
        for (size_t j = 0; j < N_HERE; j++) found += strcmp(SCENARIOS[i].name, HERE[j].name) == 0;
        if (found != 1) {
            fprintf(stderr, "scenarios.json names %s, which this suite %s\n", SCENARIOS[i].name,
                    found == 0 ? "does not have" : "has twice");
            same = false;
        }
    }
    for (size_t j = 0; j < N_HERE; j++) {
        bool listed = false;
        for (size_t i = 0; i < N_SCENARIOS; i++) listed = listed || strcmp(SCENARIOS[i].name, HERE[j].name) == 0;
        if (!listed) {
            fprintf(stderr, "this suite has %s, which scenarios.json does not name\n", HERE[j].name);
            same = false;
        }
    }
    return same;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: test_conformance FIXTURE (a row of tests/vectors/backends.json)\n");
        return 2;
    }
    const char *b = argv[1];
    CHECK(same_list());
    /* In the list's order, each with its declared needs. */
    for (size_t i = 0; i < N_SCENARIOS; i++) {
        for (size_t j = 0; j < N_HERE; j++) {
            if (strcmp(SCENARIOS[i].name, HERE[j].name) != 0) continue;
            current = &SCENARIOS[i];
            asked = 0;
            run_scenario(HERE[j].name, HERE[j].fn, b);
            unsigned declared = 0;
            for (int k = 0; current->needs[k] != NULL; k++) declared |= 1u << k;
            if (asked != declared) {
                fprintf(stderr, "%s: consulted capabilities %#x of its needs %#x in scenarios.json\n", current->name,
                        asked, declared);
                failures++;
            }
        }
    }
    return finish("test_conformance");
}
