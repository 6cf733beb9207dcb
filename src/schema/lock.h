/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basic/error.h"
#include "basic/hash.h"
#include "schema/normalize.h"

/*
 * The lock file (karapace.lock), next to the manifest: the resolved
 * inputs of an environment and its identity. Errors carry KP_ERROR_LOCK and
 * start with "lock file ...".
 */

#define LOCK_FILE_NAME "karapace.lock"
#define LOCK_VERSION 2

/* A locked package takes about 50 bytes, so even thousands of packages stay
 * far below this. The limit keeps a wrong path from being read into memory
 * whole. */
#define LOCK_MAX_SIZE (16 * 1024 * 1024)

typedef struct LockedPackage {
        char *name;
        char *version;
} LockedPackage;

/* What a backend's resolution returns: the image digest and one version per
 * requested package. */
typedef struct ResolutionResult {
        char *base_image_digest;
        LockedPackage *packages;
        size_t n_packages;
} ResolutionResult;

int resolution_result_new(const char *base_image_digest, ResolutionResult **ret);
int resolution_result_add_package(ResolutionResult *r, const char *name, const char *version);
ResolutionResult *resolution_result_free(ResolutionResult *r);
static inline void resolution_result_freep(ResolutionResult **r) {
        if (*r)
                (void) resolution_result_free(*r);
}
#define _cleanup_resolution_result_free_ _cleanup_(resolution_result_freep)

/* Fields in the order they are written. */
typedef struct Lock {
        int64_t lock_version;
        char *env_id;
        char *short_id;
        char *base_image;
        char *base_image_digest;
        LockedPackage *packages;        /* sorted by (name, version) when created */
        size_t n_packages;
        char **apps;                    /* NULL-terminated, NULL when empty */
        size_t n_apps;
        char *runtime_backend;
        bool hardware_gpu;
        bool hardware_audio;
        bool network_isolation;
        MountSpec *mounts;
        size_t n_mounts;
        ResourceLimits limits;          /* values at most INT64_MAX */
} Lock;

Lock *lock_free(Lock *lock);
static inline void lock_freep(Lock **lock) {
        if (*lock)
                (void) lock_free(*lock);
}
#define _cleanup_lock_free_ _cleanup_(lock_freep)

/* The lock path for a manifest: the manifest's directory ("." when the
 * path has none) joined with "karapace.lock". Returns 0 or -ENOMEM. */
int lock_path_for_manifest(const char *manifest_path, char **ret);

/*
 * Build a lock from a normalized manifest and a resolution: packages are
 * copied and sorted by (name, version), apps and mounts come from the
 * manifest, and env_id / short_id are computed (see identity.h).
 */
int lock_create(const NormalizedManifest *m, const ResolutionResult *resolution, Lock **ret, KpError *err);

/*
 * Parse a lock file. Any valid TOML is accepted and unknown keys are
 * ignored. Errors: "lock file parse error: <path>[:<line>:<col>]: ..." for
 * invalid TOML, missing required keys, wrong types and a lock_version
 * other than 2. PATH is only used in messages.
 */
int lock_parse(const char *data, size_t len, const char *path, Lock **ret, KpError *err);

/* Read and parse PATH. A missing file returns -ENOENT with
 * "lock file I/O error: <path>: No such file or directory". */
int lock_read(const char *path, Lock **ret, KpError *err);

/*
 * Serialize in the original tool's layout: plain keys in field order
 * (resolved_packages and mounts inline as [] when empty), then
 * [[resolved_packages]] and [[mounts]] sections. Returns 0, -ENOMEM or
 * -ERANGE (a limit above INT64_MAX).
 */
int lock_to_toml(const Lock *lock, char **ret, size_t *ret_len);

/* Write the lock to PATH atomically (temporary file, fsync, rename, fsync
 * of the directory). */
int lock_write(const Lock *lock, const char *path, KpError *err);

/* Recompute the identity from the lock's own fields. Mismatch:
 * "lock file env_id mismatch: lock has '<stored>', recomputed '<computed>'". */
int lock_verify_integrity(const Lock *lock, KpError *err);

/*
 * Check that the manifest still requests what the lock records, first
 * failure wins, each as "lock file manifest drift: <detail>": base image,
 * runtime backend, every manifest package present in the lock (extra
 * locked packages are fine), GPU and audio flags. Apps, mounts, network
 * isolation and limits are left to the env_id comparison.
 */
int lock_verify_manifest_intent(const Lock *lock, const NormalizedManifest *m, KpError *err);
