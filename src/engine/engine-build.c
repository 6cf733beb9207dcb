/* SPDX-License-Identifier: MIT */
/* build and rebuild: manifest → resolution → lock → environment. */
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/fault.h"
#include "basic/fs-util.h"
#include "basic/log.h"
#include "basic/time-util.h"
#include "engine/engine-internal.h"
#include "schema/identity.h"
#include "schema/image-name.h"
#include "schema/manifest.h"
#include "schema/mount-policy.h"
#include "runtime/sandbox-store.h"
#include "store/tree.h"

typedef struct BuildContext {
        const BuildOptions *opts;
        const char *manifest_path;
        char *lock_path;
        NormalizedManifest *manifest;
        Lock *locked;                   /* the existing lock in --locked mode */
        Lock *lock;                     /* the new lock */
        const Backend *backend;
        char manifest_hash[KP_HASH_HEX_SIZE];
        char preliminary[KP_HASH_HEX_SIZE];     /* the id the resolution ran under */
} BuildContext;

static void build_context_done(BuildContext *c) {
        free(c->lock_path);
        normalized_manifest_free(c->manifest);
        lock_free(c->locked);
        lock_free(c->lock);
}

/* The directory a manifest's relative mount paths are taken from. */
static char *manifest_dir(const char *manifest_path) {
        _cleanup_free_ char *copy = strdup(manifest_path);
        _cleanup_free_ char *cwd = NULL;
        const char *dir;

        if (!copy)
                return NULL;
        dir = dirname(copy);
        if (dir[0] == '/')
                return strdup(dir);
        cwd = getcwd(NULL, 0);
        if (!cwd)
                return NULL;
        return kp_path_join(cwd, dir);
}

static int build_load_manifest(BuildContext *c, KpError *err) {
        _cleanup_manifest_free_ Manifest *raw = NULL;
        _cleanup_free_ char *base_dir = NULL;
        int r;

        r = manifest_parse_file(c->manifest_path, &raw, err);
        if (r < 0)
                return r;
        r = manifest_normalize(raw, &c->manifest, err);
        if (r < 0)
                return r;

        if (c->opts->offline && c->manifest->n_system_packages > 0)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, -ENONET,
                                         "runtime execution failed: offline mode: cannot resolve system packages");
        if (c->opts->require_pinned_image && !image_is_pinned(c->manifest->base_image))
                return kp_error_set_kind(err, KP_ERROR_MANIFEST, -EINVAL,
                                         "base.image is not pinned: '%s' (expected http(s)://...)",
                                         c->manifest->base_image);

        r = lock_path_for_manifest(c->manifest_path, &c->lock_path);
        if (r < 0)
                return kp_error_set(err, r, "out of memory");

        if (c->opts->locked) {
                r = lock_read(c->lock_path, &c->locked, err);
                if (r < 0)
                        return r;
                r = lock_verify_integrity(c->locked, err);
                if (r < 0)
                        return r;
                r = lock_verify_manifest_intent(c->locked, c->manifest, err);
                if (r < 0)
                        return r;
        }

        base_dir = manifest_dir(c->manifest_path);
        if (!base_dir)
                return kp_error_set(err, -ENOMEM, "out of memory");
        r = mount_policy_check_manifest(c->manifest, getenv("HOME"), base_dir, err);
        if (r < 0)
                return r;

        c->backend = backend_get_usable(c->manifest->runtime_backend, err);
        if (!c->backend)
                return -EOPNOTSUPP;
        return 0;
}

static int build_resolve(Engine *e, BuildContext *c, KpError *err) {
        _cleanup_(resolution_result_freep) ResolutionResult *resolution = NULL;
        _cleanup_free_ char *env_dir = NULL;
        char *preliminary = c->preliminary;
        int r;

        r = identity_preliminary_compute(c->manifest, preliminary);
        if (r < 0)
                return kp_error_set(err, r, "compute preliminary identity");
        env_dir = engine_env_dir(e, preliminary);
        if (!env_dir)
                return kp_error_set(err, -ENOMEM, "out of memory");

        BackendSpec spec = {
                .env_id = preliminary,
                .env_dir = env_dir,
                .store_root = e->root,
                .manifest = c->manifest,
                .offline = c->opts->offline,
                .locked = c->locked,
        };
        engine_report(e, "resolving %s with %zu package(s)", c->manifest->base_image,
                      c->manifest->n_system_packages);
        r = c->backend->resolve(&spec, &resolution, err);
        if (r < 0)
                return r;

        r = lock_create(c->manifest, resolution, &c->lock, err);
        if (r < 0)
                return r;

        if (c->locked && !streq(c->locked->env_id, c->lock->env_id))
                return kp_error_set_kind(err, KP_ERROR_LOCK, -EBADMSG,
                                         "lock file manifest drift: locked mode: lock env_id '%s' does not match resolved env_id '%s'",
                                         c->locked->env_id, c->lock->env_id);
        return 0;
}

static int store_manifest_object(Engine *e, BuildContext *c, KpError *err) {
        _cleanup_free_ char *json = NULL;
        size_t len = 0;
        int r;

        r = normalized_manifest_to_json(c->manifest, &json, &len);
        if (r < 0)
                return kp_error_set(err, r, "serialize manifest");
        return store_object_put_bytes(e->store, json, len, c->manifest_hash, err);
}

/* An environment with this id exists and is complete: nothing to build. */
static bool env_is_built(Engine *e, const char *env_id, const char *env_dir) {
        _cleanup_free_ char *upper = kp_path_join(env_dir, "upper");

        return upper && store_metadata_exists(e->store, env_id) && kp_is_dir_at(AT_FDCWD, upper);
}

static int reuse_existing(Engine *e, BuildContext *c, KpError *err) {
        _cleanup_env_metadata_free_ EnvMetadata *m = NULL;
        int r;

        r = store_metadata_get(e->store, c->lock->env_id, &m, err);
        if (r < 0)
                return r;
        /* Same locked state, same environment: keep its upper directory,
         * name and snapshots instead of re-packing user changes as a new
         * base (the original tool did that). Frozen and archived
         * environments come back to built, as a build always did. */
        if (m->state != ENV_STATE_BUILT && m->state != ENV_STATE_RUNNING) {
                r = store_metadata_update_state(e->store, c->lock->env_id, ENV_STATE_BUILT, err);
                if (r < 0)
                        return r;
        }
        engine_report(e, "environment %s is already built", m->short_id);
        return 0;
}

/* Build into a fresh directory next to the final one, pack it, then move it
 * into place. A failure leaves an existing environment untouched. */
static int build_new(Engine *e, BuildContext *c, const char *env_dir, KpError *err) {
        _cleanup_free_ char *staging = NULL, *upper = NULL, *op_id = NULL, *tree_cache = NULL;
        _cleanup_strv_free_ char **refs = NULL;
        char tree_key[KP_HASH_HEX_SIZE], layer_id[KP_HASH_HEX_SIZE], suffix[17];
        char now[KP_RFC3339_SIZE];
        size_t n_refs = 0;
        int r;

        kp_random_hex(suffix, 16);
        if (asprintf(&staging, "%s/.build-%s", e->env_root, suffix) < 0 ||
            !(upper = kp_path_join(staging, "upper")) || !(tree_cache = kp_path_join(staging, ".tree-cache")))
                return kp_error_set(err, -ENOMEM, "out of memory");

        r = store_wal_begin(e->store, WAL_OP_BUILD, c->lock->env_id, &op_id, err);
        if (r < 0)
                return r;
        r = store_wal_add_remove_dir(e->store, op_id, staging, err);
        if (r < 0)
                return r;
        r = kp_mkdir_p(staging, 0755);
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_STORE, r, "create '%s': %s", staging, strerror(-r));

        BackendSpec spec = {
                .env_id = c->lock->env_id,
                .env_dir = staging,
                .store_root = e->root,
                .manifest = c->manifest,
                .offline = c->opts->offline,
                .locked = c->locked,
                .resolve_id = c->preliminary,
        };
        engine_report(e, "building environment %s", c->lock->short_id);
        r = c->backend->build(&spec, err);
        if (r < 0)
                goto fail;

        if (engine_cancelled(e)) {
                r = kp_error_set(err, -ECANCELED, "build cancelled");
                goto fail;
        }

        engine_report(e, "storing environment %s", c->lock->short_id);
        r = sandbox_tree_pack_cached(e->store, AT_FDCWD, upper, tree_cache, tree_key, &refs, &n_refs, err);
        if (r < 0)
                goto fail;

        Layer layer = {
                .hash = tree_key,
                .kind = LAYER_KIND_BASE,
                .parent = NULL,
                .object_refs = refs,
                .n_object_refs = n_refs,
                .read_only = true,
                .tar_hash = tree_key,
        };
        r = store_layer_put(e->store, &layer, layer_id, err);
        if (r < 0)
                goto fail;

        /* Swap into place: a leftover directory without metadata (from an
         * interrupted destroy) is removed first. */
        r = engine_remove_tree(e, env_dir, err);
        if (r < 0)
                goto fail;
        r = store_wal_add_remove_dir(e->store, op_id, env_dir, err);
        if (r < 0)
                goto fail;
        kp_fault_point("build-before-rename-env");
        if (rename(staging, env_dir) < 0) {
                r = kp_error_set_kind(err, KP_ERROR_STORE, -errno, "move '%s' to '%s': %m", staging, env_dir);
                goto fail;
        }

        kp_rfc3339_now(now);
        EnvMetadata m = {
                .env_id = c->lock->env_id,
                .short_id = c->lock->short_id,
                .name = NULL,
                .state = ENV_STATE_BUILT,
                .manifest_hash = c->manifest_hash,
                .base_layer = layer_id,
                .dependency_layers = (char *[]) { NULL },
                .policy_layer = NULL,
                .created_at = now,
                .updated_at = now,
                .ref_count = 1,
        };
        kp_fault_point("build-before-metadata");
        r = store_metadata_put(e->store, &m, err);
        if (r < 0)
                goto fail;

        return store_wal_commit(e->store, op_id, err);

fail:
        /* Undo right away instead of waiting for the next recovery. */
        {
                _cleanup_error_ KpError undo_err = KP_ERROR_INIT;
                if (store_wal_recover(e->store, &undo_err) < 0)
                        log_warn("cannot roll back the failed build: %s", undo_err.message);
        }
        return r;
}

static int build_locked_part(Engine *e, BuildContext *c, BuildResult *ret, KpError *err) {
        _cleanup_free_ char *env_dir = NULL;
        int r;

        r = store_manifest_object(e, c, err);
        if (r < 0)
                return r;

        env_dir = engine_env_dir(e, c->lock->env_id);
        if (!env_dir)
                return kp_error_set(err, -ENOMEM, "out of memory");

        if (env_is_built(e, c->lock->env_id, env_dir))
                r = reuse_existing(e, c, err);
        else
                r = build_new(e, c, env_dir, err);
        if (r < 0)
                return r;

        if (c->opts->name) {
                r = store_metadata_set_name(e->store, c->lock->env_id, c->opts->name, err);
                if (r < 0)
                        return r;
        }

        if (!c->opts->locked) {
                r = lock_write(c->lock, c->lock_path, err);
                if (r < 0)
                        return r;
        }

        memcpy(ret->env_id, c->lock->env_id, KP_HASH_HEX_SIZE);
        identity_short_id(c->lock->env_id, ret->short_id);
        ret->name = c->opts->name ? strdup(c->opts->name) : NULL;
        return 0;
}

int engine_build(Engine *e, const BuildOptions *opts, BuildResult *ret, KpError *err) {
        _cleanup_(build_context_done) BuildContext c = {
                .opts = opts,
                .manifest_path = opts->manifest_path ? opts->manifest_path : MANIFEST_FILE_NAME,
        };
        int r;

        memset(ret, 0, sizeof(*ret));
        r = build_load_manifest(&c, err);
        if (r < 0)
                return r;

        /* The lock covers the whole build: GC must not see the objects of a
         * half-written environment as garbage. */
        r = engine_lock(e, err);
        if (r < 0)
                return r;
        r = build_resolve(e, &c, err);
        if (r >= 0)
                r = build_locked_part(e, &c, ret, err);
        engine_unlock(e);
        return r;
}

/* The environment the manifest's previous lock file points at, if any. */
static char *previous_env_id(Engine *e, const BuildOptions *opts) {
        _cleanup_free_ char *lock_path = NULL;
        _cleanup_error_ KpError ignored = KP_ERROR_INIT;
        Lock *lock = NULL;
        char *id = NULL;

        if (lock_path_for_manifest(opts->manifest_path ? opts->manifest_path : MANIFEST_FILE_NAME,
                                   &lock_path) < 0)
                return NULL;
        if (lock_read(lock_path, &lock, &ignored) < 0)
                return NULL;
        if (env_id_is_valid(lock->env_id) && store_metadata_exists(e->store, lock->env_id))
                id = strdup(lock->env_id);
        lock_free(lock);
        return id;
}

int engine_rebuild(Engine *e, const BuildOptions *opts, BuildResult *ret, KpError *err) {
        _cleanup_free_ char *old = previous_env_id(e, opts);
        int r;

        r = engine_build(e, opts, ret, err);
        if (r < 0)
                return r;

        if (old && !streq(old, ret->env_id)) {
                _cleanup_error_ KpError destroy_err = KP_ERROR_INIT;

                if (engine_destroy(e, old, &destroy_err) < 0)
                        log_warn("cannot remove the previous environment %.12s: %s", old, destroy_err.message);
        }
        return 0;
}
