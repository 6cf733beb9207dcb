/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "toml/toml-parser.h"

/* One part of a dotted key, with where it was written. */
typedef struct KeyPart {
        char *name;
        size_t len;
        TomlPosition where;
} KeyPart;

typedef struct KeyPath {
        KeyPart *parts;
        size_t n;
        size_t allocated;
} KeyPath;

static void key_path_done(KeyPath *path) {
        for (size_t i = 0; i < path->n; i++)
                free(path->parts[i].name);
        free(path->parts);
}

static int parse_value(TomlParser *p, unsigned depth, TomlValue **ret);

/* ---- positions and errors ---- */

TomlPosition parser_position(TomlParser *p) {
        if (p->column_pos < p->line_start || p->column_pos > p->pos) {
                p->column_pos = p->line_start;
                p->column = 1;
        }
        /* Count characters, not bytes: UTF-8 continuation bytes do not start one. */
        for (; p->column_pos < p->pos; p->column_pos++)
                if (((unsigned char) p->data[p->column_pos] & 0xC0) != 0x80)
                        p->column++;

        return (TomlPosition) { p->line, p->column };
}

static int parser_errorv(TomlParser *p, TomlPosition where, const char *fmt, va_list ap) {
        p->err->line = where.line;
        p->err->column = where.column;
        (void) vsnprintf(p->err->message, sizeof(p->err->message), fmt, ap);
        return -EINVAL;
}

int parser_error_at(TomlParser *p, TomlPosition where, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = parser_errorv(p, where, fmt, ap);
        va_end(ap);
        return r;
}

int parser_error(TomlParser *p, const char *fmt, ...) {
        TomlPosition where = parser_position(p);
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = parser_errorv(p, where, fmt, ap);
        va_end(ap);
        return r;
}

int parser_oom(TomlParser *p) {
        (void) parser_error(p, "out of memory");
        return -ENOMEM;
}

const char *parser_describe_current(const TomlParser *p, char *buf, size_t size) {
        int c = parser_peek(p);

        if (c < 0)
                snprintf(buf, size, "end of input");
        else if (c == '\n' || c == '\r')
                snprintf(buf, size, "end of line");
        else if (c < 0x20 || c == 0x7F)
                snprintf(buf, size, "control character U+%04X", (unsigned) c);
        else if (c < 0x80)
                snprintf(buf, size, "'%c'", c);
        else {
                size_t n = 1;

                while (n < 4 && (parser_peek_at(p, n) & 0xC0) == 0x80)
                        n++;
                snprintf(buf, size, "'%.*s'", (int) n, p->data + p->pos);
        }
        return buf;
}

int parser_newline(TomlParser *p) {
        if (parser_peek(p) == '\r') {
                if (parser_peek_at(p, 1) != '\n')
                        return parser_error(p, "carriage return must be followed by a line feed");
                p->pos++;
        }
        p->pos++;
        p->line++;
        p->line_start = p->pos;
        return 0;
}

/* Render a key for messages: parts joined by '.', control characters
 * replaced by '?', cut to a readable length. */
static const char *key_display(const KeyPath *path, size_t n_parts, char *buf, size_t size) {
        size_t o = 0;

        for (size_t i = 0; i < n_parts && o + 1 < size; i++) {
                if (i > 0)
                        buf[o++] = '.';
                for (size_t j = 0; j < path->parts[i].len && o + 1 < size; j++) {
                        unsigned char c = (unsigned char) path->parts[i].name[j];

                        buf[o++] = c < 0x20 || c == 0x7F ? '?' : (char) c;
                }
        }
        buf[o] = '\0';
        if (o + 1 >= size && size > 4)
                memcpy(buf + size - 4, "...", 4);
        return buf;
}

#define KEY_DISPLAY_MAX 80

/* ---- whitespace, comments, line ends ---- */

static void skip_whitespace(TomlParser *p) {
        while (parser_peek(p) == ' ' || parser_peek(p) == '\t')
                p->pos++;
}

/* P is at '#'. Comments run to the end of the line and may not contain
 * control characters other than tab. */
static int skip_comment(TomlParser *p) {
        for (p->pos++; p->pos < p->len; p->pos++) {
                int c = parser_peek(p);

                if (c == '\n' || (c == '\r' && parser_peek_at(p, 1) == '\n'))
                        break;
                if ((c < 0x20 && c != '\t') || c == 0x7F)
                        return parser_error(p, "control character U+%04X is not allowed in a comment",
                                            (unsigned) c);
        }
        return 0;
}

/* After a key/value pair or a table header: optional whitespace and comment,
 * then a newline or the end of input. */
static int parse_line_end(TomlParser *p, const char *after) {
        char found[32];
        int r;

        skip_whitespace(p);
        if (parser_peek(p) == '#') {
                r = skip_comment(p);
                if (r < 0)
                        return r;
        }
        if (parser_peek(p) < 0)
                return 0;
        if (parser_at_newline(p))
                return parser_newline(p);

        return parser_error(p, "expected a newline after %s, found %s", after,
                            parser_describe_current(p, found, sizeof(found)));
}

/* Inside arrays: whitespace, newlines and comments may appear anywhere. */
static int skip_array_space(TomlParser *p) {
        int r;

        for (;;) {
                skip_whitespace(p);
                if (parser_peek(p) == '#') {
                        r = skip_comment(p);
                        if (r < 0)
                                return r;
                }
                if (!parser_at_newline(p))
                        return 0;
                r = parser_newline(p);
                if (r < 0)
                        return r;
        }
}

/* ---- keys ---- */

static bool is_bare_key_char(int c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                c == '_' || c == '-';
}

static int key_path_push(TomlParser *p, KeyPath *path, char *name, size_t len, TomlPosition where) {
        if (path->n >= TOML_MAX_DEPTH) {
                free(name);
                return parser_error_at(p, where, "key has more than %d dotted parts", TOML_MAX_DEPTH);
        }
        if (path->n == path->allocated) {
                size_t n = path->allocated ? path->allocated * 2 : 4;
                KeyPart *parts = reallocarray(path->parts, n, sizeof(KeyPart));

                if (!parts) {
                        free(name);
                        return parser_oom(p);
                }
                path->parts = parts;
                path->allocated = n;
        }
        path->parts[path->n++] = (KeyPart) { name, len, where };
        return 0;
}

static int parse_simple_key(TomlParser *p, char **ret, size_t *ret_len) {
        size_t start = p->pos;
        char found[32];
        int c = parser_peek(p);

        if (c == '"' || c == '\'')
                return parser_parse_string(p, /* multiline_allowed= */ false, ret, ret_len);

        while (is_bare_key_char(parser_peek(p)))
                p->pos++;
        if (p->pos == start)
                return parser_error(p, "expected a key, found %s",
                                    parser_describe_current(p, found, sizeof(found)));

        *ret = strndup(p->data + start, p->pos - start);
        if (!*ret)
                return parser_oom(p);
        *ret_len = p->pos - start;
        return 0;
}

/* key = simple-key *( ws "." ws simple-key ), with surrounding whitespace. */
static int parse_key(TomlParser *p, KeyPath *path) {
        int r;

        for (;;) {
                TomlPosition where;
                char *name = NULL;
                size_t len = 0;

                skip_whitespace(p);
                where = parser_position(p);
                r = parse_simple_key(p, &name, &len);
                if (r < 0)
                        return r;

                r = key_path_push(p, path, name, len, where);
                if (r < 0)
                        return r;

                skip_whitespace(p);
                if (parser_peek(p) != '.')
                        return 0;
                p->pos++;
        }
}

/* ---- tables ---- */

static int check_depth(TomlParser *p, unsigned depth, TomlPosition where) {
        if (depth > TOML_MAX_DEPTH)
                return parser_error_at(p, where, "tables and arrays are nested more than %d levels deep",
                                       TOML_MAX_DEPTH);
        return 0;
}

/* Create an empty table or array as member PART of TABLE. */
static int add_container(TomlParser *p, TomlValue *table, const KeyPart *part, TomlType type,
                         TomlOrigin origin, TomlPosition where, TomlValue **ret) {
        TomlValue *v;
        int r;

        r = check_depth(p, table->depth + 1, part->where);
        if (r < 0)
                return r;

        v = toml_value_new(type);
        if (!v)
                return parser_oom(p);
        v->origin = origin;
        v->depth = table->depth + 1;
        v->line = where.line;
        v->column = where.column;

        r = toml_table_append_internal(table, part->name, part->len, v, part->where.line, part->where.column);
        if (r < 0)
                return parser_oom(p);

        *ret = v;
        return 0;
}

static int append_aot_element(TomlParser *p, TomlValue *array, TomlPosition where, TomlValue **ret) {
        TomlValue *t;
        int r;

        r = check_depth(p, array->depth + 1, where);
        if (r < 0)
                return r;

        t = toml_table_new();
        if (!t)
                return parser_oom(p);
        t->origin = TOML_ORIGIN_HEADER;
        t->depth = array->depth + 1;
        t->line = where.line;
        t->column = where.column;

        r = toml_array_append(array, t);
        if (r < 0)
                return parser_oom(p);

        *ret = t;
        return 0;
}

static const char *describe_existing(const TomlValue *v) {
        static const char *const with_article[] = {
                [TOML_STRING] = "a string",
                [TOML_INTEGER] = "an integer",
                [TOML_FLOAT] = "a float",
                [TOML_BOOLEAN] = "a boolean",
                [TOML_OFFSET_DATETIME] = "an offset date-time",
                [TOML_LOCAL_DATETIME] = "a local date-time",
                [TOML_LOCAL_DATE] = "a local date",
                [TOML_LOCAL_TIME] = "a local time",
                [TOML_ARRAY] = "an array",
                [TOML_TABLE] = "a table",
        };

        if (v->type == TOML_TABLE && v->origin == TOML_ORIGIN_INLINE)
                return "an inline table";
        if (v->type == TOML_TABLE && v->origin == TOML_ORIGIN_DOTTED)
                return "a table defined by dotted keys";
        if (v->type == TOML_ARRAY && v->origin == TOML_ORIGIN_AOT)
                return "an array of tables";
        return with_article[v->type];
}

/* Step from TABLE into PATH's part I on the way to a [header]. Any table but
 * an inline one may be crossed. For an array of tables the step goes to its
 * last element. */
static int header_step(TomlParser *p, TomlValue *table, const KeyPath *path, size_t i, TomlValue **ret) {
        const KeyPart *part = &path->parts[i];
        char name[KEY_DISPLAY_MAX];
        TomlValue *v;
        long idx;

        idx = toml_table_find_internal(table, part->name, part->len);
        if (idx < 0)
                return add_container(p, table, part, TOML_TABLE, TOML_ORIGIN_IMPLICIT, part->where, ret);

        v = table->table.entries[idx].value;
        if (v->type == TOML_TABLE && v->origin != TOML_ORIGIN_INLINE) {
                *ret = v;
                return 0;
        }
        if (v->type == TOML_ARRAY && v->origin == TOML_ORIGIN_AOT) {
                *ret = v->array.items[v->array.n - 1];
                return 0;
        }
        return parser_error_at(p, part->where, "cannot define a table under key '%s': it is already %s (line %u)",
                               key_display(path, i + 1, name, sizeof(name)), describe_existing(v), v->line);
}

/* Define the table named by the last part of a [table] header. It must be
 * new, or so far only implied by an earlier [a.b] header. */
static int header_define_table(TomlParser *p, TomlValue *table, const KeyPath *path, TomlPosition where,
                               TomlValue **ret) {
        const KeyPart *part = &path->parts[path->n - 1];
        char name[KEY_DISPLAY_MAX];
        TomlValue *v;
        long idx;

        idx = toml_table_find_internal(table, part->name, part->len);
        if (idx < 0)
                return add_container(p, table, part, TOML_TABLE, TOML_ORIGIN_HEADER, where, ret);

        v = table->table.entries[idx].value;
        key_display(path, path->n, name, sizeof(name));
        if (v->type == TOML_TABLE && v->origin == TOML_ORIGIN_IMPLICIT) {
                v->origin = TOML_ORIGIN_HEADER;
                v->line = where.line;
                v->column = where.column;
                *ret = v;
                return 0;
        }
        if (v->type == TOML_TABLE && v->origin == TOML_ORIGIN_HEADER)
                return parser_error_at(p, where, "table '%s' is defined twice (first defined at line %u)",
                                       name, v->line);
        return parser_error_at(p, where, "cannot define table '%s': it is already %s (line %u)",
                               name, describe_existing(v), v->line);
}

/* Append a new table for the last part of a [[array]] header. */
static int header_append_aot(TomlParser *p, TomlValue *table, const KeyPath *path, TomlPosition where,
                             TomlValue **ret) {
        const KeyPart *part = &path->parts[path->n - 1];
        char name[KEY_DISPLAY_MAX];
        TomlValue *array;
        long idx;
        int r;

        idx = toml_table_find_internal(table, part->name, part->len);
        if (idx < 0) {
                r = add_container(p, table, part, TOML_ARRAY, TOML_ORIGIN_AOT, where, &array);
                if (r < 0)
                        return r;
        } else {
                array = table->table.entries[idx].value;
                if (array->type != TOML_ARRAY || array->origin != TOML_ORIGIN_AOT)
                        return parser_error_at(p, where, "cannot define array of tables '%s': it is already %s (line %u)",
                                               key_display(path, path->n, name, sizeof(name)),
                                               describe_existing(array), array->line);
        }

        return append_aot_element(p, array, where, ret);
}

/* P is at '['. */
static int parse_header(TomlParser *p) {
        _cleanup_(key_path_done) KeyPath path = {};
        TomlPosition where = parser_position(p);
        TomlValue *table = p->root;
        bool aot;
        int r;

        p->pos++;
        aot = parser_peek(p) == '[';
        if (aot)
                p->pos++;

        r = parse_key(p, &path);
        if (r < 0)
                return r;

        if (parser_peek(p) != ']' || (aot && parser_peek_at(p, 1) != ']')) {
                char found[32];

                return parser_error(p, "expected '%s' to close the %s header, found %s", aot ? "]]" : "]",
                                    aot ? "array of tables" : "table",
                                    parser_describe_current(p, found, sizeof(found)));
        }
        p->pos += aot ? 2 : 1;

        for (size_t i = 0; i + 1 < path.n; i++) {
                r = header_step(p, table, &path, i, &table);
                if (r < 0)
                        return r;
        }

        if (aot)
                r = header_append_aot(p, table, &path, where, &p->current);
        else
                r = header_define_table(p, table, &path, where, &p->current);
        if (r < 0)
                return r;

        return parse_line_end(p, "the table header");
}

/* ---- key/value pairs ---- */

/* Step from TABLE into PATH's part I of a dotted key. Dotted keys may create
 * tables and extend tables they created, but not reopen tables defined by a
 * header or inline tables. A table only implied by a header becomes defined
 * by the dotted key, so a later header for it is rejected. */
static int dotted_step(TomlParser *p, TomlValue *table, const KeyPath *path, size_t i, TomlValue **ret) {
        const KeyPart *part = &path->parts[i];
        char name[KEY_DISPLAY_MAX];
        TomlValue *v;
        long idx;

        idx = toml_table_find_internal(table, part->name, part->len);
        if (idx < 0)
                return add_container(p, table, part, TOML_TABLE, TOML_ORIGIN_DOTTED, part->where, ret);

        v = table->table.entries[idx].value;
        if (v->type == TOML_TABLE && (v->origin == TOML_ORIGIN_DOTTED || v->origin == TOML_ORIGIN_IMPLICIT)) {
                v->origin = TOML_ORIGIN_DOTTED;
                *ret = v;
                return 0;
        }

        key_display(path, i + 1, name, sizeof(name));
        if (v->type == TOML_TABLE && v->origin == TOML_ORIGIN_INLINE)
                return parser_error_at(p, part->where, "cannot add keys to inline table '%s' (defined at line %u)",
                                       name, v->line);
        if (v->type == TOML_TABLE)
                return parser_error_at(p, part->where, "cannot add keys to table '%s' with dotted keys: it is defined by a header at line %u",
                                       name, v->line);
        return parser_error_at(p, part->where, "cannot use key '%s' as a table: it is already %s (line %u)",
                               name, describe_existing(v), v->line);
}

/* Parse "key = value" and store it in TABLE. */
static int parse_keyval(TomlParser *p, TomlValue *table) {
        _cleanup_(key_path_done) KeyPath path = {};
        char name[KEY_DISPLAY_MAX], found[32];
        const KeyPart *last;
        TomlValue *value = NULL;
        long idx;
        int r;

        r = parse_key(p, &path);
        if (r < 0)
                return r;

        if (parser_peek(p) != '=')
                return parser_error(p, "expected '=' after key '%s', found %s",
                                    key_display(&path, path.n, name, sizeof(name)),
                                    parser_describe_current(p, found, sizeof(found)));
        p->pos++;
        skip_whitespace(p);

        for (size_t i = 0; i + 1 < path.n; i++) {
                r = dotted_step(p, table, &path, i, &table);
                if (r < 0)
                        return r;
        }

        last = &path.parts[path.n - 1];
        idx = toml_table_find_internal(table, last->name, last->len);
        if (idx >= 0)
                return parser_error_at(p, last->where, "duplicate key '%s' (first defined at line %u)",
                                       key_display(&path, path.n, name, sizeof(name)),
                                       table->table.entries[idx].line);

        r = parse_value(p, table->depth + 1, &value);
        if (r == -ENOENT)
                return parser_error(p, "expected a value after '=' for key '%s', found %s",
                                    key_display(&path, path.n, name, sizeof(name)),
                                    parser_describe_current(p, found, sizeof(found)));
        if (r < 0)
                return r;

        r = toml_table_append_internal(table, last->name, last->len, value, last->where.line, last->where.column);
        if (r < 0)
                return parser_oom(p);
        return 0;
}

/* ---- values ---- */

/* P is at '['. */
static int parse_array(TomlParser *p, TomlValue *array) {
        char found[32];
        int r;

        p->pos++;
        for (;;) {
                TomlValue *item = NULL;

                r = skip_array_space(p);
                if (r < 0)
                        return r;
                if (parser_peek(p) == ']')
                        break;

                r = parse_value(p, array->depth + 1, &item);
                if (r == -ENOENT)
                        return parser_error(p, "expected a value or ']' in array, found %s",
                                            parser_describe_current(p, found, sizeof(found)));
                if (r < 0)
                        return r;
                r = toml_array_append(array, item);
                if (r < 0)
                        return parser_oom(p);

                r = skip_array_space(p);
                if (r < 0)
                        return r;
                if (parser_peek(p) == ']')
                        break;
                if (parser_peek(p) != ',')
                        return parser_error(p, "expected ',' or ']' after array element, found %s",
                                            parser_describe_current(p, found, sizeof(found)));
                p->pos++;
        }
        p->pos++;
        return 0;
}

/* P is at '{'. Inline tables sit on one line and have no trailing comma. */
static int parse_inline_table(TomlParser *p, TomlValue *table) {
        char found[32];
        int r;

        p->pos++;
        skip_whitespace(p);
        if (parser_peek(p) == '}') {
                p->pos++;
                return 0;
        }

        for (;;) {
                r = parse_keyval(p, table);
                if (r < 0)
                        return r;

                skip_whitespace(p);
                if (parser_peek(p) == '}')
                        break;
                if (parser_peek(p) != ',')
                        return parser_error(p, "expected ',' or '}' after value in inline table, found %s",
                                            parser_describe_current(p, found, sizeof(found)));
                p->pos++;
                skip_whitespace(p);
                if (parser_peek(p) == '}')
                        return parser_error(p, "trailing comma is not allowed in an inline table");
        }
        p->pos++;
        return 0;
}

static int parse_container(TomlParser *p, TomlType type, unsigned depth, TomlValue **ret) {
        _cleanup_(toml_value_freep) TomlValue *v = NULL;
        TomlPosition where = parser_position(p);
        int r;

        r = check_depth(p, depth, where);
        if (r < 0)
                return r;

        v = toml_value_new(type);
        if (!v)
                return parser_oom(p);
        v->origin = TOML_ORIGIN_INLINE;
        v->depth = depth;

        if (type == TOML_ARRAY)
                r = parse_array(p, v);
        else
                r = parse_inline_table(p, v);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(v);
        return 0;
}

static int parse_string_value(TomlParser *p, TomlValue **ret) {
        TomlValue *v;
        char *s = NULL;
        size_t len = 0;
        int r;

        r = parser_parse_string(p, /* multiline_allowed= */ true, &s, &len);
        if (r < 0)
                return r;

        v = toml_value_new(TOML_STRING);
        if (!v) {
                free(s);
                return parser_oom(p);
        }
        v->string.data = s;
        v->string.len = len;
        *ret = v;
        return 0;
}

static int parse_boolean(TomlParser *p, TomlValue **ret) {
        bool value = parser_peek(p) == 't';
        const char *word = value ? "true" : "false";
        size_t n = strlen(word);
        TomlValue *v;

        if (p->len - p->pos < n || memcmp(p->data + p->pos, word, n) != 0)
                return -ENOENT;
        p->pos += n;

        v = toml_boolean_new(value);
        if (!v)
                return parser_oom(p);
        *ret = v;
        return 0;
}

/* Parse a value of depth DEPTH. Returns -ENOENT without an error message when
 * no value starts at P, so that callers can say what they expected. */
static int parse_value(TomlParser *p, unsigned depth, TomlValue **ret) {
        TomlPosition where = parser_position(p);
        TomlValue *v = NULL;
        int c = parser_peek(p);
        int r;

        if (c == '"' || c == '\'')
                r = parse_string_value(p, &v);
        else if (c == '[')
                r = parse_container(p, TOML_ARRAY, depth, &v);
        else if (c == '{')
                r = parse_container(p, TOML_TABLE, depth, &v);
        else if (c == 't' || c == 'f')
                r = parse_boolean(p, &v);
        else if ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == 'i' || c == 'n')
                r = parser_parse_number_or_datetime(p, &v);
        else
                r = -ENOENT;
        if (r < 0)
                return r;

        v->line = where.line;
        v->column = where.column;
        v->depth = depth;
        *ret = v;
        return 0;
}

/* ---- document ---- */

/* Find the first malformed UTF-8 sequence: overlong forms, surrogates and
 * code points above U+10FFFF are invalid. Returns its offset or -1. */
static long find_invalid_utf8(const unsigned char *s, size_t len) {
        size_t i = 0;

        while (i < len) {
                unsigned char c = s[i];
                size_t n;
                uint32_t cp;

                if (c < 0x80) {
                        i++;
                        continue;
                }
                if (c >= 0xC2 && c <= 0xDF) {
                        n = 2;
                        cp = c & 0x1F;
                } else if (c >= 0xE0 && c <= 0xEF) {
                        n = 3;
                        cp = c & 0x0F;
                } else if (c >= 0xF0 && c <= 0xF4) {
                        n = 4;
                        cp = c & 0x07;
                } else
                        return (long) i;

                if (len - i < n)
                        return (long) i;
                for (size_t j = 1; j < n; j++) {
                        if ((s[i + j] & 0xC0) != 0x80)
                                return (long) i;
                        cp = (cp << 6) | (s[i + j] & 0x3F);
                }
                if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
                    (cp >= 0xD800 && cp <= 0xDFFF))
                        return (long) i;
                i += n;
        }
        return -1;
}

static int check_encoding(TomlParser *p) {
        long bad = find_invalid_utf8((const unsigned char *) p->data, p->len);

        if (bad < 0)
                return 0;

        /* Move to the bad byte to report its line and column. */
        while (p->pos < (size_t) bad) {
                if (p->data[p->pos] == '\n') {
                        p->pos++;
                        p->line++;
                        p->line_start = p->pos;
                } else
                        p->pos++;
        }
        return parser_error(p, "invalid UTF-8 byte 0x%02X", (unsigned char) p->data[bad]);
}

static int parse_document(TomlParser *p) {
        int r;

        /* A UTF-8 byte order mark may start the document. */
        if (p->len >= 3 && memcmp(p->data, "\xEF\xBB\xBF", 3) == 0)
                p->pos = p->line_start = 3;

        for (;;) {
                int c;

                skip_whitespace(p);
                c = parser_peek(p);
                if (c < 0)
                        return 0;

                if (c == '#' || c == '\n' || c == '\r')
                        r = parse_line_end(p, "the comment");
                else if (c == '[')
                        r = parse_header(p);
                else {
                        r = parse_keyval(p, p->current);
                        if (r >= 0)
                                r = parse_line_end(p, "the value");
                }
                if (r < 0)
                        return r;
        }
}

int toml_parse(const char *data, size_t len, TomlValue **ret_root, TomlParseError *err) {
        _cleanup_(toml_value_freep) TomlValue *root = NULL;
        TomlParseError local_err;
        TomlParser p = {
                .data = data,
                .len = len,
                .line = 1,
                .column = 1,
                .err = err ? err : &local_err,
        };
        int r;

        *p.err = (TomlParseError) {};

        r = check_encoding(&p);
        if (r < 0)
                return r;

        root = toml_table_new();
        if (!root)
                return parser_oom(&p);
        root->origin = TOML_ORIGIN_HEADER;
        root->line = 1;
        root->column = 1;
        p.root = p.current = root;

        r = parse_document(&p);
        if (r < 0)
                return r;

        *ret_root = TAKE_PTR(root);
        return 0;
}
