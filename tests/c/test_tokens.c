/* The shared vectors: tests/vectors/tokens.json read through
 * ferrolock_decode_token, and the error table of errors.json against the
 * statuses (vectors.h is generated from both at build time). */
#include "harness.h"
#include "vectors.h"

static void valid_tokens_decode_to_their_fields(const char *unused) {
    (void)unused;
    for (size_t i = 0; i < N_VALID_TOKENS; i++) {
        const valid_token *v = &VALID_TOKENS[i];
        ferrolock_token_info *t = NULL;
        OK(ferrolock_decode_token(v->token, &t));
        if (t == NULL) continue;
        CHECK(strcmp(t->backend, v->backend) == 0);
        CHECK(strcmp(t->namespace_, v->ns) == 0);
        CHECK(strcmp(t->name, v->name) == 0);
        CHECK(strcmp(t->holder, v->holder) == 0);
        CHECK(t->shared == (strcmp(v->mode, "shared") == 0));
        CHECK(t->fence == v->fence);
        CHECK(t->expires_at_ms == v->expires_at_ms);
        CHECK(t->ttl_ms == v->ttl_ms);
        ferrolock_token_info_free(t);
    }
    CHECK(N_VALID_TOKENS >= 5);
}

static void invalid_tokens_give_their_error(const char *unused) {
    (void)unused;
    ferrolock_locks *locks = NULL;
    OK(ferrolock_connect("memory://tokens", &locks));
    for (size_t i = 0; i < N_INVALID_TOKENS; i++) {
        const invalid_token *v = &INVALID_TOKENS[i];
        ferrolock_token_info *t = (ferrolock_token_info *)&locks;
        ferrolock_status s = ferrolock_decode_token(v->token, &t);
        if (strcmp(ferrolock_status_code(s), v->error) != 0) {
            fprintf(stderr, "token \"%s\": got %s, expected %s\n", v->why, ferrolock_status_code(s), v->error);
            failures++;
        }
        CHECK(t == NULL);
        CHECK(strstr(ferrolock_last_error(), "ferrolock_decode_token") != NULL);
        /* resume checks the same format first */
        ferrolock_held *h = (ferrolock_held *)&locks;
        s = ferrolock_resume(locks, v->token, &h);
        if (strcmp(ferrolock_status_code(s), v->error) != 0) {
            fprintf(stderr, "resume \"%s\": got %s, expected %s\n", v->why, ferrolock_status_code(s), v->error);
            failures++;
        }
        CHECK(h == NULL);
    }
    CHECK(N_INVALID_TOKENS >= 10);
    ferrolock_locks_free(locks);
}

static void statuses_follow_the_error_table(const char *unused) {
    (void)unused;
    CHECK(FERROLOCK_OK == 0);
    CHECK(strcmp(ferrolock_status_code(FERROLOCK_OK), "OK") == 0);
    CHECK(N_ERROR_ROWS == 9);
    int seen[64] = {0};
    for (size_t i = 0; i < N_ERROR_ROWS; i++) {
        const error_row *r = &ERROR_ROWS[i];
        CHECK(r->status != FERROLOCK_OK);
        CHECK((int)r->status > 0 && (int)r->status < 64);
        if ((int)r->status > 0 && (int)r->status < 64) seen[r->status]++;
        if (strcmp(ferrolock_status_code(r->status), r->code) != 0) {
            fprintf(stderr, "%s: code %s, expected %s\n", r->c_status_name, ferrolock_status_code(r->status), r->code);
            failures++;
        }
    }
    for (int s = 1; s <= (int)N_ERROR_ROWS; s++) CHECK(seen[s] == 1); /* distinct, dense */
    CHECK(strcmp(ferrolock_status_code((int)N_ERROR_ROWS + 1), "UNKNOWN") == 0);
    CHECK(strcmp(ferrolock_status_code(-1), "UNKNOWN") == 0);
}

static void a_token_round_trips_through_decode(const char *unused) {
    (void)unused;
    ferrolock_locks *locks = NULL;
    OK(ferrolock_connect("memory://tokens-rt?namespace=app.v2&holder=me", &locks));
    ferrolock_lock_options o = ferrolock_lock_options_init();
    o.ttl_ms = 12345;
    o.shared = true;
    ferrolock_held *h = NULL;
    OK(ferrolock_try_acquire_with(locks, "ünïcode name", &o, &h));
    REQUIRE(h != NULL);
    char *token = NULL;
    OK(ferrolock_into_token(h, &token));
    ferrolock_token_info *t = NULL;
    OK(ferrolock_decode_token(token, &t));
    REQUIRE(t != NULL);
    CHECK(strcmp(t->backend, "memory") == 0);
    CHECK(strcmp(t->namespace_, "app.v2") == 0);
    CHECK(strcmp(t->name, "ünïcode name") == 0);
    CHECK(strcmp(t->holder, "me") == 0);
    CHECK(t->shared);
    CHECK(t->ttl_ms == 12345);
    CHECK(t->fence == ferrolock_fence(h));
    ferrolock_token_info_free(t);
    ferrolock_held *back = NULL;
    OK(ferrolock_resume(locks, token, &back));
    RELEASE_FREE(back);
    ferrolock_string_free(token);
    ferrolock_held_free(h);
    ferrolock_locks_free(locks);
}

int main(void) {
    RUN(valid_tokens_decode_to_their_fields, "");
    RUN(invalid_tokens_give_their_error, "");
    RUN(statuses_follow_the_error_table, "");
    RUN(a_token_round_trips_through_decode, "");
    return finish("test_tokens");
}
