/* SPDX-License-Identifier: MIT */
/* Running environments and changing their state. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "basic/fault.h"
#include "basic/fs-util.h"
#include "basic/log.h"
#include "engine/engine-internal.h"
#include "runtime/sandbox-protocol.h"

/* How long stop waits after SIGTERM before it sends SIGKILL, and after
 * SIGKILL before it gives up. */
#define STOP_GRACE_MS 5000
#define STOP_KILL_WAIT_MS 2000

/* The generic transition check of the original tool: anything may become
 * Built; Built may become Running, Frozen or Archived; Running may become
 * Frozen; Frozen may become Archived. */
static bool transition_allowed(EnvState from, EnvState to) {
        if (to == ENV_STATE_BUILT)
                return true;
        switch (from) {
        case ENV_STATE_BUILT:
                return to == ENV_STATE_RUNNING || to == ENV_STATE_FROZEN || to == ENV_STATE_ARCHIVED;
        case ENV_STATE_RUNNING:
                return to == ENV_STATE_FROZEN;
        case ENV_STATE_FROZEN:
                return to == ENV_STATE_ARCHIVED;
        case ENV_STATE_DEFINED:
        case ENV_STATE_ARCHIVED:
        case _ENV_STATE_MAX:
        case _ENV_STATE_INVALID:
                break;
        }
        return false;
}

static int transition_error(EnvState from, EnvState to, KpError *err) {
        return kp_error_set_kind(err, KP_ERROR_STATE, -EPERM, "invalid state transition: %s -> %s",
                                 env_state_to_display(from), env_state_to_display(to));
}

static int load(Engine *e, const char *env_id, EnvMetadata **ret, KpError *err) {
        if (!env_id_is_valid(env_id))
                return kp_error_set_kind(err, KP_ERROR_NOT_FOUND, -ENOENT, "environment not found: %s", env_id);
        return store_metadata_get(e->store, env_id, ret, err);
}

static int change_state(Engine *e, const char *env_id, EnvState to, KpError *err) {
        _cleanup_env_metadata_free_ EnvMetadata *m = NULL;
        int r;

        r = engine_lock(e, err);
        if (r < 0)
                return r;
        r = load(e, env_id, &m, err);
        if (r >= 0) {
                EnvState current = engine_effective_state(e, m);

                if (!transition_allowed(current, to))
                        r = transition_error(current, to, err);
        }
        if (r >= 0)
                r = store_metadata_update_state(e->store, env_id, to, err);
        engine_unlock(e);
        return r;
}

int engine_freeze(Engine *e, const char *env_id, KpError *err) {
        return change_state(e, env_id, ENV_STATE_FROZEN, err);
}

int engine_archive(Engine *e, const char *env_id, KpError *err) {
        return change_state(e, env_id, ENV_STATE_ARCHIVED, err);
}

int engine_rename(Engine *e, const char *env_id, const char *new_name, KpError *err) {
        _cleanup_env_metadata_free_ EnvMetadata *m = NULL;
        int r;

        r = engine_lock(e, err);
        if (r < 0)
                return r;
        r = load(e, env_id, &m, err);
        if (r >= 0)
                r = store_metadata_set_name(e->store, env_id, new_name, err);
        engine_unlock(e);
        return r;
}

int engine_list(Engine *e, EnvMetadata **ret, size_t *ret_count, KpError *err) {
        EnvMetadata *list = NULL;
        size_t n = 0;
        int r;

        r = store_metadata_list(e->store, &list, &n, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                list[i].state = engine_effective_state(e, &list[i]);
        *ret = list;
        *ret_count = n;
        return 0;
}

int engine_inspect(Engine *e, const char *env_id, EnvMetadata **ret, KpError *err) {
        int r;

        r = load(e, env_id, ret, err);
        if (r < 0)
                return r;
        (*ret)->state = engine_effective_state(e, *ret);
        return 0;
}

int engine_describe(Engine *e, const char *env_id, char **ret_base_image, char **ret_hostname, KpError *err) {
        _cleanup_env_metadata_free_ EnvMetadata *m = NULL;
        _cleanup_free_ char *hostname = NULL, *image = NULL;
        NormalizedManifest *manifest = NULL;
        int r;

        r = load(e, env_id, &m, err);
        if (r < 0)
                return r;
        r = engine_load_manifest(e, m, &manifest, err);
        if (r < 0)
                return r;
        image = strdup(manifest->base_image);
        normalized_manifest_free(manifest);
        if (!image || asprintf(&hostname, "karapace-%.12s", env_id) < 0)
                return kp_error_set(err, -ENOMEM, "out of memory");
        *ret_base_image = TAKE_PTR(image);
        *ret_hostname = TAKE_PTR(hostname);
        return 0;
}

char *engine_overlay_driver(Engine *e, const char *env_id) {
        _cleanup_free_ char *env_dir = NULL, *path = NULL;
        char *text = NULL;

        if (!env_id_is_valid(env_id) || !(env_dir = engine_env_dir(e, env_id)) ||
            !(path = kp_path_join(env_dir, SANDBOX_DRIVER_NAME)))
                return NULL;
        if (kp_read_file_at(AT_FDCWD, path, 64, &text, NULL) < 0)
                return NULL;
        text[strcspn(text, "\n")] = '\0';
        return text;
}

int engine_destroy(Engine *e, const char *env_id, KpError *err) {
        _cleanup_env_metadata_free_ EnvMetadata *m = NULL;
        _cleanup_free_ char *env_dir = NULL, *op_id = NULL, *meta_path = NULL;
        int r;

        r = engine_lock(e, err);
        if (r < 0)
                return r;

        r = load(e, env_id, &m, err);
        if (r < 0)
                goto out;
        if (engine_effective_state(e, m) == ENV_STATE_RUNNING) {
                r = kp_error_set_kind(err, KP_ERROR_STATE, -EBUSY,
                                      "invalid state transition: Running -> cannot destroy a running environment; stop it first");
                goto out;
        }

        env_dir = engine_env_dir(e, env_id);
        if (!env_dir || asprintf(&meta_path, "%s/store/metadata/%s", e->root, env_id) < 0) {
                r = kp_error_set(err, -ENOMEM, "out of memory");
                goto out;
        }

        /* A destroy interrupted by a crash is finished by recovery: its
         * "rollback" steps remove what is left. */
        r = store_wal_begin(e->store, WAL_OP_DESTROY, env_id, &op_id, err);
        if (r < 0)
                goto out;
        /* The metadata step comes first and both come before anything is
         * removed: a crash between the two registrations then leaves a
         * directory without metadata (removed by the next build of that
         * id), never metadata that points at a deleted directory. */
        if (m->ref_count <= 1) {
                r = store_wal_add_remove_file(e->store, op_id, meta_path, err);
                if (r < 0)
                        goto out;
        }
        r = store_wal_add_remove_dir(e->store, op_id, env_dir, err);
        if (r < 0)
                goto out;

        /* The backend is asked only when the manifest can be read: a damaged
         * manifest object must not make an environment impossible to remove. */
        {
                _cleanup_error_ KpError manifest_err = KP_ERROR_INIT;
                NormalizedManifest *manifest = NULL;

                if (engine_load_manifest(e, m, &manifest, &manifest_err) >= 0) {
                        const Backend *b = backend_find(manifest->runtime_backend, &manifest_err);
                        BackendSpec spec = {
                                .env_id = env_id, .env_dir = env_dir, .store_root = e->root,
                                .manifest = manifest,
                        };
                        if (b)
                                r = b->destroy(&spec, err);
                        normalized_manifest_free(manifest);
                        if (r < 0)
                                goto out;
                } else
                        log_warn("destroying %s without its backend: %s", m->short_id, manifest_err.message);
        }

        kp_fault_point("destroy-before-remove-dir");
        r = engine_remove_tree(e, env_dir, err);
        if (r < 0)
                goto out;

        r = store_metadata_ref_decrement(e->store, env_id, err);
        if (r < 0)
                goto out;
        if (m->ref_count <= 1) {
                r = store_metadata_remove(e->store, env_id, err);
                if (r < 0)
                        goto out;
        }
        r = store_wal_commit(e->store, op_id, err);

out:
        engine_unlock(e);
        return r;
}

static int run_session(Engine *e, const char *env_id, char *const *argv, bool interactive, int *ret_status,
                       KpError *err) {
        _cleanup_env_metadata_free_ EnvMetadata *m = NULL;
        _cleanup_free_ char *env_dir = NULL, *marker = NULL;
        NormalizedManifest *manifest = NULL;
        const Backend *b = NULL;
        int r;

        /* The lock covers only the check and the marker, so a destroy
         * cannot remove the environment in between. The session itself runs
         * without it, and other commands keep working meanwhile. */
        r = engine_lock(e, err);
        if (r < 0)
                return r;
        r = load(e, env_id, &m, err);
        if (r >= 0) {
                EnvState current = engine_effective_state(e, m);

                if (current != ENV_STATE_RUNNING && !transition_allowed(current, ENV_STATE_RUNNING))
                        r = transition_error(current, ENV_STATE_RUNNING, err);
        }
        if (r >= 0)
                r = engine_load_manifest(e, m, &manifest, err);
        if (r >= 0 && !(b = backend_get_usable(manifest->runtime_backend, err)))
                r = -EOPNOTSUPP;
        if (r >= 0)
                r = engine_session_begin(e, env_id, &marker, err);
        engine_unlock(e);
        if (r < 0) {
                normalized_manifest_free(manifest);
                return r;
        }

        kp_fault_point("session-started");
        env_dir = engine_env_dir(e, env_id);
        BackendSpec spec = {
                .env_id = env_id, .env_dir = env_dir, .store_root = e->root, .manifest = manifest,
        };
        r = b->run(&spec, argv, interactive, ret_status, err);
        normalized_manifest_free(manifest);

        engine_session_end(e, env_id, marker);
        return r;
}

int engine_exec(Engine *e, const char *env_id, char *const *argv, int *ret_status, KpError *err) {
        if (!argv || !argv[0])
                return kp_error_set_kind(err, KP_ERROR_USAGE, -EINVAL, "exec needs a command to run");
        return run_session(e, env_id, argv, false, ret_status, err);
}

int engine_enter(Engine *e, const char *env_id, char *const *argv, int *ret_status, KpError *err) {
        return run_session(e, env_id, argv, argv == NULL || argv[0] == NULL, ret_status, err);
}

static void sleep_ms(long ms) {
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
        nanosleep(&ts, NULL);
}

static bool wait_sessions_gone(Engine *e, const char *env_id, long timeout_ms) {
        for (long waited = 0; waited < timeout_ms; waited += 50) {
                if (engine_sessions_count(e, env_id) == 0)
                        return true;
                sleep_ms(50);
        }
        return engine_sessions_count(e, env_id) == 0;
}

int engine_stop(Engine *e, const char *env_id, KpError *err) {
        _cleanup_env_metadata_free_ EnvMetadata *m = NULL;
        int r;

        r = load(e, env_id, &m, err);
        if (r < 0)
                return r;
        if (engine_effective_state(e, m) != ENV_STATE_RUNNING)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, -ESRCH, "environment '%s' is not running", env_id);

        if (engine_sessions_signal(e, env_id, SIGTERM) > 0 && !wait_sessions_gone(e, env_id, STOP_GRACE_MS)) {
                (void) engine_sessions_signal(e, env_id, SIGKILL);
                if (!wait_sessions_gone(e, env_id, STOP_KILL_WAIT_MS))
                        return kp_error_set_kind(err, KP_ERROR_RUNTIME, -EBUSY,
                                                 "environment '%s' still has running sessions after SIGKILL", env_id);
        }

        return 0;
}
