/* SPDX-License-Identifier: MIT */
/* Tree objects: pack, unpack, list, the pack cache and legacy tarballs. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>

#include "test-store-helpers.h"
#include "store/tree.h"

#define EMPTY_KEY "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"

/* ---- Helpers ----------------------------------------------------------- */

static int root_fd_open(const TestStore *t) {
        int fd = open(t->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        assert_true(fd >= 0);
        return fd;
}

static void write_file(const TestStore *t, const char *rel, const void *data, size_t len, mode_t mode) {
        _cleanup_close_ int root = root_fd_open(t), fd = -1;

        fd = openat(root, rel, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(kp_write_all(fd, data, len), 0);
        assert_int_equal(fchmod(fd, mode), 0);
}

static void write_text(const TestStore *t, const char *rel, const char *text) {
        write_file(t, rel, text, strlen(text), 0644);
}

static void make_dir(const TestStore *t, const char *rel) {
        _cleanup_close_ int root = root_fd_open(t);

        assert_int_equal(kp_mkdir_p_at(root, rel, 0755), 0);
}

static char *read_text(const TestStore *t, const char *rel, size_t *ret_len) {
        _cleanup_close_ int root = root_fd_open(t);
        char *data = NULL;

        assert_int_equal(kp_read_file_at(root, rel, 1 << 26, &data, ret_len), 0);
        return data;
}

static void assert_file_text(const TestStore *t, const char *rel, const char *expected) {
        _cleanup_free_ char *data = NULL;
        size_t len = 0;

        data = read_text(t, rel, &len);
        assert_int_equal(len, strlen(expected));
        assert_memory_equal(data, expected, len);
}

static mode_t lstat_mode(const TestStore *t, const char *rel) {
        _cleanup_free_ char *p = test_path(t, rel);
        struct stat st;

        assert_int_equal(lstat(p, &st), 0);
        return st.st_mode;
}

static bool path_exists(const TestStore *t, const char *rel) {
        _cleanup_free_ char *p = test_path(t, rel);
        struct stat st;

        return lstat(p, &st) == 0;
}

static void pack_refs(TestStore *t, const char *rel, const char *cache, char key[KP_HASH_HEX_SIZE], char ***refs,
                      size_t *n) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_close_ int root = root_fd_open(t);

        assert_store_ok(store_tree_pack_cached(t->s, root, rel, cache, key, refs, n, &err));
}

static void pack(TestStore *t, const char *rel, char key[KP_HASH_HEX_SIZE]) {
        _cleanup_strv_free_ char **refs = NULL;
        size_t n = 0;

        pack_refs(t, rel, NULL, key, &refs, &n);
}

static void unpack(TestStore *t, const char *key, const char *rel, TreeUnpackFlags flags, TreeUnpackReport *report) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_close_ int root = root_fd_open(t);

        assert_store_ok(store_tree_unpack_full(t->s, key, root, rel, flags, report, &err));
}

static size_t count_objects(TestStore *t) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_strv_free_ char **keys = NULL;
        size_t n = 0;

        assert_store_ok(store_object_list(t->s, &keys, &n, &err));
        return n;
}

typedef struct Listing {
        TreeEntry *entries;
        size_t n;
} Listing;

static void listing_done(Listing *l) {
        tree_entries_free(l->entries, l->n);
}

static void list_tree(TestStore *t, const char *key, Listing *ret) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;

        assert_store_ok(store_tree_list(t->s, key, &ret->entries, &ret->n, &err));
}

static const TreeEntry *listing_find(const Listing *l, const char *path) {
        for (size_t i = 0; i < l->n; i++)
                if (streq(l->entries[i].path, path))
                        return &l->entries[i];
        return NULL;
}

/* The entry PATH, which must exist. */
static const TreeEntry *listing_get(const Listing *l, const char *path) {
        const TreeEntry *e = listing_find(l, path);

        if (!e) {
                print_error("no entry '%s' in the tree\n", path);
                abort();
        }
        return e;
}

static char *object_text(TestStore *t, const char *key) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        char *data = NULL;
        size_t len;

        assert_store_ok(store_object_get(t->s, key, &data, &len, &err));
        return data;
}

static void put_object(TestStore *t, const char *text, char key[KP_HASH_HEX_SIZE]) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;

        assert_store_ok(store_object_put_bytes(t->s, text, strlen(text), key, &err));
}

/* Names directly below the test root, to check that nothing appeared. */
static char *root_names(const TestStore *t) {
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_close_ int root = root_fd_open(t);
        char *joined = NULL;
        size_t n = 0, len = 0;
        FILE *f;

        assert_int_equal(kp_dir_list_at(root, ".", false, false, &names, &n), 0);
        f = open_memstream(&joined, &len);
        assert_non_null(f);
        for (size_t i = 0; i < n; i++)
                fprintf(f, "%s\n", names[i]);
        assert_int_equal(fclose(f), 0);
        return joined;
}

/* Unpack a tree that must be rejected and check that no file appeared
 * outside the target and that the target was removed again. */
static void assert_unpack_rejected(TestStore *t, const char *key, int expected_kind) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_free_ char *before = root_names(t), *after = NULL;
        _cleanup_close_ int root = root_fd_open(t);
        int r;

        r = store_tree_unpack(t->s, key, root, "dst", &err);
        assert_true(r < 0);
        assert_non_null(err.message);
        assert_int_equal(err.kind, expected_kind);

        after = root_names(t);
        assert_string_equal(before, after);
        assert_false(path_exists(t, "dst"));
        assert_false(path_exists(t, "x"));
        assert_false(path_exists(t, "abs"));
}

/* ---- Round trips ------------------------------------------------------- */

static void test_round_trip_files_and_dirs(void **state) {
        TestStore *t = *state;
        char binary[256 * 64], key[KP_HASH_HEX_SIZE];
        _cleanup_free_ char *data = NULL, *link_path = NULL;
        char target[64];
        size_t len = 0;
        ssize_t n;

        for (size_t i = 0; i < sizeof(binary); i++)
                binary[i] = (char) (i % 256);

        make_dir(t, "src/a/b/c");
        make_dir(t, "src/empty");
        write_text(t, "src/top.txt", "top level\n");
        write_text(t, "src/a/b/c/deep.txt", "deep\n");
        write_file(t, "src/a/binary.bin", binary, sizeof(binary), 0600);
        write_file(t, "src/a/empty-file", "", 0, 0644);
        write_text(t, "src/suid", "#!/bin/sh\n");
        {
                _cleanup_free_ char *p = test_path(t, "src/suid");

                assert_int_equal(chmod(p, 04755), 0);
        }
        link_path = test_path(t, "src/link");
        assert_int_equal(symlink("a/b/c/deep.txt", link_path), 0);
        {
                _cleanup_free_ char *p = test_path(t, "src/abs-link");

                assert_int_equal(symlink("/nonexistent/target", p), 0);
        }

        pack(t, "src", key);
        unpack(t, key, "dst", 0, NULL);

        assert_file_text(t, "dst/top.txt", "top level\n");
        assert_file_text(t, "dst/a/b/c/deep.txt", "deep\n");
        assert_file_text(t, "dst/a/empty-file", "");
        data = read_text(t, "dst/a/binary.bin", &len);
        assert_int_equal(len, sizeof(binary));
        assert_memory_equal(data, binary, sizeof(binary));

        assert_true(S_ISDIR(lstat_mode(t, "dst/empty")));
        assert_int_equal(lstat_mode(t, "dst/suid") & 07777, 04755);
        assert_int_equal(lstat_mode(t, "dst/a/binary.bin") & 07777, 0600);

        free(link_path);
        link_path = test_path(t, "dst/link");
        n = readlink(link_path, target, sizeof(target));
        assert_int_equal(n, strlen("a/b/c/deep.txt"));
        assert_memory_equal(target, "a/b/c/deep.txt", (size_t) n);
        {
                _cleanup_free_ char *p = test_path(t, "dst/abs-link");

                n = readlink(p, target, sizeof(target));
                assert_int_equal(n, strlen("/nonexistent/target"));
                assert_memory_equal(target, "/nonexistent/target", (size_t) n);
        }
}

static void test_round_trip_directory_modes(void **state) {
        TestStore *t = *state;
        char key[KP_HASH_HEX_SIZE];
        _cleanup_free_ char *src = test_path(t, "src"), *ro = test_path(t, "src/ro");

        make_dir(t, "src/ro");
        write_text(t, "src/ro/inside", "filled\n");
        assert_int_equal(chmod(ro, 0555), 0);
        assert_int_equal(chmod(src, 0750), 0);

        pack(t, "src", key);
        unpack(t, key, "dst", 0, NULL);

        assert_file_text(t, "dst/ro/inside", "filled\n");
        assert_int_equal(lstat_mode(t, "dst/ro") & 07777, 0555);
        assert_int_equal(lstat_mode(t, "dst") & 07777, 0750);
        assert_int_equal(chmod(ro, 0755), 0);
}

static void test_round_trip_hardlinks(void **state) {
        TestStore *t = *state;
        _cleanup_free_ char *a = test_path(t, "src/a"), *b = test_path(t, "src/b"), *d = test_path(t, "src/c/d");
        _cleanup_free_ char *da = test_path(t, "dst/a"), *db = test_path(t, "dst/b"), *dd = test_path(t, "dst/c/d");
        _cleanup_(listing_done) Listing l = {};
        char key[KP_HASH_HEX_SIZE];
        struct stat sa, sb, sd;

        make_dir(t, "src/c");
        write_text(t, "src/a", "shared inode\n");
        assert_int_equal(link(a, b), 0);
        assert_int_equal(link(a, d), 0);

        pack(t, "src", key);
        list_tree(t, key, &l);
        assert_int_equal(listing_get(&l, "a")->type, TREE_ENTRY_FILE);
        assert_int_equal(listing_get(&l, "b")->type, TREE_ENTRY_HARDLINK);
        assert_string_equal(listing_get(&l, "b")->target, "a");
        assert_int_equal(listing_get(&l, "c/d")->type, TREE_ENTRY_HARDLINK);
        assert_string_equal(listing_get(&l, "c/d")->target, "a");

        unpack(t, key, "dst", 0, NULL);
        assert_int_equal(stat(da, &sa), 0);
        assert_int_equal(stat(db, &sb), 0);
        assert_int_equal(stat(dd, &sd), 0);
        assert_int_equal(sa.st_ino, sb.st_ino);
        assert_int_equal(sa.st_ino, sd.st_ino);
        assert_int_equal(sa.st_nlink, 3);
        assert_file_text(t, "dst/c/d", "shared inode\n");
}

static void test_round_trip_user_xattr(void **state) {
        TestStore *t = *state;
        _cleanup_free_ char *f = test_path(t, "src/f"), *dir = test_path(t, "src/d");
        _cleanup_free_ char *df = test_path(t, "dst/f"), *ddir = test_path(t, "dst/d");
        const char value[] = { 'b', 'i', 'n', 0, '\n', ' ', (char) 0xff };
        char key[KP_HASH_HEX_SIZE], buf[64];
        ssize_t n;

        make_dir(t, "src/d");
        write_text(t, "src/f", "with attributes\n");
        if (setxattr(f, "user.karapace.test", value, sizeof(value), 0) < 0) {
                assert_int_equal(errno, ENOTSUP);
                skip();
        }
        assert_int_equal(setxattr(dir, "user.a=b c", "v", 1, 0), 0);

        pack(t, "src", key);
        unpack(t, key, "dst", 0, NULL);

        n = getxattr(df, "user.karapace.test", buf, sizeof(buf));
        assert_int_equal(n, sizeof(value));
        assert_memory_equal(buf, value, sizeof(value));
        n = getxattr(ddir, "user.a=b c", buf, sizeof(buf));
        assert_int_equal(n, 1);
        assert_int_equal(buf[0], 'v');
}

static void test_round_trip_odd_names(void **state) {
        TestStore *t = *state;
        static const char *const names[] = {
                "new\nline", "bad\xff\xfe", "with space", "eq=sign", "back\\slash", "tab\there", "\xc3\xa9t\xc3\xa9",
        };
        _cleanup_(listing_done) Listing l = {};
        _cleanup_free_ char *text = NULL;
        char key[KP_HASH_HEX_SIZE];

        make_dir(t, "src");
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                _cleanup_free_ char *rel = kp_path_join("src", names[i]);

                write_text(t, rel, names[i]);
        }

        pack(t, "src", key);
        text = object_text(t, key);
        assert_non_null(strstr(text, "f new\\x0aline "));
        assert_non_null(strstr(text, "f bad\\xff\\xfe "));
        assert_non_null(strstr(text, "f eq\\x3dsign "));
        assert_non_null(strstr(text, "f back\\x5cslash "));
        assert_null(strstr(text, "new\nline"));

        list_tree(t, key, &l);
        assert_int_equal(l.n, ELEMENTSOF(names) + 1);
        unpack(t, key, "dst", 0, NULL);
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                _cleanup_free_ char *rel = kp_path_join("dst", names[i]);

                assert_non_null(listing_find(&l, names[i]));
                assert_file_text(t, rel, names[i]);
        }
}

static void test_round_trip_owner(void **state) {
        TestStore *t = *state;
        _cleanup_free_ char *f = test_path(t, "src/owned"), *df = test_path(t, "dst/owned");
        char key[KP_HASH_HEX_SIZE];
        struct stat st;

        if (geteuid() != 0)
                skip();

        make_dir(t, "src");
        write_text(t, "src/owned", "x");
        assert_int_equal(lchown(f, 1234, 5678), 0);

        pack(t, "src", key);
        unpack(t, key, "dst", 0, NULL);
        assert_int_equal(lstat(df, &st), 0);
        assert_int_equal(st.st_uid, 1234);
        assert_int_equal(st.st_gid, 5678);
}

/* ---- Tree format and keys ---------------------------------------------- */

static void test_fifo_skipped_with_warning(void **state) {
        TestStore *t = *state;
        _cleanup_free_ char *fifo = test_path(t, "src/pipe"), *log_path = test_path(t, "stderr.log");
        _cleanup_free_ char *logged = NULL;
        _cleanup_(listing_done) Listing l = {};
        char key[KP_HASH_HEX_SIZE];
        int saved, log_fd;
        size_t len;

        make_dir(t, "src");
        write_text(t, "src/file", "kept");
        assert_int_equal(mkfifo(fifo, 0644), 0);

        kp_log_set_level(KP_LOG_WARN);
        fflush(stderr);
        saved = dup(STDERR_FILENO);
        log_fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(saved >= 0 && log_fd >= 0);
        assert_int_equal(dup2(log_fd, STDERR_FILENO), STDERR_FILENO);
        pack(t, "src", key);
        fflush(stderr);
        assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
        close(saved);
        close(log_fd);
        kp_log_set_level(KP_LOG_ERROR);

        logged = read_text(t, "stderr.log", &len);
        assert_non_null(strstr(logged, "skipping fifo 'pipe'"));

        list_tree(t, key, &l);
        assert_int_equal(l.n, 2);
        assert_non_null(listing_find(&l, "file"));
        assert_null(listing_find(&l, "pipe"));
}

static void test_pack_deterministic(void **state) {
        TestStore *t = *state;
        char k1[KP_HASH_HEX_SIZE], k2[KP_HASH_HEX_SIZE], k3[KP_HASH_HEX_SIZE];
        _cleanup_free_ char *obj = NULL;
        char obj_rel[128];
        struct stat before, after;

        /* The same tree created in a different order, with other mtimes
         * and inode numbers, packs to the same key. */
        make_dir(t, "one/d");
        write_text(t, "one/b", "B");
        write_text(t, "one/a", "A");
        write_text(t, "one/d/c", "C");
        make_dir(t, "two");
        write_text(t, "two/a", "A");
        make_dir(t, "two/d");
        write_text(t, "two/d/c", "C");
        write_text(t, "two/b", "B");
        {
                _cleanup_free_ char *p = test_path(t, "two/a");
                const struct timespec old[2] = { { 1000, 0 }, { 1000, 0 } };

                assert_int_equal(utimensat(AT_FDCWD, p, old, 0), 0);
        }

        pack(t, "one", k1);
        snprintf(obj_rel, sizeof(obj_rel), "store/objects/%s", k1);
        obj = test_path(t, obj_rel);
        assert_int_equal(stat(obj, &before), 0);

        pack(t, "one", k2);
        pack(t, "two", k3);
        assert_string_equal(k1, k2);
        assert_string_equal(k1, k3);

        /* Existing objects were not written again. */
        assert_int_equal(stat(obj, &after), 0);
        assert_int_equal(before.st_ino, after.st_ino);
}

static void test_pack_content_changes_key(void **state) {
        TestStore *t = *state;
        char k1[KP_HASH_HEX_SIZE], k2[KP_HASH_HEX_SIZE], k3[KP_HASH_HEX_SIZE];
        _cleanup_free_ char *f = test_path(t, "src/f");

        make_dir(t, "src");
        write_text(t, "src/f", "one");
        pack(t, "src", k1);
        write_text(t, "src/f", "two");
        pack(t, "src", k2);
        assert_int_equal(chmod(f, 0600), 0);
        pack(t, "src", k3);

        assert_string_not_equal(k1, k2);
        assert_string_not_equal(k2, k3);
}

static void test_pack_shares_unchanged_files(void **state) {
        TestStore *t = *state;
        char k1[KP_HASH_HEX_SIZE], k2[KP_HASH_HEX_SIZE], name[64], content[64];
        size_t before, after;

        make_dir(t, "src");
        for (int i = 0; i < 100; i++) {
                snprintf(name, sizeof(name), "src/file-%03d", i);
                snprintf(content, sizeof(content), "content of file %d\n", i);
                write_text(t, name, content);
        }
        pack(t, "src", k1);
        before = count_objects(t);

        write_text(t, "src/file-042", "changed\n");
        pack(t, "src", k2);
        after = count_objects(t);

        /* One new file object plus the new tree object. */
        assert_string_not_equal(k1, k2);
        assert_int_equal(after - before, 2);
}

static void test_pack_object_refs(void **state) {
        TestStore *t = *state;
        _cleanup_strv_free_ char **refs = NULL;
        char key[KP_HASH_HEX_SIZE], expected[KP_HASH_HEX_SIZE];
        size_t n = 0;

        make_dir(t, "src/d");
        write_text(t, "src/a", "same");
        write_text(t, "src/d/b", "same");
        write_text(t, "src/z", "other");

        pack_refs(t, "src", NULL, key, &refs, &n);
        assert_int_equal(n, 3);
        assert_null(refs[3]);
        for (size_t i = 1; i < n; i++)
                assert_true(strcmp(refs[i - 1], refs[i]) < 0);

        kp_hash_bytes_hex("same", 4, expected);
        assert_true(streq(refs[0], expected) || streq(refs[1], expected) || streq(refs[2], expected));
        assert_true(streq(refs[0], key) || streq(refs[1], key) || streq(refs[2], key));
}

static void test_pack_missing_path_is_empty(void **state) {
        TestStore *t = *state;
        _cleanup_strv_free_ char **refs = NULL;
        char key[KP_HASH_HEX_SIZE], expected[KP_HASH_HEX_SIZE];
        size_t n = 0;

        pack_refs(t, "does-not-exist", NULL, key, &refs, &n);
        kp_hash_str_hex(TREE_MAGIC, expected);
        assert_string_equal(key, expected);
        assert_int_equal(n, 1);
        assert_string_equal(refs[0], key);

        unpack(t, key, "dst", 0, NULL);
        assert_true(S_ISDIR(lstat_mode(t, "dst")));
        assert_int_equal(lstat_mode(t, "dst") & 07777, 0755);
}

static void test_pack_tree_text(void **state) {
        TestStore *t = *state;
        _cleanup_free_ char *text = NULL, *expected = NULL, *link_path = test_path(t, "src/l");
        char key[KP_HASH_HEX_SIZE], file_key[KP_HASH_HEX_SIZE];
        struct stat st;

        make_dir(t, "src");
        write_text(t, "src/f", "hello");
        assert_int_equal(symlink("f", link_path), 0);
        {
                _cleanup_free_ char *p = test_path(t, "src");

                assert_int_equal(chmod(p, 0755), 0);
                assert_int_equal(stat(p, &st), 0);
        }

        pack(t, "src", key);
        text = object_text(t, key);
        kp_hash_bytes_hex("hello", 5, file_key);
        assert_true(asprintf(&expected,
                             "karapace-tree 1\n"
                             "d . mode=0755 uid=%u gid=%u\n"
                             "f f mode=0644 uid=%u gid=%u size=5 key=%s\n"
                             "l l uid=%u gid=%u target=f\n",
                             st.st_uid, st.st_gid, st.st_uid, st.st_gid, file_key, st.st_uid, st.st_gid) > 0);
        assert_string_equal(text, expected);
}

static void test_unreadable_file_packed(void **state) {
        TestStore *t = *state;
        pid_t pid;
        int status;

        /* As root every file is readable; a child that drops to an
         * unprivileged uid exercises the temporary chmod. */
        make_dir(t, "src");
        make_dir(t, "src/locked-dir");
        if (geteuid() == 0) {
                _cleanup_free_ char *src = test_path(t, "src"), *d = test_path(t, "src/locked-dir");

                assert_int_equal(chmod(t->root, 0777), 0);
                assert_int_equal(chown(src, 65534, 65534), 0);
                assert_int_equal(chown(d, 65534, 65534), 0);
        }

        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                KpError err = KP_ERROR_INIT;
                _cleanup_strv_free_ char **refs = NULL;
                _cleanup_free_ char *data = NULL;
                Store *s = NULL;
                char key[KP_HASH_HEX_SIZE], expected[KP_HASH_HEX_SIZE], *store_root = kp_path_join(t->root, "user-store");
                TreeEntry *entries = NULL;
                size_t n = 0, len;
                int root;
                struct stat st;

                if (geteuid() == 0 && (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0))
                        _exit(10);
                root = open(t->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (store_open(store_root, &s, &err) < 0 || store_init(s, &err) < 0)
                        _exit(11);

                if (kp_write_file_atomic_at(root, "src/secret", "hidden", 6, 0000, 0) < 0 ||
                    kp_write_file_atomic_at(root, "src/locked-dir/inner", "inner", 5, 0644, 0) < 0 ||
                    fchmodat(root, "src/secret", 0000, 0) < 0 || fchmodat(root, "src/locked-dir", 0000, 0) < 0)
                        _exit(12);
                if (store_tree_pack(s, root, "src", key, &refs, &n, &err) < 0) {
                        fprintf(stderr, "pack failed: %s\n", err.message);
                        _exit(13);
                }
                if (fstatat(root, "src/secret", &st, 0) < 0 || (st.st_mode & 07777) != 0)
                        _exit(14);
                if (fstatat(root, "src/locked-dir", &st, 0) < 0 || (st.st_mode & 07777) != 0)
                        _exit(15);
                kp_hash_bytes_hex("hidden", 6, expected);
                if (!store_object_exists(s, expected))
                        _exit(16);
                if (store_tree_list(s, key, &entries, &n, &err) < 0 || n != 4 ||
                    !streq(entries[3].path, "secret") || entries[3].mode != 0 || !streq(entries[3].key, expected) ||
                    !streq(entries[2].path, "locked-dir/inner") || entries[1].mode != 0)
                        _exit(17);
                tree_entries_free(entries, n);
                if (store_object_get(s, expected, &data, &len, &err) < 0 || len != 6)
                        _exit(18);
                (void) fchmodat(root, "src/locked-dir", 0755, 0);
                store_free(s);
                free(store_root);
                _exit(0);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_unreadable_foreign_file_error(void **state) {
        TestStore *t = *state;
        pid_t pid;
        int status;

        if (geteuid() != 0)
                skip();

        /* Owned by root with mode 000: an unprivileged packer can neither
         * read it nor change its mode, and the error names the path. */
        make_dir(t, "src");
        write_file(t, "src/shadow", "x", 1, 0000);
        assert_int_equal(chmod(t->root, 0777), 0);

        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                KpError err = KP_ERROR_INIT;
                _cleanup_strv_free_ char **refs = NULL;
                char key[KP_HASH_HEX_SIZE], *store_root = kp_path_join(t->root, "user-store");
                Store *s = NULL;
                size_t n;
                int root;

                if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
                        _exit(10);
                root = open(t->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (store_open(store_root, &s, &err) < 0 || store_init(s, &err) < 0)
                        _exit(11);
                if (store_tree_pack(s, root, "src", key, &refs, &n, &err) != -EACCES)
                        _exit(12);
                if (!strstr(err.message, "'shadow'") || !strstr(err.message, "permission denied"))
                        _exit(13);
                _exit(0);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- Whiteouts and opaque directories ---------------------------------- */

static void test_whiteouts_and_opaque(void **state) {
        TestStore *t = *state;
        _cleanup_free_ char *wh = test_path(t, "src/gone"), *opq = test_path(t, "src/opq-kernel");
        _cleanup_(listing_done) Listing l = {};
        TreeUnpackReport report = {};
        char key[KP_HASH_HEX_SIZE];
        const TreeEntry *e;

        make_dir(t, "src/opq-kernel");
        make_dir(t, "src/opq-fuse");
        write_file(t, "src/opq-fuse/.wh..wh..opq", "", 0, 0000);
        write_file(t, "src/.wh.fuse-gone", "", 0, 0000);
        if (mknod(wh, S_IFCHR | 0000, makedev(0, 0)) < 0) {
                assert_int_equal(errno, EPERM);
                skip();
        }
        /* trusted.* needs privileges; rootless kernel overlayfs uses user.*. */
        if (setxattr(opq, "trusted.overlay.opaque", "y", 1, 0) < 0) {
                assert_int_equal(errno, EPERM);
                assert_int_equal(setxattr(opq, "user.overlay.opaque", "y", 1, 0), 0);
        }

        pack(t, "src", key);
        list_tree(t, key, &l);
        e = listing_get(&l, "gone");
        assert_int_equal(e->type, TREE_ENTRY_WHITEOUT);
        assert_int_equal(listing_get(&l, ".wh.fuse-gone")->type, TREE_ENTRY_FILE);
        assert_true(listing_get(&l, "opq-kernel")->opaque);
        assert_true(listing_get(&l, "opq-fuse")->opaque);
        assert_false(listing_get(&l, ".")->opaque);

        /* Kernel form: a character device 0:0 and the xattr. */
        unpack(t, key, "dst", 0, &report);
        assert_true(S_ISCHR(lstat_mode(t, "dst/gone")));
        assert_int_equal(report.whiteout_devices, 1);
        assert_int_equal(report.whiteout_files, 0);
        assert_int_equal(report.opaque_markers, 0);
        assert_true(path_exists(t, "dst/.wh.fuse-gone"));
        assert_false(path_exists(t, "dst/opq-kernel/.wh..wh..opq"));

        /* fuse-overlayfs form: ".wh.<name>" files and marker files. */
        unpack(t, key, "dst2", TREE_UNPACK_WHITEOUT_FILES, &report);
        assert_false(path_exists(t, "dst2/gone"));
        assert_true(S_ISREG(lstat_mode(t, "dst2/.wh.gone")));
        assert_true(S_ISREG(lstat_mode(t, "dst2/opq-kernel/.wh..wh..opq")));
        assert_true(S_ISREG(lstat_mode(t, "dst2/opq-fuse/.wh..wh..opq")));
        assert_int_equal(report.whiteout_devices, 0);
        assert_int_equal(report.whiteout_files, 1);
        assert_int_equal(report.opaque_markers, 1);
}

/* ---- The pack cache ---------------------------------------------------- */

/* Files whose ctime is recent are not cached; wait until they are old
 * enough (the cache leaves out the last two seconds). */
static void wait_for_cacheable_ctime(void) {
        struct timespec ts = { 2, 200 * 1000 * 1000 };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

static void test_cache_used_for_unchanged_files(void **state) {
        TestStore *t = *state;
        _cleanup_free_ char *cache = test_path(t, "tree-cache"), *text = NULL, *tampered = NULL;
        _cleanup_strv_free_ char **refs = NULL;
        char key[KP_HASH_HEX_SIZE], k2[KP_HASH_HEX_SIZE], real[KP_HASH_HEX_SIZE], other[KP_HASH_HEX_SIZE];
        _cleanup_(listing_done) Listing l = {};
        size_t n = 0, len;
        char *at;

        make_dir(t, "src");
        write_text(t, "src/stable", "stable content");
        write_text(t, "src/fresh", "fresh content");
        wait_for_cacheable_ctime();
        write_text(t, "src/fresh", "fresh content, rewritten");

        pack_refs(t, "src", cache, key, &refs, &n);
        text = read_text(t, "tree-cache", &len);
        assert_true(strneq(text, "karapace-tree-cache 1\n", 22));
        assert_non_null(strstr(text, " stable\n"));
        assert_null(strstr(text, " fresh\n"));  /* changed less than two seconds ago */

        /* Point the cache entry of "stable" at another existing object: the
         * next pack trusts the cache, which proves it did not hash the file. */
        kp_hash_str_hex("stable content", real);
        put_object(t, "decoy", other);
        at = strstr(text, real);
        assert_non_null(at);
        memcpy(at, other, KP_HASH_HEX_LEN);
        assert_int_equal(kp_write_file_atomic_at(AT_FDCWD, cache, text, len, 0600, 0), 0);

        kp_strv_free(refs);
        refs = NULL;
        pack_refs(t, "src", cache, k2, &refs, &n);
        list_tree(t, k2, &l);
        assert_string_equal(listing_get(&l, "stable")->key, other);

        /* A write changes mtime and ctime, so the entry no longer matches. */
        listing_done(&l);
        l = (Listing) {};
        write_text(t, "src/stable", "stable content");
        kp_strv_free(refs);
        refs = NULL;
        pack_refs(t, "src", cache, k2, &refs, &n);
        assert_string_equal(k2, key);
        tampered = read_text(t, "tree-cache", &len);
        assert_null(strstr(tampered, other));
}

static void test_cache_rechecks_missing_objects(void **state) {
        TestStore *t = *state;
        _cleanup_free_ char *cache = test_path(t, "tree-cache");
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_strv_free_ char **refs = NULL;
        char key[KP_HASH_HEX_SIZE], k2[KP_HASH_HEX_SIZE], content_key[KP_HASH_HEX_SIZE];
        size_t n = 0;

        make_dir(t, "src");
        write_text(t, "src/file", "collected by gc");
        wait_for_cacheable_ctime();
        pack_refs(t, "src", cache, key, &refs, &n);

        /* GC removed the content object: the cached key is not enough. */
        kp_hash_str_hex("collected by gc", content_key);
        assert_store_ok(store_object_remove(t->s, content_key, &err));
        kp_strv_free(refs);
        refs = NULL;
        pack_refs(t, "src", cache, k2, &refs, &n);
        assert_string_equal(key, k2);
        assert_true(store_object_exists(t->s, content_key));
}

static void test_cache_invalid_file_ignored(void **state) {
        TestStore *t = *state;
        _cleanup_free_ char *cache = test_path(t, "tree-cache");
        _cleanup_strv_free_ char **refs = NULL;
        char key[KP_HASH_HEX_SIZE], expected[KP_HASH_HEX_SIZE];
        size_t n = 0;

        make_dir(t, "src");
        write_text(t, "src/file", "content");
        pack(t, "src", expected);
        write_text(t, "tree-cache", "karapace-tree-cache 1\nnot a record\n");

        pack_refs(t, "src", cache, key, &refs, &n);
        assert_string_equal(key, expected);
        assert_file_text(t, "tree-cache", "karapace-tree-cache 1\n");
}

/* ---- Hostile and damaged input ----------------------------------------- */

static void test_unpack_corrupt_object_fails(void **state) {
        TestStore *t = *state;
        _cleanup_(listing_done) Listing l = {};
        _cleanup_free_ char *obj = NULL;
        char key[KP_HASH_HEX_SIZE], rel[128];
        const TreeEntry *e;

        make_dir(t, "src/d");
        write_text(t, "src/a", "first");
        write_text(t, "src/d/victim", "original content");
        pack(t, "src", key);
        list_tree(t, key, &l);
        e = listing_get(&l, "d/victim");

        snprintf(rel, sizeof(rel), "store/objects/%s", e->key);
        obj = test_path(t, rel);
        assert_int_equal(chmod(obj, 0644), 0);
        write_text(t, rel, "tampered content");

        assert_unpack_rejected(t, key, KP_ERROR_STORE);
}

static void test_unpack_corrupt_object_message(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_close_ int root = -1;
        char key[KP_HASH_HEX_SIZE], file_key[KP_HASH_HEX_SIZE], rel[128];
        _cleanup_free_ char *obj = NULL;

        make_dir(t, "src");
        write_text(t, "src/f", "payload");
        pack(t, "src", key);
        kp_hash_str_hex("payload", file_key);
        snprintf(rel, sizeof(rel), "store/objects/%s", file_key);
        obj = test_path(t, rel);
        assert_int_equal(chmod(obj, 0644), 0);
        write_text(t, rel, "PAYLOAD");

        root = root_fd_open(t);
        assert_true(store_tree_unpack(t->s, key, root, "dst", &err) < 0);
        assert_non_null(strstr(err.message, "integrity check failed for object"));
        assert_non_null(strstr(err.message, "'f'"));
}

static void put_hostile_tree(TestStore *t, const char *body, char key[KP_HASH_HEX_SIZE]) {
        _cleanup_free_ char *text = NULL;

        assert_true(asprintf(&text, "karapace-tree 1\nd . mode=0755 uid=0 gid=0\n%s", body) > 0);
        put_object(t, text, key);
}

static void test_unpack_hostile_paths(void **state) {
        TestStore *t = *state;
        static const char *const bodies[] = {
                "f ../x mode=0644 uid=0 gid=0 size=0 key=" EMPTY_KEY "\n",
                "f /abs mode=0644 uid=0 gid=0 size=0 key=" EMPTY_KEY "\n",
                "f a/../../x mode=0644 uid=0 gid=0 size=0 key=" EMPTY_KEY "\n",
                "f a//b mode=0644 uid=0 gid=0 size=0 key=" EMPTY_KEY "\n",
                "f ./x mode=0644 uid=0 gid=0 size=0 key=" EMPTY_KEY "\n",
                "f .\\x2e/x mode=0644 uid=0 gid=0 size=0 key=" EMPTY_KEY "\n",
                "f x mode=0644 uid=0 gid=0 size=0 key=" EMPTY_KEY "\nh y target=../../x\n",
                "d a mode=0755 uid=0 gid=0\nh a/b target=a\n",
                "w \\x2f mode=0000 uid=0 gid=0\n",
        };
        char key[KP_HASH_HEX_SIZE];

        put_object(t, "", key);
        for (size_t i = 0; i < ELEMENTSOF(bodies); i++) {
                put_hostile_tree(t, bodies[i], key);
                assert_unpack_rejected(t, key, KP_ERROR_STORE);
        }
}

static void test_unpack_symlink_escape_blocked(void **state) {
        TestStore *t = *state;
        _cleanup_free_ char *outside = test_path(t, "outside"), *body = NULL, *names = NULL;
        char key[KP_HASH_HEX_SIZE];

        make_dir(t, "outside");
        put_object(t, "", key);
        assert_true(asprintf(&body,
                             "l a uid=0 gid=0 target=%s\n"
                             "f a/b mode=0644 uid=0 gid=0 size=0 key=" EMPTY_KEY "\n",
                             outside) > 0);
        put_hostile_tree(t, body, key);
        assert_unpack_rejected(t, key, KP_ERROR_STORE);

        names = root_names(t);
        assert_false(path_exists(t, "outside/b"));
        {
                _cleanup_strv_free_ char **inside = NULL;
                _cleanup_close_ int root = root_fd_open(t);
                size_t n = 0;

                assert_int_equal(kp_dir_list_at(root, "outside", false, false, &inside, &n), 0);
                assert_int_equal(n, 0);
        }
}

static void test_unpack_target_not_empty(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_close_ int root = -1;
        char key[KP_HASH_HEX_SIZE];

        make_dir(t, "src");
        write_text(t, "src/f", "x");
        pack(t, "src", key);
        make_dir(t, "dst");
        write_text(t, "dst/existing", "keep me");

        root = root_fd_open(t);
        assert_int_equal(store_tree_unpack(t->s, key, root, "dst", &err), -ENOTEMPTY);
        assert_file_text(t, "dst/existing", "keep me");
        assert_false(path_exists(t, "dst/f"));

        /* An existing empty directory is accepted. */
        make_dir(t, "empty-dst");
        unpack(t, key, "empty-dst", 0, NULL);
        assert_file_text(t, "empty-dst/f", "x");
}

static void test_garbage_object_fails(void **state) {
        TestStore *t = *state;
        static const char *const garbage[] = {
                "this is not a tree and not a tar archive, just some text that is long enough",
                "karapace-tree 2\nd . mode=0755 uid=0 gid=0\n",
                "karapace-tree 1\nd . mode=0755 uid=0 gid=0",
                "karapace-tree 1\nd x mode=0755 uid=0 gid=0\n",
        };
        char key[KP_HASH_HEX_SIZE];

        for (size_t i = 0; i < ELEMENTSOF(garbage); i++) {
                put_object(t, garbage[i], key);
                assert_unpack_rejected(t, key, KP_ERROR_STORE);
        }
}

static void test_parse_rejects_malformed_lines(void **state) {
        static const char *const lines[] = {
                "x . mode=0755 uid=0 gid=0\n",                          /* unknown type */
                "d . mode=755 uid=0 gid=0\n",                           /* mode digits */
                "d . mode=0758 uid=0 gid=0\n",                          /* not octal */
                "d . mode=0755 uid=00 gid=0\n",                         /* leading zero */
                "d . mode=0755 uid=4294967295 gid=0\n",                 /* (uid_t) -1 */
                "d . mode=0755 gid=0 uid=0\n",                          /* attribute order */
                "d . mode=0755 uid=0\n",                                /* missing gid */
                "d . mode=0755 uid=0 gid=0 \n",                         /* trailing space */
                "d  . mode=0755 uid=0 gid=0\n",                         /* empty token */
                "d . mode=0755 uid=0 gid=0 color=red\n",                /* unknown attribute */
                "d . mode=0755 uid=0 gid=0 opaque=n\n",                 /* opaque is only "y" */
                "d . mode=0755 uid=0 gid=0\nf \\x41 mode=0644 uid=0 gid=0 size=0 key=" EMPTY_KEY "\n", /* needless escape */
                "d . mode=0755 uid=0 gid=0\nf a\\x0A mode=0644 uid=0 gid=0 size=0 key=" EMPTY_KEY "\n", /* uppercase hex */
                "d . mode=0755 uid=0 gid=0\nf a\\x00 mode=0644 uid=0 gid=0 size=0 key=" EMPTY_KEY "\n", /* NUL in a path */
                "d . mode=0755 uid=0 gid=0\nf a\\ mode=0644 uid=0 gid=0 size=0 key=" EMPTY_KEY "\n",   /* cut escape */
                "d . mode=0755 uid=0 gid=0\nf a mode=0644 uid=0 gid=0 size=0 key=AF13\n",              /* bad key */
                "d . mode=0755 uid=0 gid=0\nf b mode=0644 uid=0 gid=0 size=0 key=" EMPTY_KEY "\n"
                "f a mode=0644 uid=0 gid=0 size=0 key=" EMPTY_KEY "\n",                               /* unsorted */
                "d . mode=0755 uid=0 gid=0\nf a mode=0644 uid=0 gid=0 size=0 key=" EMPTY_KEY "\n"
                "f a mode=0644 uid=0 gid=0 size=0 key=" EMPTY_KEY "\n",                               /* repeated */
                "d . mode=0755 uid=0 gid=0\nf a/b mode=0644 uid=0 gid=0 size=0 key=" EMPTY_KEY "\n",  /* no parent */
                "d . mode=0755 uid=0 gid=0\nd a mode=0755 uid=0 gid=0 xattr=user.b=1 xattr=user.a=1\n", /* xattr order */
                "d . mode=0755 uid=0 gid=0\nd a mode=0755 uid=0 gid=0 xattr==1\n",                      /* empty name */
                "d . mode=0755 uid=0 gid=0\nl a uid=0 gid=0 target=\n",                                  /* empty target */
                "d . mode=0755 uid=0 gid=0\nh a target=b\n",                                             /* no such file */
                "d . mode=0755 uid=0 gid=0\nd . mode=0755 uid=0 gid=0\n",                               /* second root */
        };

        for (size_t i = 0; i < ELEMENTSOF(lines); i++) {
                _cleanup_error_ KpError err = KP_ERROR_INIT;
                _cleanup_free_ char *text = NULL;
                TreeEntry *entries = NULL;
                size_t n = 0;
                int r;

                assert_true(asprintf(&text, "karapace-tree 1\n%s", lines[i]) > 0);
                r = tree_parse(text, strlen(text), &entries, &n, &err);
                if (r >= 0)
                        fail_msg("accepted malformed tree #%zu: %s", i, lines[i]);
                assert_int_equal(r, -EBADMSG);
                assert_int_equal(err.kind, KP_ERROR_STORE);
        }
}

static void test_parse_serialize_round_trip(void **state) {
        static const char text[] =
                "karapace-tree 1\n"
                "d . mode=0755 uid=0 gid=0\n"
                "d a mode=1777 uid=0 gid=0 opaque=y xattr=trusted.overlay.opaque=y\n"
                "f a/f mode=4755 uid=1000 gid=1000 size=0 key=" EMPTY_KEY " xattr=user.bin=\\x00\\xff\\x20\n"
                "h a/g target=a/f\n"
                "l a/l uid=0 gid=0 target=../\\x0a\n"
                "w a/w mode=0000 uid=0 gid=0\n";
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_free_ char *again = NULL;
        TreeEntry *entries = NULL;
        size_t n = 0, len = 0;

        assert_int_equal(tree_parse(text, strlen(text), &entries, &n, &err), 0);
        assert_int_equal(n, 6);
        assert_true(entries[1].opaque);
        assert_int_equal(entries[1].mode, 01777);
        assert_int_equal(entries[2].mode, 04755);
        assert_int_equal(entries[2].xattrs[0].value_size, 3);
        assert_memory_equal(entries[2].xattrs[0].value, "\0\xff ", 3);
        assert_string_equal(entries[4].target, "../\n");
        assert_int_equal(entries[5].type, TREE_ENTRY_WHITEOUT);

        assert_int_equal(tree_serialize(entries, n, &again, &len), 0);
        assert_int_equal(len, strlen(text));
        assert_memory_equal(again, text, len);
        tree_entries_free(entries, n);
}

/* ---- Legacy tarballs --------------------------------------------------- */

static void tar_add(struct archive *a, const char *path, mode_t type, mode_t perm, const char *data,
                    const char *link) {
        struct archive_entry *e = archive_entry_new();

        assert_non_null(e);
        archive_entry_set_pathname(e, path);
        archive_entry_set_filetype(e, type);
        archive_entry_set_perm(e, perm);
        archive_entry_set_size(e, data ? (la_int64_t) strlen(data) : 0);
        if (type == AE_IFLNK)
                archive_entry_set_symlink(e, link);
        if (type == AE_IFCHR)
                archive_entry_set_rdev(e, makedev(1, 3));
        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
        if (data)
                assert_int_equal(archive_write_data(a, data, strlen(data)), (la_ssize_t) strlen(data));
        archive_entry_free(e);
}

/* A layer tarball in the original tool's shape (GNU tar, sorted entries),
 * with hostile entries mixed in. */
static void put_legacy_tar(TestStore *t, char key[KP_HASH_HEX_SIZE]) {
        _cleanup_free_ char *outside = test_path(t, "outside");
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        size_t size = 1 << 20, used = 0;
        _cleanup_free_ char *buf = malloc(size);
        struct archive *a = archive_write_new();

        assert_non_null(buf);
        assert_non_null(a);
        assert_int_equal(archive_write_set_format_gnutar(a), ARCHIVE_OK);
        assert_int_equal(archive_write_open_memory(a, buf, size, &used), ARCHIVE_OK);

        tar_add(a, "../escape", AE_IFREG, 0644, "evil", NULL);
        tar_add(a, "/abs", AE_IFREG, 0644, "evil", NULL);
        tar_add(a, "bin/", AE_IFDIR, 0755, NULL, NULL);
        tar_add(a, "bin/tool", AE_IFREG, 04755, "#!/bin/sh\n", NULL);
        tar_add(a, "dev-null", AE_IFCHR, 0666, NULL, NULL);
        tar_add(a, "etc/", AE_IFDIR, 0555, NULL, NULL);
        tar_add(a, "etc/config", AE_IFREG, 0644, "key = value\n", NULL);
        tar_add(a, "link", AE_IFLNK, 0777, NULL, "etc/config");
        tar_add(a, "link/through", AE_IFREG, 0644, "evil", NULL);
        tar_add(a, "out", AE_IFLNK, 0777, NULL, outside);
        tar_add(a, "out/planted", AE_IFREG, 0644, "evil", NULL);
        tar_add(a, "out/sub/", AE_IFDIR, 0755, NULL, NULL);

        assert_int_equal(archive_write_close(a), ARCHIVE_OK);
        archive_write_free(a);
        assert_store_ok(store_object_put_bytes(t->s, buf, used, key, &err));
}

static void test_legacy_tar_unpack(void **state) {
        TestStore *t = *state;
        _cleanup_free_ char *link_path = test_path(t, "sub/dst/link");
        TreeUnpackReport report = {};
        char key[KP_HASH_HEX_SIZE], target[64];
        ssize_t n;

        make_dir(t, "sub");
        make_dir(t, "outside");
        put_legacy_tar(t, key);
        unpack(t, key, "sub/dst", 0, &report);

        assert_true(report.legacy);
        assert_int_equal(report.files, 2);
        assert_int_equal(report.directories, 2);
        assert_int_equal(report.symlinks, 2);
        assert_int_equal(report.entries_skipped, 6);

        /* Nothing was written through the symlink "out". */
        assert_false(path_exists(t, "outside/planted"));
        assert_false(path_exists(t, "outside/sub"));

        assert_file_text(t, "sub/dst/bin/tool", "#!/bin/sh\n");
        assert_int_equal(lstat_mode(t, "sub/dst/bin/tool") & 07777, 04755);
        assert_file_text(t, "sub/dst/etc/config", "key = value\n");
        assert_int_equal(lstat_mode(t, "sub/dst/etc") & 07777, 0555);
        n = readlink(link_path, target, sizeof(target));
        assert_int_equal(n, strlen("etc/config"));
        assert_false(path_exists(t, "sub/dst/dev-null"));
        assert_false(path_exists(t, "sub/escape"));
        assert_false(path_exists(t, "escape"));
        assert_false(path_exists(t, "sub/dst/abs"));
        assert_file_text(t, "sub/dst/etc/config", "key = value\n");
        {
                _cleanup_free_ char *etc = test_path(t, "sub/dst/etc");

                assert_int_equal(chmod(etc, 0755), 0);
        }
}

static void test_legacy_tar_list_and_repack(void **state) {
        TestStore *t = *state;
        _cleanup_(listing_done) Listing l = {}, again = {};
        char key[KP_HASH_HEX_SIZE], tree_key[KP_HASH_HEX_SIZE];
        const TreeEntry *e;

        put_legacy_tar(t, key);
        list_tree(t, key, &l);
        assert_int_equal(l.n, 6);
        assert_null(listing_find(&l, "out/planted"));
        assert_null(listing_find(&l, "link/through"));
        e = listing_get(&l, "bin/tool");
        assert_int_equal(e->type, TREE_ENTRY_FILE);
        assert_int_equal(e->size, strlen("#!/bin/sh\n"));
        assert_int_equal(e->mode, 04755);
        assert_string_equal(listing_get(&l, "link")->target, "etc/config");
        assert_null(listing_find(&l, "dev-null"));

        /* Restoring an upstream snapshot and committing it again gives a
         * tree with the same content. */
        unpack(t, key, "restored", 0, NULL);
        pack(t, "restored", tree_key);
        list_tree(t, tree_key, &again);
        assert_int_equal(listing_get(&again, "bin/tool")->mode, 04755);
        assert_string_equal(listing_get(&again, "link")->target, "etc/config");
        {
                _cleanup_free_ char *etc = test_path(t, "restored/etc");

                assert_int_equal(chmod(etc, 0755), 0);
        }
}

static void test_legacy_empty_objects(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_close_ int root = -1;
        char key[KP_HASH_HEX_SIZE], zeros[1024] = {};
        size_t n = 0;

        /* The original tool's object for "no upper directory" (0 bytes) and
         * the tar of an empty directory (two zero blocks). */
        put_object(t, "", key);
        assert_string_equal(key, EMPTY_KEY);
        unpack(t, key, "empty", 0, NULL);

        assert_store_ok(store_object_put_bytes(t->s, zeros, sizeof(zeros), key, &err));
        unpack(t, key, "zeros", 0, NULL);

        root = root_fd_open(t);
        assert_int_equal(kp_dir_list_at(root, "empty", false, false, &names, &n), 0);
        assert_int_equal(n, 0);
        kp_strv_free(names);
        names = NULL;
        assert_int_equal(kp_dir_list_at(root, "zeros", false, false, &names, &n), 0);
        assert_int_equal(n, 0);
}

#define TREE_TEST(f) cmocka_unit_test_setup_teardown(f, test_store_setup, test_store_teardown)

int main(void) {
        const struct CMUnitTest tests[] = {
                TREE_TEST(test_round_trip_files_and_dirs),
                TREE_TEST(test_round_trip_directory_modes),
                TREE_TEST(test_round_trip_hardlinks),
                TREE_TEST(test_round_trip_user_xattr),
                TREE_TEST(test_round_trip_odd_names),
                TREE_TEST(test_round_trip_owner),
                TREE_TEST(test_fifo_skipped_with_warning),
                TREE_TEST(test_pack_deterministic),
                TREE_TEST(test_pack_content_changes_key),
                TREE_TEST(test_pack_shares_unchanged_files),
                TREE_TEST(test_pack_object_refs),
                TREE_TEST(test_pack_missing_path_is_empty),
                TREE_TEST(test_pack_tree_text),
                TREE_TEST(test_unreadable_file_packed),
                TREE_TEST(test_unreadable_foreign_file_error),
                TREE_TEST(test_whiteouts_and_opaque),
                TREE_TEST(test_cache_used_for_unchanged_files),
                TREE_TEST(test_cache_rechecks_missing_objects),
                TREE_TEST(test_cache_invalid_file_ignored),
                TREE_TEST(test_unpack_corrupt_object_fails),
                TREE_TEST(test_unpack_corrupt_object_message),
                TREE_TEST(test_unpack_hostile_paths),
                TREE_TEST(test_unpack_symlink_escape_blocked),
                TREE_TEST(test_unpack_target_not_empty),
                TREE_TEST(test_garbage_object_fails),
                cmocka_unit_test(test_parse_rejects_malformed_lines),
                cmocka_unit_test(test_parse_serialize_round_trip),
                TREE_TEST(test_legacy_tar_unpack),
                TREE_TEST(test_legacy_tar_list_and_repack),
                TREE_TEST(test_legacy_empty_objects),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
