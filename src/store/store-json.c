/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "store/store-internal.h"

static int member_type_error(const char *context, const char *key, const char *type, KpError *err) {
        return kp_error_set_kind(err, KP_ERROR_STORE, -EINVAL, "%s: member '%s' is missing or not %s", context, key,
                                 type);
}

int store_json_string(json_t *obj, const char *key, const char *context, char **ret, KpError *err) {
        json_t *v = json_object_get(obj, key);
        char *copy;

        if (!json_is_string(v))
                return member_type_error(context, key, "a string", err);

        copy = strdup(json_string_value(v));
        if (!copy)
                return kp_error_set(err, -ENOMEM, "out of memory");
        *ret = copy;
        return 0;
}

int store_json_string_or_null(json_t *obj, const char *key, const char *context, char **ret, KpError *err) {
        json_t *v = json_object_get(obj, key);

        if (!v || json_is_null(v)) {
                *ret = NULL;
                return 0;
        }
        if (!json_is_string(v))
                return kp_error_set_kind(err, KP_ERROR_STORE, -EINVAL, "%s: member '%s' is not a string or null",
                                         context, key);
        return store_json_string(obj, key, context, ret, err);
}

int store_json_strv(json_t *obj, const char *key, const char *context, char ***ret, size_t *ret_count,
                    KpError *err) {
        _cleanup_strv_free_ char **v = NULL;
        json_t *array = json_object_get(obj, key), *item;
        size_t n = 0, i;
        int r;

        if (!json_is_array(array))
                return member_type_error(context, key, "an array", err);

        v = calloc(json_array_size(array) + 1, sizeof(char *));
        if (!v)
                return kp_error_set(err, -ENOMEM, "out of memory");

        json_array_foreach(array, i, item) {
                if (!json_is_string(item))
                        return kp_error_set_kind(err, KP_ERROR_STORE, -EINVAL,
                                                 "%s: element %zu of '%s' is not a string", context, i, key);
                r = kp_strv_push(&v, &n, strdup(json_string_value(item)));
                if (r < 0)
                        return kp_error_set(err, r, "out of memory");
        }

        *ret = TAKE_PTR(v);
        *ret_count = n;
        return 0;
}

json_t *store_json_array_from_strv(char *const *v, size_t n) {
        json_t *array = json_array();

        if (!array)
                return NULL;
        for (size_t i = 0; i < n; i++)
                if (json_array_append_new(array, json_string(v[i])) < 0) {
                        json_decref(array);
                        return NULL;
                }
        return array;
}

int store_read_file_at(int dirfd, const char *name, size_t max, char **ret, size_t *ret_len) {
        _cleanup_close_ int fd = -1;

        fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0)
                return -errno;
        return kp_read_fd(fd, max, ret, ret_len);
}
