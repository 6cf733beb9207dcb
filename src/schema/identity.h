/* SPDX-License-Identifier: MIT */
#pragma once

#include "basic/hash.h"
#include "schema/lock.h"
#include "schema/normalize.h"

/*
 * Environment identities. Both are BLAKE3 over a plain concatenation of
 * tagged strings (no separators, no length prefixes). Integers are written
 * in decimal. These byte strings must not change: existing lock files and
 * stores are keyed by them.
 */

#define IDENTITY_SHORT_ID_LEN 12
#define IDENTITY_SHORT_ID_SIZE (IDENTITY_SHORT_ID_LEN + 1)

/*
 * The env_id, computed from locked data in stored order:
 *   "base_digest:" <digest>, "pkg:<name>@<version>" per package,
 *   "app:<name>" per app, "hw:gpu", "hw:audio" (when set),
 *   "mount:<label>:<host_path>:<container_path>" per mount,
 *   "backend:<backend>", "net:isolated" (when set),
 *   "cpu:<n>", "mem:<n>" (when present).
 * The image name and the lock and manifest versions are not part of it.
 */
void identity_env_id_compute(const Lock *lock, char ret_id[KP_HASH_HEX_SIZE]);

/*
 * The preliminary identity of an unresolved manifest, used only as a
 * fallback key when no lock exists: the canonical JSON, the hex BLAKE3 of
 * base_image, then "pkg:<name>", "app:<name>", "hw:gpu", "hw:audio",
 * "mount:...", "backend:...", "net:isolated", "cpu:<n>", "mem:<n>" as for
 * the env_id. Returns 0, -ENOMEM or -ERANGE (see normalized_manifest_to_json()).
 */
int identity_preliminary_compute(const NormalizedManifest *m, char ret_id[KP_HASH_HEX_SIZE]);

/* The first 12 characters of ID. */
void identity_short_id(const char *id, char ret[IDENTITY_SHORT_ID_SIZE]);
