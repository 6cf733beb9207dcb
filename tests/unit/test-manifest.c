/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "basic/fs-util.h"
#include "schema/manifest.h"

#define FULL_MANIFEST                                   \
        "manifest_version = 1\n"                        \
        "\n"                                            \
        "[base]\n"                                      \
        "image = \"rolling\"\n"                         \
        "\n"                                            \
        "[system]\n"                                    \
        "packages = [\"git\", \"clang\"]\n"             \
        "\n"                                            \
        "[gui]\n"                                       \
        "apps = [\"firefox\"]\n"                        \
        "\n"                                            \
        "[hardware]\n"                                  \
        "gpu = true\n"                                  \
        "audio = true\n"                                \
        "\n"                                            \
        "[mounts]\n"                                    \
        "workspace = \"~/projects:/workspace\"\n"       \
        "data = \"/tmp/data:/data\"\n"                  \
        "\n"                                            \
        "[runtime]\n"                                   \
        "backend = \"oci\"\n"                           \
        "network_isolation = true\n"                    \
        "\n"                                            \
        "[runtime.resource_limits]\n"                   \
        "cpu_shares = 1024\n"                           \
        "memory_limit_mb = 4096\n"

static Manifest *parse_ok(const char *text) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        Manifest *m = NULL;
        int r;

        r = manifest_parse(text, strlen(text), "karapace.toml", &m, &err);
        if (r < 0)
                fail_msg("unexpected parse error: %s", err.message);
        assert_non_null(m);
        return m;
}

static void expect_parse_error(const char *text, const char *expected) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        Manifest *m = NULL;
        int r;

        r = manifest_parse(text, strlen(text), "karapace.toml", &m, &err);
        assert_true(r < 0);
        assert_null(m);
        assert_int_equal(err.kind, KP_ERROR_MANIFEST);
        assert_non_null(err.message);
        assert_string_equal(err.message, expected);
}

static void test_parse_full_manifest(void **state) {
        _cleanup_manifest_free_ Manifest *m = parse_ok(FULL_MANIFEST);

        assert_int_equal(m->manifest_version, 1);
        assert_string_equal(m->base_image, "rolling");
        assert_int_equal(m->n_system_packages, 2);
        assert_string_equal(m->system_packages[0], "git");
        assert_string_equal(m->system_packages[1], "clang");
        assert_null(m->system_packages[2]);
        assert_int_equal(m->n_gui_apps, 1);
        assert_string_equal(m->gui_apps[0], "firefox");
        assert_true(m->hardware_gpu);
        assert_true(m->hardware_audio);
        assert_int_equal(m->n_mounts, 2);
        assert_string_equal(m->mounts[0].label, "workspace");
        assert_string_equal(m->mounts[0].spec, "~/projects:/workspace");
        assert_string_equal(m->mounts[1].label, "data");
        assert_string_equal(m->mounts[1].spec, "/tmp/data:/data");
        assert_string_equal(m->runtime_backend, "oci");
        assert_true(m->network_isolation);
        assert_true(m->limits.has_cpu_shares);
        assert_int_equal(m->limits.cpu_shares, 1024);
        assert_true(m->limits.has_memory_limit_mb);
        assert_int_equal(m->limits.memory_limit_mb, 4096);
}

static void test_parse_minimal_defaults(void **state) {
        _cleanup_manifest_free_ Manifest *m = parse_ok("manifest_version = 1\n[base]\nimage = \"rolling\"\n");

        assert_string_equal(m->runtime_backend, "namespace");
        assert_false(m->network_isolation);
        assert_false(m->hardware_gpu);
        assert_false(m->hardware_audio);
        assert_int_equal(m->n_system_packages, 0);
        assert_int_equal(m->n_gui_apps, 0);
        assert_int_equal(m->n_mounts, 0);
        assert_false(m->limits.has_cpu_shares);
        assert_false(m->limits.has_memory_limit_mb);
}

static void test_parse_inline_tables(void **state) {
        _cleanup_manifest_free_ Manifest *m =
                parse_ok("manifest_version = 1\nbase = { image = \"debian\" }\nruntime = { backend = \"mock\" }\n");

        assert_string_equal(m->base_image, "debian");
        assert_string_equal(m->runtime_backend, "mock");
}

static void test_parse_unknown_key_in_base(void **state) {
        expect_parse_error("manifest_version = 1\n\n[base]\nimgae = \"rolling\"\n",
                           "failed to parse manifest: karapace.toml:4:1: unknown key 'imgae' in [base]; "
                           "valid keys: image");
}

static void test_parse_unknown_keys_everywhere(void **state) {
        expect_parse_error("manifest_version = 1\nname = \"x\"\n[base]\nimage = \"rolling\"\n",
                           "failed to parse manifest: karapace.toml:2:1: unknown top-level key 'name'; valid keys: "
                           "manifest_version, base, system, gui, hardware, mounts, runtime");
        expect_parse_error("manifest_version = 1\n[base]\nimage = \"rolling\"\n[extra]\n",
                           "failed to parse manifest: karapace.toml:4:2: unknown top-level key 'extra'; valid keys: "
                           "manifest_version, base, system, gui, hardware, mounts, runtime");
        expect_parse_error("manifest_version = 1\n[base]\nimage = \"rolling\"\n[system]\npackage = []\n",
                           "failed to parse manifest: karapace.toml:5:1: unknown key 'package' in [system]; "
                           "valid keys: packages");
        expect_parse_error("manifest_version = 1\n[base]\nimage = \"rolling\"\n[gui]\n  app = []\n",
                           "failed to parse manifest: karapace.toml:5:3: unknown key 'app' in [gui]; "
                           "valid keys: apps");
        expect_parse_error("manifest_version = 1\n[base]\nimage = \"rolling\"\n[hardware]\nvideo = true\n",
                           "failed to parse manifest: karapace.toml:5:1: unknown key 'video' in [hardware]; "
                           "valid keys: gpu, audio");
        expect_parse_error("manifest_version = 1\n[base]\nimage = \"rolling\"\n[runtime]\nbackends = \"x\"\n",
                           "failed to parse manifest: karapace.toml:5:1: unknown key 'backends' in [runtime]; "
                           "valid keys: backend, network_isolation, resource_limits");
        expect_parse_error("manifest_version = 1\n[base]\nimage = \"rolling\"\n[runtime.resource_limits]\n"
                           "cpu = 1\n",
                           "failed to parse manifest: karapace.toml:5:1: unknown key 'cpu' in "
                           "[runtime.resource_limits]; valid keys: cpu_shares, memory_limit_mb");
}

static void test_parse_mounts_free_form(void **state) {
        _cleanup_manifest_free_ Manifest *m =
                parse_ok("manifest_version = 1\n[base]\nimage = \"rolling\"\n[mounts]\n"
                         "anything = \"a:b\"\n\"with space\" = \"c:d\"\n");

        assert_int_equal(m->n_mounts, 2);
        assert_string_equal(m->mounts[1].label, "with space");
        assert_string_equal(m->mounts[1].spec, "c:d");
}

static void test_parse_wrong_types(void **state) {
        expect_parse_error("manifest_version = 1\n[base]\nimage = \"rolling\"\n\n\n\n[hardware]\ngpu = \"yes\"\n",
                           "failed to parse manifest: karapace.toml:8:7: 'hardware.gpu' must be a boolean, "
                           "found string");
        expect_parse_error("manifest_version = \"1\"\n[base]\nimage = \"rolling\"\n",
                           "failed to parse manifest: karapace.toml:1:20: 'manifest_version' must be an integer, "
                           "found string");
        expect_parse_error("manifest_version = 1\n[base]\nimage = 5\n",
                           "failed to parse manifest: karapace.toml:3:9: 'base.image' must be a string, "
                           "found integer");
        expect_parse_error("manifest_version = 1\nbase = \"rolling\"\n",
                           "failed to parse manifest: karapace.toml:2:8: 'base' must be a table, found string");
        expect_parse_error("manifest_version = 1\n[base]\nimage = \"rolling\"\n[system]\npackages = \"git\"\n",
                           "failed to parse manifest: karapace.toml:5:12: 'system.packages' must be an array, "
                           "found string");
        expect_parse_error("manifest_version = 1\n[base]\nimage = \"rolling\"\n[system]\n"
                           "packages = [\"git\", 3]\n",
                           "failed to parse manifest: karapace.toml:5:20: 'system.packages[1]' must be a string, "
                           "found integer");
        expect_parse_error("manifest_version = 1\n[base]\nimage = \"rolling\"\n[mounts]\nx = true\n",
                           "failed to parse manifest: karapace.toml:5:5: 'mounts.x' must be a string, "
                           "found boolean");
        expect_parse_error("manifest_version = 1\n[base]\nimage = \"rolling\"\n[runtime.resource_limits]\n"
                           "cpu_shares = 1.5\n",
                           "failed to parse manifest: karapace.toml:5:14: 'runtime.resource_limits.cpu_shares' "
                           "must be an integer, found float");
}

static void test_parse_missing_required(void **state) {
        expect_parse_error("[base]\nimage = \"rolling\"\n",
                           "failed to parse manifest: karapace.toml: missing required key 'manifest_version'");
        expect_parse_error("manifest_version = 1\n",
                           "failed to parse manifest: karapace.toml: missing required table [base]");
        expect_parse_error("manifest_version = 1\n[base]\n",
                           "failed to parse manifest: karapace.toml: missing required key 'base.image'");
}

static void test_parse_integer_ranges(void **state) {
        expect_parse_error("manifest_version = -1\n[base]\nimage = \"rolling\"\n",
                           "failed to parse manifest: karapace.toml:1:20: 'manifest_version' is out of range: -1 "
                           "(expected 0 to 4294967295)");
        expect_parse_error("manifest_version = 4294967296\n[base]\nimage = \"rolling\"\n",
                           "failed to parse manifest: karapace.toml:1:20: 'manifest_version' is out of range: "
                           "4294967296 (expected 0 to 4294967295)");
        expect_parse_error("manifest_version = 1\n[base]\nimage = \"rolling\"\n[runtime.resource_limits]\n"
                           "memory_limit_mb = -5\n",
                           "failed to parse manifest: karapace.toml:5:19: 'runtime.resource_limits.memory_limit_mb' "
                           "is out of range: -5 (expected 0 to 18446744073709551615)");
}

static void test_parse_u32_max_version(void **state) {
        _cleanup_manifest_free_ Manifest *m = parse_ok("manifest_version = 4294967295\n[base]\nimage = \"x\"\n");

        /* The schema accepts it. Normalization rejects versions other than 1. */
        assert_int_equal(m->manifest_version, UINT32_MAX);
}

static void test_parse_syntax_error_location(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        const char *text = "manifest_version = 1\n[base]\nimage = \"rolling\n";
        Manifest *m = NULL;

        assert_true(manifest_parse(text, strlen(text), "karapace.toml", &m, &err) < 0);
        assert_int_equal(err.kind, KP_ERROR_MANIFEST);
        assert_true(strneq(err.message, "failed to parse manifest: karapace.toml:3:", 42));
}

static void test_parse_duplicate_key_rejected(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        const char *text = "manifest_version = 1\n[base]\nimage = \"a\"\nimage = \"b\"\n";
        Manifest *m = NULL;

        assert_true(manifest_parse(text, strlen(text), "karapace.toml", &m, &err) < 0);
        assert_true(strneq(err.message, "failed to parse manifest: karapace.toml:4:", 42));
}

static void test_parse_nul_in_string(void **state) {
        expect_parse_error("manifest_version = 1\n[base]\nimage = \"roll\\u0000ing\"\n",
                           "failed to parse manifest: karapace.toml:3:9: 'base.image' must not contain NUL "
                           "characters");
}

static void test_parse_size_limit(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_free_ char *big = NULL;
        size_t len = MANIFEST_MAX_SIZE + 1;
        Manifest *m = NULL;

        big = malloc(len);
        assert_non_null(big);
        memset(big, '#', len);

        assert_int_equal(manifest_parse(big, len, "big.toml", &m, &err), -EINVAL);
        assert_string_equal(err.message, "failed to parse manifest: big.toml: manifest is larger than the limit "
                                         "of 1048576 bytes");
}

static void test_parse_file_missing(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        Manifest *m = NULL;

        assert_int_equal(manifest_parse_file("/nonexistent-dir/karapace.toml", &m, &err), -ENOENT);
        assert_int_equal(err.kind, KP_ERROR_MANIFEST);
        assert_string_equal(err.message, "failed to read manifest file: /nonexistent-dir/karapace.toml: "
                                         "No such file or directory");
}

static char *make_temp_dir(void) {
        char *dir = strdup("/tmp/kp-test-manifest-XXXXXX");

        assert_non_null(dir);
        assert_non_null(mkdtemp(dir));
        return dir;
}

static void test_parse_file_ok_and_too_large(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_free_ char *dir = make_temp_dir(), *path = kp_path_join(dir, "karapace.toml");
        _cleanup_free_ char *big = NULL;
        Manifest *m = NULL;

        assert_int_equal(kp_write_file_atomic_at(AT_FDCWD, path, FULL_MANIFEST, strlen(FULL_MANIFEST), 0644, 0),
                         0);
        assert_int_equal(manifest_parse_file(path, &m, &err), 0);
        assert_string_equal(m->runtime_backend, "oci");
        m = manifest_free(m);

        big = calloc(1, MANIFEST_MAX_SIZE + 10);
        assert_non_null(big);
        memset(big, '\n', MANIFEST_MAX_SIZE + 10);
        assert_int_equal(kp_write_file_atomic_at(AT_FDCWD, path, big, MANIFEST_MAX_SIZE + 10, 0644, 0), 0);
        assert_int_equal(manifest_parse_file(path, &m, &err), -EFBIG);
        assert_int_equal(err.kind, KP_ERROR_MANIFEST);
        assert_non_null(strstr(err.message, "failed to read manifest file: "));
        assert_non_null(strstr(err.message, "larger than the limit of 1048576 bytes"));

        assert_int_equal(kp_rm_rf(dir), 0);
}

static void expect_written(const Manifest *m, const char *expected) {
        _cleanup_free_ char *text = NULL;
        size_t len = 0;

        assert_int_equal(manifest_to_toml(m, &text, &len), 0);
        assert_string_equal(text, expected);
        assert_int_equal(len, strlen(expected));
}

static void test_write_new_default(void **state) {
        _cleanup_manifest_free_ Manifest *m = NULL;

        assert_int_equal(manifest_new("rolling", &m), 0);
        expect_written(m,
                       "manifest_version = 1\n"
                       "\n"
                       "[base]\n"
                       "image = \"rolling\"\n"
                       "\n"
                       "[system]\n"
                       "packages = []\n"
                       "\n"
                       "[gui]\n"
                       "apps = []\n"
                       "\n"
                       "[hardware]\n"
                       "gpu = false\n"
                       "audio = false\n"
                       "\n"
                       "[mounts]\n"
                       "\n"
                       "[runtime]\n"
                       "backend = \"namespace\"\n"
                       "network_isolation = false\n"
                       "\n"
                       "[runtime.resource_limits]\n");
}

static void test_write_full(void **state) {
        _cleanup_manifest_free_ Manifest *m = parse_ok(FULL_MANIFEST);

        expect_written(m,
                       "manifest_version = 1\n"
                       "\n"
                       "[base]\n"
                       "image = \"rolling\"\n"
                       "\n"
                       "[system]\n"
                       "packages = [\n"
                       "    \"git\",\n"
                       "    \"clang\",\n"
                       "]\n"
                       "\n"
                       "[gui]\n"
                       "apps = [\"firefox\"]\n"
                       "\n"
                       "[hardware]\n"
                       "gpu = true\n"
                       "audio = true\n"
                       "\n"
                       "[mounts]\n"
                       "workspace = \"~/projects:/workspace\"\n"
                       "data = \"/tmp/data:/data\"\n"
                       "\n"
                       "[runtime]\n"
                       "backend = \"oci\"\n"
                       "network_isolation = true\n"
                       "\n"
                       "[runtime.resource_limits]\n"
                       "cpu_shares = 1024\n"
                       "memory_limit_mb = 4096\n");
}

static void test_write_round_trip(void **state) {
        _cleanup_manifest_free_ Manifest *m = parse_ok(FULL_MANIFEST), *again = NULL;
        _cleanup_free_ char *text = NULL, *text_again = NULL;
        size_t len = 0, len_again = 0;

        assert_int_equal(manifest_to_toml(m, &text, &len), 0);
        again = parse_ok(text);
        assert_int_equal(manifest_to_toml(again, &text_again, &len_again), 0);
        assert_string_equal(text, text_again);
        assert_string_equal(again->mounts[1].label, "data");
        assert_int_equal(again->limits.memory_limit_mb, 4096);
}

static void test_write_escapes_strings(void **state) {
        _cleanup_manifest_free_ Manifest *m = NULL, *again = NULL;
        _cleanup_free_ char *text = NULL;
        size_t len = 0;

        assert_int_equal(manifest_new("https://example.com/a\"b\\c.tar.xz", &m), 0);
        assert_int_equal(manifest_set_mount(m, "my label", "/tmp/x y:/data"), 0);
        assert_int_equal(manifest_to_toml(m, &text, &len), 0);

        again = parse_ok(text);
        assert_string_equal(again->base_image, "https://example.com/a\"b\\c.tar.xz");
        assert_string_equal(again->mounts[0].label, "my label");
        assert_string_equal(again->mounts[0].spec, "/tmp/x y:/data");
}

static void test_setters(void **state) {
        _cleanup_manifest_free_ Manifest *m = NULL;

        assert_int_equal(manifest_new("rolling", &m), 0);
        assert_int_equal(manifest_set_base_image(m, "https://example.com/rootfs.tar.xz"), 0);
        assert_int_equal(manifest_set_backend(m, "mock"), 0);
        assert_int_equal(manifest_add_package(m, "git"), 0);
        assert_int_equal(manifest_add_package(m, "vim"), 0);
        assert_int_equal(manifest_set_mount(m, "workspace", "./:/work"), 0);
        assert_int_equal(manifest_set_mount(m, "workspace", "~/src:/src"), 0);

        assert_string_equal(m->base_image, "https://example.com/rootfs.tar.xz");
        assert_string_equal(m->runtime_backend, "mock");
        assert_int_equal(m->n_system_packages, 2);
        assert_string_equal(m->system_packages[1], "vim");
        assert_null(m->system_packages[2]);
        assert_int_equal(m->n_mounts, 1);
        assert_string_equal(m->mounts[0].spec, "~/src:/src");
}

static void test_write_file_no_replace(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_free_ char *dir = make_temp_dir(), *path = kp_path_join(dir, "karapace.toml");
        _cleanup_manifest_free_ Manifest *m = NULL, *read_back = NULL;

        assert_int_equal(manifest_new("debian", &m), 0);
        assert_int_equal(manifest_write_file(m, path, 0, &err), 0);
        assert_int_equal(manifest_parse_file(path, &read_back, &err), 0);
        assert_string_equal(read_back->base_image, "debian");

        assert_int_equal(manifest_write_file(m, path, KP_ATOMIC_NO_REPLACE, &err), -EEXIST);
        assert_int_equal(err.kind, KP_ERROR_MANIFEST);
        assert_non_null(strstr(err.message, "failed to write manifest file: "));

        assert_int_equal(kp_rm_rf(dir), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_full_manifest),
                cmocka_unit_test(test_parse_minimal_defaults),
                cmocka_unit_test(test_parse_inline_tables),
                cmocka_unit_test(test_parse_unknown_key_in_base),
                cmocka_unit_test(test_parse_unknown_keys_everywhere),
                cmocka_unit_test(test_parse_mounts_free_form),
                cmocka_unit_test(test_parse_wrong_types),
                cmocka_unit_test(test_parse_missing_required),
                cmocka_unit_test(test_parse_integer_ranges),
                cmocka_unit_test(test_parse_u32_max_version),
                cmocka_unit_test(test_parse_syntax_error_location),
                cmocka_unit_test(test_parse_duplicate_key_rejected),
                cmocka_unit_test(test_parse_nul_in_string),
                cmocka_unit_test(test_parse_size_limit),
                cmocka_unit_test(test_parse_file_missing),
                cmocka_unit_test(test_parse_file_ok_and_too_large),
                cmocka_unit_test(test_write_new_default),
                cmocka_unit_test(test_write_full),
                cmocka_unit_test(test_write_round_trip),
                cmocka_unit_test(test_write_escapes_strings),
                cmocka_unit_test(test_setters),
                cmocka_unit_test(test_write_file_no_replace),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
