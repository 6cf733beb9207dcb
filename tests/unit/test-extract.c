/* SPDX-License-Identifier: MIT */
/*
 * Extraction of image tarballs (runtime/extract.c) and the tree digest
 * (runtime/image-digest.c), on tarballs written by the tests. Hostile
 * tarballs are extracted into <tmp>/root, and <tmp> must hold nothing else
 * afterwards.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/xattr.h>

#include "runtime/extract.h"
#include "runtime/image-internal.h"
#include "runtime/userns.h"
#include "test-image-helpers.h"

typedef struct Fixture {
        char *dir;              /* <tmp> */
        char *root;             /* <tmp>/root, the extraction target */
        char *tarball;          /* in a separate directory, so <tmp> holds only root */
        char *tar_dir;
} Fixture;

static int fixture_setup(void **state) {
        Fixture *f = calloc(1, sizeof(Fixture));

        f->dir = test_mkdtemp();
        f->tar_dir = test_mkdtemp();
        f->root = test_path(f->dir, "root");
        f->tarball = test_path(f->tar_dir, "image.tar");
        if (mkdir(f->root, 0755) < 0)
                return -1;
        *state = f;
        return 0;
}

static int fixture_teardown(void **state) {
        Fixture *f = *state;

        test_rm_rf(f->dir);
        test_rm_rf(f->tar_dir);
        free(f->dir);
        free(f->root);
        free(f->tarball);
        free(f->tar_dir);
        free(f);
        return 0;
}

static int extract_with(const char *tarball, const char *root, const ExtractOptions *opts, ExtractStats *stats,
                        KpError *err) {
        _cleanup_close_ int fd = open(tarball, O_RDONLY | O_CLOEXEC);
        _cleanup_close_ int root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        assert_true(fd >= 0);
        assert_true(root_fd >= 0);
        return extract_archive_fd(fd, root_fd, opts, stats, err);
}

static int extract(Fixture *f, ExtractStats *stats, KpError *err) {
        return extract_with(f->tarball, f->root, NULL, stats, err);
}

static void assert_nothing_outside(Fixture *f) {
        static const char *const only_root[] = { "root", NULL };

        assert_true(dir_has_exactly(f->dir, only_root));
}

static struct stat lstat_in(Fixture *f, const char *rel) {
        _cleanup_free_ char *p = test_path(f->root, rel);
        struct stat st;

        if (lstat(p, &st) < 0)
                fail_msg("lstat %s: %s", p, strerror(errno));
        return st;
}

static bool exists_in(Fixture *f, const char *rel) {
        _cleanup_free_ char *p = test_path(f->root, rel);
        struct stat st;

        return lstat(p, &st) == 0;
}

static char *read_in(Fixture *f, const char *rel) {
        _cleanup_free_ char *p = test_path(f->root, rel);
        char *data = NULL;
        size_t len;

        assert_int_equal(kp_read_file_at(AT_FDCWD, p, 1 << 20, &data, &len), 0);
        return data;
}

/* ---- Path normalization ----------------------------------------------- */

static void test_path_normalize_cases(void **state) {
        static const struct {
                const char *raw, *expected;
        } ok[] = {
                { "etc/passwd", "etc/passwd" },
                { "./etc/passwd", "etc/passwd" },
                { "/etc/passwd", "etc/passwd" },
                { "//etc//./passwd/", "etc/passwd" },
                { "./", "" },
                { "/", "" },
                { "a/.../b", "a/.../b" },
                { "..a/b..", "..a/b.." },
        };
        static const char *const dotdot[] = { "..", "../x", "a/../../x", "/../etc/passwd", "a/.." };
        char long_name[NAME_MAX + 2];

        for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
                _cleanup_free_ char *out = NULL;

                assert_int_equal(extract_path_normalize(ok[i].raw, &out), 0);
                assert_string_equal(out, ok[i].expected);
        }
        for (size_t i = 0; i < ELEMENTSOF(dotdot); i++) {
                char *out = NULL;

                assert_int_equal(extract_path_normalize(dotdot[i], &out), -EINVAL);
                assert_null(out);
        }

        memset(long_name, 'n', sizeof(long_name) - 1);
        long_name[sizeof(long_name) - 1] = '\0';
        {
                char *out = NULL;

                assert_int_equal(extract_path_normalize(long_name, &out), -ENAMETOOLONG);
        }
}

/* ---- Regular content ---------------------------------------------------- */

static void write_regular_tarball(const char *path, int filter) {
        struct archive *a = tar_open(path, filter);

        tar_add_dir(a, "./", 0755);
        tar_add_dir(a, "./etc/", 0755);
        tar_add_file(a, "./etc/hostname", "box\n", 0644);
        tar_add_dir(a, "./usr/bin/", 0755);
        tar_add_file(a, "./usr/bin/su", "#!/bin/sh\n", 04755);
        tar_add_file(a, "./usr/bin/wall", "#!/bin/sh\n", 02755);
        tar_add_dir(a, "./tmp/", 01777);
        tar_add_symlink(a, "./bin", "usr/bin");
        tar_add_symlink(a, "./etc/mtab", "/proc/self/mounts");
        tar_add_file(a, "./usr/bin/gzip", "gzip\n", 0755);
        tar_add_hardlink(a, "./usr/bin/gunzip", "./usr/bin/gzip");
        tar_add_special(a, "./run-fifo", AE_IFIFO, 0, 0);
        tar_add_dir(a, "./dev/", 0755);
        tar_add_special(a, "./dev/null", AE_IFCHR, 1, 3);
        tar_add_special(a, "./dev/sda", AE_IFBLK, 8, 0);
        /* Read-only directory with content: its mode must be set last. */
        tar_add_dir(a, "./ro/", 0555);
        tar_add_file(a, "./ro/inside", "x", 0400);
        /* An implicit parent directory. */
        tar_add_file(a, "./var/lib/state", "s", 0600);
        tar_close(a);
}

static void check_regular_tree(Fixture *f, const ExtractStats *stats) {
        _cleanup_free_ char *hostname = read_in(f, "etc/hostname");
        struct stat su = lstat_in(f, "usr/bin/su"), gz = lstat_in(f, "usr/bin/gzip"), gun = lstat_in(f, "usr/bin/gunzip");
        char target[64];
        _cleanup_free_ char *bin = test_path(f->root, "bin");
        ssize_t n;

        assert_string_equal(hostname, "box\n");
        assert_int_equal(su.st_mode & 07777, 04755);
        assert_int_equal(lstat_in(f, "usr/bin/wall").st_mode & 07777, 02755);
        assert_int_equal(lstat_in(f, "tmp").st_mode & 07777, 01777);
        assert_int_equal(lstat_in(f, "ro").st_mode & 07777, 0555);
        assert_int_equal(lstat_in(f, "ro/inside").st_mode & 07777, 0400);
        assert_true(S_ISDIR(lstat_in(f, "var/lib").st_mode));

        assert_true(S_ISLNK(lstat_in(f, "bin").st_mode));
        n = readlink(bin, target, sizeof(target) - 1);
        assert_true(n > 0);
        target[n] = '\0';
        assert_string_equal(target, "usr/bin");

        assert_int_equal(gz.st_ino, gun.st_ino);
        assert_int_equal(gz.st_nlink, 2);
        assert_true(S_ISFIFO(lstat_in(f, "run-fifo").st_mode));

        assert_false(exists_in(f, "dev/null"));
        assert_false(exists_in(f, "dev/sda"));
        assert_true(S_ISDIR(lstat_in(f, "dev").st_mode));
        assert_int_equal(stats->devices_skipped, 2);

        assert_int_equal(lstat_in(f, "etc/hostname").st_mtime, 1700000000);
        assert_int_equal(lstat_in(f, "etc").st_mtime, 1700000000);
}

static void test_extract_regular_tree(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        Fixture *f = *state;
        ExtractStats stats = {};

        write_regular_tarball(f->tarball, ARCHIVE_FILTER_NONE);
        if (extract(f, &stats, &err) < 0)
                fail_msg("extraction failed: %s", err.message);

        check_regular_tree(f, &stats);
        assert_nothing_outside(f);
}

static void test_extract_compressed(void **state) {
        static const int filters[] = { ARCHIVE_FILTER_GZIP, ARCHIVE_FILTER_XZ, ARCHIVE_FILTER_ZSTD };
        Fixture *f = *state;

        for (size_t i = 0; i < ELEMENTSOF(filters); i++) {
                _cleanup_error_ KpError err = KP_ERROR_INIT;
                ExtractStats stats = {};

                assert_int_equal(kp_rm_rf(f->root), 0);
                assert_int_equal(mkdir(f->root, 0755), 0);
                write_regular_tarball(f->tarball, filters[i]);
                if (extract(f, &stats, &err) < 0)
                        fail_msg("extraction with filter %d failed: %s", filters[i], err.message);
                check_regular_tree(f, &stats);
        }
}

static bool user_xattrs_supported(const char *dir) {
        _cleanup_free_ char *probe = test_path(dir, "xattr-probe");
        _cleanup_close_ int fd = open(probe, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        bool ok = fd >= 0 && fsetxattr(fd, "user.probe", "1", 1, 0) == 0;

        (void) unlink(probe);
        return ok;
}

static void test_extract_xattrs(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_free_ char *file = NULL;
        Fixture *f = *state;
        struct archive *a;
        struct archive_entry *e;
        char value[32];
        ssize_t n;

        if (!user_xattrs_supported(f->root))
                skip();

        a = tar_open(f->tarball, ARCHIVE_FILTER_NONE);
        e = tar_entry("tagged", AE_IFREG, 0644);
        archive_entry_set_size(e, 4);
        archive_entry_xattr_add_entry(e, "user.origin", "test", 4);
        tar_write(a, e, "data", 4);
        e = tar_entry("tagged-dir", AE_IFDIR, 0755);
        archive_entry_xattr_add_entry(e, "user.kind", "dir", 3);
        tar_write(a, e, NULL, 0);
        tar_close(a);

        if (extract(f, NULL, &err) < 0)
                fail_msg("extraction failed: %s", err.message);

        file = test_path(f->root, "tagged");
        n = getxattr(file, "user.origin", value, sizeof(value));
        assert_int_equal(n, 4);
        assert_memory_equal(value, "test", 4);

        free(file);
        file = test_path(f->root, "tagged-dir");
        n = getxattr(file, "user.kind", value, sizeof(value));
        assert_int_equal(n, 3);
        assert_memory_equal(value, "dir", 3);
}

/* Owners: directly as root, else inside a user namespace with a range. */
typedef struct OwnerCheck {
        const char *tarball;
        const char *root;
} OwnerCheck;

static int extract_and_check_owners(void *userdata) {
        OwnerCheck *c = userdata;
        ExtractOptions opts = { .keep_owners = true };
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_free_ char *file = test_path(c->root, "home/user/file");
        _cleanup_free_ char *dir = test_path(c->root, "home/user");
        _cleanup_free_ char *su = test_path(c->root, "su");
        struct stat st;
        int r;

        r = extract_with(c->tarball, c->root, &opts, NULL, &err);
        if (r < 0)
                return userns_report_error(&err);
        if (lstat(file, &st) < 0 || st.st_uid != 1000 || st.st_gid != 100)
                return -EBADMSG;
        if (lstat(dir, &st) < 0 || st.st_uid != 1000 || st.st_gid != 1000 || (st.st_mode & 07777) != 0700)
                return -EBADMSG;
        /* chown runs before chmod, so setuid survives. */
        if (lstat(su, &st) < 0 || st.st_uid != 0 || (st.st_mode & 07777) != 04755)
                return -EBADMSG;
        return 0;
}

static void test_extract_owners(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        Fixture *f = *state;
        OwnerCheck check = { f->tarball, f->root };
        struct archive *a;
        struct archive_entry *e;
        int r;

        if (geteuid() != 0 && !userns_has_full_range())
                skip();

        a = tar_open(f->tarball, ARCHIVE_FILTER_NONE);
        e = tar_entry("home/user", AE_IFDIR, 0700);
        archive_entry_set_uid(e, 1000);
        archive_entry_set_gid(e, 1000);
        tar_write(a, e, NULL, 0);
        tar_add_file_owned(a, "home/user/file", "mine", 0600, 1000, 100);
        tar_add_file(a, "su", "x", 04755);
        tar_close(a);

        r = geteuid() == 0 ? extract_and_check_owners(&check) : userns_run(extract_and_check_owners, &check, &err);
        if (r < 0)
                fail_msg("owners not kept (%s): %s", strerror(-r), err.message ? err.message : "");
}

/* ---- Hostile tarballs --------------------------------------------------- */

static void expect_rejected(Fixture *f, int expected_code, const char *message_part) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        int r;

        r = extract(f, NULL, &err);
        if (r >= 0)
                fail_msg("hostile tarball was accepted");
        assert_int_equal(r, expected_code);
        assert_non_null(err.message);
        if (!strstr(err.message, message_part))
                fail_msg("message '%s' does not contain '%s'", err.message, message_part);
        assert_nothing_outside(f);
}

static void test_reject_dotdot(void **state) {
        Fixture *f = *state;
        struct archive *a = tar_open(f->tarball, ARCHIVE_FILTER_NONE);

        tar_add_file(a, "../x", "escaped", 0644);
        tar_close(a);
        expect_rejected(f, -EINVAL, "'../x' contains a '..' component");

        a = tar_open(f->tarball, ARCHIVE_FILTER_NONE);
        tar_add_dir(a, "sub/", 0755);
        tar_add_file(a, "sub/../../x", "escaped", 0644);
        tar_close(a);
        expect_rejected(f, -EINVAL, "contains a '..' component");
}

static void test_absolute_rerooted(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_free_ char *content = NULL;
        Fixture *f = *state;
        struct archive *a = tar_open(f->tarball, ARCHIVE_FILTER_NONE);
        char outside[PATH_MAX];

        /* An absolute name pointing at the test directory itself. */
        snprintf(outside, sizeof(outside), "%s/abs-escape", f->dir);
        tar_add_file(a, outside, "re-rooted", 0644);
        tar_add_file(a, "/etc/motd", "hello", 0644);
        tar_close(a);

        if (extract(f, NULL, &err) < 0)
                fail_msg("extraction failed: %s", err.message);

        content = read_in(f, "etc/motd");
        assert_string_equal(content, "hello");
        assert_true(exists_in(f, outside + 1));
        assert_nothing_outside(f);
}

static void test_reject_write_through_symlink(void **state) {
        _cleanup_free_ char *outside = NULL;
        Fixture *f = *state;
        struct archive *a;
        struct stat st;

        outside = test_path(f->dir, "outside");

        /* Absolute target. */
        a = tar_open(f->tarball, ARCHIVE_FILTER_NONE);
        tar_add_symlink(a, "a", outside);
        tar_add_file(a, "a/b", "through the link", 0644);
        tar_close(a);
        expect_rejected(f, -ELOOP, "entry 'a': is a symlink, refusing to write through it");
        assert_true(S_ISLNK(lstat_in(f, "a").st_mode));
        assert_int_equal(lstat(outside, &st), -1);

        /* Relative target leaving the root, and a directory entry below it. */
        assert_int_equal(kp_rm_rf(f->root), 0);
        assert_int_equal(mkdir(f->root, 0755), 0);
        a = tar_open(f->tarball, ARCHIVE_FILTER_NONE);
        tar_add_symlink(a, "up", "..");
        tar_add_dir(a, "up/made-outside/", 0755);
        tar_close(a);
        expect_rejected(f, -ELOOP, "is a symlink");

        /* A symlink deeper down, then a hard link through it. */
        assert_int_equal(kp_rm_rf(f->root), 0);
        assert_int_equal(mkdir(f->root, 0755), 0);
        a = tar_open(f->tarball, ARCHIVE_FILTER_NONE);
        tar_add_dir(a, "d/", 0755);
        tar_add_symlink(a, "d/link", "/etc");
        tar_add_hardlink(a, "d/link/passwd-copy", "d/x");
        tar_close(a);
        expect_rejected(f, -ELOOP, "is a symlink");
}

static void test_file_replaces_symlink(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_free_ char *content = NULL, *outside = NULL;
        Fixture *f = *state;
        struct archive *a = tar_open(f->tarball, ARCHIVE_FILTER_NONE);
        struct stat st;

        outside = test_path(f->dir, "outside-file");
        tar_add_symlink(a, "s", outside);
        tar_add_file(a, "s", "replaced", 0644);
        tar_close(a);

        if (extract(f, NULL, &err) < 0)
                fail_msg("extraction failed: %s", err.message);

        assert_true(S_ISREG(lstat_in(f, "s").st_mode));
        content = read_in(f, "s");
        assert_string_equal(content, "replaced");
        assert_int_equal(lstat(outside, &st), -1);
        assert_nothing_outside(f);
}

static void test_reject_hardlink_outside(void **state) {
        Fixture *f = *state;
        struct archive *a;

        a = tar_open(f->tarball, ARCHIVE_FILTER_NONE);
        tar_add_hardlink(a, "passwd", "/etc/passwd");
        tar_close(a);
        expect_rejected(f, -ENOENT, "hard link 'passwd' points to 'etc/passwd', which no earlier entry created");

        a = tar_open(f->tarball, ARCHIVE_FILTER_NONE);
        tar_add_hardlink(a, "x", "../x");
        tar_close(a);
        expect_rejected(f, -EINVAL, "hard link target '../x' contains a '..' component");

        /* A target that a later entry creates does not count. */
        a = tar_open(f->tarball, ARCHIVE_FILTER_NONE);
        tar_add_hardlink(a, "early", "late");
        tar_add_file(a, "late", "x", 0644);
        tar_close(a);
        expect_rejected(f, -ENOENT, "which no earlier entry created");

        a = tar_open(f->tarball, ARCHIVE_FILTER_NONE);
        tar_add_dir(a, "dir/", 0755);
        tar_add_hardlink(a, "dirlink", "dir");
        tar_close(a);
        expect_rejected(f, -EPERM, "points to directory 'dir'");
}

static void test_reject_long_names(void **state) {
        Fixture *f = *state;
        char component[NAME_MAX + 2], deep[PATH_MAX + 300];
        struct archive *a;
        size_t len = 0;

        memset(component, 'c', sizeof(component) - 1);
        component[sizeof(component) - 1] = '\0';
        a = tar_open(f->tarball, ARCHIVE_FILTER_NONE);
        tar_add_file(a, component, "x", 0644);
        tar_close(a);
        expect_rejected(f, -ENAMETOOLONG, "is too long");

        /* 200-byte components until the whole name passes PATH_MAX. */
        while (len < PATH_MAX + 10) {
                memset(deep + len, 'd', 200);
                len += 200;
                deep[len++] = '/';
        }
        memcpy(deep + len, "f", 2);
        a = tar_open(f->tarball, ARCHIVE_FILTER_NONE);
        tar_add_file(a, deep, "x", 0644);
        tar_close(a);
        expect_rejected(f, -ENAMETOOLONG, "is too long");
}

/* A ustar header of a regular file whose size field (GNU base-256) is
 * 1 PiB, with no data after it, as in a hostile sparse or truncated entry. */
static void write_huge_size_header(const char *path) {
        uint8_t block[512] = {};
        uint64_t size = UINT64_C(1) << 50;
        unsigned sum = 0;
        _cleanup_close_ int fd = -1;

        strcpy((char *) block, "huge");
        memcpy(block + 100, "0000644", 8);
        memcpy(block + 108, "0000000", 8);
        memcpy(block + 116, "0000000", 8);
        block[124] = 0x80;
        for (int i = 0; i < 8; i++)
                block[135 - i] = (uint8_t) (size >> (8 * i));
        memcpy(block + 136, "00000000000", 12);
        block[156] = '0';
        memcpy(block + 257, "ustar", 6);
        memcpy(block + 263, "00", 2);
        memset(block + 148, ' ', 8);
        for (int i = 0; i < 512; i++)
                sum += block[i];
        snprintf((char *) block + 148, 8, "%06o", sum);

        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(kp_write_all(fd, block, sizeof(block)), 0);
        memset(block, 0, sizeof(block));
        assert_int_equal(kp_write_all(fd, block, sizeof(block)), 0);
        assert_int_equal(kp_write_all(fd, block, sizeof(block)), 0);
}

static void test_reject_huge_size(void **state) {
        Fixture *f = *state;

        write_huge_size_header(f->tarball);
        expect_rejected(f, -EFBIG, "declares 1125899906842624 bytes, more than the limit");
        assert_false(exists_in(f, "huge"));
}

static void test_limits_from_options(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        Fixture *f = *state;
        ExtractOptions small = { .max_file_size = 4 };
        ExtractOptions few = { .max_entries = 2 };
        struct archive *a = tar_open(f->tarball, ARCHIVE_FILTER_NONE);

        tar_add_file(a, "a", "12345", 0644);
        tar_add_file(a, "b", "1", 0644);
        tar_add_file(a, "c", "1", 0644);
        tar_close(a);

        assert_int_equal(extract_with(f->tarball, f->root, &small, NULL, &err), -EFBIG);
        assert_non_null(strstr(err.message, "declares 5 bytes, more than the limit of 4 bytes per file"));

        kp_error_clear(&err);
        assert_int_equal(kp_rm_rf(f->root), 0);
        assert_int_equal(mkdir(f->root, 0755), 0);
        assert_int_equal(extract_with(f->tarball, f->root, &few, NULL, &err), -EFBIG);
        assert_non_null(strstr(err.message, "more than 2 entries"));
}

static void test_reject_garbage(void **state) {
        _cleanup_close_ int fd = -1;
        Fixture *f = *state;
        char junk[2048];

        memset(junk, 'j', sizeof(junk));
        fd = open(f->tarball, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_int_equal(kp_write_all(fd, junk, sizeof(junk)), 0);
        expect_rejected(f, -EINVAL, "invalid image tarball");
}

/* ---- Tree digest -------------------------------------------------------- */

static void digest_of(const char *dir, char out[KP_HASH_HEX_SIZE]) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;

        if (image_tree_digest_at(AT_FDCWD, dir, out, &err) < 0)
                fail_msg("digest of %s failed: %s", dir, err.message);
        assert_true(kp_hash_hex_is_valid(out));
}

static void test_digest_stable(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_free_ char *second = NULL, *file = NULL;
        Fixture *f = *state;
        char a[KP_HASH_HEX_SIZE], b[KP_HASH_HEX_SIZE], c[KP_HASH_HEX_SIZE];
        struct timespec ts[2] = { { 0, UTIME_OMIT }, { 1000, 0 } };

        write_regular_tarball(f->tarball, ARCHIVE_FILTER_XZ);
        assert_int_equal(extract(f, NULL, &err), 0);
        second = test_path(f->tar_dir, "second");
        assert_int_equal(mkdir(second, 0755), 0);
        assert_int_equal(extract_with(f->tarball, second, NULL, NULL, &err), 0);

        digest_of(f->root, a);
        digest_of(second, b);
        assert_string_equal(a, b);

        /* Modification times are not part of the digest. */
        file = test_path(second, "etc/hostname");
        assert_int_equal(utimensat(AT_FDCWD, file, ts, 0), 0);
        digest_of(second, c);
        assert_string_equal(a, c);
}

static void test_digest_changes(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_free_ char *hostname = NULL, *su = NULL, *bin = NULL, *gunzip = NULL;
        Fixture *f = *state;
        char base[KP_HASH_HEX_SIZE], d[KP_HASH_HEX_SIZE], prev[KP_HASH_HEX_SIZE];

        write_regular_tarball(f->tarball, ARCHIVE_FILTER_NONE);
        assert_int_equal(extract(f, NULL, &err), 0);
        digest_of(f->root, base);
        hostname = test_path(f->root, "etc/hostname");
        su = test_path(f->root, "usr/bin/su");
        bin = test_path(f->root, "bin");
        gunzip = test_path(f->root, "usr/bin/gunzip");

        /* One content byte ("box\n" -> "bot\n"), same size. */
        {
                _cleanup_close_ int fd = open(hostname, O_WRONLY | O_CLOEXEC);

                assert_int_equal(pwrite(fd, "t", 1, 2), 1);
        }
        digest_of(f->root, d);
        assert_string_not_equal(d, base);
        memcpy(prev, d, sizeof(d));

        /* One mode bit: setuid off. */
        assert_int_equal(chmod(su, 0755), 0);
        digest_of(f->root, d);
        assert_string_not_equal(d, prev);
        memcpy(prev, d, sizeof(d));

        /* A symlink target. */
        assert_int_equal(unlink(bin), 0);
        assert_int_equal(symlink("usr/sbin", bin), 0);
        digest_of(f->root, d);
        assert_string_not_equal(d, prev);
        memcpy(prev, d, sizeof(d));

        /* A hard link replaced by a copy with the same content and mode. */
        assert_int_equal(unlink(gunzip), 0);
        {
                _cleanup_close_ int fd = open(gunzip, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);

                assert_int_equal(kp_write_all(fd, "gzip\n", 5), 0);
                assert_int_equal(fchmod(fd, 0755), 0);
        }
        digest_of(f->root, d);
        assert_string_not_equal(d, prev);
}

/* Changes the owner of etc/hostname and computes the digest, in a user
 * namespace when not root. */
typedef struct OwnerDigest {
        const char *root;
        char *before;           /* shared mapping */
        char *after;
} OwnerDigest;

static int chown_and_digest(void *userdata) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        OwnerDigest *o = userdata;
        _cleanup_free_ char *file = test_path(o->root, "etc/hostname");

        if (image_tree_digest_at(AT_FDCWD, o->root, o->before, &err) < 0)
                return userns_report_error(&err);
        if (lchown(file, 1, 1) < 0)
                return -errno;
        if (image_tree_digest_at(AT_FDCWD, o->root, o->after, &err) < 0)
                return userns_report_error(&err);
        return 0;
}

static void test_digest_changes_with_owner(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        Fixture *f = *state;
        OwnerDigest o = { .root = f->root };
        char *shared;
        int r;

        if (geteuid() != 0 && !userns_has_full_range())
                skip();

        write_regular_tarball(f->tarball, ARCHIVE_FILTER_NONE);
        assert_int_equal(extract(f, NULL, &err), 0);

        shared = mmap(NULL, 2 * KP_HASH_HEX_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        assert_true(shared != MAP_FAILED);
        o.before = shared;
        o.after = shared + KP_HASH_HEX_SIZE;

        r = geteuid() == 0 ? chown_and_digest(&o) : userns_run(chown_and_digest, &o, &err);
        if (r < 0)
                fail_msg("chown and digest failed (%s): %s", strerror(-r), err.message ? err.message : "");
        assert_true(kp_hash_hex_is_valid(o.before));
        assert_true(kp_hash_hex_is_valid(o.after));
        assert_string_not_equal(o.before, o.after);
        (void) munmap(shared, 2 * KP_HASH_HEX_SIZE);
}

static void test_digest_public_matches_namespace_view(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        Fixture *f = *state;
        char direct[KP_HASH_HEX_SIZE], via_api[KP_HASH_HEX_SIZE];

        /* Extracted without a namespace, every file belongs to the caller,
         * which is root inside the namespace: both views agree. */
        write_regular_tarball(f->tarball, ARCHIVE_FILTER_NONE);
        assert_int_equal(extract(f, NULL, &err), 0);
        if (geteuid() != 0) {
                /* Outside, the caller's own ids show; compare with the
                 * namespace view only where root inside is the caller. */
                if (image_tree_digest(f->root, via_api, &err) < 0)
                        skip();
                digest_of(f->root, direct);
                assert_string_not_equal(direct, via_api);
                return;
        }
        digest_of(f->root, direct);
        assert_int_equal(image_tree_digest(f->root, via_api, &err), 0);
        assert_string_equal(direct, via_api);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_path_normalize_cases),
                cmocka_unit_test_setup_teardown(test_extract_regular_tree, fixture_setup, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_extract_compressed, fixture_setup, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_extract_xattrs, fixture_setup, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_extract_owners, fixture_setup, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_reject_dotdot, fixture_setup, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_absolute_rerooted, fixture_setup, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_reject_write_through_symlink, fixture_setup, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_file_replaces_symlink, fixture_setup, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_reject_hardlink_outside, fixture_setup, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_reject_long_names, fixture_setup, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_reject_huge_size, fixture_setup, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_limits_from_options, fixture_setup, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_reject_garbage, fixture_setup, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_digest_stable, fixture_setup, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_digest_changes, fixture_setup, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_digest_changes_with_owner, fixture_setup, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_digest_public_matches_namespace_view, fixture_setup,
                                                fixture_teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
