/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "basic/error.h"
#include "basic/hash.h"
#include "store/store.h"

/*
 * Layer manifests: store/layers/<id>, where the id is the BLAKE3 hex digest
 * of the manifest's pretty JSON bytes.
 */

typedef enum LayerKind {
        LAYER_KIND_BASE,
        LAYER_KIND_DEPENDENCY,
        LAYER_KIND_POLICY,
        LAYER_KIND_SNAPSHOT,
        _LAYER_KIND_MAX,
        _LAYER_KIND_INVALID = -EINVAL,
} LayerKind;

/* "Base", "Dependency", "Policy", "Snapshot". */
const char *layer_kind_to_string(LayerKind k);
LayerKind layer_kind_from_string(const char *s);

typedef struct Layer {
        char *hash;             /* Base: the content object key; Snapshot: the snapshot id */
        LayerKind kind;
        char *parent;           /* NULL for none */
        char **object_refs;     /* NULL-terminated; object keys the layer needs */
        size_t n_object_refs;
        bool read_only;
        char *tar_hash;         /* key of the content object; "" in old manifests without it */
} Layer;

/* Free the members of L and zero it. */
void layer_done(Layer *l);
Layer *layer_free(Layer *l);
static inline void layer_freep(Layer **l) {
        if (*l)
                (void) layer_free(*l);
}
#define _cleanup_layer_free_ _cleanup_(layer_freep)

/* Serialize L as the pretty JSON its id is computed over. */
int layer_to_json(const Layer *l, char **ret, size_t *ret_len, KpError *err);

/* Parse manifest JSON. A missing tar_hash reads as "", a missing parent as
 * NULL. */
int layer_from_json(const char *data, size_t len, Layer **ret, KpError *err);

/* The id L gets when stored, without writing anything. */
int layer_compute_id(const Layer *l, char ret_id[KP_HASH_HEX_SIZE], KpError *err);

/* Store L atomically unless a manifest with the same id exists. */
int store_layer_put(Store *s, const Layer *l, char ret_id[KP_HASH_HEX_SIZE], KpError *err);

/* Load a layer: the file's bytes are re-hashed and compared with ID before
 * parsing (an integrity error on mismatch); a missing file gives -ENOENT
 * with "layer not found: <id>". */
int store_layer_get(Store *s, const char *id, Layer **ret, KpError *err);

bool store_layer_exists(Store *s, const char *id);

/* Delete a layer manifest. A missing one is not an error. */
int store_layer_remove(Store *s, const char *id, KpError *err);

/* Names in layers/ that do not start with '.', sorted. Free with
 * kp_strv_free(). */
int store_layer_list(Store *s, char ***ret_ids, size_t *ret_count, KpError *err);
