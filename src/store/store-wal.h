/* SPDX-License-Identifier: MIT */
#pragma once

#include <errno.h>
#include <stddef.h>

#include "basic/error.h"
#include "store/store-metadata.h"
#include "store/store.h"

/*
 * Write-ahead log: one file store/wal/<op_id>.json per operation in flight,
 * listing the steps that undo what the operation did so far. A caller
 * registers each step before it performs the side effect the step undoes,
 * and commits (deletes the entry) when the operation is complete. After a
 * crash, store_wal_recover() runs the steps of each entry in reverse order.
 */

typedef enum WalOpKind {
        WAL_OP_BUILD,
        WAL_OP_REBUILD,
        WAL_OP_COMMIT,
        WAL_OP_RESTORE,
        WAL_OP_DESTROY,
        WAL_OP_GC,
        WAL_OP_ENTER,
        WAL_OP_EXEC,
        _WAL_OP_MAX,
        _WAL_OP_INVALID = -EINVAL,
} WalOpKind;

/* Serialized form: "Build", "Rebuild", "Commit", ... */
const char *wal_op_kind_to_string(WalOpKind k);
/* Display form: "build", "rebuild", "commit", ... */
const char *wal_op_kind_to_display(WalOpKind k);
WalOpKind wal_op_kind_from_string(const char *s);

typedef enum WalStepType {
        WAL_STEP_REMOVE_DIR,    /* undo: delete PATH recursively if it exists */
        WAL_STEP_REMOVE_FILE,   /* undo: delete the file PATH if it exists */
        WAL_STEP_RESET_STATE,   /* undo: set the state of ENV_ID to TARGET_STATE */
        WAL_STEP_RENAME_DIR,    /* undo: rename TO back to PATH if TO exists and PATH does not */
        _WAL_STEP_MAX,
        _WAL_STEP_INVALID = -EINVAL,
} WalStepType;

/* "RemoveDir", "RemoveFile", "ResetState", "RenameDir": the JSON keys. */
const char *wal_step_type_to_string(WalStepType t);

typedef struct WalStep {
        WalStepType type;
        char *path;             /* RemoveDir, RemoveFile; RenameDir: the source ("from") */
        char *to;               /* RenameDir: the destination */
        char *env_id;           /* ResetState */
        EnvState target_state;  /* ResetState; _ENV_STATE_INVALID for an unknown name (skipped) */
} WalStep;

typedef struct WalEntry {
        char *op_id;
        WalOpKind kind;
        char *env_id;           /* an environment id, or "gc" */
        char *timestamp;        /* RFC 3339 */
        WalStep *steps;
        size_t n_steps;
} WalEntry;

void wal_entry_done(WalEntry *e);
void wal_entries_free(WalEntry *a, size_t n);

/* Start an operation: write an entry without steps and return its op id
 * ("<UTC YYYYMMDDHHMMSSmmm>-<first 8 hex of blake3(env_id)>"). When an
 * entry with that id exists (two operations in the same millisecond) a
 * suffix "-2", "-3", ... keeps both. */
int store_wal_begin(Store *s, WalOpKind kind, const char *env_id, char **ret_op_id, KpError *err);

/* Append STEP to the entry and rewrite it atomically. */
int store_wal_add_rollback_step(Store *s, const char *op_id, const WalStep *step, KpError *err);

int store_wal_add_remove_dir(Store *s, const char *op_id, const char *path, KpError *err);
int store_wal_add_remove_file(Store *s, const char *op_id, const char *path, KpError *err);
int store_wal_add_reset_state(Store *s, const char *op_id, const char *env_id, EnvState state, KpError *err);
int store_wal_add_rename_dir(Store *s, const char *op_id, const char *from, const char *to, KpError *err);

/* Finish an operation: delete its entry and make the deletion durable. */
int store_wal_commit(Store *s, const char *op_id, KpError *err);

/* Read every "*.json" entry in wal/, sorted by timestamp (then op id).
 * Entries that cannot be read or parsed are deleted with a warning. */
int store_wal_list_incomplete(Store *s, WalEntry **ret, size_t *ret_count, KpError *err);

/* Roll back every incomplete entry: run its steps in reverse order, then
 * delete it. Step failures are logged and do not stop recovery. Returns
 * the number of entries rolled back. */
int store_wal_recover(Store *s, KpError *err);
