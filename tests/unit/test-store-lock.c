/* SPDX-License-Identifier: MIT */
/* The store lock. */
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "test-store-helpers.h"
#include "store/store-lock.h"

static long long now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_acquire_creates_lock_file(void **state) {
        char *root = test_mkdtemp();
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_free_ char *lock = kp_path_join(root, "store/.lock");
        struct stat st;
        Store *s = NULL;
        int fd = -1;

        /* No store_init(): the lock works on a store that does not exist yet. */
        assert_store_ok(store_open(root, &s, &err));
        assert_store_ok(store_lock_acquire(s, &fd, &err));
        assert_true(fd >= 0);
        assert_int_equal(stat(lock, &st), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(st.st_size, 0);

        store_lock_release(fd);
        store_free(s);
        assert_int_equal(kp_rm_rf(root), 0);
        free(root);
}

static void test_try_while_held(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        int held = -1, probe = -1;

        assert_int_equal(store_lock_try(t->s, &held, &err), 1);
        assert_true(held >= 0);

        assert_int_equal(store_lock_try(t->s, &probe, &err), 0);
        assert_int_equal(probe, -1);

        held = store_lock_release(held);
        assert_int_equal(held, -1);
        assert_int_equal(store_lock_try(t->s, &probe, &err), 1);
        store_lock_release(probe);
}

static void test_lock_excludes_other_process(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        int held = -1, status = 0;
        pid_t pid;

        assert_store_ok(store_lock_acquire(t->s, &held, &err));

        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                KpError child_err = KP_ERROR_INIT;
                int fd = -1;

                /* The lock fd is inherited, but flock locks belong to the open
                 * file description: a fresh open must still be refused. */
                _exit(store_lock_try(t->s, &fd, &child_err) == 0 ? 0 : 1);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        store_lock_release(held);
}

static void test_acquire_waits_for_holder(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        int pipefd[2], fd = -1, status = 0;
        long long start;
        char c;
        pid_t pid;

        assert_int_equal(pipe(pipefd), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                KpError child_err = KP_ERROR_INIT;
                int held = -1;

                if (store_lock_acquire(t->s, &held, &child_err) < 0)
                        _exit(1);
                (void) write(pipefd[1], "x", 1);
                usleep(300 * 1000);
                _exit(0);       /* process exit releases the lock */
        }
        close(pipefd[1]);
        assert_int_equal(read(pipefd[0], &c, 1), 1);
        close(pipefd[0]);

        start = now_ms();
        assert_store_ok(store_lock_acquire(t->s, &fd, &err));
        assert_true(now_ms() - start >= 150);
        store_lock_release(fd);

        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_lock_released_when_holder_killed(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        int pipefd[2], fd = -1, status = 0;
        char c;
        pid_t pid;

        assert_int_equal(pipe(pipefd), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                KpError child_err = KP_ERROR_INIT;
                int held = -1;

                if (store_lock_acquire(t->s, &held, &child_err) < 0)
                        _exit(1);
                (void) write(pipefd[1], "x", 1);
                for (;;)
                        pause();
        }
        close(pipefd[1]);
        assert_int_equal(read(pipefd[0], &c, 1), 1);
        close(pipefd[0]);

        assert_int_equal(store_lock_try(t->s, &fd, &err), 0);
        assert_int_equal(kill(pid, SIGKILL), 0);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_int_equal(store_lock_try(t->s, &fd, &err), 1);
        store_lock_release(fd);
}

static void test_lock_fails_on_unwritable_store(void **state) {
        char *root = test_mkdtemp();
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        Store *s = NULL;
        int fd = -1;

        if (geteuid() == 0) {
                kp_rm_rf(root);
                free(root);
                skip();
        }

        assert_int_equal(chmod(root, 0500), 0);
        assert_store_ok(store_open(root, &s, &err));
        assert_true(store_lock_try(s, &fd, &err) < 0);
        assert_int_equal(err.kind, KP_ERROR_STORE);
        assert_non_null(strstr(err.message, "lock acquisition failed"));

        store_free(s);
        assert_int_equal(chmod(root, 0700), 0);
        assert_int_equal(kp_rm_rf(root), 0);
        free(root);
}

#define T(f) cmocka_unit_test_setup_teardown(f, test_store_setup, test_store_teardown)

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_acquire_creates_lock_file),
                T(test_try_while_held),
                T(test_lock_excludes_other_process),
                T(test_acquire_waits_for_holder),
                T(test_lock_released_when_holder_killed),
                cmocka_unit_test(test_lock_fails_on_unwritable_store),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
