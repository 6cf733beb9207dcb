/* SPDX-License-Identifier: MIT */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basic/error.h"
#include "basic/hash.h"
#include "store/store.h"

/*
 * Environment metadata: store/metadata/<env_id>, pretty JSON with a BLAKE3
 * checksum over the same JSON without the checksum member. Environment ids
 * are 64 lowercase hex characters; anything else is rejected before it is
 * used as a file name.
 */

typedef enum EnvState {
        ENV_STATE_DEFINED,
        ENV_STATE_BUILT,
        ENV_STATE_RUNNING,
        ENV_STATE_FROZEN,
        ENV_STATE_ARCHIVED,
        _ENV_STATE_MAX,
        _ENV_STATE_INVALID = -EINVAL,
} EnvState;

/* Serialized form: "Defined", "Built", "Running", "Frozen", "Archived". */
const char *env_state_to_string(EnvState s);
/* Display form: "defined", "built", ... */
const char *env_state_to_display(EnvState s);
/* Accepts the serialized form only. */
EnvState env_state_from_string(const char *s);
/* Accepts the serialized and the display form. */
EnvState env_state_from_any_string(const char *s);

typedef struct EnvMetadata {
        char *env_id;
        char *short_id;
        char *name;                     /* NULL when unset */
        EnvState state;
        char *manifest_hash;            /* object key of the canonical manifest, "" for none */
        char *base_layer;               /* layer id, "" for none */
        char **dependency_layers;       /* NULL-terminated */
        size_t n_dependency_layers;
        char *policy_layer;             /* NULL when unset */
        char *created_at;               /* RFC 3339 */
        char *updated_at;               /* RFC 3339 */
        uint32_t ref_count;
        char *checksum;                 /* as read; NULL when the file had none or null */
} EnvMetadata;

void env_metadata_done(EnvMetadata *m);
EnvMetadata *env_metadata_free(EnvMetadata *m);
static inline void env_metadata_freep(EnvMetadata **m) {
        if (*m)
                (void) env_metadata_free(*m);
}
#define _cleanup_env_metadata_free_ _cleanup_(env_metadata_freep)

/* Free an array of N metadata records as returned by store_metadata_list(). */
void env_metadata_array_free(EnvMetadata *a, size_t n);

/* Pretty JSON of M in the stored member order. A CHECKSUM other than NULL
 * is appended as the last member. */
int env_metadata_to_json(const EnvMetadata *m, const char *checksum, char **ret, size_t *ret_len,
                         KpError *err);

/* BLAKE3 hex of the pretty JSON of M without the checksum member. */
int env_metadata_compute_checksum(const EnvMetadata *m, char ret[KP_HASH_HEX_SIZE], KpError *err);

/* Parse metadata JSON. Does not verify the checksum. */
int env_metadata_from_json(const char *data, size_t len, EnvMetadata **ret, KpError *err);

bool env_id_is_valid(const char *id);

/* Check an environment name: 1-64 bytes of [A-Za-z0-9_-]. */
int env_name_validate(const char *name, KpError *err);

/* Write M with a freshly computed checksum (any checksum in M is ignored). */
int store_metadata_put(Store *s, const EnvMetadata *m, KpError *err);

/* Load and check metadata. A missing file gives -ENOENT with kind
 * KP_ERROR_NOT_FOUND ("environment not found: <id>"); a checksum mismatch an
 * integrity error (-EBADMSG). A file without a checksum is accepted (then
 * ret->checksum is NULL; verify-store reports it). */
int store_metadata_get(Store *s, const char *env_id, EnvMetadata **ret, KpError *err);

bool store_metadata_exists(Store *s, const char *env_id);

/* Delete the metadata of ENV_ID. A missing file is not an error. */
int store_metadata_remove(Store *s, const char *env_id, KpError *err);

/* All loadable metadata, sorted by env_id. Entries that fail to load are
 * skipped with a warning. */
int store_metadata_list(Store *s, EnvMetadata **ret, size_t *ret_count, KpError *err);

typedef struct MetadataListEntry {
        char *name;             /* file name in metadata/ */
        EnvMetadata *metadata;  /* NULL when loading failed */
        KpError error;          /* why loading failed */
} MetadataListEntry;

/* One entry per file in metadata/ not starting with '.', sorted by file
 * name, with the metadata or the load error. */
int store_metadata_list_with_errors(Store *s, MetadataListEntry **ret, size_t *ret_count, KpError *err);
void metadata_list_entries_free(MetadataListEntry *a, size_t n);

/* The first environment (in env_id order) named NAME; -ENOENT with
 * "environment not found: name '<name>'" if none. */
int store_metadata_get_by_name(Store *s, const char *name, EnvMetadata **ret, KpError *err);

/* Load (verified), change, refresh updated_at, store. */
int store_metadata_update_state(Store *s, const char *env_id, EnvState state, KpError *err);

/* Set or (NAME == NULL) clear the name. The name must be valid and not used
 * by another environment. */
int store_metadata_set_name(Store *s, const char *env_id, const char *name, KpError *err);

/* Change ref_count by one, saturating at 0 and UINT32_MAX. */
int store_metadata_ref_increment(Store *s, const char *env_id, KpError *err);
int store_metadata_ref_decrement(Store *s, const char *env_id, KpError *err);
