/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "basic/time-util.h"

static void check(time_t sec, long nsec, const char *expected) {
        struct timespec ts = { .tv_sec = sec, .tv_nsec = nsec };
        char out[KP_RFC3339_SIZE];

        kp_rfc3339_format(&ts, out);
        assert_string_equal(out, expected);
}

static void test_rfc3339_fraction_digits(void **state) {
        /* 2026-02-25T10:01:38 UTC */
        check(1772013698, 874676974, "2026-02-25T10:01:38.874676974+00:00");
        check(1772013698, 0, "2026-02-25T10:01:38+00:00");
        check(1772013698, 500000000, "2026-02-25T10:01:38.500+00:00");
        check(1772013698, 120000, "2026-02-25T10:01:38.000120+00:00");
        check(1772013698, 1, "2026-02-25T10:01:38.000000001+00:00");
        check(0, 0, "1970-01-01T00:00:00+00:00");
}

static void test_rfc3339_now_shape(void **state) {
        char out[KP_RFC3339_SIZE];
        size_t len;

        kp_rfc3339_now(out);
        len = strlen(out);
        assert_true(len >= 25);
        assert_string_equal(out + len - 6, "+00:00");
        assert_int_equal(out[10], 'T');
}

static void test_timestamp_millis_shape(void **state) {
        char out[32];

        kp_timestamp_millis(out);
        assert_int_equal(strlen(out), 17);
        assert_int_equal(strspn(out, "0123456789"), 17);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_rfc3339_fraction_digits),
                cmocka_unit_test(test_rfc3339_now_shape),
                cmocka_unit_test(test_timestamp_millis_shape),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
