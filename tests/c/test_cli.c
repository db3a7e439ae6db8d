/* Token handoff with the ferrolock command ($FERROLOCK_CLI), both ways, on
 * one SQLite file. */
#include "harness.h"
#include <sys/wait.h>

static const char *cli(void) {
    const char *path = getenv("FERROLOCK_CLI");
    if (path == NULL || *path == '\0') {
        fprintf(stderr, "FERROLOCK_CLI is not set: run scripts/suites/c, which builds the ferrolock command\n");
        exit(1);
    }
    return path;
}

/* Run `$FERROLOCK_CLI --url URL ARGS`, capture the first line of stdout,
 * return the exit status. */
static int run_cli(const char *url, const char *args, char *out, size_t size) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' --url '%s' %s", cli(), url, args);
    FILE *p = popen(cmd, "r");
    REQUIRE(p != NULL);
    if (out != NULL) {
        out[0] = '\0';
        if (fgets(out, (int)size, p) != NULL) out[strcspn(out, "\n")] = '\0';
    }
    char sink[256];
    while (fgets(sink, sizeof sink, p) != NULL) {
    }
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void c_hands_a_lock_to_the_cli(const char *backend) {
    fixture fx;
    fixture_open(&fx, backend, "c-to-cli");
    ferrolock_locks *locks = fixture_connect(&fx);
    ferrolock_held *h = NULL;
    OK(ferrolock_try_acquire(locks, "handoff", 30000, &h));
    REQUIRE(h != NULL);
    char *token = NULL;
    OK(ferrolock_into_token(h, &token));
    ferrolock_held_free(h); /* handed off: freeing it does not release */
    REQUIRE(token != NULL);
    char args[4200];
    snprintf(args, sizeof args, "state handoff");
    char line[256];
    CHECK(run_cli(fx.url, args, line, sizeof line) == 0);
    CHECK(strstr(line, "free") == NULL);
    snprintf(args, sizeof args, "release '%s'", token);
    CHECK(run_cli(fx.url, args, NULL, 0) == 0);
    ferrolock_lock_info *info = (ferrolock_lock_info *)&fx;
    OK(ferrolock_state(locks, "handoff", &info));
    CHECK(info == NULL);
    /* The token no longer holds it: the CLI says so with exit status 1. */
    CHECK(run_cli(fx.url, args, NULL, 0) == 1);
    ferrolock_string_free(token);
    ferrolock_locks_free(locks);
    fixture_close(&fx);
}

static void the_cli_hands_a_lock_to_c(const char *backend) {
    fixture fx;
    fixture_open(&fx, backend, "cli-to-c");
    char token[4200];
    CHECK(run_cli(fx.url, "acquire --ttl 30s from-cli", token, sizeof token) == 0);
    REQUIRE(strncmp(token, "flk1.", 5) == 0);
    ferrolock_token_info *t = NULL;
    OK(ferrolock_decode_token(token, &t));
    REQUIRE(t != NULL);
    CHECK(strcmp(t->backend, fx.row->backend) == 0);
    CHECK(strcmp(t->name, "from-cli") == 0);
    CHECK(t->fence == 1);
    ferrolock_token_info_free(t);
    ferrolock_locks *locks = fixture_connect(&fx);
    ferrolock_held *other = NULL, *h = NULL;
    OK(ferrolock_try_acquire(locks, "from-cli", 10000, &other));
    CHECK(other == NULL); /* the CLI's lock is held */
    OK(ferrolock_resume(locks, token, &h));
    REQUIRE(h != NULL);
    CHECK(ferrolock_fence(h) == 1);
    OK(ferrolock_refresh(h, 20000));
    RELEASE_FREE(h);
    char line[256];
    CHECK(run_cli(fx.url, "state from-cli", line, sizeof line) == 0);
    CHECK(strstr(line, "free") != NULL);
    ferrolock_locks_free(locks);
    fixture_close(&fx);
}

int main(void) {
    RUN(c_hands_a_lock_to_the_cli, "sqlite");
    RUN(the_cli_hands_a_lock_to_c, "sqlite");
    return finish("test_cli");
}
