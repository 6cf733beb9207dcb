/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "basic/fs-util.h"
#include "schema/identity.h"
#include "schema/lock.h"

#define FIXTURE_DIR KP_SOURCE_ROOT "/tests/fixtures/schema/"
#define MOCK_ROLLING_DIGEST "8f5a576f14f6a9d22f7b7c901865a89ceee954b235faa365a3631098b1a7019e"

static NormalizedManifest *normalize_text(const char *text) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_manifest_free_ Manifest *m = NULL;
        NormalizedManifest *n = NULL;

        if (manifest_parse(text, strlen(text), "karapace.toml", &m, &err) < 0 ||
            manifest_normalize(m, &n, &err) < 0)
                fail_msg("unexpected error: %s", err.message);
        return n;
}

/* PACKAGES: name, version pairs, NULL-terminated. */
static Lock *create_lock(const char *manifest, const char *digest, const char *const *packages) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_normalized_manifest_free_ NormalizedManifest *n = normalize_text(manifest);
        _cleanup_resolution_result_free_ ResolutionResult *res = NULL;
        Lock *lock = NULL;

        assert_int_equal(resolution_result_new(digest, &res), 0);
        for (size_t i = 0; packages && packages[i]; i += 2)
                assert_int_equal(resolution_result_add_package(res, packages[i], packages[i + 1]), 0);

        if (lock_create(n, res, &lock, &err) < 0)
                fail_msg("lock_create failed: %s", err.message);
        return lock;
}

static char *lock_text(const Lock *lock) {
        char *text = NULL;
        size_t len = 0;

        assert_int_equal(lock_to_toml(lock, &text, &len), 0);
        assert_int_equal(len, strlen(text));
        return text;
}

static Lock *parse_lock_ok(const char *text) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        Lock *lock = NULL;

        if (lock_parse(text, strlen(text), "karapace.lock", &lock, &err) < 0)
                fail_msg("unexpected lock parse error: %s", err.message);
        return lock;
}

static void expect_lock_parse_error(const char *text, const char *expected) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        Lock *lock = NULL;

        assert_int_equal(lock_parse(text, strlen(text), "karapace.lock", &lock, &err), -EINVAL);
        assert_null(lock);
        assert_int_equal(err.kind, KP_ERROR_LOCK);
        assert_string_equal(err.message, expected);
}

static char *read_fixture(const char *name) {
        _cleanup_free_ char *path = kp_path_join(FIXTURE_DIR, name);
        char *data = NULL;
        size_t len = 0;

        assert_non_null(path);
        assert_int_equal(kp_read_file_at(AT_FDCWD, path, 1 << 20, &data, &len), 0);
        return data;
}

static void test_lock_path_for_manifest(void **state) {
        static const struct {
                const char *manifest, *lock;
        } cases[] = {
                { "karapace.toml", "./karapace.lock" },
                { "./karapace.toml", "./karapace.lock" },
                { "proj/karapace.toml", "proj/karapace.lock" },
                { "/home/u/proj/other.toml", "/home/u/proj/karapace.lock" },
                { "/karapace.toml", "/karapace.lock" },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                _cleanup_free_ char *path = NULL;

                assert_int_equal(lock_path_for_manifest(cases[i].manifest, &path), 0);
                assert_string_equal(path, cases[i].lock);
        }
}

static void test_create_sorts_packages(void **state) {
        static const char *const packages[] = {
                "git", "2.44.0-1", "clang", "17.0.6-1", "git", "2.43.0-1", NULL,
        };
        _cleanup_lock_free_ Lock *lock = create_lock(
                "manifest_version = 1\n[base]\nimage = \" rolling \"\n[system]\npackages = [\"git\", \"clang\"]\n"
                "[gui]\napps = [\"vlc\", \"code\"]\n[mounts]\nb = \"/tmp/b:/b\"\na = \"./a:/a\"\n",
                MOCK_ROLLING_DIGEST, packages);
        char id[KP_HASH_HEX_SIZE];

        assert_int_equal(lock->lock_version, 2);
        assert_string_equal(lock->base_image, "rolling");
        assert_string_equal(lock->base_image_digest, MOCK_ROLLING_DIGEST);
        assert_int_equal(lock->n_packages, 3);
        assert_string_equal(lock->packages[0].name, "clang");
        assert_string_equal(lock->packages[1].name, "git");
        assert_string_equal(lock->packages[1].version, "2.43.0-1");
        assert_string_equal(lock->packages[2].version, "2.44.0-1");
        assert_int_equal(lock->n_apps, 2);
        assert_string_equal(lock->apps[0], "code");
        assert_int_equal(lock->n_mounts, 2);
        assert_string_equal(lock->mounts[0].label, "a");
        assert_string_equal(lock->runtime_backend, "namespace");

        identity_env_id_compute(lock, id);
        assert_string_equal(lock->env_id, id);
        assert_int_equal(strlen(lock->short_id), 12);
        assert_true(strneq(lock->env_id, lock->short_id, 12));
}

static void test_create_repeatable(void **state) {
        static const char *const packages[] = { "curl", "8.0", "git", "2.0", NULL };
        static const char *const reversed[] = { "git", "2.0", "curl", "8.0", NULL };
        static const char manifest[] =
                "manifest_version = 1\n[base]\nimage = \"rolling\"\n[system]\npackages = [\"git\", \"curl\"]\n";
        _cleanup_lock_free_ Lock *first = create_lock(manifest, MOCK_ROLLING_DIGEST, packages);

        for (int i = 0; i < 100; i++) {
                _cleanup_lock_free_ Lock *again =
                        create_lock(manifest, MOCK_ROLLING_DIGEST, i % 2 ? reversed : packages);

                assert_string_equal(first->env_id, again->env_id);
        }
}

static void test_create_inputs_change_id(void **state) {
        static const char *const base_pkgs[] = { "git", "2.0", NULL };
        static const char *const other_version[] = { "git", "2.1", NULL };
        static const char base[] = "manifest_version = 1\n[base]\nimage = \"rolling\"\n";
        static const struct {
                const char *manifest;
                const char *digest;
                const char *const *packages;
        } variants[] = {
                { base, MOCK_ROLLING_DIGEST, base_pkgs },
                { base, MOCK_ROLLING_DIGEST, other_version },
                { base, "sha256:other", base_pkgs },
                { "manifest_version = 1\n[base]\nimage = \"rolling\"\n[hardware]\ngpu = true\n", MOCK_ROLLING_DIGEST,
                  base_pkgs },
                { "manifest_version = 1\n[base]\nimage = \"rolling\"\n[runtime]\nnetwork_isolation = true\n",
                  MOCK_ROLLING_DIGEST, base_pkgs },
                { "manifest_version = 1\n[base]\nimage = \"rolling\"\n[runtime.resource_limits]\ncpu_shares = 5\n",
                  MOCK_ROLLING_DIGEST, base_pkgs },
                { "manifest_version = 1\n[base]\nimage = \"rolling\"\n[runtime.resource_limits]\n"
                  "memory_limit_mb = 5\n",
                  MOCK_ROLLING_DIGEST, base_pkgs },
                { "manifest_version = 1\n[base]\nimage = \"rolling\"\n[runtime]\nbackend = \"mock\"\n",
                  MOCK_ROLLING_DIGEST, base_pkgs },
                { "manifest_version = 1\n[base]\nimage = \"rolling\"\n[gui]\napps = [\"vlc\"]\n", MOCK_ROLLING_DIGEST,
                  base_pkgs },
        };
        Lock *locks[sizeof(variants) / sizeof(variants[0])];

        for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
                locks[i] = create_lock(variants[i].manifest, variants[i].digest, variants[i].packages);
                for (size_t j = 0; j < i; j++)
                        if (streq(locks[i]->env_id, locks[j]->env_id))
                                fail_msg("variants %zu and %zu have the same env_id", j, i);
        }

        for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++)
                lock_free(locks[i]);
}

static void test_write_two_packages_layout(void **state) {
        static const char *const packages[] = { "git", "2.44.0-1", "clang", "17.0.6-1", NULL };
        _cleanup_lock_free_ Lock *lock = create_lock(
                "manifest_version = 1\n[base]\nimage = \"rolling\"\n[system]\npackages = [\"git\", \"clang\"]\n",
                MOCK_ROLLING_DIGEST, packages);
        _cleanup_free_ char *text = lock_text(lock), *original = read_fixture("original-two-packages.lock");

        /* The fixture is a file in the original tool's layout with an env_id
         * computed by b3sum, so this checks bytes and identity at once. */
        assert_string_equal(text, original);
}

static void test_write_zero_packages_layout(void **state) {
        _cleanup_lock_free_ Lock *lock = create_lock(
                "manifest_version = 1\n[base]\nimage = \"rolling\"\n[gui]\napps = [\"firefox\"]\n"
                "[runtime]\nbackend = \"mock\"\n",
                "sha256:abc123", NULL);
        _cleanup_free_ char *text = lock_text(lock), *expected = NULL;

        assert_true(asprintf(&expected,
                             "lock_version = 2\n"
                             "env_id = \"%s\"\n"
                             "short_id = \"%s\"\n"
                             "base_image = \"rolling\"\n"
                             "base_image_digest = \"sha256:abc123\"\n"
                             "resolved_packages = []\n"
                             "resolved_apps = [\"firefox\"]\n"
                             "runtime_backend = \"mock\"\n"
                             "hardware_gpu = false\n"
                             "hardware_audio = false\n"
                             "network_isolation = false\n"
                             "mounts = []\n",
                             lock->env_id, lock->short_id) > 0);
        assert_string_equal(text, expected);
}

static void test_write_mounts_and_limits_layout(void **state) {
        static const char *const packages[] = { "curl", "8.6.0-1", NULL };
        _cleanup_lock_free_ Lock *lock = create_lock(
                "manifest_version = 1\n[base]\nimage = \"rolling\"\n[system]\npackages = [\"curl\"]\n"
                "[gui]\napps = [\"firefox\", \"code\"]\n[hardware]\ngpu = true\n"
                "[mounts]\nsrc = \"~/projects:/workspace\"\ndocs = \"/home/user/my \\\"docs\\\":/docs\"\n"
                "[runtime]\nnetwork_isolation = true\n"
                "[runtime.resource_limits]\ncpu_shares = 512\nmemory_limit_mb = 2048\n",
                MOCK_ROLLING_DIGEST, packages);
        _cleanup_free_ char *text = lock_text(lock);

        /* Same data as original-full.lock, whose env_id comes from b3sum. */
        assert_string_equal(lock->env_id, "26ac64f89b2413c165dd322aab5c92b91213b9533c81845566b619873e03c8f8");
        assert_string_equal(text,
                            "lock_version = 2\n"
                            "env_id = \"26ac64f89b2413c165dd322aab5c92b91213b9533c81845566b619873e03c8f8\"\n"
                            "short_id = \"26ac64f89b24\"\n"
                            "base_image = \"rolling\"\n"
                            "base_image_digest = \"" MOCK_ROLLING_DIGEST "\"\n"
                            "resolved_apps = [\n"
                            "    \"code\",\n"
                            "    \"firefox\",\n"
                            "]\n"
                            "runtime_backend = \"namespace\"\n"
                            "hardware_gpu = true\n"
                            "hardware_audio = false\n"
                            "network_isolation = true\n"
                            "cpu_shares = 512\n"
                            "memory_limit_mb = 2048\n"
                            "\n"
                            "[[resolved_packages]]\n"
                            "name = \"curl\"\n"
                            "version = \"8.6.0-1\"\n"
                            "\n"
                            "[[mounts]]\n"
                            "label = \"docs\"\n"
                            "host_path = \"/home/user/my \\\"docs\\\"\"\n"
                            "container_path = \"/docs\"\n"
                            "\n"
                            "[[mounts]]\n"
                            "label = \"src\"\n"
                            "host_path = \"~/projects\"\n"
                            "container_path = \"/workspace\"\n");
}

static void assert_locks_equal(const Lock *a, const Lock *b) {
        assert_int_equal(a->lock_version, b->lock_version);
        assert_string_equal(a->env_id, b->env_id);
        assert_string_equal(a->short_id, b->short_id);
        assert_string_equal(a->base_image, b->base_image);
        assert_string_equal(a->base_image_digest, b->base_image_digest);
        assert_int_equal(a->n_packages, b->n_packages);
        for (size_t i = 0; i < a->n_packages; i++) {
                assert_string_equal(a->packages[i].name, b->packages[i].name);
                assert_string_equal(a->packages[i].version, b->packages[i].version);
        }
        assert_int_equal(a->n_apps, b->n_apps);
        for (size_t i = 0; i < a->n_apps; i++)
                assert_string_equal(a->apps[i], b->apps[i]);
        assert_string_equal(a->runtime_backend, b->runtime_backend);
        assert_int_equal(a->hardware_gpu, b->hardware_gpu);
        assert_int_equal(a->hardware_audio, b->hardware_audio);
        assert_int_equal(a->network_isolation, b->network_isolation);
        assert_int_equal(a->n_mounts, b->n_mounts);
        for (size_t i = 0; i < a->n_mounts; i++) {
                assert_string_equal(a->mounts[i].label, b->mounts[i].label);
                assert_string_equal(a->mounts[i].host_path, b->mounts[i].host_path);
                assert_string_equal(a->mounts[i].container_path, b->mounts[i].container_path);
        }
        assert_int_equal(a->limits.has_cpu_shares, b->limits.has_cpu_shares);
        assert_int_equal(a->limits.cpu_shares, b->limits.cpu_shares);
        assert_int_equal(a->limits.has_memory_limit_mb, b->limits.has_memory_limit_mb);
        assert_int_equal(a->limits.memory_limit_mb, b->limits.memory_limit_mb);
}

static void test_write_read_round_trip(void **state) {
        static const char *const packages[] = { "b", "1", "a", "2", NULL };
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_lock_free_ Lock *lock = create_lock(
                "manifest_version = 1\n[base]\nimage = \"debian\"\n[system]\npackages = [\"a\", \"b\"]\n"
                "[hardware]\naudio = true\n[mounts]\nx = \"/tmp/x:/x\"\n[runtime.resource_limits]\ncpu_shares = 3\n",
                "d1", packages);
        _cleanup_lock_free_ Lock *back = NULL;
        _cleanup_free_ char *dir = strdup("/tmp/kp-test-lock-XXXXXX"), *path = NULL;
        _cleanup_strv_free_ char **names = NULL;
        size_t n_names = 0;

        assert_non_null(mkdtemp(dir));
        path = kp_path_join(dir, LOCK_FILE_NAME);
        assert_int_equal(lock_write(lock, path, &err), 0);
        assert_int_equal(lock_read(path, &back, &err), 0);
        assert_locks_equal(lock, back);
        assert_int_equal(lock_verify_integrity(back, &err), 0);

        /* The atomic write leaves only the target behind. */
        assert_int_equal(kp_dir_list_at(AT_FDCWD, dir, false, false, &names, &n_names), 0);
        assert_int_equal(n_names, 1);
        assert_string_equal(names[0], LOCK_FILE_NAME);

        assert_int_equal(kp_rm_rf(dir), 0);
}

static void test_read_original_two_packages(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_lock_free_ Lock *lock = NULL;

        assert_int_equal(lock_read(FIXTURE_DIR "original-two-packages.lock", &lock, &err), 0);
        assert_string_equal(lock->env_id, "82e8813f0beea312b872250896b20f567fe024c916f746a129914688e8390a04");
        assert_string_equal(lock->short_id, "82e8813f0bee");
        assert_string_equal(lock->base_image, "rolling");
        assert_int_equal(lock->n_packages, 2);
        assert_string_equal(lock->packages[0].name, "clang");
        assert_string_equal(lock->packages[0].version, "17.0.6-1");
        assert_string_equal(lock->packages[1].name, "git");
        assert_int_equal(lock->n_apps, 0);
        assert_int_equal(lock->n_mounts, 0);
        assert_false(lock->limits.has_cpu_shares);
        assert_int_equal(lock_verify_integrity(lock, &err), 0);
}

static void test_read_original_full(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_lock_free_ Lock *lock = NULL;

        assert_int_equal(lock_read(FIXTURE_DIR "original-full.lock", &lock, &err), 0);
        assert_int_equal(lock->n_apps, 2);
        assert_string_equal(lock->apps[1], "firefox");
        assert_true(lock->hardware_gpu);
        assert_false(lock->hardware_audio);
        assert_true(lock->network_isolation);
        assert_int_equal(lock->limits.cpu_shares, 512);
        assert_int_equal(lock->limits.memory_limit_mb, 2048);
        assert_int_equal(lock->n_mounts, 2);
        /* A literal string, as the original writer emits for values with '"'. */
        assert_string_equal(lock->mounts[0].host_path, "/home/user/my \"docs\"");
        assert_string_equal(lock->mounts[1].label, "src");
        assert_int_equal(lock_verify_integrity(lock, &err), 0);
}

static void test_read_ignores_unknown_keys(void **state) {
        _cleanup_free_ char *original = read_fixture("original-two-packages.lock"), *text = NULL;
        _cleanup_lock_free_ Lock *lock = NULL;

        assert_true(asprintf(&text, "generator = \"something\"\n%s\n[extra]\nx = 1\n", original) > 0);
        lock = parse_lock_ok(text);
        assert_string_equal(lock->runtime_backend, "namespace");
}

static void test_read_reordered_and_inline(void **state) {
        _cleanup_lock_free_ Lock *lock = parse_lock_ok(
                "resolved_packages = [{ name = \"git\", version = \"1\" }]\n"
                "network_isolation = false\nhardware_audio = false\nhardware_gpu = false\n"
                "runtime_backend = \"mock\"\nresolved_apps = []\nbase_image_digest = \"d\"\n"
                "base_image = \"r\"\nshort_id = \"s\"\nenv_id = \"e\"\nlock_version = 2\n");

        assert_int_equal(lock->n_packages, 1);
        assert_string_equal(lock->packages[0].version, "1");
        assert_int_equal(lock->n_mounts, 0);
}

#define VALID_HEAD                                              \
        "lock_version = 2\nenv_id = \"e\"\nshort_id = \"s\"\n"  \
        "base_image = \"r\"\nbase_image_digest = \"d\"\n"
#define VALID_TAIL                                                                      \
        "resolved_apps = []\nruntime_backend = \"mock\"\nhardware_gpu = false\n"       \
        "hardware_audio = false\nnetwork_isolation = false\n"

static void test_read_errors(void **state) {
        expect_lock_parse_error("lock_version = 3\n" VALID_TAIL,
                                "lock file parse error: karapace.lock:1:16: unsupported lock_version: 3, "
                                "expected 2");
        expect_lock_parse_error("env_id = \"e\"\n",
                                "lock file parse error: karapace.lock: missing required key 'lock_version'");
        expect_lock_parse_error(VALID_HEAD VALID_TAIL,
                                "lock file parse error: karapace.lock: missing required key 'resolved_packages'");
        expect_lock_parse_error(VALID_HEAD "resolved_packages = []\n" "runtime_backend = \"mock\"\n",
                                "lock file parse error: karapace.lock: missing required key 'resolved_apps'");
        expect_lock_parse_error(VALID_HEAD "resolved_packages = [\"git\"]\n" VALID_TAIL,
                                "lock file parse error: karapace.lock:6:22: 'resolved_packages[0]' must be a "
                                "table, found string");
        expect_lock_parse_error(VALID_HEAD VALID_TAIL "[[resolved_packages]]\nname = \"git\"\n",
                                "lock file parse error: karapace.lock: missing required key "
                                "'resolved_packages[0].version'");
        expect_lock_parse_error(VALID_HEAD "resolved_packages = []\nresolved_apps = []\n"
                                "runtime_backend = \"mock\"\nhardware_gpu = \"no\"\n",
                                "lock file parse error: karapace.lock:9:16: 'hardware_gpu' must be a boolean, "
                                "found string");
        expect_lock_parse_error(VALID_HEAD "resolved_packages = []\n" VALID_TAIL "cpu_shares = -2\n",
                                "lock file parse error: karapace.lock:12:14: 'cpu_shares' is out of range: -2 "
                                "(expected 0 to 18446744073709551615)");
        expect_lock_parse_error(VALID_HEAD "resolved_packages = []\n" VALID_TAIL "[[mounts]]\nlabel = \"x\"\n"
                                "host_path = \"/a\"\n",
                                "lock file parse error: karapace.lock: missing required key "
                                "'mounts[0].container_path'");
}

static void test_read_syntax_error_location(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        const char *text = "lock_version = 2\n\nenv_id = \n";
        Lock *lock = NULL;

        assert_int_equal(lock_parse(text, strlen(text), "x/karapace.lock", &lock, &err), -EINVAL);
        assert_int_equal(err.kind, KP_ERROR_LOCK);
        /* The parser's own text follows the location. */
        assert_true(strneq(err.message, "lock file parse error: x/karapace.lock:3:10: ", 45));
        assert_true(strlen(err.message) > 45);
}

static void test_read_missing_file(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        Lock *lock = NULL;

        assert_int_equal(lock_read("/nonexistent-dir/karapace.lock", &lock, &err), -ENOENT);
        assert_int_equal(err.kind, KP_ERROR_LOCK);
        assert_string_equal(err.message, "lock file I/O error: /nonexistent-dir/karapace.lock: "
                                         "No such file or directory");
}

static void test_integrity_detects_tampering(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_free_ char *original = read_fixture("original-two-packages.lock"), *expected = NULL;
        _cleanup_lock_free_ Lock *lock = parse_lock_ok(original);
        char real[KP_HASH_HEX_SIZE];

        memcpy(real, lock->env_id, KP_HASH_HEX_SIZE);
        lock->env_id[0] = lock->env_id[0] == '0' ? '1' : '0';
        assert_int_equal(lock_verify_integrity(lock, &err), -EBADMSG);
        assert_int_equal(err.kind, KP_ERROR_LOCK);
        assert_true(asprintf(&expected, "lock file env_id mismatch: lock has '%s', recomputed '%s'", lock->env_id,
                             real) > 0);
        assert_string_equal(err.message, expected);

        /* A changed field is caught the same way. */
        memcpy(lock->env_id, real, KP_HASH_HEX_SIZE);
        free(lock->packages[1].version);
        lock->packages[1].version = strdup("2.45.0-1");
        assert_int_equal(lock_verify_integrity(lock, &err), -EBADMSG);
}

static void expect_drift(const Lock *lock, const char *manifest, const char *expected) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_normalized_manifest_free_ NormalizedManifest *n = normalize_text(manifest);

        if (!expected) {
                if (lock_verify_manifest_intent(lock, n, &err) < 0)
                        fail_msg("unexpected drift: %s", err.message);
                return;
        }
        assert_int_equal(lock_verify_manifest_intent(lock, n, &err), -EINVAL);
        assert_int_equal(err.kind, KP_ERROR_LOCK);
        assert_string_equal(err.message, expected);
}

static void test_manifest_drift(void **state) {
        static const char *const packages[] = { "git", "1", "vim", "2", NULL };
        _cleanup_lock_free_ Lock *lock = create_lock(
                "manifest_version = 1\n[base]\nimage = \"rolling\"\n[system]\npackages = [\"git\", \"vim\"]\n",
                MOCK_ROLLING_DIGEST, packages);

        expect_drift(lock, "manifest_version = 1\n[base]\nimage = \"rolling\"\n[system]\npackages = [\"git\"]\n",
                     NULL);
        expect_drift(lock,
                     "manifest_version = 1\n[base]\nimage = \"rolling\"\n[gui]\napps = [\"x\"]\n"
                     "[runtime]\nnetwork_isolation = true\n[mounts]\nm = \"/tmp:/t\"\n",
                     NULL);
        expect_drift(lock, "manifest_version = 1\n[base]\nimage = \"debian\"\n[runtime]\nbackend = \"mock\"\n",
                     "lock file manifest drift: base image changed: lock has 'rolling', manifest has 'debian'");
        expect_drift(lock, "manifest_version = 1\n[base]\nimage = \"rolling\"\n[runtime]\nbackend = \"mock\"\n",
                     "lock file manifest drift: runtime backend changed: lock has 'namespace', manifest has "
                     "'mock'");
        expect_drift(lock,
                     "manifest_version = 1\n[base]\nimage = \"rolling\"\n[system]\npackages = [\"git\", \"tmux\"]\n"
                     "[hardware]\ngpu = true\n",
                     "lock file manifest drift: package 'tmux' is in manifest but not in lock file. Run "
                     "'karapace build' to re-resolve.");
        expect_drift(lock, "manifest_version = 1\n[base]\nimage = \"rolling\"\n[hardware]\naudio = true\n",
                     "lock file manifest drift: hardware policy changed. Run 'karapace build' to re-resolve.");
}

static void test_write_limit_out_of_range(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_lock_free_ Lock *lock =
                create_lock("manifest_version = 1\n[base]\nimage = \"r\"\n", "d", NULL);
        char *text = NULL;
        size_t len = 0;

        lock->limits.has_memory_limit_mb = true;
        lock->limits.memory_limit_mb = UINT64_MAX;
        assert_int_equal(lock_to_toml(lock, &text, &len), -ERANGE);
        assert_int_equal(lock_write(lock, "/tmp/kp-test-lock-never-written", &err), -ERANGE);
        assert_true(strneq(err.message, "lock file serialize error: ", 27));
        assert_false(kp_path_exists_at(AT_FDCWD, "/tmp/kp-test-lock-never-written"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_lock_path_for_manifest),
                cmocka_unit_test(test_create_sorts_packages),
                cmocka_unit_test(test_create_repeatable),
                cmocka_unit_test(test_create_inputs_change_id),
                cmocka_unit_test(test_write_two_packages_layout),
                cmocka_unit_test(test_write_zero_packages_layout),
                cmocka_unit_test(test_write_mounts_and_limits_layout),
                cmocka_unit_test(test_write_read_round_trip),
                cmocka_unit_test(test_read_original_two_packages),
                cmocka_unit_test(test_read_original_full),
                cmocka_unit_test(test_read_ignores_unknown_keys),
                cmocka_unit_test(test_read_reordered_and_inline),
                cmocka_unit_test(test_read_errors),
                cmocka_unit_test(test_read_syntax_error_location),
                cmocka_unit_test(test_read_missing_file),
                cmocka_unit_test(test_integrity_detects_tampering),
                cmocka_unit_test(test_manifest_drift),
                cmocka_unit_test(test_write_limit_out_of_range),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
