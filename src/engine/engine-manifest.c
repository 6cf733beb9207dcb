/* SPDX-License-Identifier: MIT */
/* Writing manifests: new and pin. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/fs-util.h"
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
