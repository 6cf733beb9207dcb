/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>

#include "basic/error.h"
#include "basic/hash.h"
#include "store/store.h"

/*
 * Packing and unpacking an environment's upper directory with the ids used
 * inside the sandbox. Package managers leave files owned by subordinate ids (apt's
 * partial download directories are _apt's, mode 0700), which the plain user
 * can neither read nor create. These run the store functions inside the
 * user namespace (as real root: directly), so those files are readable,
 * their owners are recorded as the ids the sandbox uses (0 for the user,
 * the same as when running as root), and unpacking restores them.
 */

/* store_tree_pack_cached() inside the user namespace. */
int sandbox_tree_pack_cached(Store *s, int dirfd, const char *path, const char *cache_path,
                             char ret_tree_key[KP_HASH_HEX_SIZE], char ***ret_object_refs, size_t *ret_count,
                             KpError *err);

/* store_tree_unpack() inside the user namespace. */
int sandbox_tree_unpack(Store *s, const char *tree_key, int target_dirfd, const char *path, KpError *err);
