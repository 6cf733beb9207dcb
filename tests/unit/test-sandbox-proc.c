/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "basic/macro.h"
#include "runtime/sandbox-proc.h"

static void test_exit_codes(void **state) {
        /* Wait statuses as the kernel encodes them. */
        assert_int_equal(sandbox_exit_code_from_status(0), 0);
        assert_int_equal(sandbox_exit_code_from_status(3 << 8), 3);
        assert_int_equal(sandbox_exit_code_from_status(255 << 8), 255);
        assert_int_equal(sandbox_exit_code_from_status(SIGTERM), 143);
        assert_int_equal(sandbox_exit_code_from_status(SIGKILL), 137);
        assert_int_equal(sandbox_exit_code_from_status(SIGINT | 0x80), 130);     /* with a core dump */
        assert_int_equal(sandbox_exit_code_from_status(0x137f), 255);            /* stopped, not exited */
}

static void test_stat_parse(void **state) {
        const char *plain = "1234 (sleep) S 1000 1234 1000 34816 1234 4194304 100 0 0 0 0 0 0 0 20 0 1 0 "
                            "987654 2252800 128 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
        const char *odd = "77 (a) b) (c) Z 1 77 77 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 42 0 0 0";
        ProcStat st;

        assert_int_equal(sandbox_proc_stat_parse(plain, &st), 0);
        assert_int_equal(st.pid, 1234);
        assert_int_equal(st.state, 'S');
        assert_int_equal(st.ppid, 1000);
        assert_int_equal(st.start_time, 987654);

        /* The command name may contain spaces and parentheses. */
        assert_int_equal(sandbox_proc_stat_parse(odd, &st), 0);
        assert_int_equal(st.pid, 77);
        assert_int_equal(st.state, 'Z');
        assert_int_equal(st.ppid, 1);
        assert_int_equal(st.start_time, 42);

        assert_int_equal(sandbox_proc_stat_parse("", &st), -EINVAL);
        assert_int_equal(sandbox_proc_stat_parse("12 (x) S 1 2 3", &st), -EINVAL);
        assert_int_equal(sandbox_proc_stat_parse("x (y) S 1", &st), -EINVAL);
}

static void test_stat_read_self(void **state) {
        ProcStat st;

        assert_int_equal(sandbox_proc_stat_read(getpid(), &st), 0);
        assert_int_equal(st.pid, getpid());
        assert_int_equal(st.ppid, getppid());
        assert_true(st.start_time > 0);
}

static void test_pidfd_checks_start_time(void **state) {
        ProcStat st;
        pid_t child;
        int fd, status;

        child = fork();
        assert_true(child >= 0);
        if (child == 0) {
                pause();
                _exit(0);
        }
        assert_int_equal(sandbox_proc_stat_read(child, &st), 0);

        /* A different start time means a reused pid: not our process. */
        assert_int_equal(sandbox_pidfd_open_checked(child, st.start_time + 1), -ESRCH);

        fd = sandbox_pidfd_open_checked(child, st.start_time);
        assert_true(fd >= 0);
        assert_int_equal(sandbox_pidfd_wait(fd, 50), -ETIMEDOUT);
        assert_int_equal(sandbox_pidfd_signal(fd, SIGTERM), 0);
        assert_int_equal(sandbox_pidfd_wait(fd, 5000), 0);
        assert_int_equal(waitpid(child, &status, 0), child);
        assert_true(WIFSIGNALED(status));
        close(fd);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_exit_codes),
                cmocka_unit_test(test_stat_parse),
                cmocka_unit_test(test_stat_read_self),
                cmocka_unit_test(test_pidfd_checks_start_time),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
