/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <cmocka.h>

#include "basic/fs-util.h"
#include "runtime/sandbox-store.h"
#include "runtime/userns.h"
#include "store/tree.h"

/* The id a package manager's user gets inside; a subordinate id outside. */
#define OTHER_ID 42

typedef struct Fixture {
        char dir[64];
        char *upper;
        char *restored;
        Store *store;
} Fixture;

static int setup(void **state) {
        Fixture *f = calloc(1, sizeof(Fixture));
        _cleanup_free_ char *store_root = NULL;
        KpError err = KP_ERROR_INIT;

        snprintf(f->dir, sizeof f->dir, "/tmp/kp-sbx-store-XXXXXX");
        if (!mkdtemp(f->dir))
                return -1;
        f->upper = kp_path_join(f->dir, "upper");
        f->restored = kp_path_join(f->dir, "restored");
        store_root = kp_path_join(f->dir, "root");
        if (store_open(store_root, &f->store, &err) < 0 || store_init(f->store, &err) < 0)
                return -1;
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;
        int r = userns_remove_tree(f->dir, NULL);

        store_free(f->store);
        free(f->upper);
        free(f->restored);
        free(f);
        return r;
}

static int file_write(const char *dir, const char *name, const char *text, mode_t mode) {
        _cleanup_free_ char *path = kp_path_join(dir, name);
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

        if (fd < 0 || write(fd, text, strlen(text)) < 0)
                return -errno;
        return 0;
}

/* Inside the namespace: an upper directory as apt and overlayfs leave it. */
static int make_upper(void *userdata) {
        Fixture *f = userdata;
        _cleanup_free_ char *private_dir = kp_path_join(f->upper, "partial");
        _cleanup_free_ char *whiteout = kp_path_join(f->upper, "deleted");
        _cleanup_free_ char *opaque = kp_path_join(f->upper, "opaque");
        int r;

        if (mkdir(f->upper, 0755) < 0 || mkdir(private_dir, 0700) < 0 || mkdir(opaque, 0755) < 0)
                return -errno;
        r = file_write(private_dir, "secret", "only for 42\n", 0600);
        if (r < 0)
                return r;
        if (chown(private_dir, OTHER_ID, OTHER_ID) < 0)
                return -errno;
        {
                _cleanup_free_ char *secret = kp_path_join(private_dir, "secret");

                if (chown(secret, OTHER_ID, OTHER_ID) < 0)
                        return -errno;
        }
        if (mknod(whiteout, S_IFCHR | 0000, makedev(0, 0)) < 0)
                return -errno;
        if (setxattr(opaque, "user.overlay.opaque", "y", 1, 0) < 0)
                return -errno;
        return file_write(f->upper, "plain", "hello\n", 0644);
}

/* Inside the namespace: the restored tree has the same owners and marks. */
static int check_restored(void *userdata) {
        const Fixture *f = userdata;
        _cleanup_free_ char *private_dir = kp_path_join(f->restored, "partial");
        _cleanup_free_ char *secret = kp_path_join(private_dir, "secret");
        _cleanup_free_ char *whiteout = kp_path_join(f->restored, "deleted");
        _cleanup_free_ char *opaque = kp_path_join(f->restored, "opaque");
        _cleanup_free_ char *text = NULL;
        char value[4] = {};
        struct stat st;

        if (stat(private_dir, &st) < 0 || st.st_uid != OTHER_ID || (st.st_mode & 07777) != 0700)
                return -EPROTO;
        if (stat(secret, &st) < 0 || st.st_uid != OTHER_ID || (st.st_mode & 07777) != 0600)
                return -EPROTO;
        if (kp_read_file_at(AT_FDCWD, secret, 100, &text, NULL) < 0 || !streq(text, "only for 42\n"))
                return -EPROTO;
        if (lstat(whiteout, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(0, 0))
                return -EPROTO;
        if (getxattr(opaque, "user.overlay.opaque", value, sizeof value) != 1 || value[0] != 'y')
                return -EPROTO;
        return 0;
}

static void test_pack_unpack_foreign_owners(void **state) {
        Fixture *f = *state;
        _cleanup_strv_free_ char **refs = NULL;
        char key[KP_HASH_HEX_SIZE];
        KpError err = KP_ERROR_INIT;
        size_t n_refs = 0;

        if (!userns_has_full_range())
                skip();

        assert_int_equal(userns_run(make_upper, f, &err), 0);
        assert_int_equal(sandbox_tree_pack_cached(f->store, AT_FDCWD, f->upper, NULL, key, &refs, &n_refs, &err), 0);
        assert_null(err.message);
        assert_true(kp_hash_hex_is_valid(key));
        /* The tree object and the two file contents. */
        assert_int_equal(n_refs, 3);

        assert_int_equal(sandbox_tree_unpack(f->store, key, AT_FDCWD, f->restored, &err), 0);
        assert_null(err.message);
        assert_int_equal(userns_run(check_restored, f, &err), 0);
}

static void test_pack_error_passes_message(void **state) {
        Fixture *f = *state;
        _cleanup_strv_free_ char **refs = NULL;
        char key[KP_HASH_HEX_SIZE];
        KpError err = KP_ERROR_INIT;
        size_t n_refs = 0;
        int r;

        assert_int_equal(mkdir(f->upper, 0755), 0);
        assert_int_equal(file_write(f->upper, "f", "x", 0644), 0);
        /* Unpacking a missing tree fails with the store's message. */
        r = sandbox_tree_unpack(f->store, "0000000000000000000000000000000000000000000000000000000000000000",
                                AT_FDCWD, f->restored, &err);
        assert_true(r < 0);
        assert_non_null(err.message);
        kp_error_clear(&err);

        assert_int_equal(sandbox_tree_pack_cached(f->store, AT_FDCWD, f->upper, NULL, key, &refs, &n_refs, &err), 0);
        assert_int_equal(n_refs, 2);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_pack_unpack_foreign_owners, setup, teardown),
                cmocka_unit_test_setup_teardown(test_pack_error_passes_message, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
