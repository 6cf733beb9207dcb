/* SPDX-License-Identifier: MIT */
/* The fault-injection hook used by crash tests. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "basic/fault.h"
#include "basic/fs-util.h"

/* Run three fault points in a child with the given environment; returns
 * the wait status and the log contents. */
static int run_points(const char *kill_at, char **ret_log) {
        char dir[] = "/tmp/kp-fault-XXXXXX";
        _cleanup_free_ char *log = NULL;
        int status = 0;
        pid_t pid;

        assert_non_null(mkdtemp(dir));
        log = kp_path_join(dir, "points.log");
        assert_non_null(log);

        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                setenv("KARAPACE_FAULT_LOG", log, 1);
                if (kill_at)
                        setenv("KARAPACE_FAULT_KILL_AT", kill_at, 1);
                kp_fault_reset();
                kp_fault_point("first");
                kp_fault_point("second");
                kp_fault_point("third");
                _exit(0);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);

        *ret_log = NULL;
        if (kp_read_file_at(AT_FDCWD, log, 4096, ret_log, NULL) < 0)
                *ret_log = strdup("");
        assert_int_equal(kp_rm_rf(dir), 0);
        return status;
}

static void test_points_logged(void **state) {
        _cleanup_free_ char *log = NULL;
        int status;

        status = run_points(NULL, &log);
        assert_true(WIFEXITED(status));
#if KP_FAULT_INJECTION
        assert_string_equal(log, "first\nsecond\nthird\n");
#else
        assert_string_equal(log, "");
#endif
}

static void test_kill_at_second_point(void **state) {
        _cleanup_free_ char *log = NULL;
        int status;

        status = run_points("2", &log);
#if KP_FAULT_INJECTION
        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), SIGKILL);
        assert_string_equal(log, "first\nsecond\n");
#else
        assert_true(WIFEXITED(status));
        assert_string_equal(log, "");
#endif
}

static void test_invalid_kill_at_ignored(void **state) {
        _cleanup_free_ char *log = NULL;
        int status;

        status = run_points("2x", &log);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_points_logged),
                cmocka_unit_test(test_kill_at_second_point),
                cmocka_unit_test(test_invalid_kill_at_ignored),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
