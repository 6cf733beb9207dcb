/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/json-util.h"

typedef struct Buffer {
        char *data;
        size_t len;
        size_t allocated;
        bool failed;
} Buffer;

static void buffer_append(Buffer *b, const char *s, size_t n) {
        if (b->failed)
                return;
        if (b->len + n + 1 > b->allocated) {
                size_t want = b->allocated ? b->allocated * 2 : 256;
                char *p;

                while (want < b->len + n + 1)
                        want *= 2;
                p = realloc(b->data, want);
                if (!p) {
                        b->failed = true;
                        return;
                }
                b->data = p;
                b->allocated = want;
        }
        memcpy(b->data + b->len, s, n);
        b->len += n;
        b->data[b->len] = '\0';
}

static void buffer_puts(Buffer *b, const char *s) {
        buffer_append(b, s, strlen(s));
}

static void buffer_indent(Buffer *b, unsigned depth) {
        buffer_append(b, "\n", 1);
        for (unsigned i = 0; i < depth; i++)
                buffer_append(b, "  ", 2);
}

static void dump_string(Buffer *b, const char *s, size_t n) {
        size_t start = 0;

        buffer_append(b, "\"", 1);
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char) s[i];
                const char *esc = NULL;
                char hex[8];

                switch (c) {
                case '"': esc = "\\\""; break;
                case '\\': esc = "\\\\"; break;
                case '\n': esc = "\\n"; break;
                case '\r': esc = "\\r"; break;
                case '\t': esc = "\\t"; break;
                case '\b': esc = "\\b"; break;
                case '\f': esc = "\\f"; break;
                default:
                        if (c < 0x20) {
                                snprintf(hex, sizeof(hex), "\\u%04x", c);
                                esc = hex;
                        }
                        break;
                }
                if (!esc)
                        continue;
                buffer_append(b, s + start, i - start);
                buffer_puts(b, esc);
                start = i + 1;
        }
        buffer_append(b, s + start, n - start);
        buffer_append(b, "\"", 1);
}

static int compare_keys(const void *a, const void *b) {
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static void dump_value(Buffer *b, const json_t *v, KpJsonFlags flags, unsigned depth) {
        bool pretty = flags & KP_JSON_PRETTY;
        char num[64];

        switch (json_typeof(v)) {
        case JSON_NULL:
                buffer_puts(b, "null");
                break;
        case JSON_TRUE:
                buffer_puts(b, "true");
                break;
        case JSON_FALSE:
                buffer_puts(b, "false");
                break;
        case JSON_INTEGER:
                snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
                buffer_puts(b, num);
                break;
        case JSON_REAL: {
                double d = json_real_value(v);
                if (!isfinite(d))
                        buffer_puts(b, "null");
                else {
                        snprintf(num, sizeof(num), "%.17g", d);
                        buffer_puts(b, num);
                        if (!strpbrk(num, ".eE"))
                                buffer_puts(b, ".0");
                }
                break;
        }
        case JSON_STRING:
                dump_string(b, json_string_value(v), json_string_length(v));
                break;
        case JSON_ARRAY: {
                size_t n = json_array_size(v);

                buffer_puts(b, "[");
                for (size_t i = 0; i < n; i++) {
                        if (i > 0)
                                buffer_puts(b, ",");
                        if (pretty)
                                buffer_indent(b, depth + 1);
                        dump_value(b, json_array_get(v, i), flags, depth + 1);
                }
                if (pretty && n > 0)
                        buffer_indent(b, depth);
                buffer_puts(b, "]");
                break;
        }
        case JSON_OBJECT: {
                size_t n = json_object_size(v), i = 0;
                const char **keys = NULL;
                const char *key;
                json_t *member;

                buffer_puts(b, "{");
                if (n > 0) {
                        keys = malloc(n * sizeof(char *));
                        if (!keys) {
                                b->failed = true;
                                return;
                        }
                        json_object_foreach((json_t *) v, key, member)
                                keys[i++] = key;
                        if (flags & KP_JSON_SORT_KEYS)
                                qsort(keys, n, sizeof(char *), compare_keys);
                }
                for (i = 0; i < n; i++) {
                        if (i > 0)
                                buffer_puts(b, ",");
                        if (pretty)
                                buffer_indent(b, depth + 1);
                        dump_string(b, keys[i], strlen(keys[i]));
                        buffer_puts(b, pretty ? ": " : ":");
                        dump_value(b, json_object_get(v, keys[i]), flags, depth + 1);
                }
                free(keys);
                if (pretty && n > 0)
                        buffer_indent(b, depth);
                buffer_puts(b, "}");
                break;
        }
        }
}

char *kp_json_dump(const json_t *value, KpJsonFlags flags, size_t *ret_len) {
        Buffer b = {};

        dump_value(&b, value, flags, 0);
        if (!b.failed && !b.data)
                buffer_append(&b, "", 0);
        if (b.failed) {
                free(b.data);
                return NULL;
        }
        if (ret_len)
                *ret_len = b.len;
        return b.data;
}

int kp_json_print(const json_t *value, KpJsonFlags flags) {
        _cleanup_free_ char *text = kp_json_dump(value, flags, NULL);

        if (!text)
                return -ENOMEM;
        if (puts(text) == EOF)
                return -EIO;
        return 0;
}

int kp_json_parse(const char *data, size_t len, json_t **ret, char **ret_error) {
        json_error_t error;
        json_t *v;

        v = json_loadb(data, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &error);
        if (!v) {
                if (ret_error && asprintf(ret_error, "line %d, column %d: %s",
                                          error.line, error.column, error.text) < 0)
                        *ret_error = NULL;
                return -EINVAL;
        }
        *ret = v;
        return 0;
}
