/* SPDX-License-Identifier: MIT */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "basic/macro.h"

typedef enum KpJsonFlags {
        KP_JSON_PRETTY = 1 << 0,        /* two-space indent, one member per line */
        KP_JSON_SORT_KEYS = 1 << 1,     /* object members in byte order of keys */
} KpJsonFlags;

/*
 * Serialize VALUE in the exact text form that identities and checksums are
 * computed over. Compact: no whitespace at all. Pretty: two-space indent,
 * "key": value, one member or element per line, [] and {} for empty
 * containers, no trailing newline. Strings escape only '"', '\\' and
 * control bytes (\n \r \t \b \f, others as \u00xx in lowercase hex); '/'
 * and non-ASCII UTF-8 are written as they are. Object members keep their
 * insertion order unless KP_JSON_SORT_KEYS is given.
 *
 * Returns a NUL-terminated string (caller frees) or NULL on allocation
 * failure; *RET_LEN gets its length when not NULL.
 */
char *kp_json_dump(const json_t *value, KpJsonFlags flags, size_t *ret_len);

/* Print VALUE to stdout with a trailing newline, for --json output. */
int kp_json_print(const json_t *value, KpJsonFlags flags);

/* Parse DATA; on failure store "line L, column C: reason" in *RET_ERROR
 * (caller frees) and return -EINVAL. */
int kp_json_parse(const char *data, size_t len, json_t **ret, char **ret_error);

static inline void kp_json_decrefp(json_t **v) {
        if (*v)
                json_decref(*v);
}
#define _cleanup_json_ _cleanup_(kp_json_decrefp)
