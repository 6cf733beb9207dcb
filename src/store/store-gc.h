/* SPDX-License-Identifier: MIT */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "basic/error.h"
#include "store/store.h"

/*
 * Garbage collection. An environment is an orphan when its ref_count is 0
 * and it is neither Running nor Archived. Layers named by the other (live)
 * environments are live, and so is every Snapshot layer whose parent chain
 * reaches a live layer. Objects named by live layers or as a live
 * environment's manifest are live. Everything else is removed, together
 * with entries in staging/ that no incomplete WAL entry names and stale
 * temporary files.
 *
 * GC removes nothing when it cannot prove something unreferenced: if a
 * metadata file or a layer manifest cannot be loaded, or a live
 * environment names a missing layer, store_gc() fails before deleting
 * anything.
 *
 * The caller must hold the store lock.
 */

typedef struct GcReport {
        bool dry_run;
        bool cancelled;                 /* stopped early because *cancel was set */

        char **orphaned_envs;           /* env ids, sorted */
        size_t n_orphaned_envs;
        char **orphaned_layers;         /* layer ids, sorted */
        size_t n_orphaned_layers;
        char **orphaned_objects;        /* object keys, sorted */
        size_t n_orphaned_objects;
        char **orphaned_staging;        /* names in staging/, sorted */
        size_t n_orphaned_staging;
        char **stale_tmpfiles;          /* paths relative to store/, e.g. "objects/.tmp-..." */
        size_t n_stale_tmpfiles;

        /* Deletion counters, all 0 in a dry run. */
        size_t removed_envs;
        size_t removed_layers;
        size_t removed_objects;
        size_t removed_staging;
        size_t removed_tmpfiles;
} GcReport;

void gc_report_done(GcReport *r);

/* Collect garbage. With DRY_RUN nothing is deleted, and the lists hold
 * exactly what a real run would delete. CANCEL (may be NULL) is checked
 * before each deletion; once it is non-zero GC stops and sets
 * ret->cancelled. Deletion goes in this order: environments (env/<id>,
 * then the metadata file), layers, objects, staging entries, temporary
 * files. On failure *RET still describes what was done; call
 * gc_report_done() in every case. */
int store_gc(Store *s, bool dry_run, const volatile sig_atomic_t *cancel, GcReport *ret, KpError *err);
