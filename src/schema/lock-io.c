/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/fs-util.h"
#include "schema/lock.h"
#include "schema/toml-schema.h"

/* Reading and writing karapace.lock. */

static int lock_oom(const SchemaReader *s) {
        return kp_error_set_kind(s->err, s->kind, -ENOMEM, "%s: out of memory", s->prefix);
}

static int read_version(const SchemaReader *s, const TomlValue *root, Lock *lock) {
        const TomlValue *v = NULL;
        int r;

        r = schema_get(s, root, "lock_version", "lock_version", TOML_INTEGER, true, &v);
        if (r < 0)
                return r;

        /* The original tool never checked this, so a lock of another format
         * version would be misread field by field. */
        lock->lock_version = toml_value_integer(v);
        if (lock->lock_version != LOCK_VERSION)
                return schema_error(s, toml_value_line(v), toml_value_column(v),
                                    "unsupported lock_version: %" PRId64 ", expected %d", lock->lock_version,
                                    LOCK_VERSION);

        return 0;
}

/* Check that element I of the array NAME is a table and return it. */
static int read_element_table(const SchemaReader *s, const TomlValue *array, size_t i, const char *name,
                              const TomlValue **ret) {
        const TomlValue *element = toml_array_get(array, i);

        if (toml_value_type(element) != TOML_TABLE)
                return schema_error(s, toml_value_line(element), toml_value_column(element),
                                    "'%s[%zu]' must be a table, found %s", name, i,
                                    toml_type_to_string(toml_value_type(element)));

        *ret = element;
        return 0;
}

/* Read the string KEY of the table at NAME[I]. */
static int read_element_string(const SchemaReader *s, const TomlValue *table, const char *name, size_t i,
                               const char *key, char **ret) {
        _cleanup_free_ char *full_name = NULL;

        if (asprintf(&full_name, "%s[%zu].%s", name, i, key) < 0)
                return lock_oom(s);

        return schema_get_string(s, table, key, full_name, true, ret);
}

static int read_packages(const SchemaReader *s, const TomlValue *root, Lock *lock) {
        const TomlValue *array = NULL;
        size_t n;
        int r;

        r = schema_get(s, root, "resolved_packages", "resolved_packages", TOML_ARRAY, true, &array);
        if (r < 0)
                return r;

        n = toml_array_size(array);
        if (n == 0)
                return 0;

        lock->packages = calloc(n, sizeof(LockedPackage));
        if (!lock->packages)
                return lock_oom(s);

        for (size_t i = 0; i < n; i++) {
                LockedPackage *p = &lock->packages[lock->n_packages++];
                const TomlValue *table = NULL;

                r = read_element_table(s, array, i, "resolved_packages", &table);
                if (r < 0)
                        return r;

                r = read_element_string(s, table, "resolved_packages", i, "name", &p->name);
                if (r < 0)
                        return r;

                r = read_element_string(s, table, "resolved_packages", i, "version", &p->version);
                if (r < 0)
                        return r;
        }

        return 0;
}

static int read_mounts(const SchemaReader *s, const TomlValue *root, Lock *lock) {
        const TomlValue *array = NULL;
        size_t n;
        int r;

        r = schema_get(s, root, "mounts", "mounts", TOML_ARRAY, false, &array);
        if (r <= 0)
                return r;

        n = toml_array_size(array);
        if (n == 0)
                return 0;

        lock->mounts = calloc(n, sizeof(MountSpec));
        if (!lock->mounts)
                return lock_oom(s);

        for (size_t i = 0; i < n; i++) {
                MountSpec *mount = &lock->mounts[lock->n_mounts++];
                const TomlValue *table = NULL;

                r = read_element_table(s, array, i, "mounts", &table);
                if (r < 0)
                        return r;

                r = read_element_string(s, table, "mounts", i, "label", &mount->label);
                if (r < 0)
                        return r;

                r = read_element_string(s, table, "mounts", i, "host_path", &mount->host_path);
                if (r < 0)
                        return r;

                r = read_element_string(s, table, "mounts", i, "container_path", &mount->container_path);
                if (r < 0)
                        return r;
        }

        return 0;
}

static int read_identity_and_image(const SchemaReader *s, const TomlValue *root, Lock *lock) {
        int r;

        r = schema_get_string(s, root, "env_id", "env_id", true, &lock->env_id);
        if (r < 0)
                return r;

        r = schema_get_string(s, root, "short_id", "short_id", true, &lock->short_id);
        if (r < 0)
                return r;

        r = schema_get_string(s, root, "base_image", "base_image", true, &lock->base_image);
        if (r < 0)
                return r;

        return schema_get_string(s, root, "base_image_digest", "base_image_digest", true,
                                 &lock->base_image_digest);
}

static int read_flags_and_limits(const SchemaReader *s, const TomlValue *root, Lock *lock) {
        int r;

        r = schema_get_bool(s, root, "hardware_gpu", "hardware_gpu", true, &lock->hardware_gpu);
        if (r < 0)
                return r;

        r = schema_get_bool(s, root, "hardware_audio", "hardware_audio", true, &lock->hardware_audio);
        if (r < 0)
                return r;

        r = schema_get_bool(s, root, "network_isolation", "network_isolation", true, &lock->network_isolation);
        if (r < 0)
                return r;

        r = schema_get_unsigned(s, root, "cpu_shares", "cpu_shares", UINT64_MAX, false, &lock->limits.cpu_shares);
        if (r < 0)
                return r;
        lock->limits.has_cpu_shares = r > 0;

        r = schema_get_unsigned(s, root, "memory_limit_mb", "memory_limit_mb", UINT64_MAX, false,
                                &lock->limits.memory_limit_mb);
        if (r < 0)
                return r;
        lock->limits.has_memory_limit_mb = r > 0;

        return 0;
}

static int lock_from_toml(const SchemaReader *s, const TomlValue *root, Lock *lock) {
        int r;

        r = read_version(s, root, lock);
        if (r < 0)
                return r;

        r = read_identity_and_image(s, root, lock);
        if (r < 0)
                return r;

        r = read_packages(s, root, lock);
        if (r < 0)
                return r;

        r = schema_get_string_array(s, root, "resolved_apps", "resolved_apps", true, &lock->apps, &lock->n_apps);
        if (r < 0)
                return r;

        r = schema_get_string(s, root, "runtime_backend", "runtime_backend", true, &lock->runtime_backend);
        if (r < 0)
                return r;

        r = read_flags_and_limits(s, root, lock);
        if (r < 0)
                return r;

        return read_mounts(s, root, lock);
}

int lock_parse(const char *data, size_t len, const char *path, Lock **ret, KpError *err) {
        const SchemaReader s = {
                .path = path,
                .prefix = "lock file parse error",
                .kind = KP_ERROR_LOCK,
                .err = err,
        };
        _cleanup_schema_toml_ TomlValue *root = NULL;
        _cleanup_lock_free_ Lock *lock = NULL;
        TomlParseError parse_error = {};
        int r;

        if (len > LOCK_MAX_SIZE)
                return schema_error(&s, 0, 0, "lock file is larger than the limit of %d bytes", LOCK_MAX_SIZE);

        r = toml_parse(data, len, &root, &parse_error);
        if (r == -ENOMEM)
                return lock_oom(&s);
        if (r < 0)
                return schema_error(&s, parse_error.line, parse_error.column, "%s", parse_error.message);

        lock = calloc(1, sizeof(Lock));
        if (!lock)
                return lock_oom(&s);

        r = lock_from_toml(&s, root, lock);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(lock);
        return 0;
}

int lock_read(const char *path, Lock **ret, KpError *err) {
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        int r;

        r = kp_read_file_at(AT_FDCWD, path, LOCK_MAX_SIZE, &data, &len);
        if (r == -EFBIG)
                return kp_error_set_kind(err, KP_ERROR_LOCK, r,
                                         "lock file I/O error: %s: file is larger than the limit of %d bytes", path,
                                         LOCK_MAX_SIZE);
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_LOCK, r, "lock file I/O error: %s: %s", path, strerror(-r));

        return lock_parse(data, len, path, ret, err);
}

static int append_table(TomlValue *array, TomlValue **ret) {
        TomlValue *table;
        int r;

        table = toml_table_new();
        if (!table)
                return -ENOMEM;

        r = toml_array_append(array, table);
        if (r < 0)
                return r;

        *ret = table;
        return 0;
}

static int build_packages(const Lock *lock, TomlValue *root) {
        _cleanup_schema_toml_ TomlValue *array = NULL;
        int r;

        array = toml_array_new();
        if (!array)
                return -ENOMEM;

        for (size_t i = 0; i < lock->n_packages; i++) {
                TomlValue *table = NULL;

                r = append_table(array, &table);
                if (r < 0)
                        return r;

                r = schema_table_set_string(table, "name", lock->packages[i].name);
                if (r < 0)
                        return r;

                r = schema_table_set_string(table, "version", lock->packages[i].version);
                if (r < 0)
                        return r;
        }

        return toml_table_set(root, "resolved_packages", TAKE_PTR(array));
}

static int build_mounts(const Lock *lock, TomlValue *root) {
        _cleanup_schema_toml_ TomlValue *array = NULL;
        int r;

        array = toml_array_new();
        if (!array)
                return -ENOMEM;

        for (size_t i = 0; i < lock->n_mounts; i++) {
                const MountSpec *mount = &lock->mounts[i];
                TomlValue *table = NULL;

                r = append_table(array, &table);
                if (r < 0)
                        return r;

                r = schema_table_set_string(table, "label", mount->label);
                if (r < 0)
                        return r;

                r = schema_table_set_string(table, "host_path", mount->host_path);
                if (r < 0)
                        return r;

                r = schema_table_set_string(table, "container_path", mount->container_path);
                if (r < 0)
                        return r;
        }

        return toml_table_set(root, "mounts", TAKE_PTR(array));
}

static int build_head(const Lock *lock, TomlValue *root) {
        int r;

        r = schema_table_set(root, "lock_version", toml_integer_new(lock->lock_version));
        if (r < 0)
                return r;

        r = schema_table_set_string(root, "env_id", lock->env_id);
        if (r < 0)
                return r;

        r = schema_table_set_string(root, "short_id", lock->short_id);
        if (r < 0)
                return r;

        r = schema_table_set_string(root, "base_image", lock->base_image);
        if (r < 0)
                return r;

        return schema_table_set_string(root, "base_image_digest", lock->base_image_digest);
}

static int build_flags(const Lock *lock, TomlValue *root) {
        int r;

        r = schema_table_set_strings(root, "resolved_apps", lock->apps, lock->n_apps);
        if (r < 0)
                return r;

        r = schema_table_set_string(root, "runtime_backend", lock->runtime_backend);
        if (r < 0)
                return r;

        r = schema_table_set_bool(root, "hardware_gpu", lock->hardware_gpu);
        if (r < 0)
                return r;

        r = schema_table_set_bool(root, "hardware_audio", lock->hardware_audio);
        if (r < 0)
                return r;

        return schema_table_set_bool(root, "network_isolation", lock->network_isolation);
}

static int build_limits(const Lock *lock, TomlValue *root) {
        int r;

        if (lock->limits.has_cpu_shares) {
                r = schema_table_set_unsigned(root, "cpu_shares", lock->limits.cpu_shares);
                if (r < 0)
                        return r;
        }

        if (lock->limits.has_memory_limit_mb) {
                r = schema_table_set_unsigned(root, "memory_limit_mb", lock->limits.memory_limit_mb);
                if (r < 0)
                        return r;
        }

        return 0;
}

int lock_to_toml(const Lock *lock, char **ret, size_t *ret_len) {
        _cleanup_schema_toml_ TomlValue *root = NULL;
        int r;

        root = toml_table_new();
        if (!root)
                return -ENOMEM;

        /* Insertion order is the written order. The writer moves non-empty
         * arrays of tables behind the plain keys, [[resolved_packages]]
         * before [[mounts]], as the original tool's files have them. */
        r = build_head(lock, root);
        if (r < 0)
                return r;

        r = build_packages(lock, root);
        if (r < 0)
                return r;

        r = build_flags(lock, root);
        if (r < 0)
                return r;

        r = build_mounts(lock, root);
        if (r < 0)
                return r;

        r = build_limits(lock, root);
        if (r < 0)
                return r;

        return toml_write(root, ret, ret_len);
}

int lock_write(const Lock *lock, const char *path, KpError *err) {
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r;

        r = lock_to_toml(lock, &text, &len);
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_LOCK, r, "lock file serialize error: %s", strerror(-r));

        r = kp_write_file_atomic_at(AT_FDCWD, path, text, len, 0644, 0);
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_LOCK, r, "lock file I/O error: %s: %s", path, strerror(-r));

        return 0;
}
