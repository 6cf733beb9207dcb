/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "basic/fault.h"
#include "basic/log.h"
#include "store/store-gc.h"
#include "store/store-internal.h"
#include "store/store-layer.h"
#include "store/store-metadata.h"
#include "store/store-wal.h"

typedef enum GcMark {
        GC_MARK_UNKNOWN,
        GC_MARK_VISITING,
        GC_MARK_LIVE,
        GC_MARK_DEAD,
} GcMark;

typedef struct GcContext {
        Store *store;
        EnvMetadata *envs;
        size_t n_envs;
        char **layer_ids;       /* sorted listing of layers/ */
        size_t n_layers;
        Layer **layers;         /* parallel to layer_ids, NULL for names that are no layer id */
        GcMark *marks;          /* parallel to layer_ids */
        char **live_objects;    /* sorted, unique */
        size_t n_live_objects;
} GcContext;

static void gc_context_done(GcContext *c) {
        env_metadata_array_free(c->envs, c->n_envs);
        for (size_t i = 0; c->layers && i < c->n_layers; i++)
                layer_free(c->layers[i]);
        free(c->layers);
        free(c->marks);
        kp_strv_free(c->layer_ids);
        kp_strv_free(c->live_objects);
        *c = (GcContext) {};
}

void gc_report_done(GcReport *r) {
        if (!r)
                return;
        kp_strv_free(r->orphaned_envs);
        kp_strv_free(r->orphaned_layers);
        kp_strv_free(r->orphaned_objects);
        kp_strv_free(r->orphaned_staging);
        kp_strv_free(r->stale_tmpfiles);
        *r = (GcReport) {};
}

static int strv_push_copy(char ***v, size_t *n, const char *s) {
        return kp_strv_push(v, n, strdup(s));
}

static int strv_init(char ***v) {
        if (*v)
                return 0;
        *v = calloc(1, sizeof(char *));
        return *v ? 0 : -ENOMEM;
}

static int compare_strings(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static bool strv_sorted_contains(char *const *v, size_t n, const char *s) {
        return s && bsearch(&s, v, n, sizeof(char *), compare_strings);
}

static ssize_t gc_layer_index(const GcContext *c, const char *id) {
        char *const *hit;

        if (isempty(id))
                return -1;
        hit = bsearch(&id, c->layer_ids, c->n_layers, sizeof(char *), compare_strings);
        return hit ? hit - c->layer_ids : -1;
}

static bool env_is_orphan(const EnvMetadata *m) {
        return m->ref_count == 0 && m->state != ENV_STATE_RUNNING && m->state != ENV_STATE_ARCHIVED;
}

static int gc_fail_before_delete(KpError *err, int code, const char *thing, const char *name, const char *reason) {
        return kp_error_set_kind(err, KP_ERROR_STORE, code,
                                 "garbage collection stopped before deleting anything: cannot load %s %s: %s "
                                 "(run verify-store, then repair or remove it)",
                                 thing, name, reason);
}

static int gc_load_metadata(GcContext *c, KpError *err) {
        MetadataListEntry *entries = NULL;
        size_t n = 0;
        int r;

        r = store_metadata_list_with_errors(c->store, &entries, &n, err);
        if (r < 0)
                return r;

        c->envs = calloc(n + 1, sizeof(EnvMetadata));
        if (!c->envs) {
                metadata_list_entries_free(entries, n);
                return kp_error_set(err, -ENOMEM, "out of memory");
        }

        for (size_t i = 0; i < n; i++) {
                MetadataListEntry *e = &entries[i];

                if (!e->metadata && !env_id_is_valid(e->name)) {
                        log_warn("Ignoring '%s' in the metadata directory: not an environment id", e->name);
                        continue;
                }
                if (!e->metadata) {
                        /* Its layers and objects may be in use, so keep everything. */
                        r = gc_fail_before_delete(err, e->error.code ? e->error.code : -EIO,
                                                  "the metadata of environment", e->name,
                                                  e->error.message ? e->error.message : "unknown error");
                        metadata_list_entries_free(entries, n);
                        return r;
                }
                c->envs[c->n_envs++] = *e->metadata;
                free(e->metadata);
                e->metadata = NULL;
        }

        metadata_list_entries_free(entries, n);
        return 0;
}

static int gc_load_layers(GcContext *c, KpError *err) {
        int r;

        r = store_layer_list(c->store, &c->layer_ids, &c->n_layers, err);
        if (r < 0)
                return r;

        /* Binary search below relies on strcmp order. */
        qsort(c->layer_ids, c->n_layers, sizeof(char *), compare_strings);

        c->layers = calloc(c->n_layers + 1, sizeof(Layer *));
        c->marks = calloc(c->n_layers + 1, sizeof(GcMark));
        if (!c->layers || !c->marks)
                return kp_error_set(err, -ENOMEM, "out of memory");

        for (size_t i = 0; i < c->n_layers; i++) {
                _cleanup_error_ KpError e = KP_ERROR_INIT;

                /* A stray name cannot be referenced by id, so it is garbage. */
                if (!kp_hash_hex_is_valid(c->layer_ids[i])) {
                        c->marks[i] = GC_MARK_DEAD;
                        continue;
                }

                r = store_layer_get(c->store, c->layer_ids[i], &c->layers[i], &e);
                if (r < 0)
                        return gc_fail_before_delete(err, r, "layer", c->layer_ids[i], e.message);
        }
        return 0;
}

static int gc_mark_layer(GcContext *c, const EnvMetadata *m, const char *id, KpError *err) {
        ssize_t i;

        if (isempty(id))
                return 0;

        i = gc_layer_index(c, id);
        if (i < 0 || !c->layers[i])
                return kp_error_set_kind(err, KP_ERROR_STORE, -ENOENT,
                                         "garbage collection stopped before deleting anything: environment %s "
                                         "references missing layer %s (run verify-store)",
                                         m->env_id, id);
        c->marks[i] = GC_MARK_LIVE;
        return 0;
}

static int gc_mark_env_layers(GcContext *c, KpError *err) {
        int r;

        for (size_t i = 0; i < c->n_envs; i++) {
                const EnvMetadata *m = &c->envs[i];

                if (env_is_orphan(m))
                        continue;

                r = gc_mark_layer(c, m, m->base_layer, err);
                if (r < 0)
                        return r;
                for (size_t j = 0; j < m->n_dependency_layers; j++) {
                        r = gc_mark_layer(c, m, m->dependency_layers[j], err);
                        if (r < 0)
                                return r;
                }
                r = gc_mark_layer(c, m, m->policy_layer, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Decide whether layer START is live through its parent chain: a Snapshot
 * is live when its parent is live. Every layer on the chain gets the
 * result, so each layer is walked once. */
static void gc_resolve_chain(GcContext *c, size_t start) {
        GcMark result = GC_MARK_DEAD;
        ssize_t i = (ssize_t) start;

        while (i >= 0) {
                const Layer *l = c->layers[i];

                if (c->marks[i] == GC_MARK_LIVE || c->marks[i] == GC_MARK_DEAD) {
                        result = c->marks[i];
                        break;
                }
                if (c->marks[i] == GC_MARK_VISITING || !l || l->kind != LAYER_KIND_SNAPSHOT)
                        break;  /* a cycle, or the chain ends in a non-live layer */

                c->marks[i] = GC_MARK_VISITING;
                i = gc_layer_index(c, l->parent);
        }

        /* Walk the chain again and record the result. */
        for (i = (ssize_t) start; i >= 0 && c->marks[i] == GC_MARK_VISITING;) {
                c->marks[i] = result;
                i = gc_layer_index(c, c->layers[i]->parent);
        }
        if (c->marks[start] == GC_MARK_UNKNOWN)
                c->marks[start] = result;
}

static int gc_collect_live_objects(GcContext *c, KpError *err) {
        size_t n = 0, unique = 0;
        int r;

        if (strv_init(&c->live_objects) < 0)
                return kp_error_set(err, -ENOMEM, "out of memory");

        for (size_t i = 0; i < c->n_envs; i++)
                if (!env_is_orphan(&c->envs[i]) && !isempty(c->envs[i].manifest_hash)) {
                        r = strv_push_copy(&c->live_objects, &n, c->envs[i].manifest_hash);
                        if (r < 0)
                                return kp_error_set(err, r, "out of memory");
                }

        for (size_t i = 0; i < c->n_layers; i++) {
                const Layer *l = c->layers[i];

                if (c->marks[i] != GC_MARK_LIVE)
                        continue;
                for (size_t j = 0; j < l->n_object_refs; j++) {
                        r = strv_push_copy(&c->live_objects, &n, l->object_refs[j]);
                        if (r < 0)
                                return kp_error_set(err, r, "out of memory");
                }
                if (!isempty(l->tar_hash)) {
                        r = strv_push_copy(&c->live_objects, &n, l->tar_hash);
                        if (r < 0)
                                return kp_error_set(err, r, "out of memory");
                }
        }

        qsort(c->live_objects, n, sizeof(char *), compare_strings);
        for (size_t i = 0; i < n; i++) {
                if (unique > 0 && streq(c->live_objects[unique - 1], c->live_objects[i])) {
                        free(c->live_objects[i]);
                        continue;
                }
                c->live_objects[unique++] = c->live_objects[i];
        }
        c->live_objects[unique] = NULL;
        c->n_live_objects = unique;
        return 0;
}

static int gc_find_orphans(GcContext *c, GcReport *rep, KpError *err) {
        _cleanup_strv_free_ char **objects = NULL;
        size_t n_objects = 0;
        int r;

        for (size_t i = 0; i < c->n_envs; i++)
                if (env_is_orphan(&c->envs[i])) {
                        r = strv_push_copy(&rep->orphaned_envs, &rep->n_orphaned_envs, c->envs[i].env_id);
                        if (r < 0)
                                return kp_error_set(err, r, "out of memory");
                }

        for (size_t i = 0; i < c->n_layers; i++)
                if (c->marks[i] != GC_MARK_LIVE) {
                        r = strv_push_copy(&rep->orphaned_layers, &rep->n_orphaned_layers, c->layer_ids[i]);
                        if (r < 0)
                                return kp_error_set(err, r, "out of memory");
                }

        r = store_object_list(c->store, &objects, &n_objects, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_objects; i++)
                if (!strv_sorted_contains(c->live_objects, c->n_live_objects, objects[i])) {
                        r = strv_push_copy(&rep->orphaned_objects, &rep->n_orphaned_objects, objects[i]);
                        if (r < 0)
                                return kp_error_set(err, r, "out of memory");
                }
        return 0;
}

/* True when a step of an incomplete WAL entry names PATH or something
 * below it, because recovery still needs that staging entry then. */
static bool wal_steps_use(const WalEntry *entries, size_t n, const char *path) {
        size_t len = strlen(path);

        for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < entries[i].n_steps; j++) {
                        const char *paths[] = { entries[i].steps[j].path, entries[i].steps[j].to };

                        for (size_t k = 0; k < ELEMENTSOF(paths); k++)
                                if (paths[k] && strneq(paths[k], path, len) &&
                                    (paths[k][len] == '\0' || paths[k][len] == '/'))
                                        return true;
                }
        return false;
}

static int gc_find_staging(GcContext *c, GcReport *rep, KpError *err) {
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_free_ char *staging = NULL;
        WalEntry *entries = NULL;
        size_t n = 0, n_entries = 0, broken = 0;
        int dfd, r;

        dfd = store_dir_fd(c->store, STORE_DIR_STAGING, err);
        if (dfd == -ENOENT) {
                kp_error_clear(err);
                return 0;
        }
        if (dfd < 0)
                return dfd;

        r = kp_dir_list_at(dfd, ".", /* skip_hidden= */ false, /* missing_ok= */ false, &names, &n);
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_STORE, r, "failed to list staging: %s", strerror(-r));
        if (n == 0)
                return 0;

        r = store_wal_list(c->store, /* drop_broken= */ false, &entries, &n_entries, &broken, err);
        if (r < 0)
                return r;
        if (broken > 0) {
                log_warn("Keeping staging entries: %zu unreadable WAL entries may refer to them", broken);
                wal_entries_free(entries, n_entries);
                return 0;
        }

        staging = store_path_of(c->store, STORE_DIR_STAGING, NULL);
        if (!staging) {
                wal_entries_free(entries, n_entries);
                return kp_error_set(err, -ENOMEM, "out of memory");
        }

        for (size_t i = 0; i < n && r >= 0; i++) {
                _cleanup_free_ char *path = kp_path_join(staging, names[i]);

                if (!path)
                        r = -ENOMEM;
                else if (!wal_steps_use(entries, n_entries, path))
                        r = strv_push_copy(&rep->orphaned_staging, &rep->n_orphaned_staging, names[i]);
        }
        wal_entries_free(entries, n_entries);
        if (r < 0)
                return kp_error_set(err, r, "out of memory");
        return 0;
}

/* Directories searched for stale temporary files, relative to store/. */
static const char *const gc_tmpfile_dirs[] = { ".", "objects", "layers", "metadata", "wal" };

static int gc_find_tmpfiles(GcContext *c, GcReport *rep, KpError *err) {
        time_t now = time(NULL);
        int base, r;

        base = store_base_fd(c->store, err);
        if (base < 0)
                return base;
        for (size_t i = 0; i < ELEMENTSOF(gc_tmpfile_dirs); i++) {
                _cleanup_strv_free_ char **names = NULL;
                _cleanup_close_ int dfd = -1;
                size_t n = 0;

                dfd = openat(base, gc_tmpfile_dirs[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (dfd < 0)
                        continue;

                r = store_tmpfiles_list(dfd, now, STORE_TMPFILE_STALE_SEC, &names, &n);
                if (r < 0)
                        return kp_error_set_kind(err, KP_ERROR_STORE, r, "failed to list temporary files: %s",
                                                 strerror(-r));
                for (size_t j = 0; j < n; j++) {
                        _cleanup_free_ char *rel = streq(gc_tmpfile_dirs[i], ".")
                                                           ? strdup(names[j])
                                                           : kp_path_join(gc_tmpfile_dirs[i], names[j]);

                        r = kp_strv_push(&rep->stale_tmpfiles, &rep->n_stale_tmpfiles, TAKE_PTR(rel));
                        if (r < 0)
                                return kp_error_set(err, r, "out of memory");
                }
        }
        return 0;
}

static int gc_analyze(GcContext *c, GcReport *rep, KpError *err) {
        int r;

        if (strv_init(&rep->orphaned_envs) < 0 || strv_init(&rep->orphaned_layers) < 0 ||
            strv_init(&rep->orphaned_objects) < 0 || strv_init(&rep->orphaned_staging) < 0 ||
            strv_init(&rep->stale_tmpfiles) < 0)
                return kp_error_set(err, -ENOMEM, "out of memory");

        r = gc_load_metadata(c, err);
        if (r < 0)
                return r;

        r = gc_load_layers(c, err);
        if (r < 0)
                return r;

        r = gc_mark_env_layers(c, err);
        if (r < 0)
                return r;

        for (size_t i = 0; i < c->n_layers; i++)
                gc_resolve_chain(c, i);

        r = gc_collect_live_objects(c, err);
        if (r < 0)
                return r;

        r = gc_find_orphans(c, rep, err);
        if (r < 0)
                return r;

        r = gc_find_staging(c, rep, err);
        if (r < 0)
                return r;

        return gc_find_tmpfiles(c, rep, err);
}

static bool gc_cancelled(const volatile sig_atomic_t *cancel, GcReport *rep) {
        if (cancel && *cancel) {
                rep->cancelled = true;
                return true;
        }
        return false;
}

static int gc_remove_env(Store *s, const char *env_id, KpError *err) {
        _cleanup_free_ char *env_base = NULL, *env_dir = NULL;
        int r;

        env_base = kp_path_join(store_root(s), "env");
        if (env_base)
                env_dir = kp_path_join(env_base, env_id);
        if (!env_dir)
                return kp_error_set(err, -ENOMEM, "out of memory");

        kp_fault_point("gc:remove-env");
        r = store_remove_tree(s, env_dir);
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_STORE, r, "failed to remove '%s': %s", env_dir, strerror(-r));

        return store_metadata_remove_name(s, env_id, err);
}

static int gc_remove_tmpfile(Store *s, const char *rel, KpError *err) {
        const char *slash = strrchr(rel, '/');
        _cleanup_free_ char *dir = NULL;
        _cleanup_close_ int dfd = -1;
        int r;

        dir = slash ? strndup(rel, (size_t) (slash - rel)) : strdup(".");
        if (!dir)
                return kp_error_set(err, -ENOMEM, "out of memory");

        dfd = openat(store_dirfd(s), dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                r = -errno;
        else
                r = store_tmpfile_remove(dfd, slash ? slash + 1 : rel);
        if (r < 0 && r != -ENOENT)
                return kp_error_set_kind(err, KP_ERROR_STORE, r, "failed to remove '%s': %s", rel, strerror(-r));
        return 0;
}

static int gc_remove_staging(Store *s, const char *name, KpError *err) {
        _cleanup_free_ char *path = NULL;
        int dfd, r;

        dfd = store_dir_fd(s, STORE_DIR_STAGING, err);
        if (dfd < 0)
                return dfd;

        kp_fault_point("gc:remove-staging");
        path = store_path_of(s, STORE_DIR_STAGING, name);
        if (!path)
                return kp_error_set(err, -ENOMEM, "out of memory");
        r = store_remove_tree(s, path);
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_STORE, r, "failed to remove staging entry '%s': %s", name,
                                         strerror(-r));
        return 0;
}

typedef int (*GcRemoveFunc)(Store *s, const char *name, KpError *err);

/* Delete each of the N names with REMOVE_ONE, counting in *REMOVED. Returns 0
 * when cancelled (recorded in REP). */
static int gc_remove_all(Store *s, char *const *names, size_t n, GcRemoveFunc remove_one, size_t *removed,
                         const volatile sig_atomic_t *cancel, GcReport *rep, KpError *err) {
        int r;

        for (size_t i = 0; i < n; i++) {
                if (gc_cancelled(cancel, rep))
                        return 0;

                r = remove_one(s, names[i], err);
                if (r < 0)
                        return r;
                (*removed)++;
        }
        return 0;
}

static int gc_delete(Store *s, const volatile sig_atomic_t *cancel, GcReport *rep, KpError *err) {
        int r;

        r = gc_remove_all(s, rep->orphaned_envs, rep->n_orphaned_envs, gc_remove_env, &rep->removed_envs, cancel,
                          rep, err);
        if (r < 0 || rep->cancelled)
                return r;

        r = gc_remove_all(s, rep->orphaned_layers, rep->n_orphaned_layers, store_layer_remove_name,
                          &rep->removed_layers, cancel, rep, err);
        if (r < 0 || rep->cancelled)
                return r;

        r = gc_remove_all(s, rep->orphaned_objects, rep->n_orphaned_objects, store_object_remove_name,
                          &rep->removed_objects, cancel, rep, err);
        if (r < 0 || rep->cancelled)
                return r;

        r = gc_remove_all(s, rep->orphaned_staging, rep->n_orphaned_staging, gc_remove_staging,
                          &rep->removed_staging, cancel, rep, err);
        if (r < 0 || rep->cancelled)
                return r;

        return gc_remove_all(s, rep->stale_tmpfiles, rep->n_stale_tmpfiles, gc_remove_tmpfile,
                             &rep->removed_tmpfiles, cancel, rep, err);
}

int store_gc(Store *s, bool dry_run, const volatile sig_atomic_t *cancel, GcReport *ret, KpError *err) {
        _cleanup_(gc_context_done) GcContext c = { .store = s };
        int r;

        *ret = (GcReport) { .dry_run = dry_run };

        r = store_base_fd(s, err);
        if (r < 0)
                return r;

        r = gc_analyze(&c, ret, err);
        if (r < 0)
                return r;

        log_debug("GC: %zu orphaned environments, %zu layers, %zu objects, %zu staging entries, %zu temporary files",
                  ret->n_orphaned_envs, ret->n_orphaned_layers, ret->n_orphaned_objects, ret->n_orphaned_staging,
                  ret->n_stale_tmpfiles);
        if (dry_run)
                return 0;

        return gc_delete(s, cancel, ret, err);
}
