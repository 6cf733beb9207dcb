/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "toml/toml-parser.h"

static void buffer_donep(TomlBuffer *b) {
        toml_buffer_done(b);
}

/* TOML forbids raw control characters in strings, except tab (and newlines
 * inside multi-line strings, which the callers handle first). */
static bool is_forbidden_control(int c) {
        return (c >= 0 && c < 0x20 && c != '\t') || c == 0x7F;
}

static int hex_value(int c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

static int parse_unicode_escape(TomlParser *p, unsigned digits, TomlBuffer *out) {
        TomlPosition start = parser_position(p);
        uint32_t cp = 0;

        /* P is just past the 'u' or 'U'. */
        for (unsigned i = 0; i < digits; i++) {
                int h = hex_value(parser_peek_at(p, i));

                if (h < 0)
                        return parser_error_at(p, start, "expected %u hex digits in Unicode escape", digits);
                cp = cp * 16 + (uint32_t) h;
        }
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                return parser_error_at(p, start,
                                       "invalid Unicode escape: U+%04X is not a Unicode scalar value", cp);

        p->pos += digits;
        toml_buffer_put_utf8(out, cp);
        return 0;
}

/* P is at the backslash of an escape in a basic string. */
static int parse_escape(TomlParser *p, TomlBuffer *out) {
        TomlPosition where = parser_position(p);
        char found[32];
        int c;

        p->pos++;
        c = parser_peek(p);
        switch (c) {
        case 'b': toml_buffer_putc(out, '\b'); break;
        case 't': toml_buffer_putc(out, '\t'); break;
        case 'n': toml_buffer_putc(out, '\n'); break;
        case 'f': toml_buffer_putc(out, '\f'); break;
        case 'r': toml_buffer_putc(out, '\r'); break;
        case '"': toml_buffer_putc(out, '"'); break;
        case '\\': toml_buffer_putc(out, '\\'); break;
        case 'u':
                p->pos++;
                return parse_unicode_escape(p, 4, out);
        case 'U':
                p->pos++;
                return parse_unicode_escape(p, 8, out);
        default:
                return parser_error_at(p, where, "invalid escape sequence: '\\' followed by %s",
                                       parser_describe_current(p, found, sizeof(found)));
        }
        p->pos++;
        return 0;
}

static int reject_control(TomlParser *p, int c) {
        return parser_error(p, "control character U+%04X must be escaped in a string", (unsigned) c);
}

static int parse_basic(TomlParser *p, TomlBuffer *out) {
        int r;

        p->pos++;
        for (;;) {
                int c = parser_peek(p);

                if (c < 0 || c == '\n' || c == '\r')
                        return parser_error(p, "unterminated string: expected '\"' before the end of the line");
                if (c == '"') {
                        p->pos++;
                        return 0;
                }
                if (c == '\\') {
                        r = parse_escape(p, out);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (is_forbidden_control(c))
                        return reject_control(p, c);
                toml_buffer_putc(out, (char) c);
                p->pos++;
        }
}

static int parse_literal(TomlParser *p, TomlBuffer *out) {
        p->pos++;
        for (;;) {
                int c = parser_peek(p);

                if (c < 0 || c == '\n' || c == '\r')
                        return parser_error(p, "unterminated string: expected \"'\" before the end of the line");
                if (c == '\'') {
                        p->pos++;
                        return 0;
                }
                if (is_forbidden_control(c))
                        return reject_control(p, c);
                toml_buffer_putc(out, (char) c);
                p->pos++;
        }
}

/* Handle a run of QUOTE characters inside a multi-line string. Returns 1 when
 * the run closes the string, 0 when it is content. Up to two quotes may
 * directly precede the closing delimiter ("""" ends with one quote). */
static int multiline_quote_run(TomlParser *p, char quote, TomlBuffer *out) {
        size_t n = 0;

        while (parser_peek_at(p, n) == quote)
                n++;
        if (n < 3) {
                toml_buffer_append(out, p->data + p->pos, n);
                p->pos += n;
                return 0;
        }
        if (n > 5)
                return parser_error(p, "too many quotes at the end of a multi-line string");
        toml_buffer_append(out, p->data + p->pos, n - 3);
        p->pos += n;
        return 1;
}

/* A backslash at the end of a line inside """...""" removes it and all
 * whitespace and newlines that follow. P is at the backslash, which is
 * followed by a space, tab or newline. */
static int skip_line_ending_backslash(TomlParser *p) {
        TomlPosition backslash = parser_position(p);
        int r;

        p->pos++;
        while (parser_peek(p) == ' ' || parser_peek(p) == '\t')
                p->pos++;
        if (!parser_at_newline(p))
                return parser_error_at(p, backslash, "invalid escape sequence: a '\\' followed by whitespace must end the line");

        while (parser_peek(p) == ' ' || parser_peek(p) == '\t' || parser_at_newline(p)) {
                if (parser_at_newline(p)) {
                        r = parser_newline(p);
                        if (r < 0)
                                return r;
                } else
                        p->pos++;
        }
        return 0;
}

static int multiline_newline(TomlParser *p, TomlBuffer *out) {
        int r;

        /* CRLF is stored as LF, which TOML allows. */
        r = parser_newline(p);
        if (r < 0)
                return r;

        toml_buffer_putc(out, '\n');
        return 0;
}

static int parse_multiline(TomlParser *p, char quote, TomlBuffer *out) {
        bool basic = quote == '"';
        int r;

        p->pos += 3;
        /* A newline right after the opening delimiter is trimmed. */
        if (parser_at_newline(p)) {
                r = parser_newline(p);
                if (r < 0)
                        return r;
        }

        for (;;) {
                int c = parser_peek(p);

                if (c < 0)
                        return parser_error(p, "unterminated multi-line string: expected %s",
                                            basic ? "'\"\"\"'" : "\"'''\"");
                if (c == quote) {
                        r = multiline_quote_run(p, quote, out);
                        if (r != 0)
                                return r < 0 ? r : 0;
                } else if (c == '\n' || c == '\r') {
                        r = multiline_newline(p, out);
                        if (r < 0)
                                return r;
                } else if (basic && c == '\\') {
                        int next = parser_peek_at(p, 1);

                        if (next == ' ' || next == '\t' || next == '\n' || next == '\r')
                                r = skip_line_ending_backslash(p);
                        else
                                r = parse_escape(p, out);
                        if (r < 0)
                                return r;
                } else if (is_forbidden_control(c))
                        return reject_control(p, c);
                else {
                        toml_buffer_putc(out, (char) c);
                        p->pos++;
                }
        }
}

int parser_parse_string(TomlParser *p, bool multiline_allowed, char **ret, size_t *ret_len) {
        _cleanup_(buffer_donep) TomlBuffer out = {};
        char quote = p->data[p->pos];
        bool multiline = parser_peek_at(p, 1) == quote && parser_peek_at(p, 2) == quote;
        int r;

        if (multiline && !multiline_allowed)
                return parser_error(p, "a multi-line string cannot be used as a key");

        /* Allocate even for an empty string so that the result is never NULL. */
        toml_buffer_append(&out, "", 0);
        if (multiline)
                r = parse_multiline(p, quote, &out);
        else if (quote == '"')
                r = parse_basic(p, &out);
        else
                r = parse_literal(p, &out);
        if (r < 0)
                return r;
        if (out.failed)
                return parser_oom(p);

        *ret_len = out.len;
        *ret = TAKE_PTR(out.data);
        return 0;
}
