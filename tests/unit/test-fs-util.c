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

static int setup_tmpdir(void **state) {
        char *dir = strdup("/tmp/kp-fs-XXXXXX");

        if (!dir || !mkdtemp(dir))
                return -1;
        *state = dir;
        return 0;
}

static int teardown_tmpdir(void **state) {
        char *dir = *state;
        int r = kp_rm_rf(dir);

        free(dir);
        return r;
}

static int open_dir(const char *path) {
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        return fd;
}

static void test_atomic_write_creates_and_replaces(void **state) {
        _cleanup_close_ int dfd = open_dir(*state);
        _cleanup_free_ char *a = NULL, *b = NULL;
        _cleanup_strv_free_ char **names = NULL;
        size_t len = 0, n = 0;
        struct stat st;

        assert_int_equal(kp_write_file_atomic_at(dfd, "f", "one", 3, 0644, 0), 0);
        assert_int_equal(kp_read_file_at(dfd, "f", 1024, &a, &len), 0);
        assert_string_equal(a, "one");
        assert_int_equal(len, 3);

        assert_int_equal(kp_write_file_atomic_at(dfd, "f", "second", 6, 0600, 0), 0);
        assert_int_equal(kp_read_file_at(dfd, "f", 1024, &b, &len), 0);
        assert_string_equal(b, "second");
        assert_int_equal(fstatat(dfd, "f", &st, 0), 0);
        assert_int_equal(st.st_mode & 0777, 0600);

        /* No temporary file stays behind. */
        assert_int_equal(kp_dir_list_at(dfd, ".", false, false, &names, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(names[0], "f");
}

static void test_atomic_write_no_replace(void **state) {
        _cleanup_close_ int dfd = open_dir(*state);
        _cleanup_free_ char *a = NULL;

        assert_int_equal(kp_write_file_atomic_at(dfd, "obj", "x", 1, 0444, KP_ATOMIC_NO_REPLACE), 0);
        assert_int_equal(kp_write_file_atomic_at(dfd, "obj", "y", 1, 0444, KP_ATOMIC_NO_REPLACE), -EEXIST);
        assert_int_equal(kp_read_file_at(dfd, "obj", 16, &a, NULL), 0);
        assert_string_equal(a, "x");
        assert_int_equal(kp_remove_stale_tmpfiles_at(dfd, "."), 0);
}

static void test_atomic_write_in_subdir(void **state) {
        _cleanup_close_ int dfd = open_dir(*state);
        _cleanup_free_ char *a = NULL;

        assert_int_equal(kp_mkdir_p_at(dfd, "a/b/c", 0755), 0);
        assert_int_equal(kp_write_file_atomic_at(dfd, "a/b/c/file", "z", 1, 0644, 0), 0);
        assert_int_equal(kp_read_file_at(dfd, "a/b/c/file", 16, &a, NULL), 0);
        assert_string_equal(a, "z");
}

static void test_atomic_write_missing_dir_fails(void **state) {
        _cleanup_close_ int dfd = open_dir(*state);

        assert_int_equal(kp_write_file_atomic_at(dfd, "nope/file", "z", 1, 0644, 0), -ENOENT);
}

static void test_read_file_limit(void **state) {
        _cleanup_close_ int dfd = open_dir(*state);
        _cleanup_free_ char *big = malloc(100000), *out = NULL;

        memset(big, 'a', 100000);
        assert_int_equal(kp_write_file_atomic_at(dfd, "big", big, 100000, 0644, 0), 0);
        assert_int_equal(kp_read_file_at(dfd, "big", 99999, &out, NULL), -EFBIG);
        assert_null(out);
        assert_int_equal(kp_read_file_at(dfd, "big", 100000, &out, NULL), 0);
}

static void test_mkdir_p_existing_file(void **state) {
        _cleanup_close_ int dfd = open_dir(*state);

        assert_int_equal(kp_write_file_atomic_at(dfd, "file", "", 0, 0644, 0), 0);
        assert_int_equal(kp_mkdir_p_at(dfd, "file/sub", 0755), -ENOTDIR);
        assert_int_equal(kp_mkdir_p_at(dfd, "d//e/", 0755), 0);
        assert_true(kp_is_dir_at(dfd, "d/e"));
}

static void test_rm_rf_unreadable_dirs(void **state) {
        _cleanup_close_ int dfd = open_dir(*state);

        /* Overlayfs leaves work/work at mode 000 with content below it. */
        assert_int_equal(kp_mkdir_p_at(dfd, "tree/work/work/inner", 0755), 0);
        assert_int_equal(kp_write_file_atomic_at(dfd, "tree/work/work/inner/f", "x", 1, 0000, 0), 0);
        assert_int_equal(symlinkat("/etc/passwd", dfd, "tree/link"), 0);
        assert_int_equal(fchmodat(dfd, "tree/work/work/inner", 0500, 0), 0);
        assert_int_equal(fchmodat(dfd, "tree/work/work", 0000, 0), 0);
        assert_int_equal(fchmodat(dfd, "tree/work", 0555, 0), 0);

        assert_int_equal(kp_rm_rf_at(dfd, "tree"), 0);
        assert_false(kp_path_exists_at(dfd, "tree"));
        assert_int_equal(access("/etc/passwd", F_OK), 0);

        /* Missing paths are fine. */
        assert_int_equal(kp_rm_rf_at(dfd, "tree"), 0);
}

static void test_path_join(void **state) {
        _cleanup_free_ char *a = kp_path_join("/a/", "/b"), *b = kp_path_join("/", "x"),
                            *c = kp_path_join("rel", "y/z");

        assert_string_equal(a, "/a/b");
        assert_string_equal(b, "/x");
        assert_string_equal(c, "rel/y/z");
}

static void test_path_join_in_root(void **state) {
        static const struct {
                const char *rel;
                const char *expected;   /* NULL: escapes the root */
        } cases[] = {
                { "etc/passwd", "/r/etc/passwd" },
                { "/etc//./passwd", "/r/etc/passwd" },
                { "a/../b", "/r/b" },
                { "", "/r" },
                { ".", "/r" },
                { "..", NULL },
                { "a/../../etc", NULL },
                { "/../etc", NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *out = NULL;
                int r = kp_path_join_in_root("/r", cases[i].rel, &out);

                if (cases[i].expected) {
                        assert_int_equal(r, 0);
                        assert_string_equal(out, cases[i].expected);
                } else
                        assert_int_equal(r, -EXDEV);
        }
}

static void test_path_normalize(void **state) {
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL;

        assert_int_equal(kp_path_normalize("/home/../etc/shadow", &a), 0);
        assert_string_equal(a, "/etc/shadow");
        assert_int_equal(kp_path_normalize("/../../x/./y/", &b), 0);
        assert_string_equal(b, "/x/y");
        assert_int_equal(kp_path_normalize("/", &c), 0);
        assert_string_equal(c, "/");
}

static void check_open_in_root(int rootfd) {
        _cleanup_close_ int a = -1, b = -1, c = -1;
        _cleanup_free_ char *content = NULL;

        /* An absolute symlink resolves inside the root, not on the host. */
        a = kp_open_in_root(rootfd, "abs", O_RDONLY, 0);
        if (a >= 0) {
                assert_int_equal(kp_read_fd(a, 64, &content, NULL), 0);
                assert_string_equal(content, "inside");
        } else
                /* The fallback rejects symlinks instead of following them. */
                assert_int_equal(a, -ELOOP);

        /* ".." stops at the root: openat2 clamps it, the fallback rejects it. */
        b = kp_open_in_root(rootfd, "../../../etc/passwd", O_RDONLY, 0);
        if (b >= 0) {
                _cleanup_free_ char *clamped = NULL;

                assert_int_equal(kp_read_fd(b, 64, &clamped, NULL), 0);
                assert_string_equal(clamped, "inside");
        } else
                assert_int_equal(b, -EXDEV);

        c = kp_open_in_root(rootfd, "etc/passwd", O_RDONLY, 0);
        assert_true(c >= 0);
}

static void test_open_in_root_contains(void **state) {
        _cleanup_close_ int dfd = open_dir(*state), rootfd = -1;

        assert_int_equal(kp_mkdir_p_at(dfd, "root/etc", 0755), 0);
        assert_int_equal(kp_write_file_atomic_at(dfd, "root/etc/passwd", "inside", 6, 0644, 0), 0);
        assert_int_equal(symlinkat("/etc/passwd", dfd, "root/abs"), 0);
        rootfd = openat(dfd, "root", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(rootfd >= 0);

        unsetenv("KARAPACE_TEST_NO_OPENAT2");
        check_open_in_root(rootfd);
        setenv("KARAPACE_TEST_NO_OPENAT2", "1", 1);
        check_open_in_root(rootfd);
        unsetenv("KARAPACE_TEST_NO_OPENAT2");
}

typedef struct WalkLog {
        char text[512];
} WalkLog;

static int record_entry(int parent_fd, const char *name, const char *relpath,
                        const struct stat *st, void *userdata) {
        WalkLog *log = userdata;

        strcat(log->text, relpath);
        strcat(log->text, S_ISDIR(st->st_mode) ? "/;" : ";");
        return streq(name, "skip") ? KP_WALK_SKIP : 0;
}

static void test_walk_sorted(void **state) {
        _cleanup_close_ int dfd = open_dir(*state);
        WalkLog log = {};

        assert_int_equal(kp_mkdir_p_at(dfd, "w/b/c", 0755), 0);
        assert_int_equal(kp_mkdir_p_at(dfd, "w/skip/hidden", 0755), 0);
        assert_int_equal(kp_write_file_atomic_at(dfd, "w/a-b", "", 0, 0644, 0), 0);
        assert_int_equal(kp_write_file_atomic_at(dfd, "w/b/z", "", 0, 0644, 0), 0);
        assert_int_equal(kp_write_file_atomic_at(dfd, "w/.dot", "", 0, 0644, 0), 0);

        assert_int_equal(kp_walk_at(dfd, "w", record_entry, &log), 0);
        assert_string_equal(log.text, ".dot;a-b;b/;b/c/;b/z;skip/;");
}

static void test_dir_list_hidden_and_missing(void **state) {
        _cleanup_close_ int dfd = open_dir(*state);
        _cleanup_strv_free_ char **all = NULL, **visible = NULL, **missing = NULL;
        size_t n = 0;

        assert_int_equal(kp_write_file_atomic_at(dfd, "b", "", 0, 0644, 0), 0);
        assert_int_equal(kp_write_file_atomic_at(dfd, ".tmp-x", "", 0, 0644, 0), 0);
        assert_int_equal(kp_write_file_atomic_at(dfd, "a", "", 0, 0644, 0), 0);

        assert_int_equal(kp_dir_list_at(dfd, ".", false, false, &all, &n), 0);
        assert_int_equal(n, 3);
        assert_string_equal(all[0], ".tmp-x");
        assert_int_equal(kp_dir_list_at(dfd, ".", true, false, &visible, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(visible[0], "a");
        assert_string_equal(visible[1], "b");
        assert_null(visible[2]);

        assert_int_equal(kp_dir_list_at(dfd, "missing", true, false, &missing, &n), -ENOENT);
        assert_int_equal(kp_dir_list_at(dfd, "missing", true, true, &missing, &n), 0);
        assert_int_equal(n, 0);

        assert_int_equal(kp_remove_stale_tmpfiles_at(dfd, "."), 1);
        assert_false(kp_path_exists_at(dfd, ".tmp-x"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_atomic_write_creates_and_replaces, setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_atomic_write_no_replace, setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_atomic_write_in_subdir, setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_atomic_write_missing_dir_fails, setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_read_file_limit, setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_mkdir_p_existing_file, setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_rm_rf_unreadable_dirs, setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test(test_path_join),
                cmocka_unit_test(test_path_join_in_root),
                cmocka_unit_test(test_path_normalize),
                cmocka_unit_test_setup_teardown(test_open_in_root_contains, setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_walk_sorted, setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_dir_list_hidden_and_missing, setup_tmpdir, teardown_tmpdir),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
