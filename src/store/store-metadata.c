/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/fault.h"
#include "basic/json-util.h"
#include "basic/log.h"
#include "basic/time-util.h"
#include "store/store-internal.h"
#include "store/store-metadata.h"

/* Metadata records are a few hundred bytes. 1 MiB leaves room for long
 * dependency lists and bounds what a corrupt file can make us allocate. */
#define METADATA_FILE_MAX ((size_t) 1 << 20)

#define ENV_NAME_MAX 64
#define ENV_SHORT_ID_LEN 12

static const char *const env_state_table[_ENV_STATE_MAX] = {
        [ENV_STATE_DEFINED] = "Defined",
        [ENV_STATE_BUILT] = "Built",
        [ENV_STATE_RUNNING] = "Running",
        [ENV_STATE_FROZEN] = "Frozen",
        [ENV_STATE_ARCHIVED] = "Archived",
};

static const char *const env_state_display_table[_ENV_STATE_MAX] = {
        [ENV_STATE_DEFINED] = "defined",
        [ENV_STATE_BUILT] = "built",
        [ENV_STATE_RUNNING] = "running",
        [ENV_STATE_FROZEN] = "frozen",
        [ENV_STATE_ARCHIVED] = "archived",
};

const char *env_state_to_string(EnvState s) {
        if ((unsigned) s >= _ENV_STATE_MAX)
                return NULL;
        return env_state_table[s];
}

const char *env_state_to_display(EnvState s) {
        if ((unsigned) s >= _ENV_STATE_MAX)
                return NULL;
        return env_state_display_table[s];
}

EnvState env_state_from_string(const char *s) {
        if (!s)
                return _ENV_STATE_INVALID;
        for (EnvState i = 0; i < _ENV_STATE_MAX; i++)
                if (streq(env_state_table[i], s))
                        return i;
        return _ENV_STATE_INVALID;
}

EnvState env_state_from_any_string(const char *s) {
        EnvState state = env_state_from_string(s);

        if (state >= 0 || !s)
                return state;
        for (EnvState i = 0; i < _ENV_STATE_MAX; i++)
                if (streq(env_state_display_table[i], s))
                        return i;
        return _ENV_STATE_INVALID;
}

void env_metadata_done(EnvMetadata *m) {
        if (!m)
                return;
        free(m->env_id);
        free(m->short_id);
        free(m->name);
        free(m->manifest_hash);
        free(m->base_layer);
        kp_strv_free(m->dependency_layers);
        free(m->policy_layer);
        free(m->created_at);
        free(m->updated_at);
        free(m->checksum);
        *m = (EnvMetadata) {};
}

EnvMetadata *env_metadata_free(EnvMetadata *m) {
        env_metadata_done(m);
        free(m);
        return NULL;
}

void env_metadata_array_free(EnvMetadata *a, size_t n) {
        if (!a)
                return;
        for (size_t i = 0; i < n; i++)
                env_metadata_done(&a[i]);
        free(a);
}

bool env_id_is_valid(const char *id) {
        return kp_hash_hex_is_valid(id);
}

static int env_id_check(const char *id, KpError *err) {
        if (!env_id_is_valid(id))
                return kp_error_set_kind(err, KP_ERROR_STORE, -EINVAL,
                                         "invalid environment id '%s': expected 64 lowercase hex characters",
                                         id ? id : "");
        return 0;
}

int env_name_validate(const char *name, KpError *err) {
        size_t len = name ? strlen(name) : 0;

        if (len < 1 || len > ENV_NAME_MAX)
                return kp_error_set_kind(err, KP_ERROR_STORE, -EINVAL,
                                         "invalid environment name: environment name must be 1-64 characters");

        for (const char *p = name; *p; p++) {
                bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                          *p == '_' || *p == '-';
                if (!ok)
                        return kp_error_set_kind(err, KP_ERROR_STORE, -EINVAL,
                                                 "invalid environment name: environment name must match [a-zA-Z0-9_-]");
        }
        return 0;
}

static json_t *json_string_or_null(const char *s) {
        return s ? json_string(s) : json_null();
}

int env_metadata_to_json(const EnvMetadata *m, const char *checksum, char **ret, size_t *ret_len,
                         KpError *err) {
        _cleanup_json_ json_t *v = NULL;
        const char *state = env_state_to_string(m->state);
        char *text;
        int r = 0;

        if (!state || !m->env_id || !m->short_id || !m->created_at || !m->updated_at)
                return kp_error_set_kind(err, KP_ERROR_STORE, -EINVAL, "invalid metadata: missing required member");

        /* The member order is part of the checksum. */
        v = json_object();
        if (!v)
                return kp_error_set(err, -ENOMEM, "out of memory");
        r |= json_object_set_new(v, "env_id", json_string(m->env_id));
        r |= json_object_set_new(v, "short_id", json_string(m->short_id));
        r |= json_object_set_new(v, "name", json_string_or_null(m->name));
        r |= json_object_set_new(v, "state", json_string(state));
        r |= json_object_set_new(v, "manifest_hash", json_string(m->manifest_hash ? m->manifest_hash : ""));
        r |= json_object_set_new(v, "base_layer", json_string(m->base_layer ? m->base_layer : ""));
        r |= json_object_set_new(v, "dependency_layers",
                                 store_json_array_from_strv(m->dependency_layers, m->n_dependency_layers));
        r |= json_object_set_new(v, "policy_layer", json_string_or_null(m->policy_layer));
        r |= json_object_set_new(v, "created_at", json_string(m->created_at));
        r |= json_object_set_new(v, "updated_at", json_string(m->updated_at));
        r |= json_object_set_new(v, "ref_count", json_integer(m->ref_count));
        if (checksum)
                r |= json_object_set_new(v, "checksum", json_string(checksum));
        if (r != 0)
                return kp_error_set_kind(err, KP_ERROR_STORE, -EINVAL,
                                         "invalid metadata: a member is not valid UTF-8 or out of memory");

        text = kp_json_dump(v, KP_JSON_PRETTY, ret_len);
        if (!text)
                return kp_error_set(err, -ENOMEM, "out of memory");
        *ret = text;
        return 0;
}

int env_metadata_compute_checksum(const EnvMetadata *m, char ret[KP_HASH_HEX_SIZE], KpError *err) {
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r;

        r = env_metadata_to_json(m, NULL, &text, &len, err);
        if (r < 0)
                return r;

        kp_hash_bytes_hex(text, len, ret);
        return 0;
}

static int metadata_parse_state(json_t *v, EnvMetadata *m, KpError *err) {
        _cleanup_free_ char *state = NULL;
        int r;

        r = store_json_string(v, "state", "invalid metadata", &state, err);
        if (r < 0)
                return r;

        m->state = env_state_from_string(state);
        if (m->state < 0)
                return kp_error_set_kind(err, KP_ERROR_STORE, -EINVAL, "invalid metadata: unknown state '%s'", state);
        return 0;
}

static int metadata_parse_ref_count(json_t *v, EnvMetadata *m, KpError *err) {
        json_t *rc = json_object_get(v, "ref_count");

        if (!json_is_integer(rc) || json_integer_value(rc) < 0 || json_integer_value(rc) > UINT32_MAX)
                return kp_error_set_kind(err, KP_ERROR_STORE, -EINVAL,
                                         "invalid metadata: member 'ref_count' is missing or not a "
                                         "32-bit unsigned integer");
        m->ref_count = (uint32_t) json_integer_value(rc);
        return 0;
}

int env_metadata_from_json(const char *data, size_t len, EnvMetadata **ret, KpError *err) {
        _cleanup_env_metadata_free_ EnvMetadata *m = NULL;
        _cleanup_json_ json_t *v = NULL;
        _cleanup_free_ char *msg = NULL;
        const char *context = "invalid metadata";
        int r;

        r = kp_json_parse(data, len, &v, &msg);
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_STORE, r, "%s: %s", context, msg);
        if (!json_is_object(v))
                return kp_error_set_kind(err, KP_ERROR_STORE, -EINVAL, "%s: not a JSON object", context);

        m = calloc(1, sizeof(EnvMetadata));
        if (!m)
                return kp_error_set(err, -ENOMEM, "out of memory");

        if ((r = store_json_string(v, "env_id", context, &m->env_id, err)) < 0 ||
            (r = store_json_string(v, "short_id", context, &m->short_id, err)) < 0 ||
            (r = store_json_string_or_null(v, "name", context, &m->name, err)) < 0 ||
            (r = metadata_parse_state(v, m, err)) < 0 ||
            (r = store_json_string(v, "manifest_hash", context, &m->manifest_hash, err)) < 0 ||
            (r = store_json_string(v, "base_layer", context, &m->base_layer, err)) < 0 ||
            (r = store_json_strv(v, "dependency_layers", context, &m->dependency_layers, &m->n_dependency_layers,
                                 err)) < 0 ||
            (r = store_json_string_or_null(v, "policy_layer", context, &m->policy_layer, err)) < 0 ||
            (r = store_json_string(v, "created_at", context, &m->created_at, err)) < 0 ||
            (r = store_json_string(v, "updated_at", context, &m->updated_at, err)) < 0 ||
            (r = metadata_parse_ref_count(v, m, err)) < 0 ||
            (r = store_json_string_or_null(v, "checksum", context, &m->checksum, err)) < 0)
                return r;

        *ret = TAKE_PTR(m);
        return 0;
}

int store_metadata_put(Store *s, const EnvMetadata *m, KpError *err) {
        _cleanup_free_ char *text = NULL;
        char checksum[KP_HASH_HEX_SIZE];
        size_t len = 0;
        int dfd, r;

        r = env_id_check(m->env_id, err);
        if (r < 0)
                return r;

        r = env_metadata_compute_checksum(m, checksum, err);
        if (r < 0)
                return r;
        r = env_metadata_to_json(m, checksum, &text, &len, err);
        if (r < 0)
                return r;

        dfd = store_dir_fd(s, STORE_DIR_METADATA, err);
        if (dfd < 0)
                return dfd;

        r = store_write_file_atomic(dfd, m->env_id, text, len, 0644, 0, "metadata");
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_STORE, r, "failed to write metadata of %s: %s", m->env_id,
                                         strerror(-r));
        return 0;
}

static int environment_not_found(const char *env_id, KpError *err) {
        return kp_error_set_kind(err, KP_ERROR_NOT_FOUND, -ENOENT, "environment not found: %s", env_id);
}

/* Load the metadata file NAME from DFD. When the file has a checksum the
 * recomputed one goes to RET_ACTUAL (empty string otherwise), and a
 * mismatch gives -EBADMSG with the metadata still returned in *RET, so that
 * verify-store can report the actual checksum. */
static int metadata_load_at(int dfd, const char *name, EnvMetadata **ret, char ret_actual[KP_HASH_HEX_SIZE],
                            KpError *err) {
        _cleanup_env_metadata_free_ EnvMetadata *m = NULL;
        _cleanup_free_ char *data = NULL;
        _cleanup_close_ int fd = -1;
        struct stat st;
        size_t len = 0;
        int r;

        ret_actual[0] = '\0';

        /* O_NONBLOCK keeps a FIFO planted in metadata/ from blocking us. */
        fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                r = -errno;
                if (r == -ENOENT)
                        return r;
                return kp_error_set_kind(err, KP_ERROR_STORE, r, "failed to open metadata %s: %s", name,
                                         strerror(-r));
        }
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                return kp_error_set_kind(err, KP_ERROR_STORE, -EINVAL, "metadata %s is not a regular file", name);

        r = kp_read_fd(fd, METADATA_FILE_MAX, &data, &len);
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_STORE, r, "failed to read metadata %s: %s", name,
                                         strerror(-r));

        r = env_metadata_from_json(data, len, &m, err);
        if (r < 0)
                return kp_error_prefix(err, "environment %s", name);

        if (!streq(m->env_id, name))
                return kp_error_set_kind(err, KP_ERROR_STORE, -EBADMSG,
                                         "metadata file %s describes environment '%s'", name, m->env_id);

        if (m->checksum) {
                r = env_metadata_compute_checksum(m, ret_actual, err);
                if (r < 0)
                        return r;
                if (!streq(ret_actual, m->checksum)) {
                        r = kp_error_set_kind(err, KP_ERROR_STORE, -EBADMSG,
                                              "integrity check failed for metadata '%s': expected %s, got %s",
                                              name, m->checksum, ret_actual);
                        *ret = TAKE_PTR(m);
                        return r;
                }
        }

        *ret = TAKE_PTR(m);
        return 0;
}

int store_metadata_load_name(Store *s, const char *name, EnvMetadata **ret, char ret_actual[KP_HASH_HEX_SIZE],
                             KpError *err) {
        char actual[KP_HASH_HEX_SIZE];
        int dfd, r;

        if (!ret_actual)
                ret_actual = actual;

        if (!env_id_is_valid(name))
                return env_id_check(name, err);

        dfd = store_dir_fd(s, STORE_DIR_METADATA, err);
        if (dfd == -ENOENT)
                return environment_not_found(name, err);
        if (dfd < 0)
                return dfd;

        r = metadata_load_at(dfd, name, ret, ret_actual, err);
        if (r == -ENOENT)
                return environment_not_found(name, err);
        return r;
}

int store_metadata_get(Store *s, const char *env_id, EnvMetadata **ret, KpError *err) {
        _cleanup_env_metadata_free_ EnvMetadata *m = NULL;
        int r;

        r = store_metadata_load_name(s, env_id, &m, NULL, err);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(m);
        return 0;
}

bool store_metadata_exists(Store *s, const char *env_id) {
        int dfd;

        if (!env_id_is_valid(env_id))
                return false;
        dfd = store_dir_fd(s, STORE_DIR_METADATA, NULL);
        if (dfd < 0)
                return false;
        return faccessat(dfd, env_id, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

int store_metadata_remove_name(Store *s, const char *name, KpError *err) {
        int dfd;

        if (!store_name_is_plain(name))
                return kp_error_set_kind(err, KP_ERROR_STORE, -EINVAL, "invalid metadata name '%s'", name);

        dfd = store_dir_fd(s, STORE_DIR_METADATA, err);
        if (dfd == -ENOENT) {
                kp_error_clear(err);
                return 0;
        }
        if (dfd < 0)
                return dfd;

        kp_fault_point("metadata:remove");
        if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT) {
                int r = -errno;

                return kp_error_set_kind(err, KP_ERROR_STORE, r, "failed to remove metadata of %s: %s", name,
                                         strerror(-r));
        }
        return 0;
}

int store_metadata_remove(Store *s, const char *env_id, KpError *err) {
        int r;

        r = env_id_check(env_id, err);
        if (r < 0)
                return r;
        return store_metadata_remove_name(s, env_id, err);
}

void metadata_list_entries_free(MetadataListEntry *a, size_t n) {
        if (!a)
                return;
        for (size_t i = 0; i < n; i++) {
                free(a[i].name);
                env_metadata_free(a[i].metadata);
                kp_error_clear(&a[i].error);
        }
        free(a);
}

static int metadata_names(Store *s, char ***ret, size_t *ret_count, KpError *err) {
        int dfd, r;

        dfd = store_dir_fd(s, STORE_DIR_METADATA, err);
        if (dfd == -ENOENT) {
                kp_error_clear(err);
                return store_strv_empty(ret, ret_count);
        }
        if (dfd < 0)
                return dfd;

        r = kp_dir_list_at(dfd, ".", /* skip_hidden= */ true, /* missing_ok= */ false, ret, ret_count);
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_STORE, r, "failed to list metadata: %s", strerror(-r));
        return 0;
}

int store_metadata_list_with_errors(Store *s, MetadataListEntry **ret, size_t *ret_count, KpError *err) {
        _cleanup_strv_free_ char **names = NULL;
        MetadataListEntry *entries;
        size_t n = 0;
        int r;

        r = metadata_names(s, &names, &n, err);
        if (r < 0)
                return r;

        entries = calloc(n + 1, sizeof(MetadataListEntry));
        if (!entries)
                return kp_error_set(err, -ENOMEM, "out of memory");

        for (size_t i = 0; i < n; i++) {
                MetadataListEntry *e = &entries[i];

                e->name = TAKE_PTR(names[i]);
                r = store_metadata_load_name(s, e->name, &e->metadata, NULL, &e->error);
                if (r == -ENOMEM) {
                        metadata_list_entries_free(entries, n);
                        return kp_error_set(err, r, "out of memory");
                }
                if (r < 0)
                        e->metadata = env_metadata_free(e->metadata);
        }

        *ret = entries;
        *ret_count = n;
        return 0;
}

int store_metadata_list(Store *s, EnvMetadata **ret, size_t *ret_count, KpError *err) {
        _cleanup_strv_free_ char **names = NULL;
        EnvMetadata *a;
        size_t n = 0, count = 0;
        int r;

        r = metadata_names(s, &names, &n, err);
        if (r < 0)
                return r;

        a = calloc(n + 1, sizeof(EnvMetadata));
        if (!a)
                return kp_error_set(err, -ENOMEM, "out of memory");

        /* File names are the env ids (loading checks this), and the listing
         * is sorted, so the result is in env_id order without sorting. */
        for (size_t i = 0; i < n; i++) {
                _cleanup_env_metadata_free_ EnvMetadata *m = NULL;
                _cleanup_error_ KpError e = KP_ERROR_INIT;

                r = store_metadata_load_name(s, names[i], &m, NULL, &e);
                if (r == -ENOMEM) {
                        env_metadata_array_free(a, count);
                        return kp_error_set(err, r, "out of memory");
                }
                /* A file deleted between the directory listing and the read
                 * is an environment destroyed meanwhile, not damage. */
                if (r == -ENOENT)
                        continue;
                if (r < 0) {
                        log_warn("skipping unreadable environment metadata '%s': %s", names[i], e.message);
                        continue;
                }
                a[count++] = *m;
                free(TAKE_PTR(m));
        }

        *ret = a;
        *ret_count = count;
        return 0;
}

int store_metadata_get_by_name(Store *s, const char *name, EnvMetadata **ret, KpError *err) {
        EnvMetadata *a = NULL;
        size_t n = 0;
        int r;

        r = store_metadata_list(s, &a, &n, err);
        if (r < 0)
                return r;

        for (size_t i = 0; i < n; i++) {
                EnvMetadata *m;

                if (!a[i].name || !streq(a[i].name, name))
                        continue;

                m = malloc(sizeof(EnvMetadata));
                if (!m) {
                        env_metadata_array_free(a, n);
                        return kp_error_set(err, -ENOMEM, "out of memory");
                }
                *m = a[i];
                a[i] = (EnvMetadata) {};
                env_metadata_array_free(a, n);
                *ret = m;
                return 0;
        }

        env_metadata_array_free(a, n);
        return kp_error_set_kind(err, KP_ERROR_NOT_FOUND, -ENOENT, "environment not found: name '%s'", name);
}

static int metadata_touch(EnvMetadata *m, KpError *err) {
        char now[KP_RFC3339_SIZE];
        char *copy;

        kp_rfc3339_now(now);
        copy = strdup(now);
        if (!copy)
                return kp_error_set(err, -ENOMEM, "out of memory");
        free(m->updated_at);
        m->updated_at = copy;
        return 0;
}

typedef int (*MetadataEditFunc)(EnvMetadata *m, const void *userdata, KpError *err);

/* Load ENV_ID (verified), apply EDIT, refresh updated_at and store it. */
static int metadata_edit(Store *s, const char *env_id, MetadataEditFunc edit, const void *userdata,
                         KpError *err) {
        _cleanup_env_metadata_free_ EnvMetadata *m = NULL;
        int r;

        r = store_metadata_get(s, env_id, &m, err);
        if (r < 0)
                return r;

        r = edit(m, userdata, err);
        if (r < 0)
                return r;

        r = metadata_touch(m, err);
        if (r < 0)
                return r;

        return store_metadata_put(s, m, err);
}

static int edit_state(EnvMetadata *m, const void *userdata, KpError *err) {
        m->state = *(const EnvState *) userdata;
        return 0;
}

int store_metadata_update_state(Store *s, const char *env_id, EnvState state, KpError *err) {
        if (!env_state_to_string(state))
                return kp_error_set_kind(err, KP_ERROR_STORE, -EINVAL, "invalid environment state");
        return metadata_edit(s, env_id, edit_state, &state, err);
}

static int edit_name(EnvMetadata *m, const void *userdata, KpError *err) {
        const char *name = userdata;
        char *copy = NULL;

        if (name) {
                copy = strdup(name);
                if (!copy)
                        return kp_error_set(err, -ENOMEM, "out of memory");
        }
        free(m->name);
        m->name = copy;
        return 0;
}

static int name_check_unique(Store *s, const char *env_id, const char *name, KpError *err) {
        EnvMetadata *a = NULL;
        size_t n = 0;
        int r;

        r = store_metadata_list(s, &a, &n, err);
        if (r < 0)
                return r;

        for (size_t i = 0; i < n; i++) {
                if (!a[i].name || !streq(a[i].name, name) || streq(a[i].env_id, env_id))
                        continue;

                r = kp_error_set_kind(err, KP_ERROR_STORE, -EEXIST, "name '%s' is already used by environment %.*s",
                                      name, ENV_SHORT_ID_LEN, a[i].env_id);
                env_metadata_array_free(a, n);
                return r;
        }

        env_metadata_array_free(a, n);
        return 0;
}

int store_metadata_set_name(Store *s, const char *env_id, const char *name, KpError *err) {
        int r;

        if (name) {
                r = env_name_validate(name, err);
                if (r < 0)
                        return r;

                r = name_check_unique(s, env_id, name, err);
                if (r < 0)
                        return r;
        }

        return metadata_edit(s, env_id, edit_name, name, err);
}

static int edit_ref(EnvMetadata *m, const void *userdata, KpError *err) {
        int delta = *(const int *) userdata;

        if (delta > 0 && m->ref_count < UINT32_MAX)
                m->ref_count++;
        else if (delta < 0 && m->ref_count > 0)
                m->ref_count--;
        return 0;
}

int store_metadata_ref_increment(Store *s, const char *env_id, KpError *err) {
        int delta = 1;

        return metadata_edit(s, env_id, edit_ref, &delta, err);
}

int store_metadata_ref_decrement(Store *s, const char *env_id, KpError *err) {
        int delta = -1;

        return metadata_edit(s, env_id, edit_ref, &delta, err);
}
