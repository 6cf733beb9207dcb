/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* String helpers shared by the manifest, lock and image-name code. */

/* Returns true for the code points of the Unicode White_Space property,
 * which is what the original tool's trimming removes. */
bool schema_is_unicode_space(unsigned long code_point);

/* Copy S without leading and trailing Unicode whitespace. S must be UTF-8;
 * a byte sequence that is not valid UTF-8 ends the trimming there. Returns
 * NULL on allocation failure. */
char *schema_strdup_trimmed(const char *s);

/* Lowercase ASCII letters in place. Other bytes are left as they are. */
void schema_ascii_lowercase(char *s);

/* Sort the N strings of V in byte order and drop exact duplicates (freeing
 * them). V stays NULL-terminated and *N gets the new count. */
void schema_strv_sort_unique(char **v, size_t *n);

/* Deep-copy N strings into a NULL-terminated vector. Returns 0 or -ENOMEM. */
int schema_strv_copy(char *const *v, size_t n, char ***ret);
