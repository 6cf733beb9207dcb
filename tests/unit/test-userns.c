/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "basic/fs-util.h"
#include "runtime/sandbox-ids.h"
#include "runtime/userns.h"

static int setup_tmpdir(void **state) {
        char *dir = strdup("/tmp/kp-userns-XXXXXX");

        if (!dir || !mkdtemp(dir))
                return -1;
        *state = dir;
        return 0;
}

static int teardown_tmpdir(void **state) {
        char *dir = *state;
        int r = userns_remove_tree(dir, NULL);

        free(dir);
        return r;
}

static void test_subid_parse_by_name_and_id(void **state) {
        const char *contents = "# comment\n"
                               "alice:100000:65536\n"
                               "1002:200000:1000\n"
                               "bob:bad:1\n"
                               "bob:300000:0\n"
                               "bob:400000:10";
        SubidRange range;

        assert_int_equal(sandbox_subid_parse(contents, "alice", 1001, &range), 0);
        assert_int_equal(range.start, 100000);
        assert_int_equal(range.count, 65536);

        assert_int_equal(sandbox_subid_parse(contents, "carol", 1002, &range), 0);
        assert_int_equal(range.start, 200000);
        assert_int_equal(range.count, 1000);

        /* Invalid and empty entries are skipped, the first valid one counts. */
        assert_int_equal(sandbox_subid_parse(contents, "bob", 1003, &range), 0);
        assert_int_equal(range.start, 400000);
        assert_int_equal(range.count, 10);

        assert_int_equal(sandbox_subid_parse(contents, "dave", 1004, &range), -ENOENT);
        assert_int_equal(sandbox_subid_parse("", "alice", 1001, &range), -ENOENT);
        assert_int_equal(sandbox_subid_parse("alice:4294967295:2\n", "alice", 1, &range), -ENOENT);
        assert_int_equal(sandbox_subid_parse("alice:1:2:3\n", "alice", 1, &range), -ENOENT);
}

static void test_id_map_strings(void **state) {
        SubidRange range = { .start = 100000, .count = 65536 };
        char buf[SANDBOX_ID_MAP_MAX];

        assert_int_equal(sandbox_id_map_args(1000, &range, buf), 0);
        assert_string_equal(buf, "0 1000 1 1 100000 65536");

        range.count = 0;
        assert_int_equal(sandbox_id_map_args(1000, &range, buf), 0);
        assert_string_equal(buf, "0 1000 1");
        assert_int_equal(sandbox_id_map_args(4294967295u, NULL, buf), 0);
        assert_string_equal(buf, "0 4294967295 1");

        assert_int_equal(sandbox_id_map_single(1001, buf), 0);
        assert_string_equal(buf, "0 1001 1\n");
}

static int report_uid(void *userdata) {
        int *out = userdata;

        /* The child's memory is its own, so the result goes out through the exit code. */
        *out = (int) getuid();
        return getuid() == 0 && getgid() == 0 ? 0 : -EPROTO;
}

static void test_run_is_root_inside(void **state) {
        KpError err = KP_ERROR_INIT;
        int uid = -1;

        assert_int_equal(userns_run(report_uid, &uid, &err), 0);
        assert_null(err.message);
        /* The parent's copy is untouched: FUNC ran in a child. */
        assert_int_equal(uid, -1);
}

static int fail_with_message(void *userdata) {
        KpError err = KP_ERROR_INIT;
        int r;

        kp_error_set_kind(&err, KP_ERROR_STORE, -ENOSPC, "disk full while writing '%s'", (const char *) userdata);
        r = userns_report_error(&err);
        kp_error_clear(&err);
        return r;
}

static void test_run_passes_error_back(void **state) {
        KpError err = KP_ERROR_INIT;

        assert_int_equal(userns_run(fail_with_message, (void *) "x", &err), -ENOSPC);
        assert_non_null(err.message);
        assert_string_equal(err.message, "disk full while writing 'x'");
        assert_int_equal(err.kind, KP_ERROR_STORE);
        kp_error_clear(&err);
}

static int fail_silently(void *userdata) {
        return -ENOTDIR;
}

static void test_run_errno_without_message(void **state) {
        KpError err = KP_ERROR_INIT;

        assert_int_equal(userns_run(fail_silently, NULL, &err), -ENOTDIR);
        assert_non_null(err.message);
        assert_non_null(strstr(err.message, "user namespace"));
        kp_error_clear(&err);
}

typedef struct OwnedTree {
        const char *dir;
        uid_t owner;
} OwnedTree;

/* Create DIR/tree with a file and a mode-000 subdirectory owned by another id. */
static int create_foreign_tree(void *userdata) {
        const OwnedTree *t = userdata;
        _cleanup_free_ char *tree = kp_path_join(t->dir, "tree");
        _cleanup_free_ char *sub = kp_path_join(tree, "sub");
        _cleanup_free_ char *file = kp_path_join(sub, "file");
        FILE *f;

        if (mkdir(tree, 0755) < 0 || mkdir(sub, 0755) < 0)
                return -errno;
        f = fopen(file, "we");
        if (!f)
                return -errno;
        fputs("data", f);
        fclose(f);
        if (chown(file, t->owner, t->owner) < 0 || chown(sub, t->owner, t->owner) < 0 ||
            chown(tree, t->owner, t->owner) < 0)
                return -errno;
        if (chmod(sub, 0) < 0 || chmod(tree, 0500) < 0)
                return -errno;
        return 0;
}

static void test_remove_tree_with_foreign_owner(void **state) {
        OwnedTree t = { .dir = *state, .owner = 1 };
        _cleanup_free_ char *tree = kp_path_join(*state, "tree");
        KpError err = KP_ERROR_INIT;

        if (!userns_has_full_range())
                skip();

        assert_int_equal(userns_run(create_foreign_tree, &t, &err), 0);
        assert_true(kp_path_exists_at(AT_FDCWD, tree));

        assert_int_equal(userns_remove_tree(tree, &err), 0);
        assert_null(err.message);
        assert_false(kp_path_exists_at(AT_FDCWD, tree));
}

/* Reports the owner of a file as stat() inside the namespace returns it. */
static int stat_owner(void *userdata, int out_fd) {
        struct stat st;

        if (stat(userdata, &st) < 0)
                return -errno;
        dprintf(out_fd, "%u:%u", (unsigned) st.st_uid, (unsigned) st.st_gid);
        return 0;
}

static void test_run_output_returns_bytes(void **state) {
        _cleanup_free_ char *file = kp_path_join(*state, "mine"), *out = NULL;
        KpError err = KP_ERROR_INIT;
        size_t len = 0;
        FILE *f;

        f = fopen(file, "we");
        assert_non_null(f);
        fclose(f);

        /* The caller's own files belong to root inside. */
        assert_int_equal(userns_run_output(stat_owner, file, &out, &len, &err), 0);
        assert_string_equal(out, "0:0");
        assert_int_equal(len, 3);
}

static void test_run_output_passes_errors(void **state) {
        _cleanup_free_ char *missing = kp_path_join(*state, "missing"), *out = NULL;
        KpError err = KP_ERROR_INIT;
        size_t len = 0;

        assert_int_equal(userns_run_output(stat_owner, missing, &out, &len, &err), -ENOENT);
        assert_null(out);
        kp_error_clear(&err);
}

static void test_remove_tree_missing_is_ok(void **state) {
        _cleanup_free_ char *missing = kp_path_join(*state, "missing");

        assert_int_equal(userns_remove_tree(missing, NULL), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_subid_parse_by_name_and_id),
                cmocka_unit_test(test_id_map_strings),
                cmocka_unit_test(test_run_is_root_inside),
                cmocka_unit_test(test_run_passes_error_back),
                cmocka_unit_test(test_run_errno_without_message),
                cmocka_unit_test_setup_teardown(test_remove_tree_with_foreign_owner, setup_tmpdir,
                                                teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_remove_tree_missing_is_ok, setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_run_output_returns_bytes, setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_run_output_passes_errors, setup_tmpdir, teardown_tmpdir),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
