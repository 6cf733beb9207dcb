/* SPDX-License-Identifier: MIT */
#pragma once

/* Helpers shared by tree.c (format), tree-pack.c and tree-unpack.c. Not
 * part of the store API. */

#include <limits.h>
#include <stdio.h>
#include <sys/types.h>

#include "store/tree.h"

/* A tree object is parsed in memory. 256 MiB is room for more than a
 * million entries (a typical line is 100 to 200 bytes), far more than an
 * overlay upper directory contains in practice. The pack cache file has the
 * same bound. */
#define TREE_OBJECT_MAX (256U * 1024U * 1024U)

/* Kernel limits for extended attributes (XATTR_NAME_MAX, XATTR_SIZE_MAX). */
#define TREE_XATTR_NAME_MAX 255
#define TREE_XATTR_VALUE_MAX 65536

/* Longest path (without the NUL) that the *at() calls accept. */
#define TREE_PATH_MAX (PATH_MAX - 1)

/* fuse-overlayfs forms of whiteouts and opaque directories. */
#define TREE_WHITEOUT_PREFIX ".wh."
#define TREE_OPAQUE_MARKER ".wh..wh..opq"

static inline const char *strna(const char *s) {
        return s ? s : "(out of memory)";
}

/* Escaping of paths, targets and extended attributes (see tree.c). */
void tree_escape_to(FILE *f, const char *s, size_t len);
char *tree_escape_string(const char *s);
int tree_unescape(const char *s, size_t len, bool allow_nul, char **ret, size_t *ret_len);

/* Token and number parsing shared with the pack cache. */
bool tree_next_token(const char **pos, const char *end, const char **ret, size_t *ret_len);
int tree_parse_decimal(const char *s, size_t len, uint64_t max, uint64_t *ret);
int tree_parse_key(const char *s, size_t len, char ret[KP_HASH_HEX_SIZE]);

void tree_xattrs_free(TreeXattr *xattrs, size_t n);
void tree_entry_done(TreeEntry *e);

/* Returns true if NAME is one of the extended attributes that mark an
 * overlayfs directory opaque (with the value "y"). */
bool tree_xattr_name_is_opaque(const char *name);

/* Byte order of paths, except that the root "." sorts first. */
int tree_compare_paths(const char *a, const char *b);

/* Index of PATH in ENTRIES (in tree order), or -1. */
ssize_t tree_entries_find(const TreeEntry *entries, size_t n, const char *path);

bool tree_path_is_valid(const char *path);

/* Split PATH into its parent directory (written to DIR, "" for a top-level
 * entry) and its last component, which is returned. */
const char *tree_path_split(const char *path, char dir[static PATH_MAX]);

/* Open the object KEY and tell whether it is a tree object; anything else
 * is taken for a legacy layer tarball. */
int tree_object_open(Store *s, const char *key, int *ret_fd, bool *ret_is_tree, KpError *err);

/* Read (verified) and parse the tree object KEY, opened as FD. */
int tree_object_load(Store *s, const char *key, int fd, TreeEntry **ret, size_t *ret_count, KpError *err);

/* List the safe entries of the legacy layer tarball KEY (tree-unpack.c). */
int tree_legacy_list(Store *s, const char *key, int fd, TreeEntry **ret, size_t *ret_count, KpError *err);
