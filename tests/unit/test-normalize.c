/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "basic/hash.h"
#include "schema/normalize.h"
#include "schema/schema-util.h"

#define MINIMAL_MOCK "manifest_version = 1\n[base]\nimage = \"rolling\"\n[runtime]\nbackend = \"mock\"\n"

static NormalizedManifest *normalize_ok(const char *text) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_manifest_free_ Manifest *m = NULL;
        NormalizedManifest *n = NULL;

        if (manifest_parse(text, strlen(text), "karapace.toml", &m, &err) < 0)
                fail_msg("unexpected parse error: %s", err.message);
        if (manifest_normalize(m, &n, &err) < 0)
                fail_msg("unexpected normalize error: %s", err.message);
        return n;
}

static void expect_normalize_error(const char *text, const char *expected) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_manifest_free_ Manifest *m = NULL;
        NormalizedManifest *n = NULL;

        assert_int_equal(manifest_parse(text, strlen(text), "karapace.toml", &m, &err), 0);
        assert_int_equal(manifest_normalize(m, &n, &err), -EINVAL);
        assert_null(n);
        assert_int_equal(err.kind, KP_ERROR_MANIFEST);
        assert_string_equal(err.message, expected);
}

static char *canonical_json(const char *text) {
        _cleanup_normalized_manifest_free_ NormalizedManifest *n = normalize_ok(text);
        char *json = NULL;
        size_t len = 0;

        assert_int_equal(normalized_manifest_to_json(n, &json, &len), 0);
        assert_int_equal(len, strlen(json));
        return json;
}

static void test_packages_sorted_unique(void **state) {
        _cleanup_normalized_manifest_free_ NormalizedManifest *n =
                normalize_ok("manifest_version = 1\n[base]\nimage = \"rolling\"\n[system]\n"
                             "packages = [\"git\", \"cmake\", \"git\", \"clang\"]\n");

        assert_int_equal(n->n_system_packages, 3);
        assert_string_equal(n->system_packages[0], "clang");
        assert_string_equal(n->system_packages[1], "cmake");
        assert_string_equal(n->system_packages[2], "git");
        assert_null(n->system_packages[3]);
}

static void test_lists_trimmed_and_empty_dropped(void **state) {
        _cleanup_normalized_manifest_free_ NormalizedManifest *n =
                normalize_ok("manifest_version = 1\n[base]\nimage = \"rolling\"\n[system]\n"
                             "packages = [\"  vim \", \"\", \"   \", \"\\tvim\", \"Vim\"]\n"
                             "[gui]\napps = [\" firefox\", \"code \", \"\"]\n");

        /* Byte order puts uppercase letters first, and case is kept. */
        assert_int_equal(n->n_system_packages, 2);
        assert_string_equal(n->system_packages[0], "Vim");
        assert_string_equal(n->system_packages[1], "vim");
        assert_int_equal(n->n_gui_apps, 2);
        assert_string_equal(n->gui_apps[0], "code");
        assert_string_equal(n->gui_apps[1], "firefox");
}

static void test_unicode_whitespace_trimmed(void **state) {
        _cleanup_normalized_manifest_free_ NormalizedManifest *n =
                normalize_ok("manifest_version = 1\n[base]\nimage = \"\\u00a0rolling\\u3000\"\n[system]\n"
                             "packages = [\"\\u2003git\\u2029\", \"\\u200bzw\", \"\\u0085nel\\u202f\"]\n");

        assert_string_equal(n->base_image, "rolling");
        /* U+200B (zero width space) is not White_Space and stays. */
        assert_int_equal(n->n_system_packages, 3);
        assert_string_equal(n->system_packages[0], "git");
        assert_string_equal(n->system_packages[1], "nel");
        assert_string_equal(n->system_packages[2], "\xe2\x80\x8bzw");
}

static void test_trim_helper_edge_cases(void **state) {
        static const struct {
                const char *in, *out;
        } cases[] = {
                { "", "" },
                { " \t\n\v\f\r ", "" },
                { "\xc2\xa0", "" },
                { "a", "a" },
                { " a b ", "a b" },
                { "\xe3\x80\x80x\xe3\x80\x80", "x" },
                { "\xe1\x9a\x80x", "x" },
                { "x\xc3\xa9", "x\xc3\xa9" },
                { "\xff x \xff", "\xff x \xff" },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                _cleanup_free_ char *t = schema_strdup_trimmed(cases[i].in);

                assert_non_null(t);
                assert_string_equal(t, cases[i].out);
        }
}

static void test_mounts_sorted_and_split(void **state) {
        _cleanup_normalized_manifest_free_ NormalizedManifest *n =
                normalize_ok("manifest_version = 1\n[base]\nimage = \"rolling\"\n[mounts]\n"
                             "zeta = \" /tmp/z : /z \"\n"
                             "\" alpha \" = \"./src:/work:ro\"\n"
                             "mid = \"~/x:rel\"\n");

        assert_int_equal(n->n_mounts, 3);
        assert_string_equal(n->mounts[0].label, "alpha");
        assert_string_equal(n->mounts[0].host_path, "./src");
        assert_string_equal(n->mounts[0].container_path, "/work:ro");
        assert_string_equal(n->mounts[1].label, "mid");
        assert_string_equal(n->mounts[1].host_path, "~/x");
        assert_string_equal(n->mounts[1].container_path, "rel");
        assert_string_equal(n->mounts[2].label, "zeta");
        assert_string_equal(n->mounts[2].host_path, "/tmp/z");
        assert_string_equal(n->mounts[2].container_path, "/z");
}

static void test_backend_lowercased(void **state) {
        _cleanup_normalized_manifest_free_ NormalizedManifest *oci =
                normalize_ok("manifest_version = 1\n[base]\nimage = \"Rolling\"\n[runtime]\nbackend = \"OCI\"\n");
        _cleanup_normalized_manifest_free_ NormalizedManifest *mock =
                normalize_ok("manifest_version = 1\n[base]\nimage = \"r\"\n[runtime]\nbackend = \" MoCk \"\n");
        _cleanup_normalized_manifest_free_ NormalizedManifest *other =
                normalize_ok("manifest_version = 1\n[base]\nimage = \"r\"\n[runtime]\nbackend = \"nope\"\n");

        assert_string_equal(oci->runtime_backend, "oci");
        /* The image keeps its case. */
        assert_string_equal(oci->base_image, "Rolling");
        assert_string_equal(mock->runtime_backend, "mock");
        /* Unknown backends are rejected later, by the runtime. */
        assert_string_equal(other->runtime_backend, "nope");
}

static void test_flags_and_limits_copied(void **state) {
        _cleanup_normalized_manifest_free_ NormalizedManifest *n =
                normalize_ok("manifest_version = 1\n[base]\nimage = \"r\"\n[hardware]\naudio = true\n"
                             "[runtime]\nnetwork_isolation = true\n[runtime.resource_limits]\nmemory_limit_mb = 0\n");

        assert_false(n->hardware_gpu);
        assert_true(n->hardware_audio);
        assert_true(n->network_isolation);
        assert_false(n->limits.has_cpu_shares);
        assert_true(n->limits.has_memory_limit_mb);
        assert_int_equal(n->limits.memory_limit_mb, 0);
        assert_string_equal(n->runtime_backend, "namespace");
}

static void test_rejects_bad_version(void **state) {
        expect_normalize_error("manifest_version = 2\n[base]\nimage = \"rolling\"\n",
                               "unsupported manifest_version: 2, expected 1");
        expect_normalize_error("manifest_version = 0\n[base]\nimage = \"\"\n",
                               "unsupported manifest_version: 0, expected 1");
}

static void test_rejects_blank_image(void **state) {
        expect_normalize_error("manifest_version = 1\n[base]\nimage = \"   \"\n", "base.image must not be empty");
        expect_normalize_error("manifest_version = 1\n[base]\nimage = \"\"\n", "base.image must not be empty");
}

static void test_rejects_bad_mounts(void **state) {
        expect_normalize_error("manifest_version = 1\n[base]\nimage = \"r\"\n[mounts]\n\" x \" = \"/tmp/data\"\n",
                               "invalid mount declaration for ' x ': '/tmp/data', expected '<host>:<container>'");
        expect_normalize_error("manifest_version = 1\n[base]\nimage = \"r\"\n[mounts]\nx = \" :/data\"\n",
                               "invalid mount declaration for 'x': ' :/data', expected '<host>:<container>'");
        expect_normalize_error("manifest_version = 1\n[base]\nimage = \"r\"\n[mounts]\nx = \"/tmp: \"\n",
                               "invalid mount declaration for 'x': '/tmp: ', expected '<host>:<container>'");
        expect_normalize_error("manifest_version = 1\n[base]\nimage = \"r\"\n[mounts]\n\"  \" = \"/tmp:/t\"\n",
                               "mount label must not be empty");
}

static void test_rejects_duplicate_trimmed_labels(void **state) {
        expect_normalize_error("manifest_version = 1\n[base]\nimage = \"r\"\n[mounts]\n"
                               "data = \"/tmp/a:/a\"\n\" data\" = \"/tmp/b:/b\"\n",
                               "duplicate mount label 'data': labels must differ after trimming whitespace");
}

static void test_error_order_version_first(void **state) {
        expect_normalize_error("manifest_version = 3\n[base]\nimage = \" \"\n[mounts]\nx = \"nocolon\"\n",
                               "unsupported manifest_version: 3, expected 1");
        expect_normalize_error("manifest_version = 1\n[base]\nimage = \" \"\n[mounts]\nx = \"nocolon\"\n",
                               "base.image must not be empty");
}

static void test_canonical_json_minimal(void **state) {
        static const char expected[] =
                "{\"manifest_version\":1,\"base_image\":\"rolling\",\"system_packages\":[],\"gui_apps\":[],"
                "\"hardware_gpu\":false,\"hardware_audio\":false,\"mounts\":[],\"runtime_backend\":\"mock\","
                "\"network_isolation\":false,\"cpu_shares\":null,\"memory_limit_mb\":null}";
        _cleanup_free_ char *json = canonical_json(MINIMAL_MOCK);
        char hash[KP_HASH_HEX_SIZE];

        assert_string_equal(json, expected);
        kp_hash_str_hex(json, hash);
        assert_string_equal(hash, "a00dd85587c3cfdd7bd1cdc0375b4b83763d4597131eb475b7f3928133e683db");
}

static void test_canonical_json_full(void **state) {
        _cleanup_free_ char *json =
                canonical_json("manifest_version = 1\n[base]\nimage = \" ubuntu/24.04 \"\n[system]\n"
                               "packages = [\"git\", \"clang\"]\n[gui]\napps = [\"firefox\"]\n"
                               "[hardware]\ngpu = true\n[mounts]\nws = \"~/p:/w\"\ndata = \"/tmp/\\\"q\\\":/d\"\n"
                               "[runtime]\nbackend = \"Namespace\"\nnetwork_isolation = true\n"
                               "[runtime.resource_limits]\ncpu_shares = 2048\nmemory_limit_mb = 8192\n");

        assert_string_equal(json,
                            "{\"manifest_version\":1,\"base_image\":\"ubuntu/24.04\","
                            "\"system_packages\":[\"clang\",\"git\"],\"gui_apps\":[\"firefox\"],"
                            "\"hardware_gpu\":true,\"hardware_audio\":false,"
                            "\"mounts\":[{\"label\":\"data\",\"host_path\":\"/tmp/\\\"q\\\"\",\"container_path\":\"/d\"},"
                            "{\"label\":\"ws\",\"host_path\":\"~/p\",\"container_path\":\"/w\"}],"
                            "\"runtime_backend\":\"namespace\",\"network_isolation\":true,"
                            "\"cpu_shares\":2048,\"memory_limit_mb\":8192}");
}

static void test_equivalent_manifests_same_json(void **state) {
        _cleanup_free_ char *a = canonical_json(
                "manifest_version = 1\n[base]\nimage = \"rolling\"\n[system]\n"
                "packages = [\"git\", \"clang\", \"cmake\"]\n[gui]\napps = [\"code\", \"firefox\"]\n"
                "[mounts]\nsrc = \"./src:/src\"\nhome = \"~/:/h\"\n[runtime]\nbackend = \"oci\"\n");
        _cleanup_free_ char *b = canonical_json(
                "manifest_version = 1\n[runtime]\nbackend = \"  OCI\"\n[mounts]\n\"home \" = \" ~/ : /h\"\n\" src\" = \"./src :/src \"\n"
                "[gui]\napps = [\"firefox \", \"code\", \"code\"]\n[system]\n"
                "packages = [\"cmake\", \" git\", \"clang\", \"git\", \"\"]\n"
                "[base]\nimage = \"\\trolling \"\n");

        assert_string_equal(a, b);
}

static void test_json_round_trip(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_free_ char *json = canonical_json(
                "manifest_version = 1\n[base]\nimage = \"r\"\n[system]\npackages = [\"b\", \"a\"]\n"
                "[gui]\napps = [\"x\"]\n[hardware]\naudio = true\n[mounts]\nm = \"/tmp:/t\"\n"
                "[runtime.resource_limits]\ncpu_shares = 7\n");
        _cleanup_normalized_manifest_free_ NormalizedManifest *back = NULL;
        _cleanup_free_ char *again = NULL;
        size_t len = 0;

        assert_int_equal(normalized_manifest_from_json(json, strlen(json), &back, &err), 0);
        assert_int_equal(back->n_system_packages, 2);
        assert_string_equal(back->system_packages[0], "a");
        assert_true(back->hardware_audio);
        assert_int_equal(back->n_mounts, 1);
        assert_string_equal(back->mounts[0].container_path, "/t");
        assert_true(back->limits.has_cpu_shares);
        assert_int_equal(back->limits.cpu_shares, 7);
        assert_false(back->limits.has_memory_limit_mb);

        assert_int_equal(normalized_manifest_to_json(back, &again, &len), 0);
        assert_string_equal(json, again);
}

static void test_json_parse_errors(void **state) {
        static const char *const bad[] = {
                "{",
                "[]",
                "{\"manifest_version\":1}",
                "{\"manifest_version\":1,\"base_image\":\"r\",\"system_packages\":[1],\"gui_apps\":[],"
                "\"hardware_gpu\":false,\"hardware_audio\":false,\"mounts\":[],\"runtime_backend\":\"m\","
                "\"network_isolation\":false}",
                "{\"manifest_version\":1,\"base_image\":\"r\",\"system_packages\":[],\"gui_apps\":[],"
                "\"hardware_gpu\":false,\"hardware_audio\":false,\"mounts\":[{\"label\":\"x\"}],"
                "\"runtime_backend\":\"m\",\"network_isolation\":false}",
                "{\"manifest_version\":1,\"base_image\":\"r\",\"system_packages\":[],\"gui_apps\":[],"
                "\"hardware_gpu\":false,\"hardware_audio\":false,\"mounts\":[],\"runtime_backend\":\"m\","
                "\"network_isolation\":false,\"cpu_shares\":-1}",
        };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                _cleanup_error_ KpError err = KP_ERROR_INIT;
                NormalizedManifest *n = NULL;

                assert_true(normalized_manifest_from_json(bad[i], strlen(bad[i]), &n, &err) < 0);
                assert_null(n);
                assert_int_equal(err.kind, KP_ERROR_MANIFEST);
                assert_true(strneq(err.message, "invalid normalized manifest JSON: ", 34));
        }
}

static void test_json_limit_out_of_range(void **state) {
        _cleanup_normalized_manifest_free_ NormalizedManifest *n = normalize_ok(MINIMAL_MOCK);
        char *json = NULL;
        size_t len = 0;

        n->limits.has_cpu_shares = true;
        n->limits.cpu_shares = (uint64_t) INT64_MAX + 1;
        assert_int_equal(normalized_manifest_to_json(n, &json, &len), -ERANGE);
        assert_null(json);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_packages_sorted_unique),
                cmocka_unit_test(test_lists_trimmed_and_empty_dropped),
                cmocka_unit_test(test_unicode_whitespace_trimmed),
                cmocka_unit_test(test_trim_helper_edge_cases),
                cmocka_unit_test(test_mounts_sorted_and_split),
                cmocka_unit_test(test_backend_lowercased),
                cmocka_unit_test(test_flags_and_limits_copied),
                cmocka_unit_test(test_rejects_bad_version),
                cmocka_unit_test(test_rejects_blank_image),
                cmocka_unit_test(test_rejects_bad_mounts),
                cmocka_unit_test(test_rejects_duplicate_trimmed_labels),
                cmocka_unit_test(test_error_order_version_first),
                cmocka_unit_test(test_canonical_json_minimal),
                cmocka_unit_test(test_canonical_json_full),
                cmocka_unit_test(test_equivalent_manifests_same_json),
                cmocka_unit_test(test_json_round_trip),
                cmocka_unit_test(test_json_parse_errors),
                cmocka_unit_test(test_json_limit_out_of_range),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
