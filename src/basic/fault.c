/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "basic/fault.h"
#include "basic/fs-util.h"
#include "basic/macro.h"

#if KP_FAULT_INJECTION

static bool fault_loaded;
static unsigned long fault_kill_at;     /* 0: never */
static unsigned long fault_count_private;
/* Shared with the child processes forked later (user namespace helpers run
 * store code too), so that a point is counted once whichever process
 * reaches it, in the same order as KARAPACE_FAULT_LOG lists them. */
static unsigned long *fault_count = &fault_count_private;
static pid_t fault_main_pid;
static const char *fault_log_path;

static void fault_load(void) {
        const char *v;
        void *shared;

        fault_loaded = true;
        fault_main_pid = getpid();
        shared = mmap(NULL, sizeof(unsigned long), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (shared != MAP_FAILED)
                fault_count = shared;
        fault_log_path = getenv("KARAPACE_FAULT_LOG");
        v = getenv("KARAPACE_FAULT_KILL_AT");
        if (v) {
                char *end = NULL;
                unsigned long n;

                errno = 0;
                n = strtoul(v, &end, 10);
                fault_kill_at = errno == 0 && end && *end == '\0' ? n : 0;
        }
}

static void fault_log(const char *name) {
        _cleanup_close_ int fd = -1;
        size_t len = strlen(name);
        char *line;

        fd = open(fault_log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd < 0)
                return;

        /* One write per line, so lines from several processes appending to
         * the same file do not interleave. */
        line = malloc(len + 1);
        if (!line)
                return;
        memcpy(line, name, len);
        line[len] = '\n';
        (void) kp_write_all(fd, line, len + 1);
        free(line);
}

void kp_fault_point(const char *name) {
        if (!fault_loaded)
                fault_load();

        unsigned long n = __atomic_add_fetch(fault_count, 1, __ATOMIC_SEQ_CST);

        if (fault_log_path)
                fault_log(name);
        if (fault_kill_at != 0 && n == fault_kill_at) {
                /* A crash takes the whole command down, also when a child
                 * process reaches the point. */
                if (getpid() != fault_main_pid)
                        (void) kill(fault_main_pid, SIGKILL);
                (void) raise(SIGKILL);
        }
}

/* Load before main() so that the counter is shared with every child. */
__attribute__((constructor)) static void fault_load_early(void) {
        fault_load();
}

void kp_fault_reset(void) {
        fault_loaded = false;
        fault_kill_at = 0;
        *fault_count = 0;
        fault_log_path = NULL;
}

#endif
