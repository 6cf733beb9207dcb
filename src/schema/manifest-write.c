/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "basic/fs-util.h"
#include "schema/manifest.h"
#include "schema/toml-schema.h"

static int replace_string(char **field, const char *value) {
        char *copy;

        copy = strdup(value);
        if (!copy)
                return -ENOMEM;

        free(*field);
        *field = copy;
        return 0;
}

int manifest_set_base_image(Manifest *m, const char *base_image) {
        return replace_string(&m->base_image, base_image);
}

int manifest_set_backend(Manifest *m, const char *backend) {
        return replace_string(&m->runtime_backend, backend);
}

int manifest_add_package(Manifest *m, const char *package) {
        return kp_strv_push(&m->system_packages, &m->n_system_packages, strdup(package));
}

int manifest_set_mount(Manifest *m, const char *label, const char *spec) {
        _cleanup_free_ char *label_copy = NULL, *spec_copy = NULL;
        ManifestMount *grown;

        for (size_t i = 0; i < m->n_mounts; i++)
                if (streq(m->mounts[i].label, label))
                        return replace_string(&m->mounts[i].spec, spec);

        label_copy = strdup(label);
        spec_copy = strdup(spec);
        if (!label_copy || !spec_copy)
                return -ENOMEM;

        grown = realloc(m->mounts, (m->n_mounts + 1) * sizeof(ManifestMount));
        if (!grown)
                return -ENOMEM;
        m->mounts = grown;

        m->mounts[m->n_mounts++] = (ManifestMount) {
                .label = TAKE_PTR(label_copy),
                .spec = TAKE_PTR(spec_copy),
        };
        return 0;
}

static int build_base_sections(const Manifest *m, TomlValue *root) {
        TomlValue *table = NULL;
        int r;

        r = schema_table_set(root, "manifest_version", toml_integer_new(m->manifest_version));
        if (r < 0)
                return r;

        r = schema_table_add_table(root, "base", &table);
        if (r < 0)
                return r;

        r = schema_table_set_string(table, "image", m->base_image);
        if (r < 0)
                return r;

        r = schema_table_add_table(root, "system", &table);
        if (r < 0)
                return r;

        r = schema_table_set_strings(table, "packages", m->system_packages, m->n_system_packages);
        if (r < 0)
                return r;

        r = schema_table_add_table(root, "gui", &table);
        if (r < 0)
                return r;

        return schema_table_set_strings(table, "apps", m->gui_apps, m->n_gui_apps);
}

static int build_hardware_and_mounts(const Manifest *m, TomlValue *root) {
        TomlValue *table = NULL;
        int r;

        r = schema_table_add_table(root, "hardware", &table);
        if (r < 0)
                return r;

        r = schema_table_set_bool(table, "gpu", m->hardware_gpu);
        if (r < 0)
                return r;

        r = schema_table_set_bool(table, "audio", m->hardware_audio);
        if (r < 0)
                return r;

        /* Mounts keep the order of the source document. */
        r = schema_table_add_table(root, "mounts", &table);
        if (r < 0)
                return r;

        for (size_t i = 0; i < m->n_mounts; i++) {
                r = schema_table_set_string(table, m->mounts[i].label, m->mounts[i].spec);
                if (r < 0)
                        return r;
        }

        return 0;
}

static int build_runtime(const Manifest *m, TomlValue *root) {
        TomlValue *runtime = NULL, *limits = NULL;
        int r;

        r = schema_table_add_table(root, "runtime", &runtime);
        if (r < 0)
                return r;

        r = schema_table_set_string(runtime, "backend", m->runtime_backend ?: MANIFEST_DEFAULT_BACKEND);
        if (r < 0)
                return r;

        r = schema_table_set_bool(runtime, "network_isolation", m->network_isolation);
        if (r < 0)
                return r;

        r = schema_table_add_table(runtime, "resource_limits", &limits);
        if (r < 0)
                return r;

        if (m->limits.has_cpu_shares) {
                r = schema_table_set_unsigned(limits, "cpu_shares", m->limits.cpu_shares);
                if (r < 0)
                        return r;
        }

        if (m->limits.has_memory_limit_mb) {
                r = schema_table_set_unsigned(limits, "memory_limit_mb", m->limits.memory_limit_mb);
                if (r < 0)
                        return r;
        }

        return 0;
}

int manifest_to_toml(const Manifest *m, char **ret, size_t *ret_len) {
        _cleanup_schema_toml_ TomlValue *root = NULL;
        int r;

        root = toml_table_new();
        if (!root)
                return -ENOMEM;

        r = build_base_sections(m, root);
        if (r < 0)
                return r;

        r = build_hardware_and_mounts(m, root);
        if (r < 0)
                return r;

        r = build_runtime(m, root);
        if (r < 0)
                return r;

        return toml_write(root, ret, ret_len);
}

int manifest_write_file(const Manifest *m, const char *path, KpAtomicFlags flags, KpError *err) {
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r;

        r = manifest_to_toml(m, &text, &len);
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_MANIFEST, r, "failed to serialize manifest: %s",
                                         strerror(-r));

        r = kp_write_file_atomic_at(AT_FDCWD, path, text, len, 0644, flags);
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_MANIFEST, r, "failed to write manifest file: %s: %s",
                                         path, strerror(-r));

        return 0;
}
