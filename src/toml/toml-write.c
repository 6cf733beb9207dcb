/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/macro.h"
#include "toml/toml-internal.h"

#define ARRAY_INDENT "    "

static void write_inline(TomlBuffer *b, const TomlValue *v, bool top_level);

static void write_string(TomlBuffer *b, const char *s, size_t len) {
        size_t start = 0;

        toml_buffer_putc(b, '"');
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char) s[i];
                const char *escape = NULL;
                char hex[8];

                switch (c) {
                case '"': escape = "\\\""; break;
                case '\\': escape = "\\\\"; break;
                case '\b': escape = "\\b"; break;
                case '\t': escape = "\\t"; break;
                case '\n': escape = "\\n"; break;
                case '\f': escape = "\\f"; break;
                case '\r': escape = "\\r"; break;
                default:
                        if (c < 0x20 || c == 0x7F) {
                                snprintf(hex, sizeof(hex), "\\u%04X", c);
                                escape = hex;
                        }
                        break;
                }
                if (!escape)
                        continue;
                toml_buffer_append(b, s + start, i - start);
                toml_buffer_puts(b, escape);
                start = i + 1;
        }
        toml_buffer_append(b, s + start, len - start);
        toml_buffer_putc(b, '"');
}

static bool is_bare_key(const char *key, size_t len) {
        if (len == 0)
                return false;
        for (size_t i = 0; i < len; i++) {
                char c = key[i];

                if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '-'))
                        return false;
        }
        return true;
}

static void write_key(TomlBuffer *b, const char *key, size_t len) {
        if (is_bare_key(key, len))
                toml_buffer_append(b, key, len);
        else
                write_string(b, key, len);
}

/* The shortest "%.*g" form that reads back as the same double, so that
 * 0.1 is written as 0.1 and not 0.10000000000000001. */
static void format_double(double d, char *buf, size_t size) {
        locale_t c_locale = toml_c_locale();
        locale_t saved = (locale_t) 0;

        if (c_locale)
                saved = uselocale(c_locale);
        for (int precision = 1; precision <= 17; precision++) {
                snprintf(buf, size, "%.*g", precision, d);
                if (strtod(buf, NULL) == d)
                        break;
        }
        if (saved)
                (void) uselocale(saved);
}

static void write_float(TomlBuffer *b, double d) {
        char buf[64];

        if (isnan(d)) {
                toml_buffer_puts(b, "nan");
                return;
        }
        if (isinf(d)) {
                toml_buffer_puts(b, d < 0 ? "-inf" : "inf");
                return;
        }

        format_double(d, buf, sizeof(buf));
        toml_buffer_puts(b, buf);
        /* "%g" drops the fraction of integral values, which would read back
         * as an integer. */
        if (!strpbrk(buf, ".e"))
                toml_buffer_puts(b, ".0");
}

static void write_array_inline(TomlBuffer *b, const TomlValue *v, bool top_level) {
        size_t n = v->array.n;

        if (top_level && n >= 2) {
                toml_buffer_puts(b, "[\n");
                for (size_t i = 0; i < n; i++) {
                        toml_buffer_puts(b, ARRAY_INDENT);
                        write_inline(b, v->array.items[i], false);
                        toml_buffer_puts(b, ",\n");
                }
                toml_buffer_putc(b, ']');
                return;
        }

        toml_buffer_putc(b, '[');
        for (size_t i = 0; i < n; i++) {
                if (i > 0)
                        toml_buffer_puts(b, ", ");
                write_inline(b, v->array.items[i], false);
        }
        toml_buffer_putc(b, ']');
}

static void write_table_inline(TomlBuffer *b, const TomlValue *v) {
        if (v->table.n == 0) {
                toml_buffer_puts(b, "{}");
                return;
        }

        toml_buffer_puts(b, "{ ");
        for (size_t i = 0; i < v->table.n; i++) {
                const TomlEntry *e = &v->table.entries[i];

                if (i > 0)
                        toml_buffer_puts(b, ", ");
                write_key(b, e->key, e->key_len);
                toml_buffer_puts(b, " = ");
                write_inline(b, e->value, false);
        }
        toml_buffer_puts(b, " }");
}

/* Write V as a value after "key = ". Only arrays directly under a key
 * (TOP_LEVEL) are spread over several lines. */
static void write_inline(TomlBuffer *b, const TomlValue *v, bool top_level) {
        char buf[32];

        switch (v->type) {
        case TOML_STRING:
                write_string(b, v->string.data, v->string.len);
                break;
        case TOML_INTEGER:
                snprintf(buf, sizeof(buf), "%" PRId64, v->integer);
                toml_buffer_puts(b, buf);
                break;
        case TOML_FLOAT:
                write_float(b, v->fp);
                break;
        case TOML_BOOLEAN:
                toml_buffer_puts(b, v->boolean ? "true" : "false");
                break;
        case TOML_OFFSET_DATETIME:
        case TOML_LOCAL_DATETIME:
        case TOML_LOCAL_DATE:
        case TOML_LOCAL_TIME:
                toml_buffer_append(b, v->string.data, v->string.len);
                break;
        case TOML_ARRAY:
                write_array_inline(b, v, top_level);
                break;
        case TOML_TABLE:
                write_table_inline(b, v);
                break;
        }
}

/* Whether V is written as a [table] or [[array]] section instead of a
 * "key = value" line. */
static bool is_section(const TomlValue *v) {
        if (v->type == TOML_TABLE)
                return true;
        if (v->type != TOML_ARRAY || v->array.n == 0)
                return false;
        for (size_t i = 0; i < v->array.n; i++)
                if (v->array.items[i]->type != TOML_TABLE)
                        return false;
        return true;
}

static void write_header(TomlBuffer *b, const TomlBuffer *path, bool array_of_tables) {
        /* Every header but one at the very start gets a blank line before it. */
        if (b->len > 0)
                toml_buffer_putc(b, '\n');
        toml_buffer_puts(b, array_of_tables ? "[[" : "[");
        toml_buffer_append(b, path->data, path->len);
        toml_buffer_puts(b, array_of_tables ? "]]\n" : "]\n");
}

static void write_table_body(TomlBuffer *b, const TomlValue *table, TomlBuffer *path);

static void write_section(TomlBuffer *b, const TomlEntry *e, TomlBuffer *path) {
        size_t saved = path->len;

        if (path->len > 0)
                toml_buffer_putc(path, '.');
        write_key(path, e->key, e->key_len);

        if (e->value->type == TOML_TABLE) {
                write_header(b, path, false);
                write_table_body(b, e->value, path);
        } else
                for (size_t i = 0; i < e->value->array.n; i++) {
                        write_header(b, path, true);
                        write_table_body(b, e->value->array.items[i], path);
                }

        if (!path->failed) {
                path->len = saved;
                path->data[saved] = '\0';
        }
}

/* Write plain keys first, then sections in insertion order. PATH contains
 * the dotted header name of TABLE ("" for the root). */
static void write_table_body(TomlBuffer *b, const TomlValue *table, TomlBuffer *path) {
        for (size_t i = 0; i < table->table.n; i++) {
                const TomlEntry *e = &table->table.entries[i];

                if (is_section(e->value))
                        continue;
                write_key(b, e->key, e->key_len);
                toml_buffer_puts(b, " = ");
                write_inline(b, e->value, true);
                toml_buffer_putc(b, '\n');
        }

        for (size_t i = 0; i < table->table.n; i++)
                if (is_section(table->table.entries[i].value))
                        write_section(b, &table->table.entries[i], path);
}

int toml_write(const TomlValue *root, char **ret, size_t *ret_len) {
        TomlBuffer out = {}, path = {};

        if (!root || root->type != TOML_TABLE)
                return -EINVAL;

        toml_buffer_append(&out, "", 0);
        toml_buffer_append(&path, "", 0);
        write_table_body(&out, root, &path);

        if (out.failed || path.failed) {
                toml_buffer_done(&out);
                toml_buffer_done(&path);
                return -ENOMEM;
        }
        toml_buffer_done(&path);

        if (ret_len)
                *ret_len = out.len;
        *ret = out.data;
        return 0;
}
