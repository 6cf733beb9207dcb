/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "toml/toml-internal.h"

void toml_buffer_append(TomlBuffer *b, const char *s, size_t n) {
        if (b->failed)
                return;

        if (n >= b->allocated - b->len || !b->data) {
                size_t want = b->allocated ? b->allocated : 64;
                char *p;

                while (want - b->len <= n) {
                        if (want > SIZE_MAX / 2) {
                                b->failed = true;
                                return;
                        }
                        want *= 2;
                }
                p = realloc(b->data, want);
                if (!p) {
                        b->failed = true;
                        return;
                }
                b->data = p;
                b->allocated = want;
        }

        if (n > 0)
                memcpy(b->data + b->len, s, n);
        b->len += n;
        b->data[b->len] = '\0';
}

void toml_buffer_puts(TomlBuffer *b, const char *s) {
        toml_buffer_append(b, s, strlen(s));
}

void toml_buffer_putc(TomlBuffer *b, char c) {
        toml_buffer_append(b, &c, 1);
}

void toml_buffer_put_utf8(TomlBuffer *b, uint32_t cp) {
        char out[4];
        size_t n;

        if (cp < 0x80) {
                out[0] = (char) cp;
                n = 1;
        } else if (cp < 0x800) {
                out[0] = (char) (0xC0 | (cp >> 6));
                out[1] = (char) (0x80 | (cp & 0x3F));
                n = 2;
        } else if (cp < 0x10000) {
                out[0] = (char) (0xE0 | (cp >> 12));
                out[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
                out[2] = (char) (0x80 | (cp & 0x3F));
                n = 3;
        } else {
                out[0] = (char) (0xF0 | (cp >> 18));
                out[1] = (char) (0x80 | ((cp >> 12) & 0x3F));
                out[2] = (char) (0x80 | ((cp >> 6) & 0x3F));
                out[3] = (char) (0x80 | (cp & 0x3F));
                n = 4;
        }
        toml_buffer_append(b, out, n);
}

/* Release the buffer's memory. */
void toml_buffer_done(TomlBuffer *b) {
        free(b->data);
        *b = (TomlBuffer) {};
}
