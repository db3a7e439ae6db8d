/* A handle inherited through fork() is disarmed in the child: freeing it
 * there does not release the parent's lock. A child may connect anew: the
 * library starts a background thread of its own there. */
#include "harness.h"
#include <sys/wait.h>
#include <unistd.h>

/* Leave the child by exec rather than exit: the parent's runtime thread does
   not survive fork(), so a leak checker (valgrind, ASan) would call what only
   it referenced "lost" at this child's exit. The exit code counts the
   child's failed checks. */
static void leave_child(int bad) {
    char code[32];
    snprintf(code, sizeof code, "exit %d", bad == 0 ? 0 : 10 + bad);
    execl("/bin/sh", "sh", "-c", code, (char *)NULL);
    _exit(127);
}

static bool child_passed(pid_t pid) {
    int status = 0;
    return waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void a_forked_child_does_not_release_the_parents_lock(const char *backend) {
    fixture fx;
    fixture_open(&fx, backend, "fork");
    ferrolock_locks *locks = fixture_connect(&fx);
    ferrolock_held *h = NULL;
    OK(ferrolock_try_acquire(locks, "forked", 30000, &h));
    REQUIRE(h != NULL);
    uint64_t fence = ferrolock_fence(h);
    fflush(NULL);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        int bad = 0;
        bool was_held = true;
        bad += ferrolock_fence(h) != fence;
        bad += ferrolock_refresh(h, 1000) != FERROLOCK_NOT_HELD;
        bad += ferrolock_release(h, &was_held) != FERROLOCK_OK || was_held;
        ferrolock_lock_info *info = NULL;
        bad += ferrolock_state(locks, "forked", &info) != FERROLOCK_CLOSED;
        /* SQLite forbids a child the file its parent has open. */
        ferrolock_locks *again = NULL;
        bad += ferrolock_connect(fx.url, &again) != FERROLOCK_UNSUPPORTED || again != NULL;
        ferrolock_held_free(h);
        ferrolock_locks_free(locks);
        leave_child(bad);
    }
    CHECK(child_passed(pid));
    ferrolock_lock_info *info = NULL;
    OK(ferrolock_state(locks, "forked", &info));
    CHECK(info != NULL && info->fence == fence);
    ferrolock_lock_info_free(info);
    RELEASE_FREE(h); /* still the parent's: released here, true */
    ferrolock_locks_free(locks);
    fixture_close(&fx);
}

/* The parent used the library (its background thread runs renewals and
 * timers); the child connects anew and needs both: a wait that times out,
 * and a lock renewed past its ttl. */
static void a_forked_child_connects_anew(const char *backend) {
    (void)backend;
    ferrolock_locks *parent = NULL;
    OK(ferrolock_connect("memory://fork-parent", &parent));
    ferrolock_held *h = NULL;
    OK(ferrolock_acquire(parent, "warm", 30000, 1000, &h));
    RELEASE_FREE(h);
    fflush(NULL);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        alarm(20); /* a child that hangs fails instead of blocking the suite */
        int bad = 0;
        ferrolock_locks *locks = NULL;
        bad += ferrolock_connect("memory://fork-child", &locks) != FERROLOCK_OK;
        ferrolock_held *held = NULL, *other = NULL;
        bad += ferrolock_acquire(locks, "renewed", 300, 1000, &held) != FERROLOCK_OK;
        /* A wait ends at its timeout: the child's timers run. */
        bad += ferrolock_acquire(locks, "renewed", 300, 200, &other) != FERROLOCK_TIMEOUT || other != NULL;
        /* Past three ttls the lock is still held: the child's renewals run. */
        usleep(1000 * 1000);
        bad += held == NULL || ferrolock_is_lost(held);
        bool was_held = false;
        bad += held == NULL || ferrolock_release(held, &was_held) != FERROLOCK_OK || !was_held;
        ferrolock_held_free(held);
        ferrolock_locks_free(locks);
        leave_child(bad);
    }
    CHECK(child_passed(pid));
    ferrolock_locks_free(parent);
}

int main(void) {
    RUN(a_forked_child_does_not_release_the_parents_lock, "sqlite");
    RUN(a_forked_child_connects_anew, "memory");
    return finish("test_fork");
}
