/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>

#include "basic/macro.h"

/* Log levels, most severe first. Messages go to stderr so that stdout stays
 * free for command output and --json. */
typedef enum KpLogLevel {
        KP_LOG_ERROR = 0,
        KP_LOG_WARN,
        KP_LOG_INFO,
        KP_LOG_DEBUG,
        KP_LOG_TRACE,
        _KP_LOG_LEVEL_MAX,
} KpLogLevel;

void kp_log_set_level(KpLogLevel level);
KpLogLevel kp_log_get_level(void);

/* Parse "error", "warn", "info", "debug", "trace" (also "warning" and
 * upstream-style "target=level" filters, of which the last level counts).
 * Returns the level or -EINVAL. */
int kp_log_level_from_string(const char *s);
const char *kp_log_level_to_string(KpLogLevel level);

/* Set the level from --verbose/--trace, then let KARAPACE_LOG override it.
 * Colour is used only when stderr is a terminal and NO_COLOR is unset. */
void kp_log_setup(bool verbose, bool trace);

/* Returns true when stderr gets colour. */
bool kp_log_use_color(void);

void kp_log_message(KpLogLevel level, const char *file, int line, const char *fmt, ...) _printf_(4, 5);

#define kp_log_at(level, ...)                                                    \
        do {                                                                     \
                if ((level) <= kp_log_get_level())                               \
                        kp_log_message((level), __FILE__, __LINE__, __VA_ARGS__); \
        } while (0)

#define log_error(...) kp_log_at(KP_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) kp_log_at(KP_LOG_WARN, __VA_ARGS__)
#define log_info(...) kp_log_at(KP_LOG_INFO, __VA_ARGS__)
#define log_debug(...) kp_log_at(KP_LOG_DEBUG, __VA_ARGS__)
#define log_trace(...) kp_log_at(KP_LOG_TRACE, __VA_ARGS__)
