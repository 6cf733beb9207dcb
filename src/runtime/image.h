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

/* Content digest of an extracted tree (see docs/image-digest.md). */
int image_tree_digest(const char *rootfs, char ret[KP_HASH_HEX_SIZE], KpError *err);
