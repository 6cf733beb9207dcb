/* SPDX-License-Identifier: MIT */
/* Write-ahead log: entries, rollback steps and recovery. */
#include <fcntl.h>
#include <time.h>

#include "test-store-helpers.h"
#include "store/store-metadata.h"
#include "store/store-wal.h"

static char *wal_rel(const char *op_id) {
        char *rel = NULL;

        assert_true(asprintf(&rel, "store/wal/%s.json", op_id) > 0);
        return rel;
}

static size_t wal_count(TestStore *t) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        WalEntry *entries = NULL;
        size_t n = 0;

        assert_store_ok(store_wal_list_incomplete(t->s, &entries, &n, &err));
        wal_entries_free(entries, n);
        return n;
}

static void test_begin_creates_entry(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_free_ char *op = NULL, *rel = NULL, *json = NULL;
        char id[KP_HASH_HEX_SIZE], hash[KP_HASH_HEX_SIZE];

        test_id("env", id);
        assert_store_ok(store_wal_begin(t->s, WAL_OP_BUILD, id, &op, &err));

        /* "<17 digits>-<8 hex of blake3(env_id)>" */
        assert_int_equal(strlen(op), 17 + 1 + 8);
        for (size_t i = 0; i < 17; i++)
                assert_true(op[i] >= '0' && op[i] <= '9');
        assert_int_equal(op[17], '-');
        kp_hash_str_hex(id, hash);
        assert_memory_equal(op + 18, hash, 8);

        rel = wal_rel(op);
        json = test_read_file(t, rel);
        assert_true(strneq(json, "{\n  \"op_id\": \"", 14));
        assert_non_null(strstr(json, "\"kind\": \"Build\""));
        assert_non_null(strstr(json, "\"rollback_steps\": []"));
        assert_int_equal(wal_count(t), 1);
}

static void test_gc_op_id_suffix(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_free_ char *op = NULL;

        assert_store_ok(store_wal_begin(t->s, WAL_OP_GC, "gc", &op, &err));
        assert_string_equal(op + 18, "ad487491");
}

static void test_commit_removes_entry(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_free_ char *op = NULL, *rel = NULL;

        assert_store_ok(store_wal_begin(t->s, WAL_OP_COMMIT, "gc", &op, &err));
        rel = wal_rel(op);
        assert_true(test_exists(t, rel));
        assert_store_ok(store_wal_commit(t->s, op, &err));
        assert_false(test_exists(t, rel));
        assert_int_equal(wal_count(t), 0);
}

static void test_steps_persist_in_order(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_free_ char *op = NULL, *dir = test_path(t, "env/x"), *file = test_path(t, "env/x/f");
        _cleanup_free_ char *from = test_path(t, "env/a"), *to = test_path(t, "store/staging/b");
        WalEntry *entries = NULL;
        char id[KP_HASH_HEX_SIZE];
        size_t n = 0;

        test_id("env", id);
        assert_store_ok(store_wal_begin(t->s, WAL_OP_RESTORE, id, &op, &err));
        assert_store_ok(store_wal_add_remove_dir(t->s, op, dir, &err));
        assert_store_ok(store_wal_add_remove_file(t->s, op, file, &err));
        assert_store_ok(store_wal_add_reset_state(t->s, op, id, ENV_STATE_BUILT, &err));
        assert_store_ok(store_wal_add_rename_dir(t->s, op, from, to, &err));

        assert_store_ok(store_wal_list_incomplete(t->s, &entries, &n, &err));
        assert_int_equal(n, 1);
        assert_string_equal(entries[0].op_id, op);
        assert_int_equal(entries[0].kind, WAL_OP_RESTORE);
        assert_string_equal(entries[0].env_id, id);
        assert_int_equal(entries[0].n_steps, 4);
        assert_int_equal(entries[0].steps[0].type, WAL_STEP_REMOVE_DIR);
        assert_string_equal(entries[0].steps[0].path, dir);
        assert_int_equal(entries[0].steps[1].type, WAL_STEP_REMOVE_FILE);
        assert_string_equal(entries[0].steps[1].path, file);
        assert_int_equal(entries[0].steps[2].type, WAL_STEP_RESET_STATE);
        assert_string_equal(entries[0].steps[2].env_id, id);
        assert_int_equal(entries[0].steps[2].target_state, ENV_STATE_BUILT);
        assert_int_equal(entries[0].steps[3].type, WAL_STEP_RENAME_DIR);
        assert_string_equal(entries[0].steps[3].path, from);
        assert_string_equal(entries[0].steps[3].to, to);
        wal_entries_free(entries, n);
}

static void test_step_json_format(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_free_ char *op = NULL, *rel = NULL, *json = NULL, *dir = test_path(t, "env/x");
        char id[KP_HASH_HEX_SIZE], expected[512];

        test_id("env", id);
        assert_store_ok(store_wal_begin(t->s, WAL_OP_ENTER, id, &op, &err));
        assert_store_ok(store_wal_add_remove_dir(t->s, op, dir, &err));
        assert_store_ok(store_wal_add_reset_state(t->s, op, id, ENV_STATE_BUILT, &err));
        rel = wal_rel(op);
        json = test_read_file(t, rel);

        snprintf(expected, sizeof(expected), "    {\n      \"RemoveDir\": \"%s\"\n    },\n", dir);
        assert_non_null(strstr(json, expected));
        snprintf(expected, sizeof(expected),
                 "    {\n      \"ResetState\": {\n        \"env_id\": \"%s\",\n        \"target_state\": \"Built\"\n"
                 "      }\n    }\n",
                 id);
        assert_non_null(strstr(json, expected));
}

static void test_invalid_steps_rejected(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_free_ char *op = NULL;

        assert_store_ok(store_wal_begin(t->s, WAL_OP_BUILD, "gc", &op, &err));
        assert_int_equal(store_wal_add_remove_dir(t->s, op, "relative/path", &err), -EINVAL);
        kp_error_clear(&err);
        assert_int_equal(store_wal_add_reset_state(t->s, op, "not-an-id", ENV_STATE_BUILT, &err), -EINVAL);
        kp_error_clear(&err);
        assert_int_equal(store_wal_add_remove_dir(t->s, "../../version", "/x", &err), -EINVAL);
        kp_error_clear(&err);
        assert_int_equal(store_wal_commit(t->s, "../version", &err), -EINVAL);
        assert_true(test_exists(t, "store/version"));
}

static void put_env(TestStore *t, const char *id, EnvState st) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        EnvMetadata m = {
                .env_id = (char *) id,
                .short_id = (char *) id,
                .state = st,
                .manifest_hash = (char *) "",
                .base_layer = (char *) "",
                .created_at = (char *) "2025-01-01T00:00:00Z",
                .updated_at = (char *) "2025-01-01T00:00:00Z",
                .ref_count = 1,
        };

        assert_store_ok(store_metadata_put(t->s, &m, &err));
}

static EnvState state_of(TestStore *t, const char *id) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_env_metadata_free_ EnvMetadata *m = NULL;

        assert_store_ok(store_metadata_get(t->s, id, &m, &err));
        return m->state;
}

static void test_recover_removes_and_resets(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_free_ char *op = NULL, *dir = test_path(t, "env/new"), *file = test_path(t, "store/staging/f");
        _cleanup_free_ char *version_before = test_read_file(t, "store/version"), *version_after = NULL;
        char id[KP_HASH_HEX_SIZE];

        test_id("env", id);
        put_env(t, id, ENV_STATE_RUNNING);

        assert_store_ok(store_wal_begin(t->s, WAL_OP_BUILD, id, &op, &err));
        assert_store_ok(store_wal_add_remove_dir(t->s, op, dir, &err));
        assert_int_equal(kp_mkdir_p(dir, 0755), 0);
        test_write_file(t, "env/new/content", "x", 0444);
        assert_store_ok(store_wal_add_remove_file(t->s, op, file, &err));
        test_write_file(t, "store/staging/f", "y", 0644);
        assert_store_ok(store_wal_add_reset_state(t->s, op, id, ENV_STATE_BUILT, &err));

        assert_int_equal(store_wal_recover(t->s, &err), 1);
        assert_false(test_exists(t, "env/new"));
        assert_false(test_exists(t, "store/staging/f"));
        assert_int_equal(state_of(t, id), ENV_STATE_BUILT);
        assert_int_equal(wal_count(t), 0);

        version_after = test_read_file(t, "store/version");
        assert_string_equal(version_before, version_after);
}

static void test_recover_missing_paths_no_op(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_free_ char *op = NULL, *dir = test_path(t, "env/never"), *file = test_path(t, "env/never-file");
        char id[KP_HASH_HEX_SIZE];

        test_id("absent", id);
        assert_store_ok(store_wal_begin(t->s, WAL_OP_DESTROY, "gc", &op, &err));
        assert_store_ok(store_wal_add_remove_dir(t->s, op, dir, &err));
        assert_store_ok(store_wal_add_remove_file(t->s, op, file, &err));
        assert_store_ok(store_wal_add_reset_state(t->s, op, id, ENV_STATE_BUILT, &err));

        assert_int_equal(store_wal_recover(t->s, &err), 1);
        assert_int_equal(wal_count(t), 0);
        assert_false(store_metadata_exists(t->s, id));
}

static void test_recover_corrupt_entry_dropped_others_rolled_back(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_free_ char *op = NULL, *dir = test_path(t, "env/partial");

        test_write_file(t, "store/wal/20250101000000000-deadbeef.json", "{ broken", 0644);
        test_write_file(t, "store/wal/notes.txt", "not an entry", 0644);
        assert_store_ok(store_wal_begin(t->s, WAL_OP_BUILD, "gc", &op, &err));
        assert_store_ok(store_wal_add_remove_dir(t->s, op, dir, &err));
        assert_int_equal(kp_mkdir_p(dir, 0755), 0);

        assert_int_equal(store_wal_recover(t->s, &err), 1);
        assert_false(test_exists(t, "env/partial"));
        assert_false(test_exists(t, "store/wal/20250101000000000-deadbeef.json"));
        assert_true(test_exists(t, "store/wal/notes.txt"));
}

static void test_recover_multiple_entries(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        char rel[64];

        for (int i = 0; i < 5; i++) {
                _cleanup_free_ char *op = NULL, *dir = NULL;

                snprintf(rel, sizeof(rel), "env/d%d", i);
                dir = test_path(t, rel);
                assert_store_ok(store_wal_begin(t->s, WAL_OP_BUILD, rel, &op, &err));
                assert_store_ok(store_wal_add_remove_dir(t->s, op, dir, &err));
                assert_int_equal(kp_mkdir_p(dir, 0755), 0);
        }

        assert_int_equal(wal_count(t), 5);
        assert_int_equal(store_wal_recover(t->s, &err), 5);
        for (int i = 0; i < 5; i++) {
                snprintf(rel, sizeof(rel), "env/d%d", i);
                assert_false(test_exists(t, rel));
        }
        assert_int_equal(wal_count(t), 0);
}

static void test_recover_steps_in_reverse_order(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_free_ char *op = NULL, *upper = test_path(t, "env/e/upper");
        _cleanup_free_ char *old = test_path(t, "store/staging/old-e");
        _cleanup_free_ char *fresh = test_path(t, "store/staging/restore-e");
        _cleanup_free_ char *marker = NULL;

        /* The restore pattern: park the old upper, move the new one in. */
        test_write_file(t, "store/staging/placeholder", "", 0644);
        assert_int_equal(kp_mkdir_p(upper, 0755), 0);
        test_write_file(t, "env/e/upper/old-marker", "old", 0644);

        assert_store_ok(store_wal_begin(t->s, WAL_OP_RESTORE, "gc", &op, &err));
        assert_store_ok(store_wal_add_remove_dir(t->s, op, fresh, &err));
        assert_int_equal(kp_mkdir_p(fresh, 0755), 0);
        test_write_file(t, "store/staging/restore-e/new-marker", "new", 0644);

        assert_store_ok(store_wal_add_rename_dir(t->s, op, upper, old, &err));
        assert_int_equal(rename(upper, old), 0);
        assert_store_ok(store_wal_add_rename_dir(t->s, op, fresh, upper, &err));
        assert_int_equal(rename(fresh, upper), 0);

        /* Crash before commit: recovery must bring the old upper back. */
        assert_int_equal(store_wal_recover(t->s, &err), 1);
        marker = test_read_file(t, "env/e/upper/old-marker");
        assert_string_equal(marker, "old");
        assert_false(test_exists(t, "env/e/upper/new-marker"));
        assert_false(test_exists(t, "store/staging/old-e"));
        assert_false(test_exists(t, "store/staging/restore-e"));
}

static void test_rename_undo_skipped_when_source_exists(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_free_ char *op = NULL, *from = test_path(t, "env/from"), *to = test_path(t, "env/to");

        assert_int_equal(kp_mkdir_p(from, 0755), 0);
        assert_int_equal(kp_mkdir_p(to, 0755), 0);
        assert_store_ok(store_wal_begin(t->s, WAL_OP_RESTORE, "gc", &op, &err));
        assert_store_ok(store_wal_add_rename_dir(t->s, op, from, to, &err));

        assert_int_equal(store_wal_recover(t->s, &err), 1);
        assert_true(test_exists(t, "env/from"));
        assert_true(test_exists(t, "env/to"));
}

static void test_recover_skips_paths_outside_store(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_free_ char *op = NULL, *outside_root = test_mkdtemp(), *outside = kp_path_join(outside_root, "keep");
        _cleanup_free_ char *sneaky = NULL, *store_dir = test_path(t, "store");
        _cleanup_free_ char *objects = test_path(t, "store/objects");
        _cleanup_free_ char *version = test_path(t, "store/version");

        assert_int_equal(kp_mkdir_p(outside, 0755), 0);
        assert_true(asprintf(&sneaky, "%s/env/../../%s/keep", t->root, strrchr(outside_root, '/') + 1) > 0);

        assert_store_ok(store_wal_begin(t->s, WAL_OP_BUILD, "gc", &op, &err));
        assert_store_ok(store_wal_add_remove_dir(t->s, op, outside, &err));
        assert_store_ok(store_wal_add_remove_dir(t->s, op, sneaky, &err));
        assert_store_ok(store_wal_add_remove_dir(t->s, op, store_dir, &err));
        assert_store_ok(store_wal_add_remove_dir(t->s, op, objects, &err));
        assert_store_ok(store_wal_add_remove_file(t->s, op, version, &err));
        assert_store_ok(store_wal_add_remove_dir(t->s, op, t->root, &err));

        assert_int_equal(store_wal_recover(t->s, &err), 1);
        assert_true(kp_is_dir_at(AT_FDCWD, outside));
        assert_true(test_exists(t, "store/objects"));
        assert_true(test_exists(t, "store/version"));
        assert_int_equal(kp_rm_rf(outside_root), 0);
}

static void test_reset_state_skips_bad_checksum(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_free_ char *op = NULL, *before = NULL, *after = NULL;
        char id[KP_HASH_HEX_SIZE], rel[128];
        char *p;

        test_id("env", id);
        put_env(t, id, ENV_STATE_RUNNING);
        snprintf(rel, sizeof(rel), "store/metadata/%s", id);
        before = test_read_file(t, rel);
        p = strstr(before, "\"ref_count\": 1");
        assert_non_null(p);
        p[strlen("\"ref_count\": ")] = '5';
        test_write_file(t, rel, before, 0644);

        assert_store_ok(store_wal_begin(t->s, WAL_OP_ENTER, id, &op, &err));
        assert_store_ok(store_wal_add_reset_state(t->s, op, id, ENV_STATE_BUILT, &err));
        assert_int_equal(store_wal_recover(t->s, &err), 1);

        /* Left alone: rewriting would have blessed the tampered content. */
        after = test_read_file(t, rel);
        assert_string_equal(before, after);
}

static void test_reset_state_accepts_lowercase_and_skips_unknown(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        char id[KP_HASH_HEX_SIZE], json[600];

        test_id("env", id);
        put_env(t, id, ENV_STATE_RUNNING);
        snprintf(json, sizeof(json),
                 "{\"op_id\": \"20250101000000000-aaaaaaaa\", \"kind\": \"Enter\", \"env_id\": \"%s\", "
                 "\"timestamp\": \"2025-01-01T00:00:00+00:00\", \"rollback_steps\": ["
                 "{\"ResetState\": {\"env_id\": \"%s\", \"target_state\": \"frozen\"}}]}",
                 id, id);
        test_write_file(t, "store/wal/20250101000000000-aaaaaaaa.json", json, 0644);
        snprintf(json, sizeof(json),
                 "{\"op_id\": \"20250101000000001-aaaaaaaa\", \"kind\": \"Enter\", \"env_id\": \"%s\", "
                 "\"timestamp\": \"2025-01-01T00:00:01+00:00\", \"rollback_steps\": ["
                 "{\"ResetState\": {\"env_id\": \"%s\", \"target_state\": \"Sleeping\"}}]}",
                 id, id);
        test_write_file(t, "store/wal/20250101000000001-aaaaaaaa.json", json, 0644);

        assert_int_equal(store_wal_recover(t->s, &err), 2);
        assert_int_equal(state_of(t, id), ENV_STATE_FROZEN);
}

static void test_list_sorted_by_timestamp(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        const char *stamps[] = { "2025-01-03T00:00:00+00:00", "2025-01-01T00:00:00.5+00:00",
                                 "2025-01-01T00:00:00+00:00" };
        WalEntry *entries = NULL;
        size_t n = 0;

        for (size_t i = 0; i < ELEMENTSOF(stamps); i++) {
                char json[400], rel[100];

                snprintf(json, sizeof(json),
                         "{\"op_id\": \"op%zu\", \"kind\": \"Gc\", \"env_id\": \"gc\", \"timestamp\": \"%s\", "
                         "\"rollback_steps\": []}",
                         i, stamps[i]);
                snprintf(rel, sizeof(rel), "store/wal/op%zu.json", i);
                test_write_file(t, rel, json, 0644);
        }

        assert_store_ok(store_wal_list_incomplete(t->s, &entries, &n, &err));
        assert_int_equal(n, 3);
        assert_string_equal(entries[0].op_id, "op2");
        assert_string_equal(entries[1].op_id, "op1");
        assert_string_equal(entries[2].op_id, "op0");
        wal_entries_free(entries, n);
}

static void test_op_id_must_match_file_name(void **state) {
        TestStore *t = *state;

        test_write_file(t, "store/wal/a.json",
                        "{\"op_id\": \"b\", \"kind\": \"Gc\", \"env_id\": \"gc\", \"timestamp\": \"t\", "
                        "\"rollback_steps\": []}",
                        0644);
        assert_int_equal(wal_count(t), 0);
        assert_false(test_exists(t, "store/wal/a.json"));
}

static void test_write_file_fast(TestStore *t, const char *rel, const char *content) {
        _cleanup_free_ char *p = test_path(t, rel);
        _cleanup_close_ int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

        assert_true(fd >= 0);
        assert_int_equal(kp_write_all(fd, content, strlen(content)), 0);
}

/* Occupy the op ids of 300 consecutive milliseconds starting 2 s from now,
 * as if other operations on the same environment had started in each of
 * them. Returns the start of that window in ms since the epoch. */
static long long occupy_future_millis(TestStore *t, const char *env_id, char ***ret_names, size_t *ret_n) {
        char hash[KP_HASH_HEX_SIZE];
        struct timespec now;
        long long start;

        kp_hash_str_hex(env_id, hash);
        clock_gettime(CLOCK_REALTIME, &now);
        start = (long long) now.tv_sec * 1000 + now.tv_nsec / 1000000 + 2000;
        for (long long ms = start; ms < start + 300; ms++) {
                time_t secs = (time_t) (ms / 1000);
                struct tm tm;
                char stamp[32], rel[128];

                gmtime_r(&secs, &tm);
                strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm);
                snprintf(rel, sizeof(rel), "store/wal/%s%03lld-%.8s.json", stamp, ms % 1000, hash);
                test_write_file_fast(t, rel, "{\"other\": \"operation\"}");
                assert_int_equal(kp_strv_push(ret_names, ret_n, strdup(rel)), 0);
        }
        return start;
}

static void sleep_until_millis(long long target) {
        struct timespec now, delay;
        long long ms;

        clock_gettime(CLOCK_REALTIME, &now);
        ms = target - ((long long) now.tv_sec * 1000 + now.tv_nsec / 1000000);
        assert_true(ms > 0);
        delay = (struct timespec) { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };
        assert_int_equal(nanosleep(&delay, NULL), 0);
}

static void test_same_millisecond_begins_do_not_collide(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_strv_free_ char **occupied = NULL;
        _cleanup_free_ char *op = NULL;
        long long start;
        size_t n = 0;

        start = occupy_future_millis(t, "gc", &occupied, &n);
        sleep_until_millis(start + 20);
        assert_store_ok(store_wal_begin(t->s, WAL_OP_GC, "gc", &op, &err));

        if (!strstr(op, "-ad487491-2"))
                fail_msg("op id '%s' lacks the suffix -2", op);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *content = test_read_file(t, occupied[i]);
                assert_string_equal(content, "{\"other\": \"operation\"}");
        }
}

static void test_many_begins_distinct(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_strv_free_ char **ops = NULL;
        size_t n = 0;

        for (int i = 0; i < 100; i++) {
                char *op = NULL;

                assert_store_ok(store_wal_begin(t->s, WAL_OP_EXEC, "same-env", &op, &err));
                assert_int_equal(kp_strv_push(&ops, &n, op), 0);
        }
        for (size_t i = 0; i < n; i++)
                for (size_t j = i + 1; j < n; j++)
                        assert_string_not_equal(ops[i], ops[j]);
        assert_int_equal(wal_count(t), 100);
}

static void test_kind_strings(void **state) {
        const char *names[] = { "Build", "Rebuild", "Commit", "Restore", "Destroy", "Gc", "Enter", "Exec" };
        const char *display[] = { "build", "rebuild", "commit", "restore", "destroy", "gc", "enter", "exec" };

        for (WalOpKind k = 0; k < _WAL_OP_MAX; k++) {
                assert_string_equal(wal_op_kind_to_string(k), names[k]);
                assert_string_equal(wal_op_kind_to_display(k), display[k]);
                assert_int_equal(wal_op_kind_from_string(names[k]), k);
        }
        assert_int_equal(wal_op_kind_from_string("build"), _WAL_OP_INVALID);
}

static void test_no_wal_dir_is_empty(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_free_ char *wal = test_path(t, "store/wal");
        _cleanup_free_ char *op = NULL;
        Store *fresh = NULL;

        assert_int_equal(kp_rm_rf(wal), 0);
        assert_store_ok(store_open(t->root, &fresh, &err));
        assert_int_equal(store_wal_recover(fresh, &err), 0);

        /* begin creates the directory again. */
        assert_store_ok(store_wal_begin(fresh, WAL_OP_GC, "gc", &op, &err));
        assert_true(test_exists(t, "store/wal"));
        store_free(fresh);
}

#define T(f) cmocka_unit_test_setup_teardown(f, test_store_setup, test_store_teardown)

int main(void) {
        const struct CMUnitTest tests[] = {
                T(test_begin_creates_entry),
                T(test_gc_op_id_suffix),
                T(test_commit_removes_entry),
                T(test_steps_persist_in_order),
                T(test_step_json_format),
                T(test_invalid_steps_rejected),
                T(test_recover_removes_and_resets),
                T(test_recover_missing_paths_no_op),
                T(test_recover_corrupt_entry_dropped_others_rolled_back),
                T(test_recover_multiple_entries),
                T(test_recover_steps_in_reverse_order),
                T(test_rename_undo_skipped_when_source_exists),
                T(test_recover_skips_paths_outside_store),
                T(test_reset_state_skips_bad_checksum),
                T(test_reset_state_accepts_lowercase_and_skips_unknown),
                T(test_list_sorted_by_timestamp),
                T(test_op_id_must_match_file_name),
                T(test_same_millisecond_begins_do_not_collide),
                T(test_many_begins_distinct),
                cmocka_unit_test(test_kind_strings),
                T(test_no_wal_dir_is_empty),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
