/* A chaos worker in C (tests/chaos/README.md), on include/ferrolock.h:
 * until --until (epoch ms), acquire the lock, write `begin` and `end` to the
 * fenced store with the fence (a random time in the critical section
 * between them), release; every step recorded as a JSON line in --log. */
#include "ferrolock.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static const char *arg(int argc, char **argv, const char *key) {
    for (int i = 1; i + 1 < argc; i++)
        if (strncmp(argv[i], "--", 2) == 0 && strcmp(argv[i] + 2, key) == 0) return argv[i + 1];
    fprintf(stderr, "chaos worker (C): missing --%s\n", key);
    exit(64);
}

/* One write to the store; 1 if accepted, 0 if refused (a stale fence). */
static int store_write(FILE *store, unsigned long long fence, const char *holder, const char *phase) {
    char line[128];
    fprintf(store, "W %llu %s %s\n", fence, holder, phase);
    fflush(store);
    if (!fgets(line, sizeof line, store)) {
        fprintf(stderr, "chaos worker (C): the store went away\n");
        exit(70);
    }
    return strncmp(line, "OK", 2) == 0;
}

int main(int argc, char **argv) {
    const char *url = arg(argc, argv, "url"), *name = arg(argc, argv, "name");
    unsigned long long ttl = strtoull(arg(argc, argv, "ttl-ms"), NULL, 10);
    unsigned long long wait = strtoull(arg(argc, argv, "wait-ms"), NULL, 10);
    unsigned long long hold = strtoull(arg(argc, argv, "hold-ms"), NULL, 10);
    long long until = strtoll(arg(argc, argv, "until"), NULL, 10) * 1000000LL;
    FILE *log = fopen(arg(argc, argv, "log"), "a");
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(arg(argc, argv, "store")))};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (!log || fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        perror("chaos worker (C)");
        return 70;
    }
    FILE *store = fdopen(fd, "r+");
    setvbuf(log, NULL, _IOLBF, 0);
    char holder[64];
    snprintf(holder, sizeof holder, "c-%d", (int)getpid());
    srand((unsigned)now_ns());

    ferrolock_locks *locks = NULL;
    if (ferrolock_connect(url, &locks) != FERROLOCK_OK) {
        fprintf(stderr, "chaos worker (C): connect: %s\n", ferrolock_last_error());
        return 69;
    }
    ferrolock_lock_options options = ferrolock_lock_options_init();
    options.ttl_ms = ttl;
    options.holder = holder;
    while (now_ns() < until) {
        long long start = now_ns();
        ferrolock_held *held = NULL;
        ferrolock_status s = ferrolock_acquire_with(locks, name, &options, wait, &held);
        double waited = (now_ns() - start) / 1e6;
        if (s == FERROLOCK_TIMEOUT) {
            fprintf(log, "{\"pid\": %d, \"lang\": \"c\", \"ev\": \"timeout\", \"t_ns\": %lld, \"waited_ms\": %.3f}\n",
                    (int)getpid(), now_ns(), waited);
            continue;
        }
        if (s != FERROLOCK_OK) {
            fprintf(log, "{\"pid\": %d, \"lang\": \"c\", \"ev\": \"unavailable\", \"t_ns\": %lld, \"waited_ms\": %.3f, \"code\": \"%s\"}\n",
                    (int)getpid(), now_ns(), waited, ferrolock_status_code(s));
            usleep(50000);
            continue;
        }
        unsigned long long fence = ferrolock_fence(held);
        fprintf(log, "{\"pid\": %d, \"lang\": \"c\", \"ev\": \"acquired\", \"t_ns\": %lld, \"fence\": %llu, \"waited_ms\": %.3f}\n",
                (int)getpid(), now_ns(), fence, waited);
        int begin = store_write(store, fence, holder, "begin");
        usleep((useconds_t)(hold ? (unsigned long long)rand() % (hold * 1000 + 1) : 0));
        int end = store_write(store, fence, holder, "end");
        bool lost = ferrolock_is_lost(held), was_held = false;
        const char *ok = ferrolock_release(held, &was_held) == FERROLOCK_OK ? (was_held ? "true" : "false") : "null";
        ferrolock_held_free(held);
        fprintf(log,
                "{\"pid\": %d, \"lang\": \"c\", \"ev\": \"released\", \"t_ns\": %lld, \"fence\": %llu, \"ok\": %s, "
                "\"lost\": %s, \"begin\": %s, \"end\": %s}\n",
                (int)getpid(), now_ns(), fence, ok, lost ? "true" : "false", begin ? "true" : "false", end ? "true" : "false");
    }
    ferrolock_close(locks);
    ferrolock_locks_free(locks);
    fprintf(log, "{\"pid\": %d, \"lang\": \"c\", \"ev\": \"exit\", \"t_ns\": %lld}\n", (int)getpid(), now_ns());
    return 0;
}
