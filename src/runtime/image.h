/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>

#include "basic/error.h"
#include "basic/hash.h"

/*
 * Base images: finding, downloading, verifying, extracting and caching the
 * root filesystem an environment starts from.
 *
 * Cache layout: <store root>/images/<cache key>/rootfs (the extracted tree,
 * the lower layer of every overlay) and <cache key>/digest (the tree's
 * content digest, 64 hex, written last). An image counts as cached only
 * when its digest file exists, so an interrupted extraction never looks
 * complete.
 */

typedef void (*ImageProgressFunc)(const char *message, void *userdata);

typedef struct ImageOptions {
        bool offline;                   /* no network: the image must be cached */
        ImageProgressFunc progress;     /* may be NULL */
        void *progress_data;
} ImageOptions;

typedef struct ImageInfo {
        char *cache_key;                /* directory name below images/ */
        char *display_name;             /* e.g. "Debian Bookworm" */
        char *rootfs;                   /* absolute path of the extracted tree */
        char digest[KP_HASH_HEX_SIZE];  /* content digest of the tree */
} ImageInfo;

void image_info_done(ImageInfo *info);

/* Make IMAGE (the manifest's base.image) available in the cache of the store
 * at STORE_ROOT and return where it is. Downloads or bootstraps it when it
 * is missing, verifies it when it is cached. */
int image_ensure(const char *store_root, const char *image, const ImageOptions *opts, ImageInfo *ret,
                 KpError *err);

/* Content digest of an extracted tree (see docs/image-digest.md). Callers
 * other than root compute it inside a user namespace (userns_run), where
 * the owners are the image's own ids, as during extraction. */
int image_tree_digest(const char *rootfs, char ret[KP_HASH_HEX_SIZE], KpError *err);

/* Return the URL that `pin` writes for IMAGE. For an alias this is the
 * download URL of the image server's latest build, which contacts the
 * server. For a URL image it is the normalized URL (lowercased, digest
 * fragment kept). Local files and bootstrap images have no URL (-EOPNOTSUPP). */
int image_resolve_url(const char *image, const ImageOptions *opts, char **ret_url, KpError *err);

typedef struct ImageVerifyResult {
        bool complete;                          /* digest file and rootfs present */
        bool ok;                                /* complete and the digests match */
        char expected[KP_HASH_HEX_SIZE];        /* from the digest file, "" when missing */
        char actual[KP_HASH_HEX_SIZE];          /* recomputed, "" when the rootfs is missing */
} ImageVerifyResult;

/* Recompute the digest of the cached image CACHE_KEY (a directory name
 * below <store root>/images) and compare it with the recorded one. Holds
 * the image's lock meanwhile. A mismatch is not an error: see RET->ok. */
int image_cache_verify(const char *store_root, const char *cache_key, ImageVerifyResult *ret, KpError *err);

/* Cache keys of all image directories below <store root>/images, sorted,
 * complete or not (NULL-terminated; free with kp_strv_free). */
int image_cache_list(const char *store_root, char ***ret, size_t *ret_count, KpError *err);
