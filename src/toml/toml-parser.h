/* SPDX-License-Identifier: MIT */
#pragma once

#include "basic/macro.h"
#include "toml/toml-internal.h"

typedef struct TomlParser {
        const char *data;
        size_t len;
        size_t pos;
        unsigned line;          /* line of POS, 1-based */
        size_t line_start;      /* offset of the first byte of that line */
        /* Column of byte offset COLUMN_POS, so that asking for columns along
         * one long line does not rescan it from the start each time. */
        size_t column_pos;
        unsigned column;
        TomlParseError *err;
        TomlValue *root;
        TomlValue *current;     /* table that receives key/value lines */
} TomlParser;

typedef struct TomlPosition {
        unsigned line;
        unsigned column;
} TomlPosition;

static inline int parser_peek(const TomlParser *p) {
        return p->pos < p->len ? (unsigned char) p->data[p->pos] : -1;
}

static inline int parser_peek_at(const TomlParser *p, size_t offset) {
        return p->len - p->pos > offset ? (unsigned char) p->data[p->pos + offset] : -1;
}

static inline bool parser_at_newline(const TomlParser *p) {
        return parser_peek(p) == '\n' || parser_peek(p) == '\r';
}

TomlPosition parser_position(TomlParser *p);

/* Consume a LF or CRLF at the current position and start a new line. A CR
 * without LF is an error. */
int parser_newline(TomlParser *p);

int parser_error(TomlParser *p, const char *fmt, ...) _printf_(2, 3);
int parser_error_at(TomlParser *p, TomlPosition where, const char *fmt, ...) _printf_(3, 4);
int parser_oom(TomlParser *p);

/* Describe the character at the current position for "found ..." messages. */
const char *parser_describe_current(const TomlParser *p, char *buf, size_t size);

/* Strings: the parser is at the opening quote. Keys pass MULTILINE = false. */
int parser_parse_string(TomlParser *p, bool multiline_allowed, char **ret, size_t *ret_len);

/* Integers, floats and the four date-time kinds. */
int parser_parse_number_or_datetime(TomlParser *p, TomlValue **ret);
