/* SPDX-License-Identifier: MIT */
#pragma once

#include "engine/engine.h"
#include "runtime/backend.h"
#include "schema/lock.h"
#include "schema/normalize.h"
#include "store/store-layer.h"
#include "store/store-metadata.h"
#include "store/store-wal.h"
#include "store/store.h"

struct Engine {
        char *root;                     /* store root (<root>) */
        char *env_root;                 /* <root>/env */
        Store *store;
        bool store_ready;               /* store_init() done */
        int lock_fd;                    /* held store lock, -1 when not held */
        volatile sig_atomic_t *cancel;
        EngineProgressFunc progress;
        void *progress_data;
};

/* Create the store layout on first write. */
int engine_store_ready(Engine *e, KpError *err);

/* Take the exclusive store lock (blocking) for a state change, creating the
 * store on first use. It is not reentrant: a second call before
 * engine_unlock() fails with -EDEADLK. */
int engine_lock(Engine *e, KpError *err);
void engine_unlock(Engine *e);

/* Take the store lock without creating or checking the store layout, for
 * migration of a store whose version check would fail. */
int engine_lock_only(Engine *e, KpError *err);

static inline void engine_unlockp(Engine **e) {
        if (*e)
                engine_unlock(*e);
}
#define _cleanup_engine_unlock_ _cleanup_(engine_unlockp)

void engine_report(Engine *e, const char *fmt, ...) _printf_(2, 3);
bool engine_cancelled(const Engine *e);

/* <root>/env/<env_id>; caller frees. */
char *engine_env_dir(const Engine *e, const char *env_id);

/* Load the environment's canonical manifest from its manifest object. */
int engine_load_manifest(Engine *e, const EnvMetadata *m, NormalizedManifest **ret, KpError *err);

/* Sessions: one marker per running exec/enter, named after the process id
 * and its start time, so a reused pid is never mistaken for a live session. */
int engine_session_begin(Engine *e, const char *env_id, char **ret_marker, KpError *err);
/* Remove the marker, and the sessions directory when it was the last one. */
void engine_session_end(Engine *e, const char *env_id, const char *marker);
/* Number of live sessions; stale markers are removed on the way. */
int engine_sessions_count(Engine *e, const char *env_id);
/* Send SIG to every live session of ENV_ID; returns how many were signalled. */
int engine_sessions_signal(Engine *e, const char *env_id, int sig);
/* The state as users see it: Running while a live session exists, the
 * stored state otherwise. */
EnvState engine_effective_state(Engine *e, const EnvMetadata *m);

/* Drop stale markers of every environment and reset environments left in
 * state Running without a live session. Needs the store lock. */
void engine_sessions_cleanup(Engine *e);

/* Remove a directory tree that may hold files owned by other ids. */
int engine_remove_tree(Engine *e, const char *path, KpError *err);
