/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "basic/error.h"
#include "basic/hash.h"

/*
 * The content-addressed store below <root>/store: objects, layer manifests,
 * environment metadata, the write-ahead log and the store lock. The on-disk
 * format is described in docs/storage-format.md.
 *
 * Functions return 0 (or a documented non-negative value) on success and a
 * negative errno on failure, with the message in ERR. Store errors carry
 * KP_ERROR_STORE, missing environments KP_ERROR_NOT_FOUND.
 */

/* Current store format version, written to store/version. */
#define STORE_FORMAT_VERSION 2

typedef struct Store Store;

/* Compute the paths of the store below ROOT. Creates nothing and opens
 * nothing: call store_init() before using the store. */
int store_open(const char *root, Store **ret, KpError *err);

/* Create the layout (objects/, layers/, metadata/, staging/, wal/ and
 * <root>/env), write store/version or check it, and remove temporary files
 * left behind by a crash. Also opens the store directory fds. */
int store_init(Store *s, KpError *err);

/* Close the fds and free S. Accepts NULL. Always returns NULL. */
Store *store_free(Store *s);

static inline void store_freep(Store **s) {
        if (*s)
                (void) store_free(*s);
}
#define _cleanup_store_free_ _cleanup_(store_freep)

/* Removes the directory tree at the absolute PATH; returns 0 or -errno. */
typedef int (*StoreRemoveTreeFunc)(const char *path);

/* Set how recovery and GC remove environment and staging trees. The default
 * is kp_rm_rf(), which cannot delete files a sandbox created under another
 * id; the runtime layer installs a function that can. */
void store_set_remove_tree(Store *s, StoreRemoveTreeFunc func);

/* Remove the tree at the absolute PATH with the configured function. */
int store_remove_tree(Store *s, const char *path);

/* The store root (<root>, the parent of the store/ directory). */
const char *store_root(const Store *s);

/* Open fd of <root>/store, or -1 while it is not open yet. store_init()
 * opens it; other calls open it on first use. */
int store_dirfd(const Store *s);

/* Check store/version: the format version must be STORE_FORMAT_VERSION. */
int store_version_check(Store *s, KpError *err);

/* Write store/version for STORE_FORMAT_VERSION (atomically). */
int store_version_write(Store *s, KpError *err);

/* Read format_version from store/version (0 when the member is missing or
 * not a number). */
int store_version_read(Store *s, unsigned *ret_version, KpError *err);

/*
 * Objects: content-addressed blobs named by the BLAKE3 hex digest of their
 * bytes, stored as store/objects/<key> with mode 0444.
 */
int store_object_put_bytes(Store *s, const void *data, size_t len, char ret_key[KP_HASH_HEX_SIZE],
                           KpError *err);

/* Stream FD to EOF into a temporary file in objects/ while hashing it, then
 * rename it to its key. When the object already exists the temporary file is
 * dropped. Memory use does not depend on the size of the content. */
int store_object_put_fd(Store *s, int fd, char ret_key[KP_HASH_HEX_SIZE], KpError *err);

/* Open the object read-only (O_RDONLY|O_CLOEXEC), without verification. */
int store_object_open(Store *s, const char *key, int *ret_fd, KpError *err);

/* Read the whole object and verify its hash. The buffer is NUL-terminated
 * one byte past *ret_len. */
int store_object_get(Store *s, const char *key, char **ret, size_t *ret_len, KpError *err);

/* Re-hash the object (streamed); an integrity error on mismatch. */
int store_object_verify(Store *s, const char *key, KpError *err);

bool store_object_exists(Store *s, const char *key);

/* With DEFER, store_object_put_fd() skips the fsync of objects/ after each
 * rename (the object's own data is still synced before its rename). The
 * caller must call store_object_sync_dir() before anything that references
 * the new objects is written: one directory sync then covers all of them. */
void store_object_defer_dir_sync(Store *s, bool defer);
int store_object_sync_dir(Store *s, KpError *err);

/* Delete the object. A missing object is not an error. */
int store_object_remove(Store *s, const char *key, KpError *err);

/* Names in objects/ that do not start with '.', sorted. Free the array with
 * kp_strv_free(). */
int store_object_list(Store *s, char ***ret_keys, size_t *ret_count, KpError *err);
