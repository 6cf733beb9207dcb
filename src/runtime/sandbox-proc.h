/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

/* Process helpers of the sandbox: exit codes, /proc/<pid>/stat and pidfds. */

/* Exit code for a wait status: the exit code, or 128+N after signal N. */
int sandbox_exit_code_from_status(int wait_status);

typedef struct ProcStat {
        pid_t pid;
        char state;                     /* field 3, e.g. 'S', 'Z' */
        pid_t ppid;                     /* field 4 */
        unsigned long long start_time;  /* field 22, clock ticks since boot */
} ProcStat;

/* Parse the contents of /proc/<pid>/stat. The command name (field 2) may
 * contain spaces and parentheses, so fields are counted from the last ')'.
 * Returns 0 or -EINVAL. */
int sandbox_proc_stat_parse(const char *text, ProcStat *ret);

/* Read and parse /proc/PID/stat. -ENOENT when the process does not exist. */
int sandbox_proc_stat_read(pid_t pid, ProcStat *ret);

/* A pidfd for PID when it is alive and started at START_TIME (so a reused
 * pid is never mistaken for it), else a negative errno. */
int sandbox_pidfd_open_checked(pid_t pid, unsigned long long start_time);

/* Wait until the process of PIDFD has exited, at most TIMEOUT_MS (-1: no
 * limit). Returns 0, -ETIMEDOUT or another negative errno. */
int sandbox_pidfd_wait(int pidfd, int timeout_ms);

/* Send SIG through PIDFD; 0 or a negative errno (-ESRCH when gone). */
int sandbox_pidfd_signal(int pidfd, int sig);

/* Monotonic clock in milliseconds. */
long long sandbox_now_ms(void);
