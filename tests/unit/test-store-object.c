/* SPDX-License-Identifier: MIT */
/* Content-addressed objects. */
#include <fcntl.h>

#include "test-store-helpers.h"

#define EMPTY_KEY "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"

static void object_rel(const char *key, char out[128]) {
        snprintf(out, 128, "store/objects/%s", key);
}

static void test_put_get_round_trip(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_free_ char *data = NULL;
        char key[KP_HASH_HEX_SIZE], expected[KP_HASH_HEX_SIZE];
        size_t len = 0;

        assert_store_ok(store_object_put_bytes(t->s, "hello world", 11, key, &err));
        kp_hash_bytes_hex("hello world", 11, expected);
        assert_string_equal(key, expected);

        assert_store_ok(store_object_get(t->s, key, &data, &len, &err));
        assert_int_equal(len, 11);
        assert_memory_equal(data, "hello world", 11);
}

static void test_put_empty_object(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_free_ char *data = NULL;
        char key[KP_HASH_HEX_SIZE];
        size_t len = 99;

        assert_store_ok(store_object_put_bytes(t->s, "", 0, key, &err));
        assert_string_equal(key, EMPTY_KEY);
        assert_store_ok(store_object_get(t->s, key, &data, &len, &err));
        assert_int_equal(len, 0);
}

static void test_put_64k_binary(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_free_ char *data = NULL, *buf = malloc(65536);
        char key[KP_HASH_HEX_SIZE];
        size_t len = 0;

        assert_non_null(buf);
        for (size_t i = 0; i < 65536; i++)
                buf[i] = (char) (i * 7 % 256);

        assert_store_ok(store_object_put_bytes(t->s, buf, 65536, key, &err));
        assert_store_ok(store_object_get(t->s, key, &data, &len, &err));
        assert_int_equal(len, 65536);
        assert_memory_equal(data, buf, 65536);
}

static void test_object_file_read_only(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        char key[KP_HASH_HEX_SIZE], rel[128];
        _cleanup_free_ char *p = NULL;
        struct stat st;

        assert_store_ok(store_object_put_bytes(t->s, "ro", 2, key, &err));
        object_rel(key, rel);
        p = test_path(t, rel);
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0444);
}

static void test_put_idempotent(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_strv_free_ char **keys = NULL;
        char k1[KP_HASH_HEX_SIZE], k2[KP_HASH_HEX_SIZE];
        size_t n = 0;

        assert_store_ok(store_object_put_bytes(t->s, "same", 4, k1, &err));
        assert_store_ok(store_object_put_bytes(t->s, "same", 4, k2, &err));
        assert_string_equal(k1, k2);

        assert_store_ok(store_object_list(t->s, &keys, &n, &err));
        assert_int_equal(n, 1);
}

static void test_deterministic_keys(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        char a[KP_HASH_HEX_SIZE], b[KP_HASH_HEX_SIZE];

        assert_store_ok(store_object_put_bytes(t->s, "one", 3, a, &err));
        assert_store_ok(store_object_put_bytes(t->s, "two", 3, b, &err));
        assert_string_not_equal(a, b);
        assert_true(kp_hash_hex_is_valid(a));
}

static void test_get_missing(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        char *data = NULL, expected[200];

        assert_int_equal(store_object_get(t->s, EMPTY_KEY, &data, NULL, &err), -ENOENT);
        assert_null(data);
        assert_int_equal(err.kind, KP_ERROR_STORE);
        snprintf(expected, sizeof(expected), "object not found: %s", EMPTY_KEY);
        assert_string_equal(err.message, expected);
        assert_false(store_object_exists(t->s, EMPTY_KEY));
}

static void test_corruption_detected(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        char key[KP_HASH_HEX_SIZE], rel[128], actual[KP_HASH_HEX_SIZE], expected[400];
        char *data = NULL;

        assert_store_ok(store_object_put_bytes(t->s, "original", 8, key, &err));
        object_rel(key, rel);
        test_write_file(t, rel, "tampered", 0444);

        assert_int_equal(store_object_get(t->s, key, &data, NULL, &err), -EBADMSG);
        assert_null(data);
        kp_hash_str_hex("tampered", actual);
        snprintf(expected, sizeof(expected), "integrity check failed for object '%s': expected %s, got %s", key, key,
                 actual);
        assert_string_equal(err.message, expected);
        kp_error_clear(&err);

        assert_int_equal(store_object_verify(t->s, key, &err), -EBADMSG);
        assert_string_equal(err.message, expected);
}

static void test_truncation_detected(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        char key[KP_HASH_HEX_SIZE], rel[128];
        _cleanup_free_ char *p = NULL;
        char *data = NULL;

        assert_store_ok(store_object_put_bytes(t->s, "some longer content", 19, key, &err));
        object_rel(key, rel);
        p = test_path(t, rel);
        assert_int_equal(chmod(p, 0644), 0);
        assert_int_equal(truncate(p, 4), 0);

        assert_int_equal(store_object_get(t->s, key, &data, NULL, &err), -EBADMSG);
        assert_non_null(strstr(err.message, "integrity check failed"));
}

static void test_verify_good_object(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        char key[KP_HASH_HEX_SIZE];

        assert_store_ok(store_object_put_bytes(t->s, "fine", 4, key, &err));
        assert_store_ok(store_object_verify(t->s, key, &err));
}

static void test_list_sorted_skips_dotfiles(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_strv_free_ char **keys = NULL;
        char k[3][KP_HASH_HEX_SIZE];
        size_t n = 0;

        assert_store_ok(store_object_put_bytes(t->s, "a", 1, k[0], &err));
        assert_store_ok(store_object_put_bytes(t->s, "b", 1, k[1], &err));
        assert_store_ok(store_object_put_bytes(t->s, "c", 1, k[2], &err));
        test_write_file(t, "store/objects/.tmp-inflight", "x", 0644);

        assert_store_ok(store_object_list(t->s, &keys, &n, &err));
        assert_int_equal(n, 3);
        for (size_t i = 1; i < n; i++)
                assert_true(strcmp(keys[i - 1], keys[i]) < 0);
        for (size_t i = 0; i < n; i++)
                assert_true(streq(keys[i], k[0]) || streq(keys[i], k[1]) || streq(keys[i], k[2]));
}

static void test_remove_present_and_missing(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        char key[KP_HASH_HEX_SIZE];

        assert_store_ok(store_object_put_bytes(t->s, "gone", 4, key, &err));
        assert_true(store_object_exists(t->s, key));
        assert_store_ok(store_object_remove(t->s, key, &err));
        assert_false(store_object_exists(t->s, key));
        assert_store_ok(store_object_remove(t->s, key, &err));
        assert_store_ok(store_object_remove(t->s, EMPTY_KEY, &err));
}

static void test_invalid_keys_rejected(void **state) {
        TestStore *t = *state;
        const char *bad[] = {
                "../version",
                "",
                "abc",
                "AF1349B9F5F9A1A6A0404DEA36DCC9499BCB25C9ADC112B7CC9A93CAE41F3262",
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_error_ KpError err = KP_ERROR_INIT;
                char *data = NULL;
                int fd = -1;

                assert_int_equal(store_object_get(t->s, bad[i], &data, NULL, &err), -EINVAL);
                kp_error_clear(&err);
                assert_int_equal(store_object_open(t->s, bad[i], &fd, &err), -EINVAL);
                kp_error_clear(&err);
                assert_int_equal(store_object_remove(t->s, bad[i], &err), -EINVAL);
                assert_false(store_object_exists(t->s, bad[i]));
        }
        assert_true(test_exists(t, "store/version"));
}

static void test_put_fd_streams_large_file(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_free_ char *src = test_path(t, "big-input");
        _cleanup_close_ int fd = -1, in = -1, obj = -1;
        char key[KP_HASH_HEX_SIZE], expected[KP_HASH_HEX_SIZE];
        char chunk[4096];
        KpHasher h;

        /* 8 MiB of a pattern, hashed independently while writing. */
        fd = open(src, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        kp_hasher_init(&h);
        for (size_t i = 0; i < 2048; i++) {
                memset(chunk, (int) (i % 251), sizeof(chunk));
                chunk[0] = (char) i;
                kp_hasher_update(&h, chunk, sizeof(chunk));
                assert_int_equal(kp_write_all(fd, chunk, sizeof(chunk)), 0);
        }
        kp_hasher_final_hex(&h, expected);

        in = open(src, O_RDONLY | O_CLOEXEC);
        assert_true(in >= 0);
        assert_store_ok(store_object_put_fd(t->s, in, key, &err));
        assert_string_equal(key, expected);

        assert_store_ok(store_object_verify(t->s, key, &err));
        assert_store_ok(store_object_open(t->s, key, &obj, &err));
        assert_int_equal(lseek(obj, 0, SEEK_END), 2048 * 4096);
}

static void test_put_fd_existing_leaves_no_tmpfile(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_strv_free_ char **names = NULL;
        char k1[KP_HASH_HEX_SIZE], k2[KP_HASH_HEX_SIZE];
        int pipefd[2];
        size_t n = 0;

        assert_store_ok(store_object_put_bytes(t->s, "piped", 5, k1, &err));

        /* A pipe: no size known up front, content only streamed. */
        assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
        assert_int_equal(kp_write_all(pipefd[1], "piped", 5), 0);
        close(pipefd[1]);
        assert_store_ok(store_object_put_fd(t->s, pipefd[0], k2, &err));
        close(pipefd[0]);
        assert_string_equal(k1, k2);

        assert_int_equal(kp_dir_list_at(store_dirfd(t->s), "objects", false, false, &names, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(names[0], k1);
}

static void test_put_fd_read_error(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_close_ int wfd = -1;
        _cleanup_free_ char *p = test_path(t, "write-only");
        char key[KP_HASH_HEX_SIZE];
        size_t n = 0;

        wfd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        assert_true(wfd >= 0);
        assert_true(store_object_put_fd(t->s, wfd, key, &err) < 0);
        assert_int_equal(err.kind, KP_ERROR_STORE);

        /* The temporary file is gone. */
        assert_int_equal(kp_dir_list_at(store_dirfd(t->s), "objects", false, false, &names, &n), 0);
        assert_int_equal(n, 0);
}

static void test_open_reads_content(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_close_ int fd = -1;
        char key[KP_HASH_HEX_SIZE], buf[16] = {};

        assert_store_ok(store_object_put_bytes(t->s, "content", 7, key, &err));
        assert_store_ok(store_object_open(t->s, key, &fd, &err));
        assert_int_equal(read(fd, buf, sizeof(buf)), 7);
        assert_string_equal(buf, "content");
}

static void test_uninitialized_store_lists_nothing(void **state) {
        char *root = test_mkdtemp();
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_strv_free_ char **keys = NULL;
        char key[KP_HASH_HEX_SIZE];
        Store *s = NULL;
        size_t n = 5;

        assert_store_ok(store_open(root, &s, &err));
        assert_store_ok(store_object_list(s, &keys, &n, &err));
        assert_int_equal(n, 0);
        assert_true(store_object_put_bytes(s, "x", 1, key, &err) < 0);

        store_free(s);
        assert_int_equal(kp_rm_rf(root), 0);
        free(root);
}

#define T(f) cmocka_unit_test_setup_teardown(f, test_store_setup, test_store_teardown)

int main(void) {
        const struct CMUnitTest tests[] = {
                T(test_put_get_round_trip),
                T(test_put_empty_object),
                T(test_put_64k_binary),
                T(test_object_file_read_only),
                T(test_put_idempotent),
                T(test_deterministic_keys),
                T(test_get_missing),
                T(test_corruption_detected),
                T(test_truncation_detected),
                T(test_verify_good_object),
                T(test_list_sorted_skips_dotfiles),
                T(test_remove_present_and_missing),
                T(test_invalid_keys_rejected),
                T(test_put_fd_streams_large_file),
                T(test_put_fd_existing_leaves_no_tmpfile),
                T(test_put_fd_read_error),
                T(test_open_reads_content),
                cmocka_unit_test(test_uninitialized_store_lists_nothing),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
