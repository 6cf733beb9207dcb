/* SPDX-License-Identifier: MIT */
#pragma once

#include <locale.h>

#include "toml/toml.h"

/*
 * Deepest nesting of tables and arrays the parser accepts, counted from the
 * root table (depth 0). Parsing arrays and inline tables recurses, and
 * writing and freeing a tree recurse over its depth, so hostile input must not
 * be able to nest without bound. Real manifests and locks nest 3 levels deep.
 */
#define TOML_MAX_DEPTH 128

/* How a table or array came into being. The parser uses this to enforce the
 * TOML redefinition rules; trees built through the API have none set. */
typedef enum TomlOrigin {
        TOML_ORIGIN_NONE = 0,
        TOML_ORIGIN_IMPLICIT,   /* table named as a prefix of a [a.b] header */
        TOML_ORIGIN_HEADER,     /* table defined by a [header] or [[header]] */
        TOML_ORIGIN_DOTTED,     /* table created by a dotted key a.b = 1 */
        TOML_ORIGIN_INLINE,     /* inline table or array value: immutable */
        TOML_ORIGIN_AOT,        /* array created by [[header]] */
} TomlOrigin;

typedef struct TomlEntry {
        char *key;              /* NUL-terminated, may contain NUL */
        size_t key_len;
        TomlValue *value;
        unsigned line;
        unsigned column;
} TomlEntry;

struct TomlValue {
        TomlType type;
        TomlOrigin origin;
        unsigned depth;
        unsigned line;
        unsigned column;
        union {
                struct {
                        char *data;     /* NUL-terminated; also used for date-times */
                        size_t len;
                } string;
                int64_t integer;
                double fp;
                bool boolean;
                struct {
                        TomlValue **items;
                        size_t n;
                        size_t allocated;
                } array;
                struct {
                        TomlEntry *entries;
                        size_t n;
                        size_t allocated;
                        /* Open-addressing index into entries (slot = entry index + 1,
                         * 0 = empty), built once a table grows past a few keys so
                         * that lookups stay O(1) on hostile input with many keys. */
                        size_t *slots;
                        size_t n_slots;
                } table;
        };
};

TomlValue *toml_value_new(TomlType type);
TomlValue *toml_datetime_new_internal(TomlType type, const char *text, size_t len);

/* Look up KEY (LEN bytes) in TABLE; returns the entry index or -1. */
long toml_table_find_internal(const TomlValue *table, const char *key, size_t len);

/* Append KEY (copied) without checking for duplicates. Takes ownership of VALUE,
 * also on failure. */
int toml_table_append_internal(TomlValue *table, const char *key, size_t len, TomlValue *value,
                               unsigned line, unsigned column);

/* A "C" locale object for number conversions that must not follow the
 * process locale (a decimal comma would break floats). NULL if it could not
 * be created. */
locale_t toml_c_locale(void);

/* A growable byte buffer; after an allocation failure it stops growing and
 * sets FAILED, so callers check once at the end. DATA stays NUL-terminated. */
typedef struct TomlBuffer {
        char *data;
        size_t len;
        size_t allocated;
        bool failed;
} TomlBuffer;

void toml_buffer_append(TomlBuffer *b, const char *s, size_t n);
void toml_buffer_puts(TomlBuffer *b, const char *s);
void toml_buffer_putc(TomlBuffer *b, char c);
void toml_buffer_put_utf8(TomlBuffer *b, uint32_t codepoint);
void toml_buffer_done(TomlBuffer *b);
