/* A tiny test harness for the C suite: checks that count failures and
 * print the call, its status and ferrolock_last_error(); fixtures that give
 * each scenario its own store (memory name, SQLite file, Redis namespace),
 * made as their row of tests/vectors/backends.json says (vectors.h). */
#ifndef FERROLOCK_TEST_HARNESS_H
#define FERROLOCK_TEST_HARNESS_H

#define _GNU_SOURCE
#include <ferrolock.h>
#include <dirent.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vectors.h"

static int failures = 0;
static int scenarios = 0;

#define CHECK(cond)                                                                              \
    do {                                                                                         \
        if (!(cond)) {                                                                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s (last error: %s)\n", __FILE__, __LINE__,   \
                    #cond, ferrolock_last_error());                                              \
            failures++;                                                                          \
        }                                                                                        \
    } while (0)

#define EXPECT(call, want)                                                                       \
    do {                                                                                         \
        ferrolock_status s_ = (call);                                                            \
        if (s_ != (want)) {                                                                      \
            fprintf(stderr, "%s:%d: %s returned %s, expected %s (last error: %s)\n", __FILE__,  \
                    __LINE__, #call, ferrolock_status_code(s_), ferrolock_status_code(want),     \
                    ferrolock_last_error());                                                     \
            failures++;                                                                          \
        }                                                                                        \
    } while (0)

#define OK(call) EXPECT(call, FERROLOCK_OK)

/* An error whose message names `needle` (and the function). */
#define EXPECT_ERR(call, want, needle)                                                           \
    do {                                                                                         \
        EXPECT(call, want);                                                                      \
        if (strstr(ferrolock_last_error(), (needle)) == NULL) {                                  \
            fprintf(stderr, "%s:%d: %s: message %s does not name %s\n", __FILE__, __LINE__,     \
                    #call, ferrolock_last_error(), needle);                                      \
            failures++;                                                                          \
        }                                                                                        \
    } while (0)

/* Stop the test: later steps would only cascade. */
#define REQUIRE(cond)                                                                            \
    do {                                                                                         \
        if (!(cond)) {                                                                           \
            fprintf(stderr, "%s:%d: REQUIRE failed: %s (last error: %s)\n", __FILE__, __LINE__, \
                    #cond, ferrolock_last_error());                                              \
            exit(1);                                                                             \
        }                                                                                        \
    } while (0)

static inline double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static inline void sleep_ms(unsigned ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* One backend fixture under test: a row of backends.json, made fresh. */
typedef struct {
    const fixture_row *row; /* row->name: "redis_quorum"; row->backend: the kind it opens, "redis" */
    char url[1024];
    char dir[256];
} fixture;

static unsigned fixture_counter = 0;

static inline const fixture_row *fixture_row_named(const char *name) {
    for (size_t i = 0; i < N_FIXTURE_ROWS; i++) {
        if (strcmp(FIXTURE_ROWS[i].name, name) == 0) return &FIXTURE_ROWS[i];
    }
    fprintf(stderr, "backends.json has no fixture %s\n", name);
    exit(2);
}

/* A store of the fixture `name` of its own for `scenario`. */
static inline void fixture_open(fixture *fx, const char *name, const char *scenario) {
    memset(fx, 0, sizeof *fx);
    fx->row = fixture_row_named(name);
    unsigned n = ++fixture_counter;
    if (strcmp(fx->row->url, "memory") == 0) {
        snprintf(fx->url, sizeof fx->url, "memory://%s-%d-%u", scenario, (int)getpid(), n);
    } else if (strcmp(fx->row->url, "sqlite") == 0) {
        snprintf(fx->dir, sizeof fx->dir, "%s/ferrolock-c-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        REQUIRE(mkdtemp(fx->dir) != NULL);
        snprintf(fx->url, sizeof fx->url, "sqlite://%s/locks.db", fx->dir);
    } else if (strcmp(fx->row->url, "env") == 0) {
        const char *base = getenv(fx->row->env);
        if (base == NULL || *base == '\0') {
            fprintf(stderr, "%s is not set: run scripts/suites/c, which starts the servers (redis-server, postgres, gocaves)\n", fx->row->env);
            exit(1);
        }
        /* A namespace of its own: [A-Za-z0-9_.-], at most 64 bytes. */
        int len = snprintf(fx->url, sizeof fx->url, "%s%cnamespace=c.%.32s.%d.%u.%ld", base,
                           strchr(base, '?') ? '&' : '?', scenario, (int)getpid(), n, (long)time(NULL) % 100000);
        REQUIRE(len > 0 && (size_t)len < sizeof fx->url);
    } else {
        fprintf(stderr, "backends.json: %s makes its URL by %s\n", name, fx->row->url);
        exit(2);
    }
}

/* Whether backends.json says the fixture's backend refuses `operation`
 * (`unsupported`: "list", "refresh", "force_release"). */
static inline bool fixture_refuses(const fixture *fx, const char *operation) {
    size_t n = strlen(operation);
    for (const char *p = fx->row->unsupported; (p = strstr(p, operation)) != NULL; p += n) {
        if ((p == fx->row->unsupported || p[-1] == ',') && p[n] == ',') return true;
    }
    return false;
}

/* A short ttl of `ms`, rounded up to the backend's ttl step (backends.json
 * `ttl_unit_ms`: Couchbase's get-and-lock takes whole seconds). */
static inline uint64_t fixture_short(const fixture *fx, uint64_t ms) {
    uint64_t unit = fx->row->ttl_unit_ms;
    return (ms + unit - 1) / unit * unit;
}

/* `status`, the result of `operation`: where the backend refuses it, it must
 * be UNSUPPORTED naming the backend, and this is true (the scenario skips
 * what needs it); elsewhere it must be OK, and this is false. */
#define REFUSED(fx, operation, call) refused_at((fx), (operation), (call), #call, __FILE__, __LINE__)
static inline bool refused_at(const fixture *fx, const char *operation, ferrolock_status s, const char *call,
                              const char *file, int line) {
    if (!fixture_refuses(fx, operation)) {
        if (s != FERROLOCK_OK) {
            fprintf(stderr, "%s:%d: %s returned %s (last error: %s)\n", file, line, call, ferrolock_status_code(s),
                    ferrolock_last_error());
            failures++;
        }
        return false;
    }
    if (s != FERROLOCK_UNSUPPORTED || strstr(ferrolock_last_error(), fx->row->backend) == NULL) {
        fprintf(stderr, "%s:%d: %s returned %s (%s): backends.json says %s is UNSUPPORTED on %s\n", file, line, call,
                ferrolock_status_code(s), ferrolock_last_error(), operation, fx->row->name);
        failures++;
    }
    return true;
}

static inline void fixture_close(fixture *fx) {
    if (fx->dir[0] == '\0') return;
    /* Retried: a provider's SQLite change watcher, started late on a slow
       run (valgrind), may still open (and so create) the file after free. */
    for (int attempt = 0; attempt < 40; attempt++) {
        if (attempt > 0) sleep_ms(50);
        DIR *d = opendir(fx->dir);
        if (d == NULL) return;
        struct dirent *e;
        char path[600];
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.') continue;
            snprintf(path, sizeof path, "%s/%s", fx->dir, e->d_name);
            unlink(path);
        }
        closedir(d);
        if (rmdir(fx->dir) == 0) return;
    }
}

static inline ferrolock_locks *fixture_connect(const fixture *fx) {
    ferrolock_locks *locks = NULL;
    ferrolock_status s = ferrolock_connect(fx->url, &locks);
    if (s != FERROLOCK_OK) {
        fprintf(stderr, "connect %s: %s: %s\n", fx->url, ferrolock_status_code(s), ferrolock_last_error());
        exit(1);
    }
    return locks;
}

/* fx->url with a query parameter added. */
static inline void fixture_url_with(const fixture *fx, const char *query, char *out, size_t size) {
    snprintf(out, size, "%s%c%s", fx->url, strchr(fx->url, '?') ? '&' : '?', query);
}

/* Release (expecting it held) and free. */
#define RELEASE_FREE(h)                                                                          \
    do {                                                                                         \
        bool was_ = false;                                                                       \
        OK(ferrolock_release((h), &was_));                                                       \
        CHECK(was_);                                                                             \
        ferrolock_held_free(h);                                                                  \
    } while (0)

typedef void (*scenario_fn)(const char *backend);

static inline void run_scenario(const char *name, scenario_fn fn, const char *backend) {
    int before = failures;
    double t0 = now_ms();
    fn(backend);
    scenarios++;
    printf("%-58s %s %s (%.0f ms)\n", name, backend ? backend : "", failures == before ? "ok" : "FAILED",
           now_ms() - t0);
    fflush(stdout);
}

#define RUN(fn, backend) run_scenario(#fn, fn, backend)

static inline int finish(const char *test) {
    printf("%s: %d scenarios, %d failed checks\n", test, scenarios, failures);
    return failures == 0 ? 0 : 1;
}

#endif
