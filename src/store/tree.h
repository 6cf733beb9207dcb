/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "basic/error.h"
#include "basic/hash.h"
#include "store/store.h"

/*
 * Tree objects: the content of a layer as a deterministic text listing of a
 * directory, in which each regular file's content is its own object. Two
 * snapshots that share a file share its object, so the store grows by about
 * the size of what changed. The format is described in the "Tree objects"
 * section of docs/storage-format.md.
 *
 * A layer's tar_hash member names its tree object. Objects that do not start
 * with TREE_MAGIC are legacy layer tarballs of the original tool; unpack and
 * list accept those too.
 */

/* First line of every tree object. */
#define TREE_MAGIC "karapace-tree 1\n"

typedef enum TreeEntryType {
        TREE_ENTRY_DIRECTORY,
        TREE_ENTRY_FILE,
        TREE_ENTRY_SYMLINK,
        TREE_ENTRY_HARDLINK,
        TREE_ENTRY_WHITEOUT,    /* overlayfs whiteout: character device 0:0 */
        _TREE_ENTRY_TYPE_MAX,
} TreeEntryType;

typedef struct TreeXattr {
        char *name;
        char *value;            /* binary, VALUE_SIZE bytes (NUL-terminated for convenience) */
        size_t value_size;
} TreeXattr;

typedef struct TreeEntry {
        TreeEntryType type;
        char *path;             /* raw bytes relative to the tree root, "." for the root itself */
        mode_t mode;            /* permission bits including setuid, setgid and sticky (07777) */
        uid_t uid;
        gid_t gid;
        uint64_t size;          /* regular files: content length */
        char key[KP_HASH_HEX_SIZE]; /* regular files: content object key; "" in legacy tarballs */
        char *target;           /* symlinks: link target; hard links: path of the linked file */
        bool opaque;            /* directories: hides the lower layers' content (overlayfs) */
        TreeXattr *xattrs;      /* sorted by name */
        size_t n_xattrs;
} TreeEntry;

const char *tree_entry_type_to_string(TreeEntryType t);

/* Free N entries and the array. Accepts NULL. */
void tree_entries_free(TreeEntry *entries, size_t n);

/*
 * Pack the directory PATH below DIRFD into a tree object.
 *
 * The walk uses lstat semantics, follows no symlink and stays on the
 * filesystem of PATH (mount points below it are skipped with a warning).
 * Each regular file's content is stored with store_object_put_fd(); content
 * whose key exists already is not written again. FIFOs, sockets and devices
 * other than whiteouts are skipped with a warning. A file or directory the
 * caller cannot read is opened after temporarily adding the owner's read
 * permission, and its mode is restored right after.
 *
 * CACHE_PATH (may be NULL) names a file that maps each regular file's path,
 * size, mtime, ctime, device and inode to its content key, so unchanged files
 * are not hashed again. It is rewritten atomically after each pack. Do not
 * place it inside PATH.
 *
 * A missing PATH packs as the empty tree. Returns the tree key and the list
 * of every object the tree needs, the tree key included, sorted and without
 * duplicates. The list is a NULL-terminated array to free with kp_strv_free().
 */
int store_tree_pack_cached(Store *s, int dirfd, const char *path, const char *cache_path,
                           char ret_tree_key[KP_HASH_HEX_SIZE], char ***ret_object_refs, size_t *ret_count,
                           KpError *err);

/* store_tree_pack_cached() without a cache. */
int store_tree_pack(Store *s, int dirfd, const char *path, char ret_tree_key[KP_HASH_HEX_SIZE],
                    char ***ret_object_refs, size_t *ret_count, KpError *err);

typedef enum TreeUnpackFlags {
        /* Write whiteouts as ".wh.<name>" files and opaque directories with a
         * ".wh..wh..opq" file (the fuse-overlayfs form), never as devices. */
        TREE_UNPACK_WHITEOUT_FILES = 1 << 0,
} TreeUnpackFlags;

typedef struct TreeUnpackReport {
        size_t directories;
        size_t files;
        size_t symlinks;
        size_t hardlinks;
        size_t whiteout_devices;        /* created as character devices 0:0 */
        size_t whiteout_files;          /* created as ".wh.<name>" files */
        size_t opaque_markers;          /* ".wh..wh..opq" files created for opaque directories */
        size_t xattrs_skipped;          /* not permitted or not supported by the target filesystem */
        size_t owners_skipped;          /* entries whose owner could not be set */
        size_t entries_skipped;         /* legacy tarballs only: unsafe or unsupported entries */
        bool legacy;                    /* the object was a legacy layer tarball */
} TreeUnpackReport;

/*
 * Materialize the tree object TREE_KEY into PATH below TARGET_DIRFD. PATH is
 * created and must not exist or be an empty directory; its parent must exist.
 *
 * Every entry path is validated before anything is written, and entries are
 * created with *at() calls relative to directory fds opened with O_NOFOLLOW,
 * so nothing is written outside PATH. Content objects are verified before
 * they are copied (an integrity error on mismatch). Owners, trusted.* and
 * security.* attributes are applied when permitted and skipped with one
 * warning otherwise. Whiteouts become character devices 0:0, or ".wh.<name>"
 * files when mknod is not permitted. Directory modes are applied last.
 *
 * On failure, everything created below PATH is removed again (and PATH
 * itself when this call created it). REPORT may be NULL.
 */
int store_tree_unpack_full(Store *s, const char *tree_key, int target_dirfd, const char *path,
                           TreeUnpackFlags flags, TreeUnpackReport *ret_report, KpError *err);

int store_tree_unpack(Store *s, const char *tree_key, int target_dirfd, const char *path, KpError *err);

/* Parse the tree object TREE_KEY (verified) into its entries, in tree order.
 * A legacy tarball lists its safe entries with an empty key. */
int store_tree_list(Store *s, const char *tree_key, TreeEntry **ret, size_t *ret_count, KpError *err);

/* Parse tree object bytes. Exposed for tests and fuzzing. */
int tree_parse(const char *data, size_t len, TreeEntry **ret, size_t *ret_count, KpError *err);

/* Serialize entries (already in tree order) to tree object text. */
int tree_serialize(const TreeEntry *entries, size_t n, char **ret, size_t *ret_len);
