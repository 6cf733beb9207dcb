/* SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "basic/fs-util.h"
#include "basic/json-util.h"
#include "schema/normalize.h"

/* Canonical JSON of a NormalizedManifest, and parsing it back. */

/* A NULL VALUE is a failed constructor. OBJ takes ownership in every case. */
static int json_set(json_t *obj, const char *key, json_t *value) {
        if (!value)
                return -ENOMEM;
        return json_object_set_new(obj, key, value) < 0 ? -ENOMEM : 0;
}

static json_t *json_string_list(char *const *strings, size_t n) {
        _cleanup_json_ json_t *array = NULL;

        array = json_array();
        if (!array)
                return NULL;

        for (size_t i = 0; i < n; i++)
                if (json_array_append_new(array, json_string(strings[i])) < 0)
                        return NULL;

        return TAKE_PTR(array);
}

static json_t *json_mount_list(const MountSpec *mounts, size_t n) {
        _cleanup_json_ json_t *array = NULL;

        array = json_array();
        if (!array)
                return NULL;

        for (size_t i = 0; i < n; i++) {
                json_t *mount = json_pack("{s:s, s:s, s:s}", "label", mounts[i].label, "host_path",
                                          mounts[i].host_path, "container_path", mounts[i].container_path);

                if (json_array_append_new(array, mount) < 0)
                        return NULL;
        }

        return TAKE_PTR(array);
}

static int json_set_limit(json_t *obj, const char *key, bool present, uint64_t value) {
        if (!present)
                return json_set(obj, key, json_null());
        if (value > INT64_MAX)
                return -ERANGE;
        return json_set(obj, key, json_integer((json_int_t) value));
}

static int manifest_json_build(const NormalizedManifest *m, json_t *obj) {
        int r;

        if (json_set(obj, "manifest_version", json_integer(m->manifest_version)) < 0 ||
            json_set(obj, "base_image", json_string(m->base_image)) < 0 ||
            json_set(obj, "system_packages", json_string_list(m->system_packages, m->n_system_packages)) < 0 ||
            json_set(obj, "gui_apps", json_string_list(m->gui_apps, m->n_gui_apps)) < 0 ||
            json_set(obj, "hardware_gpu", json_boolean(m->hardware_gpu)) < 0 ||
            json_set(obj, "hardware_audio", json_boolean(m->hardware_audio)) < 0 ||
            json_set(obj, "mounts", json_mount_list(m->mounts, m->n_mounts)) < 0 ||
            json_set(obj, "runtime_backend", json_string(m->runtime_backend)) < 0 ||
            json_set(obj, "network_isolation", json_boolean(m->network_isolation)) < 0)
                return -ENOMEM;

        r = json_set_limit(obj, "cpu_shares", m->limits.has_cpu_shares, m->limits.cpu_shares);
        if (r < 0)
                return r;

        return json_set_limit(obj, "memory_limit_mb", m->limits.has_memory_limit_mb, m->limits.memory_limit_mb);
}

int normalized_manifest_to_json(const NormalizedManifest *m, char **ret, size_t *ret_len) {
        _cleanup_json_ json_t *obj = NULL;
        char *text;
        int r;

        obj = json_object();
        if (!obj)
                return -ENOMEM;

        r = manifest_json_build(m, obj);
        if (r < 0)
                return r;

        text = kp_json_dump(obj, 0, ret_len);
        if (!text)
                return -ENOMEM;

        *ret = text;
        return 0;
}

static int json_invalid(KpError *err, const char *member, const char *expected) {
        return kp_error_set_kind(err, KP_ERROR_MANIFEST, -EINVAL,
                                 "invalid normalized manifest JSON: '%s' must be %s", member, expected);
}

static int json_get_string(const json_t *obj, const char *key, char **ret, KpError *err) {
        const json_t *v = json_object_get(obj, key);

        if (!json_is_string(v))
                return json_invalid(err, key, "a string");

        *ret = strdup(json_string_value(v));
        if (!*ret)
                return kp_error_set_kind(err, KP_ERROR_MANIFEST, -ENOMEM, "out of memory");
        return 0;
}

static int json_get_bool(const json_t *obj, const char *key, bool *ret, KpError *err) {
        const json_t *v = json_object_get(obj, key);

        if (!json_is_boolean(v))
                return json_invalid(err, key, "a boolean");

        *ret = json_is_true(v);
        return 0;
}

static int json_get_limit(const json_t *obj, const char *key, bool *ret_present, uint64_t *ret, KpError *err) {
        const json_t *v = json_object_get(obj, key);

        *ret_present = false;
        if (!v || json_is_null(v))
                return 0;
        if (!json_is_integer(v) || json_integer_value(v) < 0)
                return json_invalid(err, key, "null or a non-negative integer");

        *ret_present = true;
        *ret = (uint64_t) json_integer_value(v);
        return 0;
}

static int json_get_strings(const json_t *obj, const char *key, char ***ret, size_t *ret_count, KpError *err) {
        _cleanup_strv_free_ char **strings = NULL;
        const json_t *array = json_object_get(obj, key), *element;
        size_t n = 0, i;
        int r;

        if (!json_is_array(array))
                return json_invalid(err, key, "an array of strings");

        json_array_foreach(array, i, element) {
                if (!json_is_string(element))
                        return json_invalid(err, key, "an array of strings");

                r = kp_strv_push(&strings, &n, strdup(json_string_value(element)));
                if (r < 0)
                        return kp_error_set_kind(err, KP_ERROR_MANIFEST, r, "out of memory");
        }

        *ret = TAKE_PTR(strings);
        *ret_count = n;
        return 0;
}

static int json_get_mounts(const json_t *obj, NormalizedManifest *m, KpError *err) {
        const json_t *array = json_object_get(obj, "mounts"), *element;
        size_t i;
        int r;

        if (!json_is_array(array))
                return json_invalid(err, "mounts", "an array of objects");
        if (json_array_size(array) == 0)
                return 0;

        m->mounts = calloc(json_array_size(array), sizeof(MountSpec));
        if (!m->mounts)
                return kp_error_set_kind(err, KP_ERROR_MANIFEST, -ENOMEM, "out of memory");

        json_array_foreach(array, i, element) {
                MountSpec *mount = &m->mounts[i];

                m->n_mounts++;
                if (!json_is_object(element))
                        return json_invalid(err, "mounts", "an array of objects");

                r = json_get_string(element, "label", &mount->label, err);
                if (r >= 0)
                        r = json_get_string(element, "host_path", &mount->host_path, err);
                if (r >= 0)
                        r = json_get_string(element, "container_path", &mount->container_path, err);
                if (r < 0)
                        return r;
        }

        return 0;
}

static int manifest_json_read(const json_t *obj, NormalizedManifest *m, KpError *err) {
        const json_t *version = json_object_get(obj, "manifest_version");
        int r;

        if (!json_is_integer(version) || json_integer_value(version) < 0 ||
            json_integer_value(version) > UINT32_MAX)
                return json_invalid(err, "manifest_version", "an unsigned 32-bit integer");
        m->manifest_version = (uint32_t) json_integer_value(version);

        r = json_get_string(obj, "base_image", &m->base_image, err);
        if (r >= 0)
                r = json_get_strings(obj, "system_packages", &m->system_packages, &m->n_system_packages, err);
        if (r >= 0)
                r = json_get_strings(obj, "gui_apps", &m->gui_apps, &m->n_gui_apps, err);
        if (r >= 0)
                r = json_get_bool(obj, "hardware_gpu", &m->hardware_gpu, err);
        if (r >= 0)
                r = json_get_bool(obj, "hardware_audio", &m->hardware_audio, err);
        if (r >= 0)
                r = json_get_mounts(obj, m, err);
        if (r >= 0)
                r = json_get_string(obj, "runtime_backend", &m->runtime_backend, err);
        if (r >= 0)
                r = json_get_bool(obj, "network_isolation", &m->network_isolation, err);
        if (r >= 0)
                r = json_get_limit(obj, "cpu_shares", &m->limits.has_cpu_shares, &m->limits.cpu_shares, err);
        if (r >= 0)
                r = json_get_limit(obj, "memory_limit_mb", &m->limits.has_memory_limit_mb,
                                   &m->limits.memory_limit_mb, err);
        return r;
}

int normalized_manifest_from_json(const char *data, size_t len, NormalizedManifest **ret, KpError *err) {
        _cleanup_normalized_manifest_free_ NormalizedManifest *m = NULL;
        _cleanup_json_ json_t *obj = NULL;
        _cleanup_free_ char *parse_error = NULL;
        int r;

        r = kp_json_parse(data, len, &obj, &parse_error);
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_MANIFEST, r, "invalid normalized manifest JSON: %s",
                                         parse_error ?: strerror(-r));
        if (!json_is_object(obj))
                return kp_error_set_kind(err, KP_ERROR_MANIFEST, -EINVAL,
                                         "invalid normalized manifest JSON: expected an object");

        m = calloc(1, sizeof(NormalizedManifest));
        if (!m)
                return kp_error_set_kind(err, KP_ERROR_MANIFEST, -ENOMEM, "out of memory");

        r = manifest_json_read(obj, m, err);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(m);
        return 0;
}
