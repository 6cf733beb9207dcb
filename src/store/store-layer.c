/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/fault.h"
#include "basic/json-util.h"
#include "store/store-internal.h"
#include "store/store-layer.h"

/* A snapshot manifest lists one object per file of the snapshot, about 70
 * bytes each. 256 MiB covers millions of files and still bounds what a
 * corrupt store can make us allocate. */
#define LAYER_FILE_MAX ((size_t) 256 << 20)

static const char *const layer_kind_table[_LAYER_KIND_MAX] = {
        [LAYER_KIND_BASE] = "Base",
        [LAYER_KIND_DEPENDENCY] = "Dependency",
        [LAYER_KIND_POLICY] = "Policy",
        [LAYER_KIND_SNAPSHOT] = "Snapshot",
};

const char *layer_kind_to_string(LayerKind k) {
        if ((unsigned) k >= _LAYER_KIND_MAX)
                return NULL;
        return layer_kind_table[k];
}

LayerKind layer_kind_from_string(const char *s) {
        if (!s)
                return _LAYER_KIND_INVALID;
        for (LayerKind k = 0; k < _LAYER_KIND_MAX; k++)
                if (streq(layer_kind_table[k], s))
                        return k;
        return _LAYER_KIND_INVALID;
}

void layer_done(Layer *l) {
        if (!l)
                return;
        free(l->hash);
        free(l->parent);
        kp_strv_free(l->object_refs);
        free(l->tar_hash);
        *l = (Layer) {};
}

Layer *layer_free(Layer *l) {
        layer_done(l);
        free(l);
        return NULL;
}

static int layer_id_check(const char *id, KpError *err) {
        if (!kp_hash_hex_is_valid(id))
                return kp_error_set_kind(err, KP_ERROR_STORE, -EINVAL, "invalid layer id '%s'", id ? id : "");
        return 0;
}

int layer_to_json(const Layer *l, char **ret, size_t *ret_len, KpError *err) {
        _cleanup_json_ json_t *v = NULL;
        const char *kind = layer_kind_to_string(l->kind);
        char *text;
        int r = 0;

        if (!kind || !l->hash)
                return kp_error_set_kind(err, KP_ERROR_STORE, -EINVAL, "invalid layer: missing kind or hash");

        /* Member order is part of the layer's identity. */
        v = json_object();
        if (!v)
                return kp_error_set(err, -ENOMEM, "out of memory");
        r |= json_object_set_new(v, "hash", json_string(l->hash));
        r |= json_object_set_new(v, "kind", json_string(kind));
        r |= json_object_set_new(v, "parent", l->parent ? json_string(l->parent) : json_null());
        r |= json_object_set_new(v, "object_refs", store_json_array_from_strv(l->object_refs, l->n_object_refs));
        r |= json_object_set_new(v, "read_only", json_boolean(l->read_only));
        r |= json_object_set_new(v, "tar_hash", json_string(l->tar_hash ? l->tar_hash : ""));
        if (r != 0)
                return kp_error_set_kind(err, KP_ERROR_STORE, -EINVAL,
                                         "invalid layer: a member is not valid UTF-8 or out of memory");

        text = kp_json_dump(v, KP_JSON_PRETTY, ret_len);
        if (!text)
                return kp_error_set(err, -ENOMEM, "out of memory");
        *ret = text;
        return 0;
}

int layer_from_json(const char *data, size_t len, Layer **ret, KpError *err) {
        _cleanup_layer_free_ Layer *l = NULL;
        _cleanup_json_ json_t *v = NULL;
        _cleanup_free_ char *kind = NULL, *msg = NULL;
        json_t *ro;
        int r;

        r = kp_json_parse(data, len, &v, &msg);
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_STORE, r, "invalid layer manifest: %s", msg);
        if (!json_is_object(v))
                return kp_error_set_kind(err, KP_ERROR_STORE, -EINVAL, "invalid layer manifest: not a JSON object");

        l = calloc(1, sizeof(Layer));
        if (!l)
                return kp_error_set(err, -ENOMEM, "out of memory");

        r = store_json_string(v, "hash", "invalid layer manifest", &l->hash, err);
        if (r < 0)
                return r;

        r = store_json_string(v, "kind", "invalid layer manifest", &kind, err);
        if (r < 0)
                return r;
        l->kind = layer_kind_from_string(kind);
        if (l->kind < 0)
                return kp_error_set_kind(err, KP_ERROR_STORE, -EINVAL, "invalid layer manifest: unknown kind '%s'",
                                         kind);

        r = store_json_string_or_null(v, "parent", "invalid layer manifest", &l->parent, err);
        if (r < 0)
                return r;

        r = store_json_strv(v, "object_refs", "invalid layer manifest", &l->object_refs, &l->n_object_refs, err);
        if (r < 0)
                return r;

        ro = json_object_get(v, "read_only");
        if (!json_is_boolean(ro))
                return kp_error_set_kind(err, KP_ERROR_STORE, -EINVAL,
                                         "invalid layer manifest: member 'read_only' is missing or not a boolean");
        l->read_only = json_is_true(ro);

        /* Manifests written before tar_hash existed lack the member. */
        r = store_json_string_or_null(v, "tar_hash", "invalid layer manifest", &l->tar_hash, err);
        if (r < 0)
                return r;
        if (!l->tar_hash) {
                l->tar_hash = strdup("");
                if (!l->tar_hash)
                        return kp_error_set(err, -ENOMEM, "out of memory");
        }

        *ret = TAKE_PTR(l);
        return 0;
}

int layer_compute_id(const Layer *l, char ret_id[KP_HASH_HEX_SIZE], KpError *err) {
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r;

        r = layer_to_json(l, &text, &len, err);
        if (r < 0)
                return r;

        kp_hash_bytes_hex(text, len, ret_id);
        return 0;
}

int store_layer_put(Store *s, const Layer *l, char ret_id[KP_HASH_HEX_SIZE], KpError *err) {
        _cleanup_free_ char *text = NULL;
        char id[KP_HASH_HEX_SIZE];
        size_t len = 0;
        int dfd, r;

        r = layer_to_json(l, &text, &len, err);
        if (r < 0)
                return r;
        kp_hash_bytes_hex(text, len, id);

        dfd = store_dir_fd(s, STORE_DIR_LAYERS, err);
        if (dfd < 0)
                return dfd;

        if (faccessat(dfd, id, F_OK, AT_SYMLINK_NOFOLLOW) != 0) {
                r = store_write_file_atomic(dfd, id, text, len, 0644, KP_ATOMIC_NO_REPLACE, "layer");
                if (r < 0 && r != -EEXIST)
                        return kp_error_set_kind(err, KP_ERROR_STORE, r, "failed to store layer %s: %s", id,
                                                 strerror(-r));
        }

        if (ret_id)
                memcpy(ret_id, id, KP_HASH_HEX_SIZE);
        return 0;
}

int store_layer_get(Store *s, const char *id, Layer **ret, KpError *err) {
        _cleanup_free_ char *data = NULL;
        char actual[KP_HASH_HEX_SIZE];
        size_t len = 0;
        int dfd, r;

        r = layer_id_check(id, err);
        if (r < 0)
                return r;

        dfd = store_dir_fd(s, STORE_DIR_LAYERS, err);
        if (dfd == -ENOENT)
                return kp_error_set_kind(err, KP_ERROR_STORE, -ENOENT, "layer not found: %s", id);
        if (dfd < 0)
                return dfd;

        r = store_read_file_at(dfd, id, LAYER_FILE_MAX, &data, &len);
        if (r == -ENOENT)
                return kp_error_set_kind(err, KP_ERROR_STORE, r, "layer not found: %s", id);
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_STORE, r, "failed to read layer %s: %s", id, strerror(-r));

        /* Check the bytes before parsing, so that any edit is caught. */
        kp_hash_bytes_hex(data, len, actual);
        if (!streq(actual, id))
                return kp_error_set_kind(err, KP_ERROR_STORE, -EBADMSG,
                                         "integrity check failed for layer '%s': expected %s, got %s", id, id,
                                         actual);

        r = layer_from_json(data, len, ret, err);
        if (r < 0)
                return kp_error_prefix(err, "layer %s", id);
        return 0;
}

bool store_layer_exists(Store *s, const char *id) {
        int dfd;

        if (!kp_hash_hex_is_valid(id))
                return false;
        dfd = store_dir_fd(s, STORE_DIR_LAYERS, NULL);
        if (dfd < 0)
                return false;
        return faccessat(dfd, id, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

int store_layer_remove_name(Store *s, const char *name, KpError *err) {
        int dfd, r;

        if (!store_name_is_plain(name))
                return kp_error_set_kind(err, KP_ERROR_STORE, -EINVAL, "invalid layer name '%s'", name);

        dfd = store_dir_fd(s, STORE_DIR_LAYERS, err);
        if (dfd == -ENOENT) {
                kp_error_clear(err);
                return 0;
        }
        if (dfd < 0)
                return dfd;

        kp_fault_point("layer:remove");
        r = kp_rm_rf_at(dfd, name);
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_STORE, r, "failed to remove layer %s: %s", name,
                                         strerror(-r));
        return 0;
}

int store_layer_remove(Store *s, const char *id, KpError *err) {
        int r;

        r = layer_id_check(id, err);
        if (r < 0)
                return r;
        return store_layer_remove_name(s, id, err);
}

int store_layer_list(Store *s, char ***ret_ids, size_t *ret_count, KpError *err) {
        int dfd, r;

        dfd = store_dir_fd(s, STORE_DIR_LAYERS, err);
        if (dfd == -ENOENT) {
                kp_error_clear(err);
                return store_strv_empty(ret_ids, ret_count);
        }
        if (dfd < 0)
                return dfd;

        r = kp_dir_list_at(dfd, ".", /* skip_hidden= */ true, /* missing_ok= */ false, ret_ids, ret_count);
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_STORE, r, "failed to list layers: %s", strerror(-r));
        return 0;
}
