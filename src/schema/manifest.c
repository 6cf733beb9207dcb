/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "basic/fs-util.h"
#include "schema/manifest.h"
#include "schema/toml-schema.h"

#define MANIFEST_PARSE_PREFIX "failed to parse manifest"

int manifest_new(const char *base_image, Manifest **ret) {
        _cleanup_manifest_free_ Manifest *m = NULL;

        m = calloc(1, sizeof(Manifest));
        if (!m)
                return -ENOMEM;

        m->manifest_version = 1;
        m->base_image = strdup(base_image);
        m->runtime_backend = strdup(MANIFEST_DEFAULT_BACKEND);
        if (!m->base_image || !m->runtime_backend)
                return -ENOMEM;

        *ret = TAKE_PTR(m);
        return 0;
}

Manifest *manifest_free(Manifest *m) {
        if (!m)
                return NULL;

        free(m->base_image);
        kp_strv_free(m->system_packages);
        kp_strv_free(m->gui_apps);
        for (size_t i = 0; i < m->n_mounts; i++) {
                free(m->mounts[i].label);
                free(m->mounts[i].spec);
        }
        free(m->mounts);
        free(m->runtime_backend);
        free(m);
        return NULL;
}

static int parse_oom(const SchemaReader *s) {
        return kp_error_set_kind(s->err, s->kind, -ENOMEM, "%s: out of memory", s->prefix);
}

/* Look up an optional sub-table and reject keys outside VALID_KEYS. Returns
 * 1 with *RET set when the table is present. */
static int parse_table(const SchemaReader *s, const TomlValue *parent, const char *key, const char *name,
                       bool required, const char *const *valid_keys, const TomlValue **ret) {
        int r;

        r = schema_get(s, parent, key, name, TOML_TABLE, required, ret);
        if (r <= 0)
                return r;

        if (valid_keys) {
                r = schema_check_keys(s, *ret, name, valid_keys);
                if (r < 0)
                        return r;
        }

        return 1;
}

static int parse_version_and_base(const SchemaReader *s, const TomlValue *root, Manifest *m) {
        static const char *const base_keys[] = { "image", NULL };
        const TomlValue *base = NULL;
        uint64_t version = 0;
        int r;

        r = schema_get_unsigned(s, root, "manifest_version", "manifest_version", UINT32_MAX, true, &version);
        if (r < 0)
                return r;
        m->manifest_version = (uint32_t) version;

        r = schema_get(s, root, "base", "base", TOML_TABLE, false, &base);
        if (r < 0)
                return r;
        if (r == 0)
                return schema_error(s, 0, 0, "missing required table [base]");

        r = schema_check_keys(s, base, "base", base_keys);
        if (r < 0)
                return r;

        return schema_get_string(s, base, "image", "base.image", true, &m->base_image);
}

static int parse_lists_and_hardware(const SchemaReader *s, const TomlValue *root, Manifest *m) {
        static const char *const system_keys[] = { "packages", NULL };
        static const char *const gui_keys[] = { "apps", NULL };
        static const char *const hardware_keys[] = { "gpu", "audio", NULL };
        const TomlValue *table = NULL;
        int r;

        r = parse_table(s, root, "system", "system", false, system_keys, &table);
        if (r < 0)
                return r;
        if (r > 0) {
                r = schema_get_string_array(s, table, "packages", "system.packages", false,
                                            &m->system_packages, &m->n_system_packages);
                if (r < 0)
                        return r;
        }

        r = parse_table(s, root, "gui", "gui", false, gui_keys, &table);
        if (r < 0)
                return r;
        if (r > 0) {
                r = schema_get_string_array(s, table, "apps", "gui.apps", false, &m->gui_apps, &m->n_gui_apps);
                if (r < 0)
                        return r;
        }

        r = parse_table(s, root, "hardware", "hardware", false, hardware_keys, &table);
        if (r <= 0)
                return r;

        r = schema_get_bool(s, table, "gpu", "hardware.gpu", false, &m->hardware_gpu);
        if (r < 0)
                return r;

        return schema_get_bool(s, table, "audio", "hardware.audio", false, &m->hardware_audio);
}

static int parse_mounts(const SchemaReader *s, const TomlValue *root, Manifest *m) {
        const TomlValue *table = NULL;
        size_t n;
        int r;

        /* Labels are free-form, so no key check here. */
        r = parse_table(s, root, "mounts", "mounts", false, NULL, &table);
        if (r <= 0)
                return r;

        n = toml_table_size(table);
        if (n == 0)
                return 0;

        m->mounts = calloc(n, sizeof(ManifestMount));
        if (!m->mounts)
                return parse_oom(s);

        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *name = NULL;
                ManifestMount *mount = &m->mounts[i];

                mount->label = strdup(toml_table_key(table, i));
                if (!mount->label || asprintf(&name, "mounts.%s", mount->label) < 0)
                        return parse_oom(s);
                m->n_mounts++;

                r = schema_string_copy(s, toml_table_value(table, i), name, &mount->spec);
                if (r < 0)
                        return r;
        }

        return 0;
}

static int parse_resource_limits(const SchemaReader *s, const TomlValue *runtime, Manifest *m) {
        static const char *const limit_keys[] = { "cpu_shares", "memory_limit_mb", NULL };
        const TomlValue *table = NULL;
        int r;

        r = parse_table(s, runtime, "resource_limits", "runtime.resource_limits", false, limit_keys, &table);
        if (r <= 0)
                return r;

        r = schema_get_unsigned(s, table, "cpu_shares", "runtime.resource_limits.cpu_shares", UINT64_MAX,
                                false, &m->limits.cpu_shares);
        if (r < 0)
                return r;
        m->limits.has_cpu_shares = r > 0;

        r = schema_get_unsigned(s, table, "memory_limit_mb", "runtime.resource_limits.memory_limit_mb",
                                UINT64_MAX, false, &m->limits.memory_limit_mb);
        if (r < 0)
                return r;
        m->limits.has_memory_limit_mb = r > 0;

        return 0;
}

static int parse_runtime(const SchemaReader *s, const TomlValue *root, Manifest *m) {
        static const char *const runtime_keys[] = { "backend", "network_isolation", "resource_limits", NULL };
        const TomlValue *table = NULL;
        int r;

        r = parse_table(s, root, "runtime", "runtime", false, runtime_keys, &table);
        if (r < 0)
                return r;
        if (r > 0) {
                r = schema_get_string(s, table, "backend", "runtime.backend", false, &m->runtime_backend);
                if (r < 0)
                        return r;

                r = schema_get_bool(s, table, "network_isolation", "runtime.network_isolation", false,
                                    &m->network_isolation);
                if (r < 0)
                        return r;

                r = parse_resource_limits(s, table, m);
                if (r < 0)
                        return r;
        }

        if (!m->runtime_backend) {
                m->runtime_backend = strdup(MANIFEST_DEFAULT_BACKEND);
                if (!m->runtime_backend)
                        return parse_oom(s);
        }

        return 0;
}

static int manifest_from_toml(const SchemaReader *s, const TomlValue *root, Manifest **ret) {
        static const char *const root_keys[] = {
                "manifest_version", "base", "system", "gui", "hardware", "mounts", "runtime", NULL,
        };
        _cleanup_manifest_free_ Manifest *m = NULL;
        int r;

        r = schema_check_keys(s, root, NULL, root_keys);
        if (r < 0)
                return r;

        m = calloc(1, sizeof(Manifest));
        if (!m)
                return parse_oom(s);

        r = parse_version_and_base(s, root, m);
        if (r < 0)
                return r;

        r = parse_lists_and_hardware(s, root, m);
        if (r < 0)
                return r;

        r = parse_mounts(s, root, m);
        if (r < 0)
                return r;

        r = parse_runtime(s, root, m);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(m);
        return 0;
}

int manifest_parse(const char *data, size_t len, const char *path, Manifest **ret, KpError *err) {
        const SchemaReader s = {
                .path = path,
                .prefix = MANIFEST_PARSE_PREFIX,
                .kind = KP_ERROR_MANIFEST,
                .err = err,
        };
        _cleanup_schema_toml_ TomlValue *root = NULL;
        TomlParseError parse_error = {};
        int r;

        if (len > MANIFEST_MAX_SIZE)
                return schema_error(&s, 0, 0, "manifest is larger than the limit of %d bytes", MANIFEST_MAX_SIZE);

        r = toml_parse(data, len, &root, &parse_error);
        if (r == -ENOMEM)
                return parse_oom(&s);
        if (r < 0)
                return schema_error(&s, parse_error.line, parse_error.column, "%s", parse_error.message);

        return manifest_from_toml(&s, root, ret);
}

int manifest_parse_file(const char *path, Manifest **ret, KpError *err) {
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        int r;

        r = kp_read_file_at(AT_FDCWD, path, MANIFEST_MAX_SIZE, &data, &len);
        if (r == -EFBIG)
                return kp_error_set_kind(err, KP_ERROR_MANIFEST, r,
                                         "failed to read manifest file: %s: file is larger than the limit of %d bytes",
                                         path, MANIFEST_MAX_SIZE);
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_MANIFEST, r, "failed to read manifest file: %s: %s", path,
                                         strerror(-r));

        return manifest_parse(data, len, path, ret, err);
}
