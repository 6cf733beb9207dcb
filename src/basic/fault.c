/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/fault.h"
#include "basic/fs-util.h"
#include "basic/macro.h"

#if KP_FAULT_INJECTION

static bool fault_loaded;
static unsigned long fault_kill_at;     /* 0: never */
static unsigned long fault_count;
static const char *fault_log_path;

static void fault_load(void) {
        const char *v;

        fault_loaded = true;
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

        fault_count++;
        if (fault_log_path)
                fault_log(name);
        if (fault_kill_at != 0 && fault_count == fault_kill_at)
                (void) raise(SIGKILL);
}

void kp_fault_reset(void) {
        fault_loaded = false;
        fault_kill_at = 0;
        fault_count = 0;
        fault_log_path = NULL;
}

#endif
