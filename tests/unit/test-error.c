/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "basic/error.h"

static void test_error_set_returns_code(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;

        assert_int_equal(kp_error_set(&err, -ENOENT, "object '%s' missing", "abc"), -ENOENT);
        assert_int_equal(err.code, -ENOENT);
        assert_string_equal(err.message, "object 'abc' missing");
        assert_int_equal(err.kind, KP_ERROR_GENERIC);
}

static void test_error_positive_code_becomes_eio(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;

        assert_int_equal(kp_error_set(&err, 0, "x"), -EIO);
        assert_int_equal(kp_error_set(NULL, 5, "x"), -EIO);
}

static void test_error_prefix_adds_context(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;

        kp_error_set_kind(&err, KP_ERROR_STORE, -EACCES, "open 'objects/ab'");
        assert_int_equal(kp_error_prefix(&err, "read layer %d", 7), -EACCES);
        assert_string_equal(err.message, "read layer 7: open 'objects/ab'");
        assert_int_equal(err.kind, KP_ERROR_STORE);
}

static void test_error_prefix_without_error(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;

        assert_int_equal(kp_error_prefix(&err, "context"), -EIO);
        assert_string_equal(err.message, "context");
}

static void test_error_format_adds_category(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_free_ char *text = NULL, *again = NULL;

        kp_error_set_kind(&err, KP_ERROR_STORE, -ENOENT, "object not found: ab");
        text = kp_error_format(&err);
        assert_string_equal(text, "store error: object not found: ab");

        /* A message that already starts with its category is not doubled. */
        kp_error_set_kind(&err, KP_ERROR_STORE, -ENOENT, "store error: x");
        again = kp_error_format(&err);
        assert_string_equal(again, "store error: x");
}

static void test_error_default_kind_keeps_specific(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;

        kp_error_set_kind(&err, KP_ERROR_MANIFEST, -EINVAL, "bad");
        kp_error_set_default_kind(&err, KP_ERROR_RUNTIME);
        assert_int_equal(err.kind, KP_ERROR_MANIFEST);

        kp_error_set(&err, -EINVAL, "bad");
        kp_error_set_default_kind(&err, KP_ERROR_RUNTIME);
        assert_int_equal(err.kind, KP_ERROR_RUNTIME);
}

static void test_error_move_transfers(void **state) {
        _cleanup_error_ KpError a = KP_ERROR_INIT, b = KP_ERROR_INIT;

        kp_error_set(&a, -EPERM, "denied");
        assert_int_equal(kp_error_move(&b, &a), -EPERM);
        assert_null(a.message);
        assert_int_equal(a.code, 0);
        assert_string_equal(b.message, "denied");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_error_set_returns_code),
                cmocka_unit_test(test_error_positive_code_becomes_eio),
                cmocka_unit_test(test_error_prefix_adds_context),
                cmocka_unit_test(test_error_prefix_without_error),
                cmocka_unit_test(test_error_format_adds_category),
                cmocka_unit_test(test_error_default_kind_keeps_specific),
                cmocka_unit_test(test_error_move_transfers),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
