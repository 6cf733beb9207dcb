/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/fs-util.h"
#include "basic/log.h"
#include "engine/engine-internal.h"
#include "runtime/userns.h"
#include "store/store-lock.h"

/* Recovery and GC remove trees that may hold files of subordinate ids. */
static int remove_tree_for_store(const char *path) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        int r;

        r = userns_remove_tree(path, &err);
        if (r < 0)
                log_debug("cannot remove '%s': %s", path, err.message);
        return r;
}

int engine_open(const char *root, Engine **ret, KpError *err) {
        _cleanup_engine_free_ Engine *e = NULL;
        _cleanup_free_ char *store_dir = NULL;
        int r;

        e = calloc(1, sizeof(Engine));
        if (!e)
                return kp_error_set(err, -ENOMEM, "out of memory");
        e->lock_fd = -1;

        r = store_open(root, &e->store, err);
        if (r < 0)
                return r;
        store_set_remove_tree(e->store, remove_tree_for_store);
        e->root = strdup(store_root(e->store));
        e->env_root = kp_path_join(store_root(e->store), "env");
        store_dir = kp_path_join(store_root(e->store), "store");
        if (!e->root || !e->env_root || !store_dir)
                return kp_error_set(err, -ENOMEM, "out of memory");

        /* Recovery runs only when no other process holds the lock, because
         * an operation in flight in another process owns its WAL entry. */
        if (kp_is_dir_at(AT_FDCWD, store_dir)) {
                _cleanup_error_ KpError lock_err = KP_ERROR_INIT;

                r = store_lock_try(e->store, &e->lock_fd, &lock_err);
                if (r < 0)
                        log_warn("cannot probe the store lock, skipping recovery: %s", lock_err.message);
                else if (r > 0) {
                        _cleanup_error_ KpError recover_err = KP_ERROR_INIT;

                        r = store_wal_recover(e->store, &recover_err);
                        if (r < 0)
                                log_warn("write-ahead log recovery failed: %s", recover_err.message);
                        else if (r > 0)
                                log_info("rolled back %d incomplete operation(s)", r);
                        engine_sessions_cleanup(e);
                        engine_unlock(e);
                }
        }

        *ret = TAKE_PTR(e);
        return 0;
}

Engine *engine_free(Engine *e) {
        if (!e)
                return NULL;
        if (e->lock_fd >= 0)
                (void) store_lock_release(e->lock_fd);
        store_free(e->store);
        free(e->root);
        free(e->env_root);
        free(e);
        return NULL;
}

const char *engine_store_root(const Engine *e) {
        return e->root;
}

void engine_set_cancel_flag(Engine *e, volatile sig_atomic_t *flag) {
        e->cancel = flag;
}

void engine_set_progress(Engine *e, EngineProgressFunc func, void *userdata) {
        e->progress = func;
        e->progress_data = userdata;
}

void engine_report(Engine *e, const char *fmt, ...) {
        char message[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(message, sizeof(message), fmt, ap);
        va_end(ap);

        if (e->progress)
                e->progress(message, e->progress_data);
        else
                log_info("%s", message);
}

bool engine_cancelled(const Engine *e) {
        return e->cancel && *e->cancel;
}

int engine_store_ready(Engine *e, KpError *err) {
        int r;

        if (e->store_ready)
                return 0;
        r = store_init(e->store, err);
        if (r < 0)
                return r;
        e->store_ready = true;
        return 0;
}

int engine_lock_only(Engine *e, KpError *err) {
        if (e->lock_fd >= 0)
                return kp_error_set_kind(err, KP_ERROR_STORE, -EDEADLK, "store lock: already held by this process");
        return store_lock_acquire(e->store, &e->lock_fd, err);
}

int engine_lock(Engine *e, KpError *err) {
        int r;

        r = engine_store_ready(e, err);
        if (r < 0)
                return r;
        return engine_lock_only(e, err);
}

void engine_unlock(Engine *e) {
        e->lock_fd = store_lock_release(e->lock_fd);
}

char *engine_env_dir(const Engine *e, const char *env_id) {
        return kp_path_join(e->env_root, env_id);
}

int engine_load_manifest(Engine *e, const EnvMetadata *m, NormalizedManifest **ret, KpError *err) {
        _cleanup_free_ char *json = NULL;
        size_t len = 0;
        int r;

        if (isempty(m->manifest_hash))
                return kp_error_set_kind(err, KP_ERROR_STORE, -ENOENT,
                                         "environment %s has no stored manifest", m->env_id);
        r = store_object_get(e->store, m->manifest_hash, &json, &len, err);
        if (r < 0)
                return kp_error_prefix(err, "load manifest of environment %s", m->short_id);
        return normalized_manifest_from_json(json, len, ret, err);
}

int engine_remove_tree(Engine *e, const char *path, KpError *err) {
        _cleanup_error_ KpError remove_err = KP_ERROR_INIT;
        int r;

        /* Files that a sandbox created under a subordinate id are removed
         * from inside the user namespace that owns them. */
        r = userns_remove_tree(path, &remove_err);
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_STORE, r, "%s",
                                         remove_err.message ? remove_err.message : strerror(-r));
        return 0;
}

void build_result_done(BuildResult *r) {
        free(r->name);
        r->name = NULL;
}
