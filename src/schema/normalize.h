/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basic/error.h"
#include "schema/manifest.h"

/* A mount after normalization: label and both paths trimmed, the host path
 * otherwise kept as written (no "~" expansion, no absolutization). */
typedef struct MountSpec {
        char *label;
        char *host_path;
        char *container_path;
} MountSpec;

/*
 * The validated manifest that identities are computed from. The field
 * order is the member order of the canonical JSON.
 */
typedef struct NormalizedManifest {
        uint32_t manifest_version;      /* always 1 */
        char *base_image;               /* trimmed, case kept */
        char **system_packages;         /* trimmed, empty ones dropped, sorted, unique */
        size_t n_system_packages;
        char **gui_apps;                /* same treatment as packages */
        size_t n_gui_apps;
        bool hardware_gpu;
        bool hardware_audio;
        MountSpec *mounts;              /* sorted by label, labels unique */
        size_t n_mounts;
        char *runtime_backend;          /* trimmed, lowercased, not checked here */
        bool network_isolation;
        ResourceLimits limits;
} NormalizedManifest;

/*
 * Validate and normalize M. Errors (KP_ERROR_MANIFEST), first failure wins:
 *   unsupported manifest_version: <n>, expected 1
 *   base.image must not be empty
 *   mount label must not be empty
 *   invalid mount declaration for '<label>': '<spec>', expected '<host>:<container>'
 *   duplicate mount label '<label>' ...
 * The last one is stricter than the original tool, which let two labels
 * that differ only in surrounding whitespace through.
 */
int manifest_normalize(const Manifest *m, NormalizedManifest **ret, KpError *err);

NormalizedManifest *normalized_manifest_free(NormalizedManifest *m);
static inline void normalized_manifest_freep(NormalizedManifest **m) {
        if (*m)
                (void) normalized_manifest_free(*m);
}
#define _cleanup_normalized_manifest_free_ _cleanup_(normalized_manifest_freep)

/*
 * The canonical JSON: compact, members in field order, mounts as
 * {"label","host_path","container_path"}, absent limits as null, e.g.
 *   {"manifest_version":1,"base_image":"rolling","system_packages":[],...}
 * Its BLAKE3 is the store key of the manifest object. Returns 0 and a
 * NUL-terminated string (caller frees), -ENOMEM, or -ERANGE for a limit
 * above INT64_MAX.
 */
int normalized_manifest_to_json(const NormalizedManifest *m, char **ret, size_t *ret_len);

/* Parse canonical JSON back, as stored in the object store. Member order
 * and unknown members do not matter, and a missing limit counts as absent.
 * Errors carry KP_ERROR_MANIFEST. */
int normalized_manifest_from_json(const char *data, size_t len, NormalizedManifest **ret, KpError *err);
