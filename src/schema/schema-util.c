/* SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "basic/fs-util.h"
#include "basic/macro.h"
#include "schema/schema-util.h"

bool schema_is_unicode_space(unsigned long c) {
        return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0x85 || c == 0xa0 || c == 0x1680 ||
               (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f ||
               c == 0x205f || c == 0x3000;
}

/* Decode the UTF-8 sequence of LEN bytes at S. Returns the code point, or -1
 * when the bytes are not one well-formed sequence. */
static long utf8_decode(const unsigned char *s, size_t len) {
        unsigned long c;
        size_t need;

        if (len == 0)
                return -1;
        if (s[0] < 0x80)
                return len == 1 ? (long) s[0] : -1;
        if ((s[0] & 0xe0) == 0xc0) {
                need = 2;
                c = s[0] & 0x1f;
        } else if ((s[0] & 0xf0) == 0xe0) {
                need = 3;
                c = s[0] & 0x0f;
        } else if ((s[0] & 0xf8) == 0xf0) {
                need = 4;
                c = s[0] & 0x07;
        } else
                return -1;
        if (len != need)
                return -1;

        for (size_t i = 1; i < need; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return -1;
                c = (c << 6) | (s[i] & 0x3f);
        }
        return (long) c;
}

/* Length of the UTF-8 sequence that starts with byte B (1 for invalid lead
 * bytes, so that decoding fails on them). */
static size_t utf8_sequence_length(unsigned char b) {
        if ((b & 0xe0) == 0xc0)
                return 2;
        if ((b & 0xf0) == 0xe0)
                return 3;
        if ((b & 0xf8) == 0xf0)
                return 4;
        return 1;
}

static size_t leading_space_length(const unsigned char *s, size_t len) {
        size_t i = 0;

        while (i < len) {
                size_t n = utf8_sequence_length(s[i]);
                long c;

                if (n > len - i)
                        break;
                c = utf8_decode(s + i, n);
                if (c < 0 || !schema_is_unicode_space((unsigned long) c))
                        break;
                i += n;
        }
        return i;
}

static size_t trailing_space_length(const unsigned char *s, size_t len) {
        size_t end = len;

        while (end > 0) {
                size_t start = end - 1;
                long c;

                /* Step back over continuation bytes to the lead byte, at most
                 * three of them. */
                while (start > 0 && end - start < 4 && (s[start] & 0xc0) == 0x80)
                        start--;
                c = utf8_decode(s + start, end - start);
                if (c < 0 || !schema_is_unicode_space((unsigned long) c))
                        break;
                end = start;
        }
        return len - end;
}

char *schema_strdup_trimmed(const char *s) {
        const unsigned char *u = (const unsigned char *) s;
        size_t len = strlen(s), head, tail;

        head = leading_space_length(u, len);
        tail = head < len ? trailing_space_length(u + head, len - head) : 0;
        return strndup(s + head, len - head - tail);
}

void schema_ascii_lowercase(char *s) {
        for (; *s; s++)
                if (*s >= 'A' && *s <= 'Z')
                        *s = (char) (*s - 'A' + 'a');
}

static int strv_compare(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

void schema_strv_sort_unique(char **v, size_t *n) {
        size_t o = 0;

        if (*n == 0)
                return;

        qsort(v, *n, sizeof(char *), strv_compare);
        for (size_t i = 0; i < *n; i++) {
                if (o > 0 && streq(v[o - 1], v[i])) {
                        free(v[i]);
                        continue;
                }
                v[o++] = v[i];
        }
        v[o] = NULL;
        *n = o;
}

int schema_strv_copy(char *const *v, size_t n, char ***ret) {
        _cleanup_strv_free_ char **copy = NULL;

        copy = calloc(n + 1, sizeof(char *));
        if (!copy)
                return -ENOMEM;

        for (size_t i = 0; i < n; i++) {
                copy[i] = strdup(v[i]);
                if (!copy[i])
                        return -ENOMEM;
        }

        *ret = TAKE_PTR(copy);
        return 0;
}
