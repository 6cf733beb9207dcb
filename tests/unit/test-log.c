/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "basic/log.h"

static void test_log_level_names(void **state) {
        assert_int_equal(kp_log_level_from_string("error"), KP_LOG_ERROR);
        assert_int_equal(kp_log_level_from_string("WARN"), KP_LOG_WARN);
        assert_int_equal(kp_log_level_from_string("warning"), KP_LOG_WARN);
        assert_int_equal(kp_log_level_from_string("info"), KP_LOG_INFO);
        assert_int_equal(kp_log_level_from_string("debug"), KP_LOG_DEBUG);
        assert_int_equal(kp_log_level_from_string("trace"), KP_LOG_TRACE);
        assert_int_equal(kp_log_level_from_string("loud"), -EINVAL);
        assert_int_equal(kp_log_level_from_string(""), -EINVAL);
}

static void test_log_target_filters(void **state) {
        assert_int_equal(kp_log_level_from_string("karapace_core=trace"), KP_LOG_TRACE);
        assert_int_equal(kp_log_level_from_string("warn,karapace=debug"), KP_LOG_DEBUG);
        assert_int_equal(kp_log_level_from_string("x=nope"), -EINVAL);
}

static void test_log_setup_flags_and_env(void **state) {
        unsetenv("KARAPACE_LOG");
        kp_log_set_level(KP_LOG_WARN);
        kp_log_setup(true, false);
        assert_int_equal(kp_log_get_level(), KP_LOG_DEBUG);

        kp_log_setup(true, true);
        assert_int_equal(kp_log_get_level(), KP_LOG_TRACE);

        /* KARAPACE_LOG overrides the flags. */
        setenv("KARAPACE_LOG", "error", 1);
        kp_log_setup(false, true);
        assert_int_equal(kp_log_get_level(), KP_LOG_ERROR);

        /* An invalid value keeps the flag level. */
        setenv("KARAPACE_LOG", "bogus", 1);
        kp_log_setup(true, false);
        assert_int_equal(kp_log_get_level(), KP_LOG_DEBUG);
        unsetenv("KARAPACE_LOG");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_log_level_names),
                cmocka_unit_test(test_log_target_filters),
                cmocka_unit_test(test_log_setup_flags_and_env),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
