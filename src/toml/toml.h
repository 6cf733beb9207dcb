/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * TOML 1.0: a parser into a value tree, and a writer from such a tree.
 *
 * Tables keep their keys in document (or insertion) order. Every value and
 * every table key records the line and column (both 1-based) where it
 * appears, so that schema checks can point at the offending place.
 */

typedef enum TomlType {
        TOML_STRING,
        TOML_INTEGER,
        TOML_FLOAT,
        TOML_BOOLEAN,
        TOML_OFFSET_DATETIME,   /* 1979-05-27T07:32:00Z, ...-07:00 */
        TOML_LOCAL_DATETIME,    /* 1979-05-27T07:32:00 */
        TOML_LOCAL_DATE,        /* 1979-05-27 */
        TOML_LOCAL_TIME,        /* 07:32:00 */
        TOML_ARRAY,
        TOML_TABLE,
} TomlType;

typedef struct TomlValue TomlValue;

typedef struct TomlParseError {
        unsigned line;          /* 1-based; 0 when not tied to a place */
        unsigned column;        /* 1-based, counted in characters */
        char message[256];      /* e.g. "expected '=' after key 'name'" */
} TomlParseError;

/* Parse DATA (LEN bytes, must be UTF-8). Returns 0 and the root table, or
 * -EINVAL with *ERR filled in (-ENOMEM on allocation failure). */
int toml_parse(const char *data, size_t len, TomlValue **ret_root, TomlParseError *err);

void toml_value_free(TomlValue *v);

TomlType toml_value_type(const TomlValue *v);  /* V must not be NULL */
const char *toml_type_to_string(TomlType type);  /* "string", "integer", ... */
unsigned toml_value_line(const TomlValue *v);
unsigned toml_value_column(const TomlValue *v);

/* Scalars. Accessors on a value of another type return 0, false or NULL. */
const char *toml_value_string(const TomlValue *v, size_t *ret_len);  /* may contain NUL */
int64_t toml_value_integer(const TomlValue *v);
double toml_value_float(const TomlValue *v);
bool toml_value_boolean(const TomlValue *v);
/* Date-time kinds: the value in RFC 3339 form as written, with 'T' as the
 * separator and any lowercase 't'/'z' uppercased, e.g. "1979-05-27T07:32:00Z". */
const char *toml_value_datetime(const TomlValue *v);

/* Arrays. */
size_t toml_array_size(const TomlValue *array);
TomlValue *toml_array_get(const TomlValue *array, size_t index);

/* Tables: keys in order. */
size_t toml_table_size(const TomlValue *table);
const char *toml_table_key(const TomlValue *table, size_t index);
TomlValue *toml_table_value(const TomlValue *table, size_t index);
unsigned toml_table_key_line(const TomlValue *table, size_t index);
unsigned toml_table_key_column(const TomlValue *table, size_t index);
TomlValue *toml_table_get(const TomlValue *table, const char *key);
/* Index of KEY or -1. */
long toml_table_find(const TomlValue *table, const char *key);
/* The key at INDEX and its length in bytes: quoted keys may contain NUL
 * ("\u0000"), which toml_table_key() cannot show. */
const char *toml_table_key_bytes(const TomlValue *table, size_t index, size_t *ret_len);

/* Building trees for the writer. Constructors return NULL on allocation
 * failure. Setters take ownership of VALUE, also on failure. */
TomlValue *toml_table_new(void);
TomlValue *toml_array_new(void);
TomlValue *toml_string_new(const char *s);
TomlValue *toml_integer_new(int64_t i);
TomlValue *toml_boolean_new(bool b);
TomlValue *toml_string_new_len(const char *s, size_t len);  /* S may contain NUL */
TomlValue *toml_float_new(double d);
int toml_table_set(TomlValue *table, const char *key, TomlValue *value);  /* replaces an existing key in place */
int toml_array_append(TomlValue *array, TomlValue *value);

/*
 * Serialize a table tree. Layout:
 * - a table's plain keys first ("key = value"), in insertion order;
 * - arrays with 0 or 1 element inline ("[]", "[\"x\"]"). Arrays with 2 or
 *   more are written one element per line indented by four spaces, with a
 *   trailing comma after the last one and "]" on its own line;
 * - a non-empty array whose elements are all tables is written after the
 *   plain keys as "[[name]]" sections; an empty one stays inline as "[]";
 * - sub-tables follow as "[name]" / "[a.b]" sections, each header preceded
 *   by a blank line; an empty sub-table keeps its header;
 * - strings as basic strings "..." with escapes;
 * - the text ends with a newline.
 * Returns 0 and a NUL-terminated string (caller frees), or -ENOMEM.
 */
int toml_write(const TomlValue *root, char **ret, size_t *ret_len);

/* Compare two trees by content: same types, equal scalars (NaN equals NaN,
 * 0.0 and -0.0 differ), arrays element by element, tables as sets of keys
 * regardless of key order. Locations are ignored. */
bool toml_value_equal(const TomlValue *a, const TomlValue *b);

static inline void toml_value_freep(TomlValue **v) {
        toml_value_free(*v);
}
