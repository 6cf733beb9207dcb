/* SPDX-License-Identifier: MIT */
/* commit, restore, snapshot listing and drift reports. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "basic/fault.h"
#include "basic/fs-util.h"
#include "basic/log.h"
#include "engine/engine-internal.h"
#include "runtime/sandbox-store.h"
#include "store/tree.h"

static int load_snapshot_target(Engine *e, const char *env_id, const char *what, EnvMetadata **ret,
                                KpError *err) {
        _cleanup_env_metadata_free_ EnvMetadata *m = NULL;
        int r;

        if (!env_id_is_valid(env_id))
                return kp_error_set_kind(err, KP_ERROR_NOT_FOUND, -ENOENT, "environment not found: %s", env_id);
        r = store_metadata_get(e->store, env_id, &m, err);
        if (r < 0)
                return r;
        /* A running session has the upper directory mounted: restoring
         * under it would break the overlay. */
        EnvState current = engine_effective_state(e, m);
        if (current != ENV_STATE_BUILT && current != ENV_STATE_FROZEN)
                return kp_error_set_kind(err, KP_ERROR_STATE, -EPERM,
                                         "invalid state transition: %s -> %s requires built or frozen state",
                                         env_state_to_display(current), what);
        *ret = TAKE_PTR(m);
        return 0;
}

int engine_commit(Engine *e, const char *env_id, char ret_layer_id[KP_HASH_HEX_SIZE], KpError *err) {
        _cleanup_env_metadata_free_ EnvMetadata *m = NULL;
        _cleanup_free_ char *env_dir = NULL, *upper = NULL, *cache = NULL, *op_id = NULL;
        _cleanup_free_ char *input = NULL, *layer_path = NULL;
        _cleanup_strv_free_ char **refs = NULL;
        char tree_key[KP_HASH_HEX_SIZE], snapshot_id[KP_HASH_HEX_SIZE];
        size_t n_refs = 0;
        int r;

        r = engine_lock(e, err);
        if (r < 0)
                return r;
        r = load_snapshot_target(e, env_id, "commit", &m, err);
        if (r < 0)
                goto out;

        env_dir = engine_env_dir(e, env_id);
        if (!env_dir || !(upper = kp_path_join(env_dir, "upper")) || !(cache = kp_path_join(env_dir, ".tree-cache"))) {
                r = kp_error_set(err, -ENOMEM, "out of memory");
                goto out;
        }
        if (!kp_is_dir_at(AT_FDCWD, upper)) {
                r = kp_error_set_kind(err, KP_ERROR_NOT_FOUND, -ENOENT,
                                      "environment not found: no overlay upper directory for %s", env_id);
                goto out;
        }

        r = store_wal_begin(e->store, WAL_OP_COMMIT, env_id, &op_id, err);
        if (r < 0)
                goto out;

        /* Only files that changed since the last pack are hashed and
         * stored; the rest are already objects. */
        engine_report(e, "packing the upper directory of %s", m->short_id);
        r = sandbox_tree_pack_cached(e->store, AT_FDCWD, upper, cache, tree_key, &refs, &n_refs, err);
        if (r < 0)
                goto out;

        if (asprintf(&input, "snapshot:%s:%s:%s", env_id, m->base_layer, tree_key) < 0) {
                r = kp_error_set(err, -ENOMEM, "out of memory");
                goto out;
        }
        kp_hash_str_hex(input, snapshot_id);

        Layer layer = {
                .hash = snapshot_id,
                .kind = LAYER_KIND_SNAPSHOT,
                .parent = m->base_layer,
                .object_refs = refs,
                .n_object_refs = n_refs,
                .read_only = true,
                .tar_hash = tree_key,
        };
        r = layer_compute_id(&layer, ret_layer_id, err);
        if (r < 0)
                goto out;
        if (asprintf(&layer_path, "%s/store/layers/%s", e->root, ret_layer_id) < 0) {
                r = kp_error_set(err, -ENOMEM, "out of memory");
                goto out;
        }
        if (!store_layer_exists(e->store, ret_layer_id)) {
                r = store_wal_add_remove_file(e->store, op_id, layer_path, err);
                if (r < 0)
                        goto out;
        }
        r = store_layer_put(e->store, &layer, ret_layer_id, err);
        if (r < 0)
                goto out;
        r = store_wal_commit(e->store, op_id, err);

out:
        engine_unlock(e);
        return r;
}

/* Restore replaces upper/ without a window in which neither the old nor
 * the new content is in place: unpack into staging, move the old upper
 * aside, move the new one in, then delete the old one. Each move has a WAL
 * step, so a crash at any point leaves one complete upper directory. */
static int swap_upper(Engine *e, const char *op_id, const char *upper, const char *staging, const char *old,
                      KpError *err) {
        int r;

        r = engine_remove_tree(e, old, err);
        if (r < 0)
                return r;
        if (kp_is_dir_at(AT_FDCWD, upper)) {
                r = store_wal_add_rename_dir(e->store, op_id, upper, old, err);
                if (r < 0)
                        return r;
                kp_fault_point("restore-before-move-old");
                if (rename(upper, old) < 0)
                        return kp_error_set_kind(err, KP_ERROR_STORE, -errno, "move '%s' aside: %m", upper);
        }
        kp_fault_point("restore-before-move-new");
        if (rename(staging, upper) < 0)
                return kp_error_set_kind(err, KP_ERROR_STORE, -errno, "move '%s' to '%s': %m", staging, upper);
        return 0;
}

int engine_restore(Engine *e, const char *env_id, const char *snapshot_layer_id, KpError *err) {
        _cleanup_env_metadata_free_ EnvMetadata *m = NULL;
        _cleanup_layer_free_ Layer *layer = NULL;
        _cleanup_free_ char *env_dir = NULL, *upper = NULL, *staging = NULL, *old = NULL, *op_id = NULL;
        _cleanup_free_ char *cache = NULL;
        int r;

        r = engine_lock(e, err);
        if (r < 0)
                return r;
        r = load_snapshot_target(e, env_id, "restore", &m, err);
        if (r < 0)
                goto out;

        if (!kp_hash_hex_is_valid(snapshot_layer_id) || store_layer_get(e->store, snapshot_layer_id, &layer, err) < 0) {
                r = kp_error_set_kind(err, KP_ERROR_STORE, -ENOENT, "layer not found: %s", snapshot_layer_id);
                goto out;
        }
        if (layer->kind != LAYER_KIND_SNAPSHOT) {
                r = kp_error_set_kind(err, KP_ERROR_STATE, -EINVAL,
                                      "invalid state transition: %s -> restore requires a Snapshot layer",
                                      layer_kind_to_string(layer->kind));
                goto out;
        }
        if (isempty(layer->tar_hash)) {
                r = kp_error_set_kind(err, KP_ERROR_STORE, -ENOENT,
                                      "layer not found: snapshot %s has no tar content (legacy layer)",
                                      snapshot_layer_id);
                goto out;
        }
        /* Stricter than the original tool: a snapshot of another
         * environment would mix its files into this one. */
        if (!layer->parent || !streq(layer->parent, m->base_layer)) {
                r = kp_error_set_kind(err, KP_ERROR_STATE, -EINVAL,
                                      "snapshot %s does not belong to environment %s", snapshot_layer_id, m->short_id);
                goto out;
        }

        env_dir = engine_env_dir(e, env_id);
        if (!env_dir || !(upper = kp_path_join(env_dir, "upper")) || !(cache = kp_path_join(env_dir, ".tree-cache")) ||
            asprintf(&staging, "%s/store/staging/restore-%s", e->root, env_id) < 0 ||
            asprintf(&old, "%s/store/staging/restore-%s.old", e->root, env_id) < 0) {
                r = kp_error_set(err, -ENOMEM, "out of memory");
                goto out;
        }

        r = store_wal_begin(e->store, WAL_OP_RESTORE, env_id, &op_id, err);
        if (r < 0)
                goto out;
        r = store_wal_add_remove_dir(e->store, op_id, staging, err);
        if (r < 0)
                goto out;
        r = engine_remove_tree(e, staging, err);
        if (r < 0)
                goto out;

        engine_report(e, "unpacking snapshot %.12s", snapshot_layer_id);
        r = sandbox_tree_unpack(e->store, layer->tar_hash, AT_FDCWD, staging, err);
        if (r < 0)
                goto out;

        r = swap_upper(e, op_id, upper, staging, old, err);
        if (r < 0)
                goto out;
        r = store_wal_commit(e->store, op_id, err);
        if (r < 0)
                goto out;

        /* The pack cache describes the old files. */
        (void) unlink(cache);
        {
                _cleanup_error_ KpError cleanup_err = KP_ERROR_INIT;
                if (engine_remove_tree(e, old, &cleanup_err) < 0)
                        log_warn("cannot remove the previous upper directory: %s", cleanup_err.message);
        }

out:
        if (r < 0 && op_id) {
                _cleanup_error_ KpError undo_err = KP_ERROR_INIT;
                if (store_wal_recover(e->store, &undo_err) < 0)
                        log_warn("cannot roll back the failed restore: %s", undo_err.message);
        }
        engine_unlock(e);
        return r;
}

static int compare_snapshots(const void *a, const void *b) {
        return strcmp(((const SnapshotInfo *) a)->hash, ((const SnapshotInfo *) b)->hash);
}

int engine_snapshots(Engine *e, const char *env_id, SnapshotInfo **ret, size_t *ret_count, KpError *err) {
        _cleanup_env_metadata_free_ EnvMetadata *m = NULL;
        _cleanup_strv_free_ char **ids = NULL;
        _cleanup_free_ SnapshotInfo *list = NULL;
        size_t n_ids = 0, n = 0;
        int r;

        if (!env_id_is_valid(env_id))
                return kp_error_set_kind(err, KP_ERROR_NOT_FOUND, -ENOENT, "environment not found: %s", env_id);
        r = store_metadata_get(e->store, env_id, &m, err);
        if (r < 0)
                return r;
        r = store_layer_list(e->store, &ids, &n_ids, err);
        if (r < 0)
                return r;

        list = calloc(n_ids + 1, sizeof(SnapshotInfo));
        if (!list)
                return kp_error_set(err, -ENOMEM, "out of memory");

        for (size_t i = 0; i < n_ids; i++) {
                _cleanup_layer_free_ Layer *layer = NULL;
                _cleanup_error_ KpError layer_err = KP_ERROR_INIT;

                if (store_layer_get(e->store, ids[i], &layer, &layer_err) < 0)
                        continue;
                if (layer->kind != LAYER_KIND_SNAPSHOT || !layer->parent || !streq(layer->parent, m->base_layer))
                        continue;
                snprintf(list[n].hash, KP_HASH_HEX_SIZE, "%s", layer->hash);
                snprintf(list[n].parent, KP_HASH_HEX_SIZE, "%s", layer->parent);
                snprintf(list[n].restore_hash, KP_HASH_HEX_SIZE, "%s", ids[i]);
                snprintf(list[n].tar_hash, KP_HASH_HEX_SIZE, "%s", layer->tar_hash);
                n++;
        }
        qsort(list, n, sizeof(SnapshotInfo), compare_snapshots);
        *ret = TAKE_PTR(list);
        *ret_count = n;
        return 0;
}

void diff_report_done(DiffReport *r) {
        kp_strv_free(r->added);
        kp_strv_free(r->modified);
        kp_strv_free(r->removed);
        memset(r, 0, sizeof(*r));
}

bool diff_report_has_drift(const DiffReport *r) {
        return r->n_added + r->n_modified + r->n_removed > 0;
}

typedef struct DiffWalk {
        DiffReport *report;
        int lowerfd;                    /* -1 when there is no lower tree */
        int r;
} DiffWalk;

static int diff_push(char ***v, size_t *n, const char *s) {
        return kp_strv_push(v, n, strdup(s));
}

/* The path with the ".wh." prefix of its last component removed. */
static char *whiteout_target(const char *relpath) {
        const char *slash = strrchr(relpath, '/');
        size_t dir_len = slash ? (size_t) (slash - relpath + 1) : 0;
        char *out = NULL;

        if (asprintf(&out, "%.*s%s", (int) dir_len, relpath, relpath + dir_len + 4) < 0)
                return NULL;
        return out;
}

static int diff_visit(int parent_fd, const char *name, const char *relpath, const struct stat *st, void *userdata) {
        DiffWalk *w = userdata;
        DiffReport *d = w->report;
        struct stat lower_st;
        bool in_lower;

        if (strneq(name, ".wh.", 4)) {
                _cleanup_free_ char *target = whiteout_target(relpath);

                /* ".wh..wh..opq" marks an opaque directory, not a removal. */
                if (streq(name, ".wh..wh..opq"))
                        return 0;
                if (!target)
                        return -ENOMEM;
                return diff_push(&d->removed, &d->n_removed, target) < 0 ? -ENOMEM : KP_WALK_SKIP;
        }
        /* Kernel overlayfs records a deletion as a 0:0 character device. */
        if (S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0))
                return diff_push(&d->removed, &d->n_removed, relpath) < 0 ? -ENOMEM : 0;
        if (S_ISDIR(st->st_mode))
                return 0;

        in_lower = w->lowerfd >= 0 && fstatat(w->lowerfd, relpath, &lower_st, 0) == 0;
        if (in_lower)
                return diff_push(&d->modified, &d->n_modified, relpath) < 0 ? -ENOMEM : 0;
        return diff_push(&d->added, &d->n_added, relpath) < 0 ? -ENOMEM : 0;
}

static int compare_paths(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static void sort_paths(char **v, size_t n) {
        if (n > 1)
                qsort(v, n, sizeof(char *), compare_paths);
}

int engine_diff(Engine *e, const char *env_id, DiffReport *ret, KpError *err) {
        _cleanup_free_ char *env_dir = NULL, *upper = NULL, *lower = NULL;
        _cleanup_close_ int lowerfd = -1;
        DiffReport report = {};
        DiffWalk w = { .report = &report, .lowerfd = -1 };
        int r;

        if (!env_id_is_valid(env_id))
                return kp_error_set_kind(err, KP_ERROR_NOT_FOUND, -ENOENT, "environment not found: %s", env_id);
        env_dir = engine_env_dir(e, env_id);
        if (!env_dir || !(upper = kp_path_join(env_dir, "upper")) || !(lower = kp_path_join(env_dir, "lower")))
                return kp_error_set(err, -ENOMEM, "out of memory");

        lowerfd = open(lower, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        w.lowerfd = lowerfd;

        if (kp_is_dir_at(AT_FDCWD, upper)) {
                r = kp_walk_at(AT_FDCWD, upper, diff_visit, &w);
                if (r < 0) {
                        diff_report_done(&report);
                        return kp_error_set_kind(err, KP_ERROR_IO, r, "walk '%s': %s", upper, strerror(-r));
                }
        }
        /* The walk visits names in byte order of each directory, which is
         * not the byte order of whole paths ("a-b" sorts before "a/b"). */
        sort_paths(report.added, report.n_added);
        sort_paths(report.modified, report.n_modified);
        sort_paths(report.removed, report.n_removed);
        *ret = report;
        return 0;
}
