/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basic/error.h"
#include "basic/fs-util.h"

/*
 * The manifest (karapace.toml) as written by the user, before
 * normalization. Schema, version 1:
 *
 *   manifest_version = 1                 required, unsigned 32-bit
 *   [base] image = "rolling"             required
 *   [system] packages = [...]            optional, strings
 *   [gui] apps = [...]                   optional, strings
 *   [hardware] gpu, audio                optional booleans
 *   [mounts] <label> = "host:container"  optional, free-form labels
 *   [runtime] backend, network_isolation optional (backend "namespace")
 *   [runtime.resource_limits] cpu_shares, memory_limit_mb
 *                                        optional, unsigned 64-bit
 *
 * Every table except [mounts] rejects unknown keys. Errors carry
 * KP_ERROR_MANIFEST and start with "failed to read manifest file: " or
 * "failed to parse manifest: ".
 */

/* Manifests are hand-written files of a few hundred bytes. The limit keeps
 * a wrong path (a log file, an image) from being read into memory whole. */
#define MANIFEST_MAX_SIZE (1024 * 1024)

#define MANIFEST_FILE_NAME "karapace.toml"
#define MANIFEST_DEFAULT_BACKEND "namespace"

/* Limits may be absent. Values are at most INT64_MAX, the TOML integer range. */
typedef struct ResourceLimits {
        bool has_cpu_shares;
        uint64_t cpu_shares;
        bool has_memory_limit_mb;
        uint64_t memory_limit_mb;
} ResourceLimits;

/* One [mounts] entry as written. */
typedef struct ManifestMount {
        char *label;
        char *spec;             /* "host:container" */
} ManifestMount;

typedef struct Manifest {
        uint32_t manifest_version;
        char *base_image;
        char **system_packages; /* NULL-terminated, NULL when empty */
        size_t n_system_packages;
        char **gui_apps;        /* NULL-terminated, NULL when empty */
        size_t n_gui_apps;
        bool hardware_gpu;
        bool hardware_audio;
        ManifestMount *mounts;  /* in document order */
        size_t n_mounts;
        char *runtime_backend;
        bool network_isolation;
        ResourceLimits limits;
} Manifest;

/* A manifest with version 1, the given image, backend "namespace" and
 * nothing else. Returns 0 or -ENOMEM. */
int manifest_new(const char *base_image, Manifest **ret);

Manifest *manifest_free(Manifest *m);
static inline void manifest_freep(Manifest **m) {
        if (*m)
                (void) manifest_free(*m);
}
#define _cleanup_manifest_free_ _cleanup_(manifest_freep)

/* Parse LEN bytes of TOML. PATH is the name shown in error messages. */
int manifest_parse(const char *data, size_t len, const char *path, Manifest **ret, KpError *err);

/* Read and parse the file at PATH (at most MANIFEST_MAX_SIZE bytes). */
int manifest_parse_file(const char *path, Manifest **ret, KpError *err);

/* Replace the base image. Returns 0 or -ENOMEM. */
int manifest_set_base_image(Manifest *m, const char *base_image);

/* Replace the backend name. Returns 0 or -ENOMEM. */
int manifest_set_backend(Manifest *m, const char *backend);

/* Append a package name. Returns 0 or -ENOMEM. */
int manifest_add_package(Manifest *m, const char *package);

/* Set the mount LABEL to SPEC, replacing an entry with the same label.
 * Returns 0 or -ENOMEM. */
int manifest_set_mount(Manifest *m, const char *label, const char *spec);

/*
 * Serialize the whole manifest as TOML. Every section is written, also
 * when empty, in the order manifest_version, [base], [system], [gui],
 * [hardware], [mounts], [runtime], [runtime.resource_limits]. Absent limits
 * are left out. Comments of the source file are not kept. Returns 0 or
 * -ENOMEM (-ERANGE for a limit above INT64_MAX).
 */
int manifest_to_toml(const Manifest *m, char **ret, size_t *ret_len);

/* Write the serialized manifest to PATH atomically, as
 * kp_write_file_atomic_at() does. KP_ATOMIC_NO_REPLACE keeps an existing file. */
int manifest_write_file(const Manifest *m, const char *path, KpAtomicFlags flags, KpError *err);
