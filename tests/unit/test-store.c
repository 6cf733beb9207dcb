/* SPDX-License-Identifier: MIT */
/* Store layout, version file and initialization. */
#include "test-store-helpers.h"

static const char *const layout_dirs[] = {
        "store", "store/objects", "store/layers", "store/metadata", "store/staging", "store/wal", "env",
};

static void test_open_creates_nothing(void **state) {
        char *root = test_mkdtemp(), *sub = kp_path_join(root, "a/../b");
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        Store *s = NULL;
        char *expected;

        assert_store_ok(store_open(sub, &s, &err));
        expected = kp_path_join(root, "b");
        assert_string_equal(store_root(s), expected);
        assert_int_equal(store_dirfd(s), -1);
        assert_false(kp_path_exists_at(AT_FDCWD, expected));

        store_free(s);
        free(expected);
        free(sub);
        assert_int_equal(kp_rm_rf(root), 0);
        free(root);
}

static void test_open_rejects_empty_root(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        Store *s = NULL;

        assert_int_equal(store_open("", &s, &err), -EINVAL);
        assert_null(s);
        assert_int_equal(err.kind, KP_ERROR_STORE);
}

static void test_relative_root_becomes_absolute(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        Store *s = NULL;

        assert_store_ok(store_open("some/relative/../root", &s, &err));
        assert_true(store_root(s)[0] == '/');
        assert_non_null(strstr(store_root(s), "/some/root"));
        assert_null(strstr(store_root(s), ".."));
        store_free(s);
}

static void test_init_creates_layout(void **state) {
        TestStore *t = *state;

        for (size_t i = 0; i < ELEMENTSOF(layout_dirs); i++) {
                char *p = test_path(t, layout_dirs[i]);

                assert_true(kp_is_dir_at(AT_FDCWD, p));
                free(p);
        }
        assert_true(store_dirfd(t->s) >= 0);
}

static void test_version_file_exact_bytes(void **state) {
        TestStore *t = *state;
        char *data = test_read_file(t, "store/version");

        assert_string_equal(data, "{\n  \"format_version\": 2\n}");
        free(data);
}

static void test_init_idempotent(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        char key[KP_HASH_HEX_SIZE];
        Store *again = NULL;
        char *data;

        assert_store_ok(store_object_put_bytes(t->s, "x", 1, key, &err));
        assert_store_ok(store_init(t->s, &err));
        assert_store_ok(store_open(t->root, &again, &err));
        assert_store_ok(store_init(again, &err));

        assert_true(store_object_exists(again, key));
        data = test_read_file(t, "store/version");
        assert_string_equal(data, "{\n  \"format_version\": 2\n}");
        free(data);
        store_free(again);
}

static void check_version_rejected(TestStore *t, const char *content, const char *expected_text) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        Store *s = NULL;

        test_write_file(t, "store/version", content, 0644);
        assert_store_ok(store_open(t->root, &s, &err));
        assert_true(store_init(s, &err) < 0);
        assert_int_equal(err.kind, KP_ERROR_STORE);
        assert_non_null(err.message);
        if (!strstr(err.message, expected_text))
                fail_msg("message '%s' lacks '%s'", err.message, expected_text);
        store_free(s);
}

static void test_version_mismatch_999(void **state) {
        check_version_rejected(*state, "{\"format_version\": 999}",
                               "store format version mismatch: expected 2, found 999");
}

static void test_version_mismatch_1(void **state) {
        check_version_rejected(*state, "{\"format_version\": 1}", "store format version mismatch: expected 2, found 1");
}

static void test_version_invalid_json(void **state) {
        check_version_rejected(*state, "{format_version", "invalid version file");
}

static void test_version_extra_keys_ignored(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        unsigned v = 0;

        test_write_file(t, "store/version", "{\"format_version\": 2, \"note\": \"x\"}", 0644);
        assert_store_ok(store_version_check(t->s, &err));
        assert_store_ok(store_version_read(t->s, &v, &err));
        assert_int_equal(v, 2);
}

static void test_version_missing_member_reads_zero(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        unsigned v = 7;

        test_write_file(t, "store/version", "{}", 0644);
        assert_store_ok(store_version_read(t->s, &v, &err));
        assert_int_equal(v, 0);
        assert_true(store_version_check(t->s, &err) < 0);
}

static const char *const tmp_dirs[] = {
        "store", "store/objects", "store/layers", "store/metadata", "store/wal",
};

static void test_init_removes_stale_tmpfiles(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        char rel[256];

        for (size_t i = 0; i < ELEMENTSOF(tmp_dirs); i++) {
                /* A stale read-only one, a stale directory, and a fresh one. */
                snprintf(rel, sizeof(rel), "%s/.tmp-stale", tmp_dirs[i]);
                test_write_file(t, rel, "partial", 0444);
                test_backdate(t, rel);

                snprintf(rel, sizeof(rel), "%s/.tmp-dir", tmp_dirs[i]);
                {
                        char *p = test_path(t, rel);
                        assert_int_equal(mkdir(p, 0500), 0);
                        free(p);
                }
                test_backdate(t, rel);

                snprintf(rel, sizeof(rel), "%s/.tmp-fresh", tmp_dirs[i]);
                test_write_file(t, rel, "in flight", 0444);
        }

        assert_store_ok(store_init(t->s, &err));

        for (size_t i = 0; i < ELEMENTSOF(tmp_dirs); i++) {
                snprintf(rel, sizeof(rel), "%s/.tmp-stale", tmp_dirs[i]);
                assert_false(test_exists(t, rel));
                snprintf(rel, sizeof(rel), "%s/.tmp-dir", tmp_dirs[i]);
                assert_false(test_exists(t, rel));
                snprintf(rel, sizeof(rel), "%s/.tmp-fresh", tmp_dirs[i]);
                assert_true(test_exists(t, rel));
        }
        assert_true(test_exists(t, "store/version"));
}

static void test_init_keeps_other_dotfiles(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;

        test_write_file(t, "store/objects/.keep", "", 0644);
        test_backdate(t, "store/objects/.keep");
        assert_store_ok(store_init(t->s, &err));
        assert_true(test_exists(t, "store/objects/.keep"));
}

static void test_init_fails_on_unwritable_root(void **state) {
        char *root = test_mkdtemp(), *sub = kp_path_join(root, "sub");
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        Store *s = NULL;

        if (geteuid() == 0) {
                kp_rm_rf(root);
                free(root);
                free(sub);
                skip();
        }

        assert_int_equal(chmod(root, 0500), 0);
        assert_store_ok(store_open(sub, &s, &err));
        assert_true(store_init(s, &err) < 0);
        assert_int_equal(err.kind, KP_ERROR_STORE);
        assert_non_null(strstr(err.message, "failed to create"));

        store_free(s);
        assert_int_equal(chmod(root, 0700), 0);
        assert_int_equal(kp_rm_rf(root), 0);
        free(root);
        free(sub);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_open_creates_nothing),
                cmocka_unit_test(test_open_rejects_empty_root),
                cmocka_unit_test(test_relative_root_becomes_absolute),
                cmocka_unit_test_setup_teardown(test_init_creates_layout, test_store_setup, test_store_teardown),
                cmocka_unit_test_setup_teardown(test_version_file_exact_bytes, test_store_setup, test_store_teardown),
                cmocka_unit_test_setup_teardown(test_init_idempotent, test_store_setup, test_store_teardown),
                cmocka_unit_test_setup_teardown(test_version_mismatch_999, test_store_setup, test_store_teardown),
                cmocka_unit_test_setup_teardown(test_version_mismatch_1, test_store_setup, test_store_teardown),
                cmocka_unit_test_setup_teardown(test_version_invalid_json, test_store_setup, test_store_teardown),
                cmocka_unit_test_setup_teardown(test_version_extra_keys_ignored, test_store_setup,
                                                test_store_teardown),
                cmocka_unit_test_setup_teardown(test_version_missing_member_reads_zero, test_store_setup,
                                                test_store_teardown),
                cmocka_unit_test_setup_teardown(test_init_removes_stale_tmpfiles, test_store_setup,
                                                test_store_teardown),
                cmocka_unit_test_setup_teardown(test_init_keeps_other_dotfiles, test_store_setup,
                                                test_store_teardown),
                cmocka_unit_test(test_init_fails_on_unwritable_root),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
