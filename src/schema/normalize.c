/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "basic/fs-util.h"
#include "basic/json-util.h"
#include "schema/normalize.h"
#include "schema/schema-util.h"

static void mount_spec_clear(MountSpec *m) {
        free(m->label);
        free(m->host_path);
        free(m->container_path);
}

NormalizedManifest *normalized_manifest_free(NormalizedManifest *m) {
        if (!m)
                return NULL;

        free(m->base_image);
        kp_strv_free(m->system_packages);
        kp_strv_free(m->gui_apps);
        for (size_t i = 0; i < m->n_mounts; i++)
                mount_spec_clear(&m->mounts[i]);
        free(m->mounts);
        free(m->runtime_backend);
        free(m);
        return NULL;
}

static int normalize_oom(KpError *err) {
        return kp_error_set_kind(err, KP_ERROR_MANIFEST, -ENOMEM, "failed to normalize manifest: out of memory");
}

/* Trim each entry, drop the empty ones, sort in byte order, drop duplicates. */
static int normalize_list(char *const *in, size_t n_in, char ***ret, size_t *ret_count) {
        _cleanup_strv_free_ char **out = NULL;
        size_t n = 0;
        int r;

        for (size_t i = 0; i < n_in; i++) {
                char *trimmed = schema_strdup_trimmed(in[i]);

                if (trimmed && trimmed[0] == '\0') {
                        free(trimmed);
                        continue;
                }

                r = kp_strv_push(&out, &n, trimmed);
                if (r < 0)
                        return r;
        }

        schema_strv_sort_unique(out, &n);
        *ret = TAKE_PTR(out);
        *ret_count = n;
        return 0;
}

/* Split SPEC at the first ':' into trimmed host and container paths. */
static int mount_normalize(const ManifestMount *in, MountSpec *out, KpError *err) {
        _cleanup_free_ char *host = NULL;
        const char *colon;

        out->label = schema_strdup_trimmed(in->label);
        if (!out->label)
                return normalize_oom(err);
        if (out->label[0] == '\0')
                return kp_error_set_kind(err, KP_ERROR_MANIFEST, -EINVAL, "mount label must not be empty");

        colon = strchr(in->spec, ':');
        if (colon) {
                host = strndup(in->spec, (size_t) (colon - in->spec));
                if (!host)
                        return normalize_oom(err);

                out->host_path = schema_strdup_trimmed(host);
                out->container_path = schema_strdup_trimmed(colon + 1);
                if (!out->host_path || !out->container_path)
                        return normalize_oom(err);
        }

        if (!colon || out->host_path[0] == '\0' || out->container_path[0] == '\0')
                return kp_error_set_kind(err, KP_ERROR_MANIFEST, -EINVAL,
                                         "invalid mount declaration for '%s': '%s', expected '<host>:<container>'",
                                         in->label, in->spec);

        return 0;
}

static int mount_compare(const void *a, const void *b) {
        return strcmp(((const MountSpec *) a)->label, ((const MountSpec *) b)->label);
}

static int normalize_mounts(const Manifest *m, NormalizedManifest *n, KpError *err) {
        int r;

        if (m->n_mounts == 0)
                return 0;

        n->mounts = calloc(m->n_mounts, sizeof(MountSpec));
        if (!n->mounts)
                return normalize_oom(err);

        for (size_t i = 0; i < m->n_mounts; i++) {
                n->n_mounts++;
                r = mount_normalize(&m->mounts[i], &n->mounts[i], err);
                if (r < 0)
                        return r;
        }

        qsort(n->mounts, n->n_mounts, sizeof(MountSpec), mount_compare);

        /* TOML rejects duplicate keys, but " data" and "data" are different
         * keys that become the same label after trimming. */
        for (size_t i = 1; i < n->n_mounts; i++)
                if (streq(n->mounts[i - 1].label, n->mounts[i].label))
                        return kp_error_set_kind(err, KP_ERROR_MANIFEST, -EINVAL,
                                                 "duplicate mount label '%s': labels must differ after trimming whitespace",
                                                 n->mounts[i].label);

        return 0;
}

static int normalize_image_and_lists(const Manifest *m, NormalizedManifest *n, KpError *err) {
        int r;

        if (m->manifest_version != 1)
                return kp_error_set_kind(err, KP_ERROR_MANIFEST, -EINVAL,
                                         "unsupported manifest_version: %u, expected 1", m->manifest_version);
        n->manifest_version = m->manifest_version;

        n->base_image = schema_strdup_trimmed(m->base_image);
        if (!n->base_image)
                return normalize_oom(err);
        if (n->base_image[0] == '\0')
                return kp_error_set_kind(err, KP_ERROR_MANIFEST, -EINVAL, "base.image must not be empty");

        r = normalize_list(m->system_packages, m->n_system_packages, &n->system_packages, &n->n_system_packages);
        if (r < 0)
                return normalize_oom(err);

        r = normalize_list(m->gui_apps, m->n_gui_apps, &n->gui_apps, &n->n_gui_apps);
        if (r < 0)
                return normalize_oom(err);

        return 0;
}

int manifest_normalize(const Manifest *m, NormalizedManifest **ret, KpError *err) {
        _cleanup_normalized_manifest_free_ NormalizedManifest *n = NULL;
        int r;

        n = calloc(1, sizeof(NormalizedManifest));
        if (!n)
                return normalize_oom(err);

        r = normalize_image_and_lists(m, n, err);
        if (r < 0)
                return r;

        n->hardware_gpu = m->hardware_gpu;
        n->hardware_audio = m->hardware_audio;

        r = normalize_mounts(m, n, err);
        if (r < 0)
                return r;

        /* NOTE: only ASCII letters are lowercased. The original tool
         * lowercases all of Unicode, which differs only for non-ASCII
         * backend names, and no backend has one. */
        n->runtime_backend = schema_strdup_trimmed(m->runtime_backend ?: MANIFEST_DEFAULT_BACKEND);
        if (!n->runtime_backend)
                return normalize_oom(err);
        schema_ascii_lowercase(n->runtime_backend);

        n->network_isolation = m->network_isolation;
        n->limits = m->limits;

        *ret = TAKE_PTR(n);
        return 0;
}
