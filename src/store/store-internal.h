/* SPDX-License-Identifier: MIT */
#pragma once

/* Declarations shared by the store modules, not part of the public API. */

#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include "basic/error.h"
#include "basic/fs-util.h"
#include "store/store.h"

typedef enum StoreDir {
        STORE_DIR_OBJECTS,
        STORE_DIR_LAYERS,
        STORE_DIR_METADATA,
        STORE_DIR_STAGING,
        STORE_DIR_WAL,
        _STORE_DIR_MAX,
} StoreDir;

struct Store {
        char *root;             /* absolute, normalized */
        char *store_path;       /* <root>/store */
        int dirfd;              /* <root>/store, -1 until opened */
        int dir_fds[_STORE_DIR_MAX];
        bool objects_sync_deferred;     /* see store_object_defer_dir_sync() */
        StoreRemoveTreeFunc remove_tree; /* see store_set_remove_tree() */
};

/* Temporary files older than this many seconds count as left behind by a
 * crash. A writer that streams a large object keeps touching its file, so a
 * concurrent store_init() or GC does not remove it from under the writer. */
#define STORE_TMPFILE_STALE_SEC 60

const char *store_dir_to_string(StoreDir d);

/* The fd of <root>/store, opened on first use (-ENOENT when missing). */
int store_base_fd(Store *s, KpError *err);

/* The fd of a store subdirectory. Opens <root>/store and the subdirectory
 * on first use without creating anything: a missing directory gives
 * -ENOENT (with a message in ERR). */
int store_dir_fd(Store *s, StoreDir d, KpError *err);

/* Absolute path of NAME inside subdirectory D (or of the store dir itself
 * when D is _STORE_DIR_MAX). Returns NULL on allocation failure. */
char *store_path_of(const Store *s, StoreDir d, const char *name);

/* True for a plain file name: not empty, no '/', not "." or "..". */
bool store_name_is_plain(const char *name);

/* Write NAME in DIRFD atomically: a temporary file in the same directory,
 * fsync, rename, directory fsync. Calls the fault points
 * "<fault_name>:tmp-written" before and "<fault_name>:renamed" after the
 * rename. */
int store_write_file_atomic(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
                            KpAtomicFlags flags, const char *fault_name);

/* Names of the ".tmp-*" files in DIRFD last modified at least MIN_AGE
 * seconds before NOW. */
int store_tmpfiles_list(int dirfd, time_t now, time_t min_age, char ***ret, size_t *ret_count);

/* Delete a ".tmp-*" file or directory left behind by a crash. */
int store_tmpfile_remove(int dirfd, const char *name);

/* Hash the file NAME in DIRFD (streamed). */
int store_file_hash_at(int dirfd, const char *name, char ret_hex[KP_HASH_HEX_SIZE]);

int store_object_remove_name(Store *s, const char *name, KpError *err);

/* An empty NULL-terminated string array. */
int store_strv_empty(char ***ret, size_t *ret_count);

/* JSON member helpers for the store's manifest and metadata parsers. Each
 * sets "<context>: ..." in ERR on a type mismatch. */
#include <jansson.h>

/* A required string member. */
int store_json_string(json_t *obj, const char *key, const char *context, char **ret, KpError *err);

/* A string member that may be missing or null (*ret = NULL then). */
int store_json_string_or_null(json_t *obj, const char *key, const char *context, char **ret, KpError *err);

/* A required array of strings, returned NULL-terminated. */
int store_json_strv(json_t *obj, const char *key, const char *context, char ***ret, size_t *ret_count,
                    KpError *err);

/* A JSON array holding copies of the N strings in V. */
json_t *store_json_array_from_strv(char *const *v, size_t n);

/* Read the whole file NAME in DIRFD, up to MAX bytes. */
int store_read_file_at(int dirfd, const char *name, size_t max, char **ret, size_t *ret_len);

/* Delete the entry NAME in layers/ (also a stray directory). */
int store_layer_remove_name(Store *s, const char *name, KpError *err);

typedef struct EnvMetadata EnvMetadata;

/* Load metadata file NAME (a valid env id). RET_ACTUAL, when not NULL,
 * gets the recomputed checksum ("" when the file has none). On a checksum
 * mismatch the result is -EBADMSG and *RET still contains the metadata. */
int store_metadata_load_name(Store *s, const char *name, EnvMetadata **ret, char ret_actual[KP_HASH_HEX_SIZE],
                             KpError *err);

/* Delete the entry NAME in metadata/. */
int store_metadata_remove_name(Store *s, const char *name, KpError *err);

typedef struct WalEntry WalEntry;

/* Read the WAL entries like store_wal_list_incomplete(), but delete broken
 * ones only with DROP_BROKEN; *RET_BROKEN (may be NULL) gets their number. */
int store_wal_list(Store *s, bool drop_broken, WalEntry **ret, size_t *ret_count, size_t *ret_broken,
                   KpError *err);
