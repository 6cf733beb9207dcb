/* SPDX-License-Identifier: MIT */
#pragma once

/* Fixtures shared by the store unit tests: a fresh store in a temporary
 * directory per test, and small builders for metadata and layers. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "basic/fs-util.h"
#include "basic/hash.h"
#include "basic/log.h"
#include "store/store.h"

typedef struct TestStore {
        char *root;
        Store *s;
} TestStore;

static inline char *test_mkdtemp(void) {
        char *dir = strdup("/tmp/kp-store-test-XXXXXX");

        assert_non_null(dir);
        assert_non_null(mkdtemp(dir));
        return dir;
}

/* cmocka setup: a temporary directory with an initialized store in it. */
static inline int test_store_setup(void **state) {
        TestStore *t = calloc(1, sizeof(TestStore));
        KpError err = KP_ERROR_INIT;

        if (!t)
                return -1;
        kp_log_set_level(KP_LOG_ERROR);
        t->root = test_mkdtemp();
        if (store_open(t->root, &t->s, &err) < 0 || store_init(t->s, &err) < 0) {
                fprintf(stderr, "store setup failed: %s\n", err.message);
                kp_error_clear(&err);
                return -1;
        }
        *state = t;
        return 0;
}

static inline int test_store_teardown(void **state) {
        TestStore *t = *state;
        int r;

        store_free(t->s);
        r = kp_rm_rf(t->root);
        free(t->root);
        free(t);
        return r < 0 ? -1 : 0;
}

/* Run EXPR (which takes &err) and fail with the error message if it fails. */
#define assert_store_ok(expr)                                                             \
        do {                                                                              \
                int _r = (expr);                                                          \
                if (_r < 0)                                                               \
                        fail_msg("%s failed: %d (%s)", #expr, _r, err.message ? err.message : "no message"); \
        } while (0)

/* Path below the test root, for files the test pokes at directly. */
static inline char *test_path(const TestStore *t, const char *rel) {
        char *p = kp_path_join(t->root, rel);

        assert_non_null(p);
        return p;
}

static inline void test_write_file(const TestStore *t, const char *rel, const char *content, mode_t mode) {
        char *p = test_path(t, rel);

        (void) chmod(p, 0644);
        (void) unlink(p);
        assert_int_equal(kp_write_file_atomic_at(AT_FDCWD, p, content, strlen(content), mode, 0), 0);
        free(p);
}

__attribute__((noinline, unused)) static char *test_read_file(const TestStore *t, const char *rel) {
        char *p = test_path(t, rel), *data = NULL;

        assert_int_equal(kp_read_file_at(AT_FDCWD, p, 1 << 24, &data, NULL), 0);
        free(p);
        return data;
}

static inline bool test_exists(const TestStore *t, const char *rel) {
        char *p = test_path(t, rel);
        bool e = access(p, F_OK) == 0;

        free(p);
        return e;
}

/* A valid 64-hex environment or layer id derived from SEED. */
static inline void test_id(const char *seed, char out[KP_HASH_HEX_SIZE]) {
        kp_hash_str_hex(seed, out);
}

/* Set the mtime of a file to an hour ago, so it counts as stale. */
static inline void test_backdate(const TestStore *t, const char *rel) {
        char *p = test_path(t, rel);
        struct timespec ts[2] = { { .tv_sec = time(NULL) - 3600 }, { .tv_sec = time(NULL) - 3600 } };

        assert_int_equal(utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW), 0);
        free(p);
}
