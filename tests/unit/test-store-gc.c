/* SPDX-License-Identifier: MIT */
/* Garbage collection. */
#include "test-store-helpers.h"
#include "store/store-gc.h"
#include "store/store-layer.h"
#include "store/store-metadata.h"
#include "store/store-wal.h"

static void put_object(TestStore *t, const char *content, char key[KP_HASH_HEX_SIZE]) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;

        assert_store_ok(store_object_put_bytes(t->s, content, strlen(content), key, &err));
}

static void put_layer(TestStore *t, LayerKind kind, const char *hash, const char *parent, const char *obj,
                      char id[KP_HASH_HEX_SIZE]) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        char *refs[] = { (char *) obj, NULL };
        Layer l = {
                .hash = (char *) hash,
                .kind = kind,
                .parent = (char *) parent,
                .object_refs = refs,
                .n_object_refs = 1,
                .read_only = true,
                .tar_hash = (char *) obj,
        };

        assert_store_ok(store_layer_put(t->s, &l, id, &err));
}

/* An environment with its own manifest object, content object, base layer
 * and env/<id>/upper directory. */
typedef struct TestEnv {
        char id[KP_HASH_HEX_SIZE];
        char manifest[KP_HASH_HEX_SIZE];
        char content[KP_HASH_HEX_SIZE];
        char base[KP_HASH_HEX_SIZE];
} TestEnv;

static void put_env(TestStore *t, const char *seed, EnvState st, uint32_t ref_count, TestEnv *e) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        char buf[128], rel[128];
        EnvMetadata m;

        test_id(seed, e->id);
        snprintf(buf, sizeof(buf), "manifest of %s", seed);
        put_object(t, buf, e->manifest);
        snprintf(buf, sizeof(buf), "content of %s", seed);
        put_object(t, buf, e->content);
        put_layer(t, LAYER_KIND_BASE, e->content, NULL, e->content, e->base);

        m = (EnvMetadata) {
                .env_id = e->id,
                .short_id = e->id,
                .state = st,
                .manifest_hash = e->manifest,
                .base_layer = e->base,
                .created_at = (char *) "2025-01-01T00:00:00Z",
                .updated_at = (char *) "2025-01-01T00:00:00Z",
                .ref_count = ref_count,
        };
        assert_store_ok(store_metadata_put(t->s, &m, &err));

        snprintf(rel, sizeof(rel), "env/%s/upper", e->id);
        {
                _cleanup_free_ char *p = test_path(t, rel);
                assert_int_equal(kp_mkdir_p(p, 0755), 0);
        }
}

static bool strv_has(char **v, size_t n, const char *s) {
        for (size_t i = 0; i < n; i++)
                if (streq(v[i], s))
                        return true;
        return false;
}

static bool env_dir_exists(TestStore *t, const char *id) {
        char rel[128];

        snprintf(rel, sizeof(rel), "env/%s", id);
        return test_exists(t, rel);
}

static void test_zero_refcount_env_removed(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_(gc_report_done) GcReport rep = {};
        TestEnv live, dead;

        put_env(t, "live", ENV_STATE_BUILT, 1, &live);
        put_env(t, "dead", ENV_STATE_BUILT, 0, &dead);

        assert_store_ok(store_gc(t->s, /* dry_run= */ false, NULL, &rep, &err));
        assert_int_equal(rep.n_orphaned_envs, 1);
        assert_string_equal(rep.orphaned_envs[0], dead.id);
        assert_int_equal(rep.removed_envs, 1);
        assert_int_equal(rep.removed_layers, 1);
        assert_int_equal(rep.removed_objects, 2);
        assert_string_equal(rep.orphaned_layers[0], dead.base);

        assert_false(store_metadata_exists(t->s, dead.id));
        assert_false(env_dir_exists(t, dead.id));
        assert_false(store_layer_exists(t->s, dead.base));
        assert_false(store_object_exists(t->s, dead.content));
        assert_false(store_object_exists(t->s, dead.manifest));

        assert_true(store_metadata_exists(t->s, live.id));
        assert_true(env_dir_exists(t, live.id));
        assert_true(store_layer_exists(t->s, live.base));
        assert_true(store_object_exists(t->s, live.content));
        assert_true(store_object_exists(t->s, live.manifest));
}

static void test_dry_run_reports_what_real_run_removes(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_(gc_report_done) GcReport dry = {};
        _cleanup_(gc_report_done) GcReport real = {};
        char stray[KP_HASH_HEX_SIZE];
        TestEnv live, dead;

        put_env(t, "live", ENV_STATE_BUILT, 1, &live);
        put_env(t, "dead", ENV_STATE_FROZEN, 0, &dead);
        put_object(t, "unreferenced", stray);
        test_write_file(t, "store/staging/restore-old", "", 0644);

        assert_store_ok(store_gc(t->s, /* dry_run= */ true, NULL, &dry, &err));
        assert_true(dry.dry_run);
        assert_int_equal(dry.removed_envs + dry.removed_layers + dry.removed_objects + dry.removed_staging, 0);
        assert_true(store_metadata_exists(t->s, dead.id));
        assert_true(store_object_exists(t->s, stray));
        assert_true(test_exists(t, "store/staging/restore-old"));

        assert_store_ok(store_gc(t->s, /* dry_run= */ false, NULL, &real, &err));
        assert_int_equal(dry.n_orphaned_envs, real.n_orphaned_envs);
        assert_int_equal(dry.n_orphaned_layers, real.n_orphaned_layers);
        assert_int_equal(dry.n_orphaned_objects, real.n_orphaned_objects);
        assert_int_equal(dry.n_orphaned_staging, real.n_orphaned_staging);
        for (size_t i = 0; i < dry.n_orphaned_objects; i++)
                assert_string_equal(dry.orphaned_objects[i], real.orphaned_objects[i]);
        for (size_t i = 0; i < dry.n_orphaned_layers; i++)
                assert_string_equal(dry.orphaned_layers[i], real.orphaned_layers[i]);
        assert_int_equal(real.removed_objects, real.n_orphaned_objects);
        assert_int_equal(real.removed_staging, 1);
        assert_true(strv_has(real.orphaned_objects, real.n_orphaned_objects, stray));
        assert_false(test_exists(t, "store/staging/restore-old"));
}

static void test_archived_and_running_kept(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_(gc_report_done) GcReport rep = {};
        TestEnv archived, running;

        put_env(t, "archived", ENV_STATE_ARCHIVED, 0, &archived);
        put_env(t, "running", ENV_STATE_RUNNING, 0, &running);

        assert_store_ok(store_gc(t->s, /* dry_run= */ false, NULL, &rep, &err));
        assert_int_equal(rep.n_orphaned_envs, 0);
        assert_int_equal(rep.n_orphaned_layers, 0);
        assert_int_equal(rep.n_orphaned_objects, 0);
        assert_true(store_object_exists(t->s, archived.manifest));
        assert_true(store_object_exists(t->s, running.content));
}

static void test_snapshot_chain_kept_transitively(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_(gc_report_done) GcReport rep = {};
        char o1[KP_HASH_HEX_SIZE], o2[KP_HASH_HEX_SIZE], o3[KP_HASH_HEX_SIZE], unrelated_parent[KP_HASH_HEX_SIZE];
        char s1[KP_HASH_HEX_SIZE], s2[KP_HASH_HEX_SIZE], s3[KP_HASH_HEX_SIZE];
        TestEnv live;

        put_env(t, "live", ENV_STATE_BUILT, 1, &live);
        put_object(t, "snap1", o1);
        put_object(t, "snap2", o2);
        put_object(t, "snap3", o3);
        put_layer(t, LAYER_KIND_SNAPSHOT, "s1", live.base, o1, s1);
        put_layer(t, LAYER_KIND_SNAPSHOT, "s2", s1, o2, s2);     /* snapshot of a snapshot */
        test_id("gone-base", unrelated_parent);
        put_layer(t, LAYER_KIND_SNAPSHOT, "s3", unrelated_parent, o3, s3);

        assert_store_ok(store_gc(t->s, /* dry_run= */ false, NULL, &rep, &err));
        assert_true(store_layer_exists(t->s, s1));
        assert_true(store_layer_exists(t->s, s2));
        assert_true(store_object_exists(t->s, o1));
        assert_true(store_object_exists(t->s, o2));
        assert_false(store_layer_exists(t->s, s3));
        assert_false(store_object_exists(t->s, o3));
        assert_int_equal(rep.removed_layers, 1);
        assert_int_equal(rep.removed_objects, 1);
}

static void test_snapshot_of_orphan_env_removed(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_(gc_report_done) GcReport rep = {};
        char o[KP_HASH_HEX_SIZE], snap[KP_HASH_HEX_SIZE];
        TestEnv dead;

        put_env(t, "dead", ENV_STATE_BUILT, 0, &dead);
        put_object(t, "snap", o);
        put_layer(t, LAYER_KIND_SNAPSHOT, "s", dead.base, o, snap);

        assert_store_ok(store_gc(t->s, /* dry_run= */ false, NULL, &rep, &err));
        assert_false(store_layer_exists(t->s, snap));
        assert_false(store_object_exists(t->s, o));
        assert_int_equal(rep.removed_layers, 2);
}

static void assert_nothing_deleted(TestStore *t, const TestEnv *dead, const char *stray) {
        assert_true(store_metadata_exists(t->s, dead->id));
        assert_true(env_dir_exists(t, dead->id));
        assert_true(store_layer_exists(t->s, dead->base));
        assert_true(store_object_exists(t->s, dead->content));
        assert_true(store_object_exists(t->s, stray));
}

static void test_unloadable_live_layer_stops_gc(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_(gc_report_done) GcReport rep = {};
        char stray[KP_HASH_HEX_SIZE], rel[128];
        TestEnv live, dead;

        put_env(t, "live", ENV_STATE_BUILT, 1, &live);
        put_env(t, "dead", ENV_STATE_BUILT, 0, &dead);
        put_object(t, "stray", stray);
        snprintf(rel, sizeof(rel), "store/layers/%s", live.base);
        test_write_file(t, rel, "corrupted", 0644);

        assert_true(store_gc(t->s, /* dry_run= */ false, NULL, &rep, &err) < 0);
        assert_int_equal(err.kind, KP_ERROR_STORE);
        assert_non_null(strstr(err.message, live.base));
        assert_nothing_deleted(t, &dead, stray);
        assert_true(store_object_exists(t->s, live.content));
        assert_int_equal(rep.removed_envs + rep.removed_layers + rep.removed_objects, 0);
}

static void test_missing_live_layer_stops_gc(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_(gc_report_done) GcReport rep = {};
        char stray[KP_HASH_HEX_SIZE];
        TestEnv live, dead;

        put_env(t, "live", ENV_STATE_BUILT, 1, &live);
        put_env(t, "dead", ENV_STATE_BUILT, 0, &dead);
        put_object(t, "stray", stray);
        assert_store_ok(store_layer_remove(t->s, live.base, &err));

        assert_int_equal(store_gc(t->s, /* dry_run= */ false, NULL, &rep, &err), -ENOENT);
        assert_non_null(strstr(err.message, "references missing layer"));
        assert_nothing_deleted(t, &dead, stray);
        assert_true(store_object_exists(t->s, live.content));
}

static void test_unreadable_metadata_stops_gc(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_(gc_report_done) GcReport rep = {};
        char stray[KP_HASH_HEX_SIZE], broken[KP_HASH_HEX_SIZE], rel[128];
        TestEnv dead;

        put_env(t, "dead", ENV_STATE_BUILT, 0, &dead);
        put_object(t, "stray", stray);
        test_id("broken", broken);
        snprintf(rel, sizeof(rel), "store/metadata/%s", broken);
        test_write_file(t, rel, "{ truncated", 0644);

        assert_true(store_gc(t->s, /* dry_run= */ false, NULL, &rep, &err) < 0);
        assert_non_null(strstr(err.message, broken));
        assert_nothing_deleted(t, &dead, stray);
}

static void test_non_env_metadata_name_ignored(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_(gc_report_done) GcReport rep = {};

        test_write_file(t, "store/metadata/README", "not metadata", 0644);
        assert_store_ok(store_gc(t->s, /* dry_run= */ false, NULL, &rep, &err));
        assert_true(test_exists(t, "store/metadata/README"));
}

static void test_stray_names_collected(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_(gc_report_done) GcReport rep = {};

        test_write_file(t, "store/objects/not_a_real_hash", "x", 0444);
        test_write_file(t, "store/layers/not_a_layer", "x", 0644);

        assert_store_ok(store_gc(t->s, /* dry_run= */ false, NULL, &rep, &err));
        assert_false(test_exists(t, "store/objects/not_a_real_hash"));
        assert_false(test_exists(t, "store/layers/not_a_layer"));
        assert_int_equal(rep.removed_objects, 1);
        assert_int_equal(rep.removed_layers, 1);
}

static void test_staging_named_by_wal_kept(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_(gc_report_done) GcReport rep = {};
        _cleanup_free_ char *op = NULL, *busy = test_path(t, "store/staging/restore-busy");

        assert_int_equal(kp_mkdir_p(busy, 0755), 0);
        test_write_file(t, "store/staging/restore-busy/file", "x", 0644);
        test_write_file(t, "store/staging/leftover", "x", 0644);
        assert_store_ok(store_wal_begin(t->s, WAL_OP_RESTORE, "gc", &op, &err));
        assert_store_ok(store_wal_add_remove_dir(t->s, op, busy, &err));

        assert_store_ok(store_gc(t->s, /* dry_run= */ false, NULL, &rep, &err));
        assert_true(test_exists(t, "store/staging/restore-busy/file"));
        assert_false(test_exists(t, "store/staging/leftover"));
        assert_int_equal(rep.n_orphaned_staging, 1);
        assert_string_equal(rep.orphaned_staging[0], "leftover");

        /* Once the operation is committed the entry is garbage. */
        gc_report_done(&rep);
        assert_store_ok(store_wal_commit(t->s, op, &err));
        assert_store_ok(store_gc(t->s, /* dry_run= */ false, NULL, &rep, &err));
        assert_false(test_exists(t, "store/staging/restore-busy"));
}

static void test_staging_kept_while_wal_unreadable(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_(gc_report_done) GcReport rep = {};

        test_write_file(t, "store/staging/restore-x", "x", 0644);
        test_write_file(t, "store/wal/broken.json", "{", 0644);

        assert_store_ok(store_gc(t->s, /* dry_run= */ false, NULL, &rep, &err));
        assert_true(test_exists(t, "store/staging/restore-x"));
        /* GC does not drop WAL entries: that is recovery's job. */
        assert_true(test_exists(t, "store/wal/broken.json"));
}

static void test_stale_tmpfiles_removed(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_(gc_report_done) GcReport rep = {};

        test_write_file(t, "store/objects/.tmp-old", "x", 0444);
        test_backdate(t, "store/objects/.tmp-old");
        test_write_file(t, "store/.tmp-old", "x", 0644);
        test_backdate(t, "store/.tmp-old");
        test_write_file(t, "store/metadata/.tmp-new", "x", 0644);

        assert_store_ok(store_gc(t->s, /* dry_run= */ true, NULL, &rep, &err));
        assert_int_equal(rep.n_stale_tmpfiles, 2);
        assert_true(strv_has(rep.stale_tmpfiles, rep.n_stale_tmpfiles, "objects/.tmp-old"));
        assert_true(strv_has(rep.stale_tmpfiles, rep.n_stale_tmpfiles, ".tmp-old"));
        assert_true(test_exists(t, "store/objects/.tmp-old"));
        gc_report_done(&rep);

        assert_store_ok(store_gc(t->s, /* dry_run= */ false, NULL, &rep, &err));
        assert_int_equal(rep.removed_tmpfiles, 2);
        assert_false(test_exists(t, "store/objects/.tmp-old"));
        assert_false(test_exists(t, "store/.tmp-old"));
        assert_true(test_exists(t, "store/metadata/.tmp-new"));
}

static void test_cancel_stops_before_deleting(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_(gc_report_done) GcReport rep = {};
        volatile sig_atomic_t cancel = 1;
        char stray[KP_HASH_HEX_SIZE];
        TestEnv dead;

        put_env(t, "dead", ENV_STATE_BUILT, 0, &dead);
        put_object(t, "stray", stray);

        assert_store_ok(store_gc(t->s, /* dry_run= */ false, &cancel, &rep, &err));
        assert_true(rep.cancelled);
        assert_int_equal(rep.n_orphaned_envs, 1);
        assert_int_equal(rep.removed_envs + rep.removed_layers + rep.removed_objects, 0);
        assert_nothing_deleted(t, &dead, stray);
}

static void test_shared_object_kept(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_(gc_report_done) GcReport rep = {};
        TestEnv live, dead;
        char snap[KP_HASH_HEX_SIZE];

        put_env(t, "live", ENV_STATE_BUILT, 1, &live);
        put_env(t, "dead", ENV_STATE_BUILT, 0, &dead);
        /* A live snapshot that shares the dead environment's content. */
        put_layer(t, LAYER_KIND_SNAPSHOT, "shared", live.base, dead.content, snap);

        assert_store_ok(store_gc(t->s, /* dry_run= */ false, NULL, &rep, &err));
        assert_true(store_object_exists(t->s, dead.content));
        assert_false(store_object_exists(t->s, dead.manifest));
}

static void test_empty_store(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_(gc_report_done) GcReport rep = {};

        assert_store_ok(store_gc(t->s, /* dry_run= */ false, NULL, &rep, &err));
        assert_int_equal(rep.n_orphaned_envs + rep.n_orphaned_layers + rep.n_orphaned_objects, 0);
        assert_non_null(rep.orphaned_envs);
        assert_non_null(rep.orphaned_objects);
}

#define T(f) cmocka_unit_test_setup_teardown(f, test_store_setup, test_store_teardown)

int main(void) {
        const struct CMUnitTest tests[] = {
                T(test_zero_refcount_env_removed),
                T(test_dry_run_reports_what_real_run_removes),
                T(test_archived_and_running_kept),
                T(test_snapshot_chain_kept_transitively),
                T(test_snapshot_of_orphan_env_removed),
                T(test_unloadable_live_layer_stops_gc),
                T(test_missing_live_layer_stops_gc),
                T(test_unreadable_metadata_stops_gc),
                T(test_non_env_metadata_name_ignored),
                T(test_stray_names_collected),
                T(test_staging_named_by_wal_kept),
                T(test_staging_kept_while_wal_unreadable),
                T(test_stale_tmpfiles_removed),
                T(test_cancel_stops_before_deleting),
                T(test_shared_object_kept),
                T(test_empty_store),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
