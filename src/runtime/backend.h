/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "basic/error.h"
#include "schema/lock.h"
#include "schema/normalize.h"

/*
 * Runtime backends: what resolves, builds and runs an environment. The
 * engine picks one by the manifest's runtime.backend and calls it with a
 * spec; a backend keeps no state between calls.
 */

typedef struct BackendSpec {
        const char *env_id;             /* canonical id, or the preliminary one while resolving */
        const char *env_dir;            /* <store root>/env/<env_id> */
        const char *store_root;
        const NormalizedManifest *manifest;
        bool offline;
        const Lock *locked;             /* build --locked: install exactly these versions; else NULL */
        const char *resolve_id;         /* build: the id the resolution ran under, whose work the
                                         * backend may reuse; NULL when unknown */
} BackendSpec;

typedef struct Backend {
        const char *name;

        /* Why the backend cannot be used here, or NULL when it can. */
        const char *(*unavailable_reason)(void);

        /* Find the base image digest and the version of every package. */
        int (*resolve)(const BackendSpec *spec, ResolutionResult **ret, KpError *err);

        /* Create the environment's upper directory below spec->env_dir. */
        int (*build)(const BackendSpec *spec, KpError *err);

        /* Run ARGV with the caller's stdio; ARGV NULL means an interactive
         * shell. *RET_STATUS: exit code, or 128+N after signal N. */
        int (*run)(const BackendSpec *spec, char *const *argv, bool interactive, int *ret_status,
                   KpError *err);

        /* Remove what build created. */
        int (*destroy)(const BackendSpec *spec, KpError *err);
} Backend;

/* The backend named NAME, or NULL with "backend '<name>' is not available on
 * this system" in ERR (KP_ERROR_RUNTIME). A known backend that cannot run
 * here is returned too; check unavailable_reason(). */
const Backend *backend_find(const char *name, KpError *err);

/* Like backend_find(), and fails when the backend cannot run here. */
const Backend *backend_get_usable(const char *name, KpError *err);

extern const Backend backend_mock;
extern const Backend backend_namespace;
