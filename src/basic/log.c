/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/log.h"

static KpLogLevel log_level = KP_LOG_WARN;
static int log_color = -1;      /* -1: not decided yet */

static const char *const level_names[_KP_LOG_LEVEL_MAX] = {
        [KP_LOG_ERROR] = "error",
        [KP_LOG_WARN] = "warn",
        [KP_LOG_INFO] = "info",
        [KP_LOG_DEBUG] = "debug",
        [KP_LOG_TRACE] = "trace",
};

void kp_log_set_level(KpLogLevel level) {
        log_level = level;
}

KpLogLevel kp_log_get_level(void) {
        return log_level;
}

const char *kp_log_level_to_string(KpLogLevel level) {
        if ((unsigned) level >= _KP_LOG_LEVEL_MAX)
                return NULL;
        return level_names[level];
}

static int level_from_word(const char *s, size_t n) {
        for (size_t i = 0; i < _KP_LOG_LEVEL_MAX; i++)
                if (strlen(level_names[i]) == n && strncasecmp(s, level_names[i], n) == 0)
                        return (int) i;
        if (n == 7 && strncasecmp(s, "warning", n) == 0)
                return KP_LOG_WARN;
        return -EINVAL;
}

int kp_log_level_from_string(const char *s) {
        int level = -EINVAL;

        if (!s)
                return -EINVAL;

        /* A filter is a comma-separated list of "level" or "target=level". */
        while (*s) {
                size_t n = strcspn(s, ",");
                const char *eq = memchr(s, '=', n);
                const char *word = eq ? eq + 1 : s;
                size_t word_len = eq ? n - (size_t) (eq + 1 - s) : n;
                int r = level_from_word(word, word_len);

                if (r < 0)
                        return r;
                level = r;
                s += n;
                if (*s == ',')
                        s++;
        }
        return level;
}

bool kp_log_use_color(void) {
        if (log_color < 0)
                log_color = getenv("NO_COLOR") == NULL && isatty(STDERR_FILENO);
        return log_color;
}

void kp_log_setup(bool verbose, bool trace) {
        const char *env = getenv("KARAPACE_LOG");

        if (trace)
                log_level = KP_LOG_TRACE;
        else if (verbose)
                log_level = KP_LOG_DEBUG;

        if (env && *env) {
                int r = kp_log_level_from_string(env);
                if (r < 0)
                        kp_log_message(KP_LOG_WARN, __FILE__, __LINE__,
                                       "invalid KARAPACE_LOG value '%s', expected error, warn, info, debug or trace", env);
                else
                        log_level = (KpLogLevel) r;
        }
}

void kp_log_message(KpLogLevel level, const char *file, int line, const char *fmt, ...) {
        static const char *const colors[_KP_LOG_LEVEL_MAX] = {
                [KP_LOG_ERROR] = "\033[1;31m",
                [KP_LOG_WARN] = "\033[1;33m",
                [KP_LOG_INFO] = "\033[1;32m",
                [KP_LOG_DEBUG] = "\033[1;34m",
                [KP_LOG_TRACE] = "\033[2m",
        };
        int saved_errno = errno;
        char buffer[4096];
        va_list ap;
        int n;

        if ((unsigned) level >= _KP_LOG_LEVEL_MAX)
                level = KP_LOG_ERROR;

        va_start(ap, fmt);
        n = vsnprintf(buffer, sizeof(buffer), fmt, ap);
        va_end(ap);
        if (n < 0)
                snprintf(buffer, sizeof(buffer), "(unformattable log message)");

        /* One fprintf per line, so concurrent writers do not interleave. */
        if (log_level >= KP_LOG_TRACE)
                fprintf(stderr, "%s%s%s: %s (%s:%d)\n",
                        kp_log_use_color() ? colors[level] : "", level_names[level],
                        kp_log_use_color() ? "\033[0m" : "", buffer, file, line);
        else
                fprintf(stderr, "%s%s%s: %s\n",
                        kp_log_use_color() ? colors[level] : "", level_names[level],
                        kp_log_use_color() ? "\033[0m" : "", buffer);
        errno = saved_errno;
}
