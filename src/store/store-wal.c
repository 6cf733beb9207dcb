/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/fault.h"
#include "basic/json-util.h"
#include "basic/log.h"
#include "basic/time-util.h"
#include "store/store-internal.h"
#include "store/store-wal.h"

/* Entries list a handful of steps. The limit bounds what a corrupt file can
 * make us allocate. */
#define WAL_FILE_MAX ((size_t) 1 << 20)

/* Suffixes tried when several operations start in the same millisecond. */
#define WAL_OP_ID_ATTEMPTS 1000

#define WAL_OP_ID_MAX 128

static const char *const wal_op_kind_table[_WAL_OP_MAX] = {
        [WAL_OP_BUILD] = "Build",
        [WAL_OP_REBUILD] = "Rebuild",
        [WAL_OP_COMMIT] = "Commit",
        [WAL_OP_RESTORE] = "Restore",
        [WAL_OP_DESTROY] = "Destroy",
        [WAL_OP_GC] = "Gc",
        [WAL_OP_ENTER] = "Enter",
        [WAL_OP_EXEC] = "Exec",
};

static const char *const wal_op_kind_display_table[_WAL_OP_MAX] = {
        [WAL_OP_BUILD] = "build",
        [WAL_OP_REBUILD] = "rebuild",
        [WAL_OP_COMMIT] = "commit",
        [WAL_OP_RESTORE] = "restore",
        [WAL_OP_DESTROY] = "destroy",
        [WAL_OP_GC] = "gc",
        [WAL_OP_ENTER] = "enter",
        [WAL_OP_EXEC] = "exec",
};

static const char *const wal_step_type_table[_WAL_STEP_MAX] = {
        [WAL_STEP_REMOVE_DIR] = "RemoveDir",
        [WAL_STEP_REMOVE_FILE] = "RemoveFile",
        [WAL_STEP_RESET_STATE] = "ResetState",
        [WAL_STEP_RENAME_DIR] = "RenameDir",
};

const char *wal_op_kind_to_string(WalOpKind k) {
        if ((unsigned) k >= _WAL_OP_MAX)
                return NULL;
        return wal_op_kind_table[k];
}

const char *wal_op_kind_to_display(WalOpKind k) {
        if ((unsigned) k >= _WAL_OP_MAX)
                return NULL;
        return wal_op_kind_display_table[k];
}

WalOpKind wal_op_kind_from_string(const char *s) {
        if (!s)
                return _WAL_OP_INVALID;
        for (WalOpKind k = 0; k < _WAL_OP_MAX; k++)
                if (streq(wal_op_kind_table[k], s))
                        return k;
        return _WAL_OP_INVALID;
}

const char *wal_step_type_to_string(WalStepType t) {
        if ((unsigned) t >= _WAL_STEP_MAX)
                return NULL;
        return wal_step_type_table[t];
}

static WalStepType wal_step_type_from_string(const char *s) {
        for (WalStepType t = 0; t < _WAL_STEP_MAX; t++)
                if (streq(wal_step_type_table[t], s))
                        return t;
        return _WAL_STEP_INVALID;
}

static void wal_step_done(WalStep *st) {
        free(st->path);
        free(st->to);
        free(st->env_id);
        *st = (WalStep) {};
}

void wal_entry_done(WalEntry *e) {
        if (!e)
                return;
        free(e->op_id);
        free(e->env_id);
        free(e->timestamp);
        for (size_t i = 0; i < e->n_steps; i++)
                wal_step_done(&e->steps[i]);
        free(e->steps);
        *e = (WalEntry) {};
}

void wal_entries_free(WalEntry *a, size_t n) {
        if (!a)
                return;
        for (size_t i = 0; i < n; i++)
                wal_entry_done(&a[i]);
        free(a);
}

/* Op ids become file names, so allow only the characters generated ids
 * contain. */
static bool wal_op_id_is_valid(const char *op_id) {
        size_t len = op_id ? strlen(op_id) : 0;

        if (len == 0 || len > WAL_OP_ID_MAX)
                return false;
        for (const char *p = op_id; *p; p++)
                if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '-' ||
                      *p == '_'))
                        return false;
        return true;
}

static int wal_entry_file_name(const char *op_id, char **ret, KpError *err) {
        if (!wal_op_id_is_valid(op_id))
                return kp_error_set_kind(err, KP_ERROR_STORE, -EINVAL, "invalid WAL operation id '%s'",
                                         op_id ? op_id : "");
        if (asprintf(ret, "%s.json", op_id) < 0)
                return kp_error_set(err, -ENOMEM, "out of memory");
        return 0;
}

/* The fd of wal/, created when CREATE is set and it is missing. */
static int wal_dir(Store *s, bool create, KpError *err) {
        _cleanup_free_ char *path = NULL;
        int dfd, r;

        dfd = store_dir_fd(s, STORE_DIR_WAL, err);
        if (dfd != -ENOENT || !create)
                return dfd;

        kp_error_clear(err);
        path = store_path_of(s, STORE_DIR_WAL, NULL);
        if (!path)
                return kp_error_set(err, -ENOMEM, "out of memory");
        r = kp_mkdir_p(path, 0755);
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_STORE, r, "failed to create '%s': %s", path, strerror(-r));
        return store_dir_fd(s, STORE_DIR_WAL, err);
}

static json_t *wal_step_to_json(const WalStep *st) {
        const char *key = wal_step_type_to_string(st->type);
        json_t *inner;

        switch (st->type) {
        case WAL_STEP_REMOVE_DIR:
        case WAL_STEP_REMOVE_FILE:
                inner = json_string(st->path);
                break;
        case WAL_STEP_RESET_STATE:
                inner = json_pack("{s:s, s:s}", "env_id", st->env_id, "target_state",
                                  env_state_to_string(st->target_state));
                break;
        case WAL_STEP_RENAME_DIR:
                inner = json_pack("{s:s, s:s}", "from", st->path, "to", st->to);
                break;
        default:
                return NULL;
        }
        if (!key || !inner)
                return NULL;
        return json_pack("{s:o}", key, inner);
}

static int wal_step_check(const WalStep *st, KpError *err) {
        bool ok;

        switch (st->type) {
        case WAL_STEP_REMOVE_DIR:
        case WAL_STEP_REMOVE_FILE:
                ok = st->path && st->path[0] == '/';
                break;
        case WAL_STEP_RESET_STATE:
                ok = env_id_is_valid(st->env_id) && env_state_to_string(st->target_state);
                break;
        case WAL_STEP_RENAME_DIR:
                ok = st->path && st->path[0] == '/' && st->to && st->to[0] == '/';
                break;
        default:
                ok = false;
        }
        if (!ok)
                return kp_error_set_kind(err, KP_ERROR_STORE, -EINVAL,
                                         "invalid WAL rollback step: paths must be absolute, env ids valid");
        return 0;
}

static int wal_write(int dfd, const char *file, json_t *v, KpAtomicFlags flags, const char *fault_name) {
        _cleanup_free_ char *text = NULL;
        size_t len = 0;

        text = kp_json_dump(v, KP_JSON_PRETTY, &len);
        if (!text)
                return -ENOMEM;
        return store_write_file_atomic(dfd, file, text, len, 0644, flags, fault_name);
}

static int wal_make_op_id(const char *env_id, unsigned attempt, char **ret) {
        char stamp[32], hash[KP_HASH_HEX_SIZE];
        int n;

        kp_timestamp_millis(stamp);
        kp_hash_str_hex(env_id, hash);
        if (attempt == 0)
                n = asprintf(ret, "%s-%.8s", stamp, hash);
        else
                n = asprintf(ret, "%s-%.8s-%u", stamp, hash, attempt + 1);
        return n < 0 ? -ENOMEM : 0;
}

int store_wal_begin(Store *s, WalOpKind kind, const char *env_id, char **ret_op_id, KpError *err) {
        char now[KP_RFC3339_SIZE];
        int dfd, r;

        if (!wal_op_kind_to_string(kind) || isempty(env_id))
                return kp_error_set_kind(err, KP_ERROR_STORE, -EINVAL, "invalid WAL operation kind or env id");

        dfd = wal_dir(s, /* create= */ true, err);
        if (dfd < 0)
                return dfd;

        kp_rfc3339_now(now);
        for (unsigned attempt = 0; attempt < WAL_OP_ID_ATTEMPTS; attempt++) {
                _cleanup_free_ char *op_id = NULL, *file = NULL;
                _cleanup_json_ json_t *v = NULL;

                if (wal_make_op_id(env_id, attempt, &op_id) < 0 || asprintf(&file, "%s.json", op_id) < 0)
                        return kp_error_set(err, -ENOMEM, "out of memory");

                v = json_pack("{s:s, s:s, s:s, s:s, s:[]}", "op_id", op_id, "kind", wal_op_kind_to_string(kind),
                              "env_id", env_id, "timestamp", now, "rollback_steps");
                if (!v)
                        return kp_error_set_kind(err, KP_ERROR_STORE, -EINVAL, "invalid WAL entry for '%s'", env_id);

                /* No replace, because the entry of another operation that
                 * started in the same millisecond must survive. */
                r = wal_write(dfd, file, v, KP_ATOMIC_NO_REPLACE, "wal-begin");
                if (r == -EEXIST)
                        continue;
                if (r < 0)
                        return kp_error_set_kind(err, KP_ERROR_STORE, r, "failed to write WAL entry %s: %s", op_id,
                                                 strerror(-r));

                log_debug("WAL: began %s operation %s for %s", wal_op_kind_to_display(kind), op_id, env_id);
                *ret_op_id = TAKE_PTR(op_id);
                return 0;
        }

        return kp_error_set_kind(err, KP_ERROR_STORE, -EEXIST, "failed to find a free WAL operation id for '%s'",
                                 env_id);
}

static int wal_read_json(int dfd, const char *file, json_t **ret, KpError *err) {
        _cleanup_free_ char *data = NULL, *msg = NULL;
        size_t len = 0;
        int r;

        r = store_read_file_at(dfd, file, WAL_FILE_MAX, &data, &len);
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_STORE, r, "failed to read WAL entry %s: %s", file,
                                         strerror(-r));

        r = kp_json_parse(data, len, ret, &msg);
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_STORE, r, "invalid WAL entry %s: %s", file, msg);
        return 0;
}

int store_wal_add_rollback_step(Store *s, const char *op_id, const WalStep *step, KpError *err) {
        _cleanup_free_ char *file = NULL;
        _cleanup_json_ json_t *v = NULL;
        json_t *steps, *item;
        int dfd, r;

        r = wal_entry_file_name(op_id, &file, err);
        if (r < 0)
                return r;
        r = wal_step_check(step, err);
        if (r < 0)
                return r;

        dfd = wal_dir(s, /* create= */ false, err);
        if (dfd < 0)
                return dfd;

        r = wal_read_json(dfd, file, &v, err);
        if (r < 0)
                return r;

        steps = json_object_get(v, "rollback_steps");
        if (!json_is_array(steps))
                return kp_error_set_kind(err, KP_ERROR_STORE, -EINVAL, "invalid WAL entry %s: no rollback_steps", file);

        item = wal_step_to_json(step);
        if (!item || json_array_append_new(steps, item) < 0)
                return kp_error_set_kind(err, KP_ERROR_STORE, -EINVAL, "invalid WAL rollback step for %s", op_id);

        r = wal_write(dfd, file, v, 0, "wal-step");
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_STORE, r, "failed to update WAL entry %s: %s", op_id,
                                         strerror(-r));
        return 0;
}

int store_wal_add_remove_dir(Store *s, const char *op_id, const char *path, KpError *err) {
        WalStep st = { .type = WAL_STEP_REMOVE_DIR, .path = (char *) path };

        return store_wal_add_rollback_step(s, op_id, &st, err);
}

int store_wal_add_remove_file(Store *s, const char *op_id, const char *path, KpError *err) {
        WalStep st = { .type = WAL_STEP_REMOVE_FILE, .path = (char *) path };

        return store_wal_add_rollback_step(s, op_id, &st, err);
}

int store_wal_add_reset_state(Store *s, const char *op_id, const char *env_id, EnvState state, KpError *err) {
        WalStep st = { .type = WAL_STEP_RESET_STATE, .env_id = (char *) env_id, .target_state = state };

        return store_wal_add_rollback_step(s, op_id, &st, err);
}

int store_wal_add_rename_dir(Store *s, const char *op_id, const char *from, const char *to, KpError *err) {
        WalStep st = { .type = WAL_STEP_RENAME_DIR, .path = (char *) from, .to = (char *) to };

        return store_wal_add_rollback_step(s, op_id, &st, err);
}

/* Delete FILE in wal/ and fsync the directory: a commit that a crash could
 * undo would make recovery roll back a finished operation. */
static int wal_remove_file(int dfd, const char *file) {
        if (unlinkat(dfd, file, 0) < 0 && errno != ENOENT)
                return -errno;
        if (fsync(dfd) < 0)
                return -errno;
        return 0;
}

int store_wal_commit(Store *s, const char *op_id, KpError *err) {
        _cleanup_free_ char *file = NULL;
        int dfd, r;

        r = wal_entry_file_name(op_id, &file, err);
        if (r < 0)
                return r;

        dfd = wal_dir(s, /* create= */ false, err);
        if (dfd < 0)
                return dfd;

        kp_fault_point("wal-commit:before");
        r = wal_remove_file(dfd, file);
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_STORE, r, "failed to commit WAL entry %s: %s", op_id,
                                         strerror(-r));
        kp_fault_point("wal-commit:after");

        log_debug("WAL: committed %s", op_id);
        return 0;
}

static int wal_step_from_json(json_t *v, WalStep *ret, KpError *err) {
        _cleanup_(wal_step_done) WalStep st = {};
        const char *key;
        json_t *inner, *state;
        int r;

        if (!json_is_object(v) || json_object_size(v) != 1)
                return kp_error_set_kind(err, KP_ERROR_STORE, -EINVAL, "rollback step is not a one-member object");

        key = json_object_iter_key(json_object_iter(v));
        inner = json_object_iter_value(json_object_iter(v));
        st.type = wal_step_type_from_string(key);

        switch (st.type) {
        case WAL_STEP_REMOVE_DIR:
        case WAL_STEP_REMOVE_FILE:
                if (!json_is_string(inner))
                        return kp_error_set_kind(err, KP_ERROR_STORE, -EINVAL, "rollback step %s: path is not a string",
                                                 key);
                st.path = strdup(json_string_value(inner));
                if (!st.path)
                        return kp_error_set(err, -ENOMEM, "out of memory");
                break;
        case WAL_STEP_RESET_STATE:
                r = store_json_string(inner, "env_id", "rollback step ResetState", &st.env_id, err);
                if (r < 0)
                        return r;
                state = json_object_get(inner, "target_state");
                if (!json_is_string(state))
                        return kp_error_set_kind(err, KP_ERROR_STORE, -EINVAL,
                                                 "rollback step ResetState: target_state is not a string");
                /* An unknown name is kept as invalid, and recovery skips the step. */
                st.target_state = env_state_from_any_string(json_string_value(state));
                break;
        case WAL_STEP_RENAME_DIR:
                if ((r = store_json_string(inner, "from", "rollback step RenameDir", &st.path, err)) < 0 ||
                    (r = store_json_string(inner, "to", "rollback step RenameDir", &st.to, err)) < 0)
                        return r;
                break;
        default:
                return kp_error_set_kind(err, KP_ERROR_STORE, -EINVAL, "unknown rollback step '%s'", key);
        }

        *ret = st;
        st = (WalStep) {};
        return 0;
}

static int wal_entry_from_json(json_t *v, WalEntry *ret, KpError *err) {
        _cleanup_(wal_entry_done) WalEntry e = {};
        _cleanup_free_ char *kind = NULL;
        const char *context = "invalid WAL entry";
        json_t *steps, *item;
        size_t i;
        int r;

        if (!json_is_object(v))
                return kp_error_set_kind(err, KP_ERROR_STORE, -EINVAL, "%s: not a JSON object", context);

        if ((r = store_json_string(v, "op_id", context, &e.op_id, err)) < 0 ||
            (r = store_json_string(v, "kind", context, &kind, err)) < 0 ||
            (r = store_json_string(v, "env_id", context, &e.env_id, err)) < 0 ||
            (r = store_json_string(v, "timestamp", context, &e.timestamp, err)) < 0)
                return r;

        e.kind = wal_op_kind_from_string(kind);
        if (e.kind < 0)
                return kp_error_set_kind(err, KP_ERROR_STORE, -EINVAL, "%s: unknown kind '%s'", context, kind);

        steps = json_object_get(v, "rollback_steps");
        if (!json_is_array(steps))
                return kp_error_set_kind(err, KP_ERROR_STORE, -EINVAL, "%s: rollback_steps is not an array", context);

        e.steps = calloc(json_array_size(steps) + 1, sizeof(WalStep));
        if (!e.steps)
                return kp_error_set(err, -ENOMEM, "out of memory");
        json_array_foreach(steps, i, item) {
                r = wal_step_from_json(item, &e.steps[i], err);
                if (r < 0)
                        return kp_error_prefix(err, "%s", context);
                e.n_steps++;
        }

        *ret = e;
        e = (WalEntry) {};
        return 0;
}

static int wal_entry_compare(const void *a, const void *b) {
        const WalEntry *x = a, *y = b;
        int c = strcmp(x->timestamp, y->timestamp);

        return c != 0 ? c : strcmp(x->op_id, y->op_id);
}

static bool wal_file_name_is_entry(const char *name) {
        size_t len = strlen(name);

        return name[0] != '.' && len > 5 && streq(name + len - 5, ".json");
}

static bool wal_entry_matches_file(const WalEntry *e, const char *file) {
        size_t len = strlen(e->op_id);

        return strneq(e->op_id, file, len) && streq(file + len, ".json");
}

/* Load the entry FILE. A broken one gives 0 and, with DROP, is deleted with
 * a warning. */
static int wal_load_or_drop(int dfd, const char *file, bool drop, WalEntry *ret, KpError *err) {
        _cleanup_error_ KpError e = KP_ERROR_INIT;
        _cleanup_json_ json_t *v = NULL;
        int r;

        r = wal_read_json(dfd, file, &v, &e);
        if (r >= 0)
                r = wal_entry_from_json(v, ret, &e);
        if (r == -ENOMEM)
                return kp_error_set(err, r, "out of memory");
        if (r >= 0 && !wal_entry_matches_file(ret, file)) {
                wal_entry_done(ret);
                r = kp_error_set_kind(&e, KP_ERROR_STORE, -EINVAL, "op_id does not match the file name");
        }
        if (r >= 0)
                return 1;
        if (!drop)
                return 0;

        log_warn("Removing unreadable WAL entry '%s': %s", file, e.message);
        r = wal_remove_file(dfd, file);
        if (r < 0)
                log_warn("Failed to remove WAL entry '%s', ignoring: %s", file, strerror(-r));
        return 0;
}

int store_wal_list(Store *s, bool drop_broken, WalEntry **ret, size_t *ret_count, size_t *ret_broken,
                   KpError *err) {
        _cleanup_strv_free_ char **names = NULL;
        WalEntry *entries;
        size_t n = 0, count = 0, broken = 0;
        int dfd, r;

        dfd = wal_dir(s, /* create= */ false, err);
        if (dfd == -ENOENT) {
                kp_error_clear(err);
                *ret = NULL;
                *ret_count = 0;
                if (ret_broken)
                        *ret_broken = 0;
                return 0;
        }
        if (dfd < 0)
                return dfd;

        r = kp_dir_list_at(dfd, ".", /* skip_hidden= */ true, /* missing_ok= */ false, &names, &n);
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_STORE, r, "failed to list WAL entries: %s", strerror(-r));

        entries = calloc(n + 1, sizeof(WalEntry));
        if (!entries)
                return kp_error_set(err, -ENOMEM, "out of memory");

        for (size_t i = 0; i < n; i++) {
                if (!wal_file_name_is_entry(names[i]))
                        continue;
                r = wal_load_or_drop(dfd, names[i], drop_broken, &entries[count], err);
                if (r < 0) {
                        wal_entries_free(entries, count);
                        return r;
                }
                count += (size_t) r;
                broken += (size_t) (r == 0);
        }

        qsort(entries, count, sizeof(WalEntry), wal_entry_compare);
        *ret = entries;
        *ret_count = count;
        if (ret_broken)
                *ret_broken = broken;
        return 0;
}

int store_wal_list_incomplete(Store *s, WalEntry **ret, size_t *ret_count, KpError *err) {
        return store_wal_list(s, /* drop_broken= */ true, ret, ret_count, NULL, err);
}

/* Rollback steps come from a file that anyone with write access to the
 * store can edit. So they may only touch paths below the store root, and
 * never the store's own skeleton (version file, lock, top-level
 * directories). */
static bool wal_path_is_allowed(Store *s, const char *path) {
        static const char *const protected_paths[] = {
                "store", "store/version", "store/.lock", "store/objects", "store/layers",
                "store/metadata", "store/staging", "store/wal", "env", "images",
        };
        _cleanup_free_ char *normalized = NULL;
        const char *root = store_root(s), *rel;
        size_t root_len = strlen(root);

        if (!path || path[0] != '/')
                return false;
        if (kp_path_normalize(path, &normalized) < 0 || !streq(normalized, path))
                return false;
        if (!strneq(path, root, root_len) || path[root_len] != '/' || path[root_len + 1] == '\0')
                return false;

        rel = path + root_len + 1;
        for (size_t i = 0; i < ELEMENTSOF(protected_paths); i++)
                if (streq(rel, protected_paths[i]))
                        return false;
        return true;
}

static void wal_undo_remove(Store *s, const WalStep *st) {
        int r;

        if (st->type == WAL_STEP_REMOVE_DIR)
                r = store_remove_tree(s, st->path);
        else
                r = unlink(st->path) < 0 && errno != ENOENT ? -errno : 0;
        if (r < 0)
                log_warn("WAL recovery: failed to remove '%s', ignoring: %s", st->path, strerror(-r));
        else
                log_debug("WAL recovery: removed '%s'", st->path);
}

static void wal_undo_reset_state(Store *s, const WalStep *st) {
        _cleanup_error_ KpError e = KP_ERROR_INIT;
        int r;

        if (st->target_state < 0) {
                log_warn("WAL recovery: unknown target state for %s, skipping", st->env_id);
                return;
        }

        /* The update verifies the checksum first. A damaged file is left
         * alone rather than rewritten with a fresh checksum that would hide
         * the damage. */
        r = store_metadata_update_state(s, st->env_id, st->target_state, &e);
        if (r == -ENOENT)
                log_debug("WAL recovery: no metadata for %s, skipping state reset", st->env_id);
        else if (r < 0)
                log_warn("WAL recovery: failed to reset the state of %s, skipping: %s", st->env_id, e.message);
        else
                log_debug("WAL recovery: reset %s to %s", st->env_id, env_state_to_display(st->target_state));
}

static void wal_undo_rename(Store *s, const WalStep *st) {
        /* Undo only a rename that happened, which means the destination
         * exists and the source does not. */
        if (access(st->to, F_OK) < 0 || access(st->path, F_OK) == 0) {
                log_debug("WAL recovery: nothing to rename back from '%s'", st->to);
                return;
        }

        if (renameat2(AT_FDCWD, st->to, AT_FDCWD, st->path, RENAME_NOREPLACE) < 0) {
                log_warn("WAL recovery: failed to rename '%s' back to '%s', ignoring: %s", st->to, st->path,
                         strerror(errno));
                return;
        }
        log_debug("WAL recovery: renamed '%s' back to '%s'", st->to, st->path);
}

static void wal_undo_step(Store *s, const WalStep *st) {
        bool allowed;

        switch (st->type) {
        case WAL_STEP_REMOVE_DIR:
        case WAL_STEP_REMOVE_FILE:
                allowed = wal_path_is_allowed(s, st->path);
                break;
        case WAL_STEP_RENAME_DIR:
                allowed = wal_path_is_allowed(s, st->path) && wal_path_is_allowed(s, st->to);
                break;
        default:
                allowed = true;
        }
        if (!allowed) {
                log_warn("WAL recovery: skipping a %s step on a path outside the store or on its skeleton: '%s'",
                         wal_step_type_to_string(st->type), st->path);
                return;
        }

        kp_fault_point("wal-recover:step");
        switch (st->type) {
        case WAL_STEP_REMOVE_DIR:
        case WAL_STEP_REMOVE_FILE:
                wal_undo_remove(s, st);
                break;
        case WAL_STEP_RESET_STATE:
                wal_undo_reset_state(s, st);
                break;
        case WAL_STEP_RENAME_DIR:
                wal_undo_rename(s, st);
                break;
        default:
                break;
        }
}

int store_wal_recover(Store *s, KpError *err) {
        WalEntry *entries = NULL;
        size_t n = 0;
        int dfd, r;

        r = store_wal_list_incomplete(s, &entries, &n, err);
        if (r < 0)
                return r;
        if (n == 0) {
                free(entries);
                return 0;
        }

        dfd = wal_dir(s, /* create= */ false, err);
        if (dfd < 0) {
                wal_entries_free(entries, n);
                return dfd;
        }

        for (size_t i = 0; i < n; i++) {
                WalEntry *e = &entries[i];
                _cleanup_free_ char *file = NULL;

                log_info("Rolling back incomplete %s operation %s for %s", wal_op_kind_to_display(e->kind), e->op_id,
                         e->env_id);
                for (size_t j = e->n_steps; j > 0; j--)
                        wal_undo_step(s, &e->steps[j - 1]);

                if (asprintf(&file, "%s.json", e->op_id) < 0) {
                        wal_entries_free(entries, n);
                        return kp_error_set(err, -ENOMEM, "out of memory");
                }
                r = wal_remove_file(dfd, file);
                if (r < 0)
                        log_warn("Failed to remove WAL entry '%s', ignoring: %s", file, strerror(-r));
        }

        wal_entries_free(entries, n);
        return (int) n;
}
