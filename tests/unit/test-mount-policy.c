/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "schema/mount-policy.h"

#define HOME "/home/user"
#define BASE "/home/user/proj"

static int check(const char *host, KpError *err) {
        MountSpec mount = {
                .label = (char *) "data",
                .host_path = (char *) host,
                .container_path = (char *) "/data",
        };

        return mount_policy_check(&mount, HOME, BASE, err);
}

static void expect_rejected(const char *host, const char *resolved) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_free_ char *expected = NULL;

        assert_int_equal(check(host, &err), -EPERM);
        assert_int_equal(err.kind, KP_ERROR_RUNTIME);
        assert_true(asprintf(&expected,
                             "mount not allowed by policy: mount 'data' with host path '%s' (resolved: %s) is not "
                             "under any allowed prefix: [\"/home\", \"/tmp\"]",
                             host, resolved) > 0);
        assert_string_equal(err.message, expected);
}

static void expect_allowed(const char *host) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;

        if (check(host, &err) < 0)
                fail_msg("'%s' rejected: %s", host, err.message);
}

static void test_rejects_system_paths(void **state) {
        expect_rejected("/etc/shadow", "/etc/shadow");
        expect_rejected("/", "/");
        expect_rejected("/proc/self/root", "/proc/self/root");
        expect_rejected("/../etc/shadow", "/etc/shadow");
        expect_rejected("/home/../etc/passwd", "/etc/passwd");
        expect_rejected("/tmp/../../etc", "/etc");
}

static void test_rejects_prefix_lookalikes(void **state) {
        expect_rejected("/homework", "/homework");
        expect_rejected("/tmpfoo/x", "/tmpfoo/x");
        expect_rejected("/home2/user", "/home2/user");
}

static void test_rejects_relative_escapes(void **state) {
        expect_rejected("~/../../etc", "/etc");
        expect_rejected("../../../etc", "/etc");
        expect_rejected("./../../../var/lib", "/var/lib");
}

static void test_allows_home_and_tmp(void **state) {
        expect_allowed("/home");
        expect_allowed("/tmp");
        expect_allowed("/home/user/projects");
        expect_allowed("/tmp/build/");
        expect_allowed("//home//user/./x");
        expect_allowed("/etc/../home/user");
        expect_allowed("./");
        expect_allowed(".");
        expect_allowed("src/data");
        expect_allowed("~");
        expect_allowed("~/projects");
        expect_allowed("..");
        expect_allowed("~user/x");
}

static void test_resolve_host_path(void **state) {
        static const struct {
                const char *host, *resolved;
        } cases[] = {
                { "/a/./b//c/", "/a/b/c" },
                { "/..", "/" },
                { "./", BASE },
                { "../x", "/home/user/x" },
                { "~", HOME },
                { "~/", HOME },
                { "~/p/../q", HOME "/q" },
                { "~other/x", BASE "/~other/x" },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                _cleanup_free_ char *resolved = NULL;

                assert_int_equal(mount_policy_resolve_host_path(cases[i].host, HOME, BASE, &resolved), 0);
                assert_string_equal(resolved, cases[i].resolved);
        }
}

static void test_unresolvable_paths(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        MountSpec tilde = { .label = (char *) "w", .host_path = (char *) "~/x", .container_path = (char *) "/w" };
        MountSpec rel = { .label = (char *) "r", .host_path = (char *) "x", .container_path = (char *) "/r" };
        char *resolved = NULL;

        assert_int_equal(mount_policy_check(&tilde, NULL, BASE, &err), -EINVAL);
        assert_string_equal(err.message, "mount not allowed by policy: mount 'w' with host path '~/x' cannot be "
                                         "resolved: the home directory is unknown");
        assert_int_equal(mount_policy_check(&rel, HOME, "relative/base", &err), -EINVAL);
        assert_string_equal(err.message, "mount not allowed by policy: mount 'r' with host path 'x' cannot be "
                                         "resolved: the base directory is not absolute");
        assert_int_equal(mount_policy_resolve_host_path("~", "", BASE, &resolved), -EINVAL);
        assert_null(resolved);
}

static void test_check_manifest_first_failure(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        MountSpec mounts[] = {
                { .label = (char *) "a", .host_path = (char *) "/tmp/a", .container_path = (char *) "/a" },
                { .label = (char *) "b", .host_path = (char *) "/srv/b", .container_path = (char *) "/b" },
                { .label = (char *) "c", .host_path = (char *) "/etc", .container_path = (char *) "/c" },
        };
        NormalizedManifest m = { .mounts = mounts, .n_mounts = 3 };

        assert_int_equal(mount_policy_check_manifest(&m, HOME, BASE, &err), -EPERM);
        assert_non_null(strstr(err.message, "mount 'b' with host path '/srv/b'"));

        m.n_mounts = 1;
        assert_int_equal(mount_policy_check_manifest(&m, HOME, BASE, &err), 0);
}

static void test_path_is_allowed(void **state) {
        assert_true(mount_policy_path_is_allowed("/home"));
        assert_true(mount_policy_path_is_allowed("/tmp/x"));
        assert_false(mount_policy_path_is_allowed("/homework"));
        assert_false(mount_policy_path_is_allowed("/tm"));
        assert_false(mount_policy_path_is_allowed("/"));
        assert_false(mount_policy_path_is_allowed(""));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_rejects_system_paths),
                cmocka_unit_test(test_rejects_prefix_lookalikes),
                cmocka_unit_test(test_rejects_relative_escapes),
                cmocka_unit_test(test_allows_home_and_tmp),
                cmocka_unit_test(test_resolve_host_path),
                cmocka_unit_test(test_unresolvable_paths),
                cmocka_unit_test(test_check_manifest_first_failure),
                cmocka_unit_test(test_path_is_allowed),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
