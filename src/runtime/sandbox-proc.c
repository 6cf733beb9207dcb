/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "basic/fs-util.h"
#include "runtime/sandbox-proc.h"

int sandbox_exit_code_from_status(int wait_status) {
        if (WIFEXITED(wait_status))
                return WEXITSTATUS(wait_status);
        if (WIFSIGNALED(wait_status))
                return 128 + WTERMSIG(wait_status);
        return 255;
}

int sandbox_proc_stat_parse(const char *text, ProcStat *ret) {
        const char *close_paren = strrchr(text, ')');
        const char *p;
        ProcStat st = {};
        int pid, ppid;

        if (!close_paren || sscanf(text, "%d (", &pid) != 1 || pid <= 0)
                return -EINVAL;
        if (sscanf(close_paren + 1, " %c %d", &st.state, &ppid) != 2)
                return -EINVAL;

        /* P starts at the space before field 3; each step moves it to the
         * space before the next field, up to field 22. */
        p = close_paren + 1;
        for (int field = 3; field < 22 && p; field++)
                p = strchr(p + 1, ' ');
        if (!p || sscanf(p, " %llu", &st.start_time) != 1)
                return -EINVAL;

        st.pid = pid;
        st.ppid = ppid;
        *ret = st;
        return 0;
}

int sandbox_proc_stat_read(pid_t pid, ProcStat *ret) {
        _cleanup_free_ char *text = NULL;
        char path[64];
        int r;

        snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
        r = kp_read_file_at(AT_FDCWD, path, 4096, &text, NULL);
        if (r < 0)
                return r;
        return sandbox_proc_stat_parse(text, ret);
}

int sandbox_pidfd_open_checked(pid_t pid, unsigned long long start_time) {
        _cleanup_close_ int pidfd = -1;
        ProcStat st;
        int r;

        if (pid <= 0)
                return -ESRCH;
        pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (pidfd < 0)
                return -errno;

        /* Checked after opening: the pidfd pins the process, so a match
         * now means the pidfd refers to the expected one. */
        r = sandbox_proc_stat_read(pid, &st);
        if (r < 0)
                return r == -ENOENT ? -ESRCH : r;
        if (st.start_time != start_time || st.state == 'Z')
                return -ESRCH;
        return TAKE_FD(pidfd);
}

long long sandbox_now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int sandbox_pidfd_wait(int pidfd, int timeout_ms) {
        long long deadline = timeout_ms < 0 ? -1 : sandbox_now_ms() + timeout_ms;
        struct pollfd pfd = { .fd = pidfd, .events = POLLIN };

        for (;;) {
                int wait_ms = deadline < 0 ? -1 : (int) (deadline - sandbox_now_ms());
                int n;

                if (deadline >= 0 && wait_ms < 0)
                        wait_ms = 0;
                n = poll(&pfd, 1, wait_ms);
                if (n > 0)
                        return 0;
                if (n == 0)
                        return -ETIMEDOUT;
                if (errno != EINTR)
                        return -errno;
        }
}

int sandbox_pidfd_signal(int pidfd, int sig) {
        if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0)
                return -errno;
        return 0;
}
