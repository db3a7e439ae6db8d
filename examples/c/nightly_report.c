/* A cron job that must not run twice at once, across machines: take the
 * lock "nightly-report" (waiting up to 5 s), do the work while the lock is
 * renewed in the background, release it. Build (after scripts/install-c):
 *
 *   cc nightly_report.c $(pkg-config --cflags --libs ferrolock) -o nightly_report
 *
 * Run: ./nightly_report [URL]   (default: $FERROLOCK_URL, else a SQLite file
 * under ~/.local/share/ferrolock; try memory:// or redis://127.0.0.1:6379) */
#include <ferrolock.h>
#include <inttypes.h>
#include <stdio.h>

static int write_report(const ferrolock_held *held, void *user_data) {
    const char *who = user_data;
    /* The fence strictly increases with every acquisition: pass it to the
       storage you write to, so that a stale holder's writes can be refused. */
    printf("%s: writing the report under fence %" PRIu64 "\n", who, ferrolock_fence(held));
    return 0;
}

int main(int argc, char **argv) {
    ferrolock_locks *locks = NULL;
    ferrolock_status s = argc > 1 ? ferrolock_connect(argv[1], &locks) : ferrolock_connect_default(&locks);
    if (s != FERROLOCK_OK) {
        fprintf(stderr, "connect: %s\n", ferrolock_last_error());
        return 1;
    }

    ferrolock_lock_options options = ferrolock_lock_options_init();
    options.ttl_ms = 30000; /* how fast the lock frees if this process dies */
    int report_status = 0;
    s = ferrolock_run_with(locks, "nightly-report", &options, 5000, write_report, "nightly_report", &report_status);
    if (s == FERROLOCK_TIMEOUT) {
        fprintf(stderr, "another run holds the report lock: %s\n", ferrolock_last_error());
    } else if (s != FERROLOCK_OK) {
        fprintf(stderr, "%s: %s\n", ferrolock_status_code(s), ferrolock_last_error());
    }
    ferrolock_locks_free(locks);
    return s == FERROLOCK_OK ? report_status : 1;
}
