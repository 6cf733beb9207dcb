/* SPDX-License-Identifier: MIT */
/* Writing manifests: new and pin. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/fs-util.h"
#include "basic/log.h"
#include "engine/engine-internal.h"
#include "runtime/image.h"
#include "schema/image-name.h"
#include "schema/manifest.h"
#include "schema/templates.h"

const char *const *engine_template_names(void) {
        return manifest_template_names();
}

static int apply_answers(Manifest *m, const NewManifestOptions *opts, KpError *err) {
        int r = 0;

        if (opts->base_image)
                r = manifest_set_base_image(m, opts->base_image);
        for (size_t i = 0; r >= 0 && opts->extra_packages && opts->extra_packages[i]; i++)
                r = manifest_add_package(m, opts->extra_packages[i]);
        if (r >= 0 && opts->workspace_mount)
                r = manifest_set_mount(m, "workspace", opts->workspace_mount);
        if (r >= 0 && opts->backend)
                r = manifest_set_backend(m, opts->backend);
        if (r < 0)
                return kp_error_set(err, r, "out of memory");
        if (opts->network_isolation >= 0)
                m->network_isolation = opts->network_isolation;
        return 0;
}

int engine_new_manifest(Engine *e, const NewManifestOptions *opts, KpError *err) {
        _cleanup_manifest_free_ Manifest *m = NULL;
        _cleanup_normalized_manifest_free_ NormalizedManifest *normalized = NULL;
        int r;

        if (opts->template_name)
                r = manifest_template_load(opts->template_name, &m, err);
        else {
                r = manifest_new("rolling", &m);
                if (r < 0)
                        r = kp_error_set(err, r, "out of memory");
        }
        if (r < 0)
                return r;

        r = apply_answers(m, opts, err);
        if (r < 0)
                return r;

        /* Validate before anything is written, so a bad answer (a mount
         * without ':') never produces a manifest that cannot be built. */
        r = manifest_normalize(m, &normalized, err);
        if (r < 0)
                return r;

        return manifest_write_file(m, opts->path, opts->force ? 0 : KP_ATOMIC_NO_REPLACE, err);
}

void pin_result_done(PinResult *r) {
        free(r->base_image);
        r->base_image = NULL;
}

int engine_pin(Engine *e, const char *manifest_path, bool check, bool write_lock, PinResult *ret, KpError *err) {
        _cleanup_manifest_free_ Manifest *m = NULL;
        _cleanup_free_ char *url = NULL;
        int r;

        memset(ret, 0, sizeof(*ret));
        if (!manifest_path)
                manifest_path = MANIFEST_FILE_NAME;

        r = manifest_parse_file(manifest_path, &m, err);
        if (r < 0)
                return r;

        ret->pinned = image_is_pinned(m->base_image);
        if (check) {
                if (!ret->pinned)
                        return kp_error_set_kind(err, KP_ERROR_GENERIC, -EINVAL,
                                                 "base.image is not pinned: '%s' (run 'karapace pin')", m->base_image);
                ret->base_image = strdup(m->base_image);
                return ret->base_image ? 0 : kp_error_set(err, -ENOMEM, "out of memory");
        }

        engine_report(e, "resolving the download URL of %s", m->base_image);
        r = image_resolve_url(m->base_image, &(ImageOptions) { .progress = e->progress,
                                                              .progress_data = e->progress_data },
                              &url, err);
        if (r < 0)
                return kp_error_prefix(err, "failed to resolve pinned image URL");

        r = manifest_set_base_image(m, url);
        if (r < 0)
                return kp_error_set(err, r, "out of memory");
        r = manifest_write_file(m, manifest_path, 0, err);
        if (r < 0)
                return r;
        ret->base_image = TAKE_PTR(url);
        if (!ret->base_image)
                return kp_error_set(err, -ENOMEM, "out of memory");

        if (write_lock) {
                BuildOptions opts = { .manifest_path = manifest_path };
                BuildResult result;

                r = engine_build(e, &opts, &result, err);
                build_result_done(&result);
                if (r < 0)
                        return r;
        }
        return 0;
}

int engine_gc(Engine *e, bool dry_run, GcSummary *ret, KpError *err) {
        _cleanup_free_ char *op_id = NULL;
        int r;

        memset(ret, 0, sizeof(*ret));
        r = engine_lock(e, err);
        if (r < 0)
                return r;
        if (!dry_run) {
                r = store_wal_begin(e->store, WAL_OP_GC, "gc", &op_id, err);
                if (r < 0)
                        goto out;
        }
        r = store_gc(e->store, dry_run, e->cancel, ret, err);
        if (op_id) {
                _cleanup_error_ KpError commit_err = KP_ERROR_INIT;
                if (store_wal_commit(e->store, op_id, &commit_err) < 0 && r >= 0)
                        r = kp_error_move(err, &commit_err);
        }
out:
        engine_unlock(e);
        return r;
}

/* The image cache key an environment's lower link points into
 * (<root>/images/<key>/rootfs), or NULL. */
static char *env_image_key(Engine *e, const char *env_name) {
        _cleanup_free_ char *link = NULL, *target = NULL;
        char *rootfs, *key;

        if (asprintf(&link, "%s/%s/lower", e->env_root, env_name) < 0)
                return NULL;
        target = realpath(link, NULL);
        if (!target)
                return NULL;
        rootfs = strrchr(target, '/');
        if (!rootfs || !streq(rootfs, "/rootfs"))
                return NULL;
        *rootfs = '\0';
        key = strrchr(target, '/');
        return key ? strdup(key + 1) : NULL;
}

int engine_gc_images(Engine *e, bool dry_run, char ***ret_keys, size_t *ret_count, KpError *err) {
        _cleanup_strv_free_ char **cached = NULL, **envs = NULL, **used = NULL, **removed = NULL;
        size_t n_cached = 0, n_envs = 0, n_used = 0, n_removed = 0;
        int r;

        r = engine_lock(e, err);
        if (r < 0)
                return r;

        r = image_cache_list(e->root, &cached, &n_cached, err);
        if (r >= 0 && kp_dir_list_at(AT_FDCWD, e->env_root, false, true, &envs, &n_envs) < 0)
                r = kp_error_set_kind(err, KP_ERROR_STORE, -errno, "list '%s': %m", e->env_root);
        for (size_t i = 0; r >= 0 && i < n_envs; i++) {
                char *key = env_image_key(e, envs[i]);
                if (key && kp_strv_push(&used, &n_used, key) < 0)
                        r = kp_error_set(err, -ENOMEM, "out of memory");
        }
        if (r >= 0 && !removed && !(removed = calloc(1, sizeof(char *))))
                r = kp_error_set(err, -ENOMEM, "out of memory");

        for (size_t i = 0; r >= 0 && i < n_cached; i++) {
                _cleanup_free_ char *dir = NULL, *lock = NULL;
                bool in_use = false;

                for (size_t j = 0; j < n_used && !in_use; j++)
                        in_use = streq(used[j], cached[i]);
                if (in_use)
                        continue;
                if (!dry_run) {
                        if (asprintf(&dir, "%s/images/%s", e->root, cached[i]) < 0 ||
                            asprintf(&lock, "%s/images/%s.lock", e->root, cached[i]) < 0) {
                                r = kp_error_set(err, -ENOMEM, "out of memory");
                                break;
                        }
                        r = engine_remove_tree(e, dir, err);
                        if (r < 0)
                                break;
                        (void) unlink(lock);
                }
                if (kp_strv_push(&removed, &n_removed, strdup(cached[i])) < 0)
                        r = kp_error_set(err, -ENOMEM, "out of memory");
        }
        engine_unlock(e);
        if (r < 0)
                return r;

        *ret_keys = TAKE_PTR(removed);
        *ret_count = n_removed;
        return 0;
}
