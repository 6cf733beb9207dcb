/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basic/error.h"
#include "toml/toml.h"

/*
 * Typed access to a parsed TOML tree with errors that name the key, the
 * expected and the found type, and the place in the file:
 *
 *   <prefix>: <path>:<line>:<column>: 'hardware.gpu' must be a boolean, found string
 *
 * Every function returns 0 (or 1, see below) on success and a negative
 * errno with ERR filled in (category KIND) on failure.
 */
typedef struct SchemaReader {
        const char *path;       /* file name shown in messages */
        const char *prefix;     /* e.g. "failed to parse manifest" */
        KpErrorKind kind;
        KpError *err;
} SchemaReader;

/* Record an error at LINE:COLUMN (no location when LINE is 0). */
int schema_error(const SchemaReader *s, unsigned line, unsigned column, const char *fmt, ...)
        _printf_(4, 5);

/* Reject any key of TABLE that is not in VALID_KEYS (NULL-terminated).
 * TABLE_NAME is the dotted name of the table, NULL for the top level. */
int schema_check_keys(const SchemaReader *s, const TomlValue *table, const char *table_name,
                      const char *const *valid_keys);

/* Look up KEY in TABLE and check its type. NAME is the dotted key shown in
 * messages. Returns 1 with *RET set when present, 0 when absent and not
 * REQUIRED. */
int schema_get(const SchemaReader *s, const TomlValue *table, const char *key, const char *name,
               TomlType type, bool required, const TomlValue **ret);

/* Copy a string value, which must not contain NUL characters. */
int schema_string_copy(const SchemaReader *s, const TomlValue *value, const char *name, char **ret);

int schema_get_string(const SchemaReader *s, const TomlValue *table, const char *key, const char *name,
                      bool required, char **ret);

/* Leaves *RET unchanged when the key is absent. */
int schema_get_bool(const SchemaReader *s, const TomlValue *table, const char *key, const char *name,
                    bool required, bool *ret);

/* An integer in [0, MAX]. Returns 1 and sets *RET when present, 0 when
 * absent. */
int schema_get_unsigned(const SchemaReader *s, const TomlValue *table, const char *key,
                        const char *name, uint64_t max, bool required, uint64_t *ret);

/* An array of strings, copied into a NULL-terminated vector (NULL when the
 * key is absent). */
int schema_get_string_array(const SchemaReader *s, const TomlValue *table, const char *key,
                            const char *name, bool required, char ***ret, size_t *ret_count);

/* Building trees for toml_write(). A NULL VALUE counts as a failed
 * constructor (-ENOMEM). TABLE takes ownership of VALUE in every case. */
int schema_table_set(TomlValue *table, const char *key, TomlValue *value);
int schema_table_set_string(TomlValue *table, const char *key, const char *value);
int schema_table_set_bool(TomlValue *table, const char *key, bool value);
/* -ERANGE above INT64_MAX, which TOML integers cannot hold. */
int schema_table_set_unsigned(TomlValue *table, const char *key, uint64_t value);
int schema_table_set_strings(TomlValue *table, const char *key, char *const *strings, size_t n);
/* Add an empty sub-table KEY to PARENT and point *RET at it. */
int schema_table_add_table(TomlValue *parent, const char *key, TomlValue **ret);

static inline void schema_toml_freep(TomlValue **v) {
        if (*v)
                toml_value_free(*v);
}
#define _cleanup_schema_toml_ _cleanup_(schema_toml_freep)
