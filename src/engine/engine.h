/* SPDX-License-Identifier: MIT */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "basic/error.h"
#include "basic/hash.h"
#include "store/store-gc.h"
#include "store/store-metadata.h"
#include "store/store-verify.h"

/*
 * The engine: every lifecycle operation on environments, behind one API that
 * the CLI, the D-Bus service and the TUI all use. Functions return 0 or a
 * negative errno with the message in ERR; the error kind selects the
 * category prefix and the CLI exit code.
 */

typedef struct Engine Engine;

#define ENGINE_SHORT_ID_LEN 12

/* Prepare an engine for the store below STORE_ROOT. If the store exists and
 * its lock is free, roll back incomplete operations from the write-ahead log
 * and drop stale running markers. Creates nothing when the store does not
 * exist yet; operations that write create it on first use. */
int engine_open(const char *store_root, Engine **ret, KpError *err);
Engine *engine_free(Engine *e);
static inline void engine_freep(Engine **e) {
        if (*e)
                (void) engine_free(*e);
}
#define _cleanup_engine_free_ _cleanup_(engine_freep)

const char *engine_store_root(const Engine *e);

/* Ctrl-C: long operations check *FLAG between steps and stop early with
 * -ECANCELED when it becomes non-zero. */
void engine_set_cancel_flag(Engine *e, volatile sig_atomic_t *flag);

/* Progress lines of long operations ("resolving packages", ...). The
 * callback may be NULL. */
typedef void (*EngineProgressFunc)(const char *message, void *userdata);
void engine_set_progress(Engine *e, EngineProgressFunc func, void *userdata);

/* --- Environment references --- */

/* Resolve a full id, name, short id or unique prefix to a full env_id.
 * With PRETTY, the not-found and ambiguous errors list candidates and a
 * hint (the CLI's human mode). Errors: "no environment matching '<input>'"
 * (KP_ERROR_NOT_FOUND), "ambiguous env_id prefix '<input>': matches <n>
 * environments". */
int engine_resolve_ref(Engine *e, const char *input, bool pretty, char ret_env_id[KP_HASH_HEX_SIZE],
                       KpError *err);

/* --- Build --- */

typedef struct BuildOptions {
        const char *manifest_path;      /* default "karapace.toml" when NULL */
        const char *name;               /* set after the build when not NULL */
        bool locked;                    /* use karapace.lock, do not rewrite it */
        bool offline;                   /* no network at all */
        bool require_pinned_image;      /* base.image must be an http(s) URL */
} BuildOptions;

typedef struct BuildResult {
        char env_id[KP_HASH_HEX_SIZE];
        char short_id[ENGINE_SHORT_ID_LEN + 1];
        char *name;                     /* NULL when unnamed; free with build_result_done() */
} BuildResult;

void build_result_done(BuildResult *r);

int engine_build(Engine *e, const BuildOptions *opts, BuildResult *ret, KpError *err);

/* Build, then remove the environment the manifest's previous lock pointed
 * at if its id changed. A failed build keeps the old environment. */
int engine_rebuild(Engine *e, const BuildOptions *opts, BuildResult *ret, KpError *err);

/* --- Running --- */

/* Run ARGV (NULL-terminated, at least one element) in the environment with
 * stdin, stdout and stderr passed through. *RET_STATUS is the command's exit
 * code, or 128+N when it died from signal N. */
int engine_exec(Engine *e, const char *env_id, char *const *argv, int *ret_status, KpError *err);

/* Interactive session; ARGV NULL starts the user's shell. */
int engine_enter(Engine *e, const char *env_id, char *const *argv, int *ret_status, KpError *err);

/* SIGTERM the running session, SIGKILL after a grace period. */
int engine_stop(Engine *e, const char *env_id, KpError *err);

/* --- State and metadata --- */

int engine_destroy(Engine *e, const char *env_id, KpError *err);
int engine_freeze(Engine *e, const char *env_id, KpError *err);
int engine_archive(Engine *e, const char *env_id, KpError *err);
int engine_rename(Engine *e, const char *env_id, const char *new_name, KpError *err);

/* All environments sorted by env_id; free with env_metadata_array_free(). */
int engine_list(Engine *e, EnvMetadata **ret, size_t *ret_count, KpError *err);
int engine_inspect(Engine *e, const char *env_id, EnvMetadata **ret, KpError *err);

/* The base image name from the environment's manifest and the hostname
 * its sandbox gets ("karapace-<short id>"), for terminal integration.
 * Callers free both. */
int engine_describe(Engine *e, const char *env_id, char **ret_base_image, char **ret_hostname, KpError *err);

/* The overlay driver the environment's sandbox last mounted with
 * ("overlay" or "fuse-overlayfs"), or NULL when it never ran or its backend
 * mounts none. Caller frees. */
char *engine_overlay_driver(Engine *e, const char *env_id);

/* --- Snapshots --- */

typedef struct SnapshotInfo {
        char hash[KP_HASH_HEX_SIZE];            /* the layer's inner snapshot id */
        char parent[KP_HASH_HEX_SIZE];          /* the base layer it belongs to */
        char restore_hash[KP_HASH_HEX_SIZE];    /* the layer id to pass to restore */
        char tar_hash[KP_HASH_HEX_SIZE];        /* the content (tree) object key */
} SnapshotInfo;

/* Returns the new snapshot's layer id (the "restore hash"). */
int engine_commit(Engine *e, const char *env_id, char ret_layer_id[KP_HASH_HEX_SIZE], KpError *err);
int engine_restore(Engine *e, const char *env_id, const char *snapshot_layer_id, KpError *err);
/* Snapshots of the environment's current base layer, sorted by hash. */
int engine_snapshots(Engine *e, const char *env_id, SnapshotInfo **ret, size_t *ret_count, KpError *err);

typedef struct DiffReport {
        char **added;           /* NULL-terminated, sorted */
        size_t n_added;
        char **modified;
        size_t n_modified;
        char **removed;
        size_t n_removed;
} DiffReport;

void diff_report_done(DiffReport *r);
bool diff_report_has_drift(const DiffReport *r);
int engine_diff(Engine *e, const char *env_id, DiffReport *ret, KpError *err);

/* --- Store maintenance --- */

/* What GC found and removed: the store's report (orphaned_* lists, removed_*
 * counters, staging entries and stale temporary files). */
typedef GcReport GcSummary;

static inline void gc_summary_done(GcSummary *r) {
        gc_report_done(r);
}
int engine_gc(Engine *e, bool dry_run, GcSummary *ret, KpError *err);

/* Remove cached base images that no environment is built on (images are
 * kept otherwise, ready for the next build). Returns the cache keys removed,
 * or with DRY_RUN those that would be (NULL-terminated, sorted; free with
 * kp_strv_free()). */
int engine_gc_images(Engine *e, bool dry_run, char ***ret_keys, size_t *ret_count, KpError *err);

typedef struct VerifySummary {
        size_t objects_checked, objects_passed;
        size_t layers_checked, layers_passed;
        size_t metadata_checked, metadata_passed;
        VerifyFailure *failures;        /* {hash, reason}, see store/store-verify.h */
        size_t n_failures;
} VerifySummary;

void verify_summary_done(VerifySummary *r);
int engine_verify_store(Engine *e, VerifySummary *ret, KpError *err);

typedef enum MigrateStatus {
        MIGRATE_NO_STORE,
        MIGRATE_NO_VERSION_FILE,
        MIGRATE_CURRENT,
        MIGRATE_NEWER,
        MIGRATE_MIGRATED,
} MigrateStatus;

typedef struct MigrateSummary {
        MigrateStatus status;
        unsigned from_version;          /* found version */
        unsigned to_version;            /* supported version */
        size_t environments_updated;
        char *backup_path;              /* MIGRATE_MIGRATED only */
} MigrateSummary;

void migrate_summary_done(MigrateSummary *r);
/* A store that cannot be migrated (unreadable version file, I/O error) is an
 * error; the other outcomes are reported in RET->status. */
int engine_migrate(Engine *e, MigrateSummary *ret, KpError *err);

/* --- Manifests --- */

/* Names of the templates for "new": minimal, dev, gui-dev, rust-dev,
 * ubuntu-dev (NULL-terminated, static). */
const char *const *engine_template_names(void);

typedef struct NewManifestOptions {
        const char *path;               /* where to write, e.g. "./karapace.toml" */
        const char *template_name;      /* NULL: start from the default manifest */
        const char *base_image;         /* overrides the image when not NULL */
        char *const *extra_packages;    /* appended, NULL-terminated, may be NULL */
        const char *workspace_mount;    /* "<host>:<container>" stored under label "workspace", may be NULL */
        const char *backend;            /* overrides the backend when not NULL */
        int network_isolation;          /* -1 keep, 0 off, 1 on */
        bool force;                     /* replace an existing file */
} NewManifestOptions;

/* Write a new manifest. Without FORCE an existing file is kept and the call
 * fails with -EEXIST. The written manifest is parsed and normalized before
 * it replaces anything, so an invalid answer never produces a broken file. */
int engine_new_manifest(Engine *e, const NewManifestOptions *opts, KpError *err);

typedef struct PinResult {
        bool pinned;            /* --check: whether the image was already pinned */
        char *base_image;       /* the pinned URL */
} PinResult;

void pin_result_done(PinResult *r);
/* With CHECK only report whether base.image is pinned (an error when not).
 * Otherwise rewrite the manifest with the pinned image URL; with WRITE_LOCK
 * also build it so that karapace.lock is written. */
int engine_pin(Engine *e, const char *manifest_path, bool check, bool write_lock, PinResult *ret,
               KpError *err);

/* --- Diagnostics --- */

typedef enum DoctorStatus {
        DOCTOR_PASS,
        DOCTOR_FAIL,
        DOCTOR_WARN,
        DOCTOR_INFO,
} DoctorStatus;

typedef struct DoctorCheck {
        char *name;             /* e.g. "store_version" */
        DoctorStatus status;
        char *message;          /* one line; a fix when one is known */
} DoctorCheck;

typedef struct DoctorReport {
        DoctorCheck *checks;
        size_t n_checks;
        bool healthy;           /* no check failed */
} DoctorReport;

const char *doctor_status_to_string(DoctorStatus s);   /* "pass", "fail", "warn", "info" */
void doctor_report_done(DoctorReport *r);
/* Run the checks without changing anything on disk. */
int engine_doctor(Engine *e, DoctorReport *ret, KpError *err);
