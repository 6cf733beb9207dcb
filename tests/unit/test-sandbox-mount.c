/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "runtime/sandbox-mount.h"

static void check_escape(const char *in, const char *expected) {
        char *out = NULL;

        assert_int_equal(sandbox_mount_escape(in, &out), 0);
        assert_string_equal(out, expected);
        free(out);
}

static void test_escape(void **state) {
        check_escape("/plain/path", "/plain/path");
        check_escape("/a,b", "/a\\,b");
        check_escape("/a:b", "/a\\:b");
        check_escape("/a\\b", "/a\\\\b");
        check_escape("/with space", "/with space");
        check_escape(",:\\", "\\,\\:\\\\");
        check_escape("", "");
}

static void test_overlay_options(void **state) {
        char *out = NULL;

        assert_int_equal(sandbox_overlay_options("/img/rootfs", "/env/up,per", "/env/wo:rk", true, &out), 0);
        assert_string_equal(out, "lowerdir=/img/rootfs,upperdir=/env/up\\,per,workdir=/env/wo\\:rk,userxattr");
        free(out);

        assert_int_equal(sandbox_overlay_options("/l", "/u", "/w", false, &out), 0);
        assert_string_equal(out, "lowerdir=/l,upperdir=/u,workdir=/w");
        free(out);
}

static void test_step_names(void **state) {
        KpError err = KP_ERROR_INIT;

        for (int s = 0; s < _SANDBOX_STEP_MAX; s++)
                assert_non_null(sandbox_step_to_string((SandboxStep) s));
        assert_null(sandbox_step_to_string(_SANDBOX_STEP_MAX));
        assert_string_equal(sandbox_step_to_string(SANDBOX_STEP_OVERLAY), "overlay");

        assert_int_equal(sandbox_step_fail(&err, SANDBOX_STEP_PIVOT, -EPERM, "/merged"), -EPERM);
        assert_string_equal(err.message, "sandbox setup failed at step 'pivot_root' for '/merged': Operation not permitted");
        assert_int_equal(err.kind, KP_ERROR_RUNTIME);
        kp_error_clear(&err);
}

static void test_driver_names(void **state) {
        assert_string_equal(overlay_driver_to_string(OVERLAY_DRIVER_KERNEL), "overlay");
        assert_string_equal(overlay_driver_to_string(OVERLAY_DRIVER_FUSE), "fuse-overlayfs");
        assert_null(overlay_driver_to_string(_OVERLAY_DRIVER_MAX));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_escape),
                cmocka_unit_test(test_overlay_options),
                cmocka_unit_test(test_step_names),
                cmocka_unit_test(test_driver_names),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
