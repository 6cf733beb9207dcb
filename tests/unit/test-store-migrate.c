/* SPDX-License-Identifier: MIT */
/* Store format migration. */
#include "test-store-helpers.h"
#include "store/store-layer.h"
#include "store/store-metadata.h"
#include "store/store-migrate.h"
#include "store/store-verify.h"

static char *v1_metadata_json(const char *id, const char *state) {
        char *json = NULL;

        assert_true(asprintf(&json,
                             "{\"env_id\": \"%s\", \"short_id\": \"%.12s\", \"state\": \"%s\", "
                             "\"manifest_hash\": \"\", \"base_layer\": \"\", \"dependency_layers\": [\"d\"], "
                             "\"created_at\": \"2024-01-01T00:00:00Z\", \"updated_at\": \"2024-01-02T00:00:00Z\", "
                             "\"ref_count\": 3}",
                             id, id, state) > 0);
        return json;
}

/* Turn the test store into a v1 store with one environment ENV_ID. */
static void make_v1_store(TestStore *t, char env_id[KP_HASH_HEX_SIZE]) {
        _cleanup_free_ char *json = NULL;
        char rel[128];

        test_id("v1-env", env_id);
        json = v1_metadata_json(env_id, "Frozen");
        snprintf(rel, sizeof(rel), "store/metadata/%s", env_id);
        test_write_file(t, rel, json, 0644);
        test_write_file(t, "store/version", "{\n  \"format_version\": 1\n}", 0644);
}

static void test_v1_to_v2(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_(migrate_result_done) MigrateResult res = {};
        _cleanup_(verify_report_done) VerifyReport rep = {};
        _cleanup_env_metadata_free_ EnvMetadata *m = NULL;
        _cleanup_free_ char *backup = NULL, *version = NULL, *raw = NULL;
        char id[KP_HASH_HEX_SIZE], obj[KP_HASH_HEX_SIZE], rel[128];

        make_v1_store(t, id);
        assert_store_ok(store_object_put_bytes(t->s, "kept", 4, obj, &err));

        assert_store_ok(store_migrate(t->s, &res, &err));
        assert_true(res.migrated);
        assert_int_equal(res.from_version, 1);
        assert_int_equal(res.to_version, 2);
        assert_int_equal(res.environments_migrated, 1);
        assert_non_null(res.backup_path);
        assert_non_null(strstr(res.backup_path, "/store/version.backup."));

        assert_int_equal(kp_read_file_at(AT_FDCWD, res.backup_path, 4096, &backup, NULL), 0);
        assert_non_null(strstr(backup, "\"format_version\": 1"));
        version = test_read_file(t, "store/version");
        assert_string_equal(version, "{\n  \"format_version\": 2\n}");

        /* The keys are added and the fields kept. */
        snprintf(rel, sizeof(rel), "store/metadata/%s", id);
        raw = test_read_file(t, rel);
        assert_non_null(strstr(raw, "\"name\": null"));
        assert_non_null(strstr(raw, "\"policy_layer\": null"));
        assert_store_ok(store_metadata_get(t->s, id, &m, &err));
        assert_int_equal(m->state, ENV_STATE_FROZEN);
        assert_int_equal(m->ref_count, 3);
        assert_string_equal(m->updated_at, "2024-01-02T00:00:00Z");
        assert_string_equal(m->dependency_layers[0], "d");

        /* Deviation from upstream: a real checksum, so verify passes. */
        assert_non_null(m->checksum);
        assert_store_ok(store_verify(t->s, &rep, &err));
        assert_int_equal(rep.n_failures, 0);
        assert_int_equal(rep.checked, 1);
        assert_true(store_object_exists(t->s, obj));
        assert_store_ok(store_version_check(t->s, &err));
}

static void test_current_version_no_op(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_(migrate_result_done) MigrateResult res = {};
        _cleanup_strv_free_ char **names = NULL;
        size_t n = 0;

        assert_store_ok(store_migrate(t->s, &res, &err));
        assert_false(res.migrated);
        assert_int_equal(res.from_version, 2);
        assert_null(res.backup_path);

        assert_int_equal(kp_dir_list_at(store_dirfd(t->s), ".", false, false, &names, &n), 0);
        for (size_t i = 0; i < n; i++)
                assert_null(strstr(names[i], "backup"));
}

static void test_newer_version_rejected(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_(migrate_result_done) MigrateResult res = {};

        test_write_file(t, "store/version", "{\"format_version\": 99}", 0644);
        assert_true(store_migrate(t->s, &res, &err) < 0);
        assert_non_null(strstr(err.message, "mismatch"));
        assert_non_null(strstr(err.message, "99"));
}

static void test_missing_version_file(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_(migrate_result_done) MigrateResult res = {};
        _cleanup_free_ char *p = test_path(t, "store/version");

        assert_int_equal(unlink(p), 0);
        assert_int_equal(store_migrate(t->s, &res, &err), -ENOENT);
        assert_non_null(strstr(err.message, "no version file"));
}

static void test_missing_format_version_counts_as_zero(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_(migrate_result_done) MigrateResult res = {};

        test_write_file(t, "store/version", "{\"something\": true}", 0644);
        assert_store_ok(store_migrate(t->s, &res, &err));
        assert_true(res.migrated);
        assert_int_equal(res.from_version, 0);
}

static void test_read_only_store_fails_keeps_version(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_(migrate_result_done) MigrateResult res = {};
        _cleanup_free_ char *store_dir = NULL, *version = NULL;
        char id[KP_HASH_HEX_SIZE];

        if (geteuid() == 0)
                skip();

        store_dir = test_path(t, "store");

        make_v1_store(t, id);
        assert_int_equal(chmod(store_dir, 0555), 0);
        assert_true(store_migrate(t->s, &res, &err) < 0);
        assert_int_equal(chmod(store_dir, 0755), 0);

        version = test_read_file(t, "store/version");
        assert_non_null(strstr(version, "\"format_version\": 1"));
}

static void test_invalid_metadata_skipped_untouched(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_(migrate_result_done) MigrateResult res = {};
        _cleanup_free_ char *array = NULL, *invalid = NULL, *dot = NULL;
        char id[KP_HASH_HEX_SIZE], a[KP_HASH_HEX_SIZE], b[KP_HASH_HEX_SIZE], rel_a[128], rel_b[128];

        make_v1_store(t, id);
        test_id("array", a);
        test_id("invalid", b);
        snprintf(rel_a, sizeof(rel_a), "store/metadata/%s", a);
        snprintf(rel_b, sizeof(rel_b), "store/metadata/%s", b);
        test_write_file(t, rel_a, "[1, 2, 3]", 0644);
        test_write_file(t, rel_b, "{ not json", 0644);
        test_write_file(t, "store/metadata/.tmp-abandoned", "{\"env_id\": \"x\"}", 0644);

        assert_store_ok(store_migrate(t->s, &res, &err));
        assert_int_equal(res.environments_migrated, 1);

        array = test_read_file(t, rel_a);
        assert_string_equal(array, "[1, 2, 3]");
        invalid = test_read_file(t, rel_b);
        assert_string_equal(invalid, "{ not json");
        dot = test_read_file(t, "store/metadata/.tmp-abandoned");
        assert_string_equal(dot, "{\"env_id\": \"x\"}");
}

static void test_incomplete_metadata_gets_null_checksum(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_(migrate_result_done) MigrateResult res = {};
        _cleanup_free_ char *raw = NULL;
        char id[KP_HASH_HEX_SIZE], rel[128];

        make_v1_store(t, id);
        snprintf(rel, sizeof(rel), "store/metadata/%s", id);
        /* No ref_count: not complete metadata, so no checksum can be computed. */
        test_write_file(t, rel, "{\"env_id\": \"x\"}", 0644);

        assert_store_ok(store_migrate(t->s, &res, &err));
        raw = test_read_file(t, rel);
        assert_string_equal(raw,
                            "{\n  \"checksum\": null,\n  \"env_id\": \"x\",\n  \"name\": null,\n"
                            "  \"policy_layer\": null\n}");
}

static void test_existing_keys_left_alone(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_(migrate_result_done) MigrateResult res = {};
        _cleanup_free_ char *raw = NULL, *json = NULL;
        char id[KP_HASH_HEX_SIZE], rel[128];

        make_v1_store(t, id);
        snprintf(rel, sizeof(rel), "store/metadata/%s", id);
        json = strdup("{\"name\": \"n\", \"checksum\": null, \"policy_layer\": null}");
        test_write_file(t, rel, json, 0644);

        assert_store_ok(store_migrate(t->s, &res, &err));
        assert_int_equal(res.environments_migrated, 0);
        raw = test_read_file(t, rel);
        assert_string_equal(raw, json);
}

#define T(f) cmocka_unit_test_setup_teardown(f, test_store_setup, test_store_teardown)

int main(void) {
        const struct CMUnitTest tests[] = {
                T(test_v1_to_v2),
                T(test_current_version_no_op),
                T(test_newer_version_rejected),
                T(test_missing_version_file),
                T(test_missing_format_version_counts_as_zero),
                T(test_read_only_store_fails_keeps_version),
                T(test_invalid_metadata_skipped_untouched),
                T(test_incomplete_metadata_gets_null_checksum),
                T(test_existing_keys_left_alone),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
