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

/* Lock data built directly, as the original tool's golden tests do. */
typedef struct IdentityCase {
        const char *packages[3][2];     /* {name, version}, NULL-terminated */
        const char *apps[3];
        bool gpu, audio, network_isolation;
        const char *mount[3];           /* label, host, container, or NULLs */
        const char *backend;
        int64_t cpu, mem;               /* -1 for absent */
        const char *expected;
} IdentityCase;

static Lock *lock_from_case(const IdentityCase *c) {
        Lock *lock = calloc(1, sizeof(Lock));

        assert_non_null(lock);
        lock->lock_version = LOCK_VERSION;
        lock->base_image = strdup("rolling");
        lock->base_image_digest = strdup("sha256:abc123");
        lock->runtime_backend = strdup(c->backend);

        for (size_t i = 0; c->packages[i][0]; i++) {
                lock->packages = realloc(lock->packages, (i + 1) * sizeof(LockedPackage));
                assert_non_null(lock->packages);
                lock->packages[i].name = strdup(c->packages[i][0]);
                lock->packages[i].version = strdup(c->packages[i][1]);
                lock->n_packages++;
        }
        for (size_t i = 0; c->apps[i]; i++)
                assert_int_equal(kp_strv_push(&lock->apps, &lock->n_apps, strdup(c->apps[i])), 0);

        lock->hardware_gpu = c->gpu;
        lock->hardware_audio = c->audio;
        lock->network_isolation = c->network_isolation;
        if (c->mount[0]) {
                lock->mounts = calloc(1, sizeof(MountSpec));
                assert_non_null(lock->mounts);
                lock->mounts[0].label = strdup(c->mount[0]);
                lock->mounts[0].host_path = strdup(c->mount[1]);
                lock->mounts[0].container_path = strdup(c->mount[2]);
                lock->n_mounts = 1;
        }
        lock->limits.has_cpu_shares = c->cpu >= 0;
        lock->limits.cpu_shares = c->cpu >= 0 ? (uint64_t) c->cpu : 0;
        lock->limits.has_memory_limit_mb = c->mem >= 0;
        lock->limits.memory_limit_mb = c->mem >= 0 ? (uint64_t) c->mem : 0;
        return lock;
}

static void test_env_id_golden_values(void **state) {
        static const IdentityCase cases[] = {
                { .backend = "mock", .cpu = -1, .mem = -1,
                  .expected = "aabaeaeda3b27db42054f64719a16afd49e72b4fc6e8493e2fce9d862d240806" },
                { .packages = { { "curl", "7.88.1" }, { "git", "2.39.2" } }, .backend = "namespace", .cpu = -1,
                  .mem = -1, .expected = "dfea3163e5925ee788a97fae24d9ec08f774c29c64c9180befe771d877e62f18" },
                { .packages = { { "vim", "9.0.1" } }, .gpu = true, .audio = true,
                  .mount = { "home", "/home/user", "/home" }, .backend = "namespace", .cpu = -1, .mem = -1,
                  .expected = "d6ca89829da264240d0508bd58bffc28c2014f643426bbecff3db5a525793546" },
                { .backend = "mock", .network_isolation = true, .cpu = -1, .mem = -1,
                  .expected = "dcdae57b3749d0aa2d3948de9fde99ceedad34deaef9b618c2d9f939dac25596" },
                { .backend = "mock", .cpu = 1024, .mem = -1,
                  .expected = "d966f9ee1c5e8959ae29d0483c45fc66813ec47201aa9f26c6371336b3dfd252" },
                { .backend = "mock", .cpu = -1, .mem = 4096,
                  .expected = "74823889e305b7b28394508b5813568faf9c814b4ef8f1f97e8d3dcd9a7a6bae" },
                { .apps = { "firefox", "code" }, .backend = "mock", .cpu = -1, .mem = -1,
                  .expected = "1aaf066c7b1e18178e838b0cf33c0bc67cd7401e586df826daa9033178ccfdf3" },
                { .packages = { { "curl", "7.88.1" } }, .apps = { "vlc" }, .gpu = true, .audio = true,
                  .mount = { "data", "/mnt/data", "/data" }, .backend = "namespace", .network_isolation = true,
                  .cpu = 2048, .mem = 8192,
                  .expected = "44f9547036b4f24f8fe32844f2672804020c6260e29b7f72e17fd29d441ebc27" },
                { .gpu = true, .backend = "mock", .cpu = -1, .mem = -1,
                  .expected = "f761765ba48777bcc64c2cd5169cb44be27bcd2d6587c64c28bc98fa0964b266" },
                { .audio = true, .backend = "mock", .cpu = -1, .mem = -1,
                  .expected = "428d91b41a03c1625e01bab1278ef231fb186833bff80a6bdc8227a2276f4318" },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                _cleanup_lock_free_ Lock *lock = lock_from_case(&cases[i]);
                char id[KP_HASH_HEX_SIZE];

                identity_env_id_compute(lock, id);
                if (!streq(id, cases[i].expected))
                        fail_msg("case %zu: got %s, expected %s", i, id, cases[i].expected);
        }
}

static void test_env_id_ignores_image_name(void **state) {
        static const IdentityCase c = { .backend = "mock", .cpu = -1, .mem = -1 };
        _cleanup_lock_free_ Lock *a = lock_from_case(&c), *b = lock_from_case(&c);
        char id_a[KP_HASH_HEX_SIZE], id_b[KP_HASH_HEX_SIZE];

        free(b->base_image);
        b->base_image = strdup("tumbleweed");
        b->lock_version = 7;
        identity_env_id_compute(a, id_a);
        identity_env_id_compute(b, id_b);
        assert_string_equal(id_a, id_b);
}

static NormalizedManifest *normalize_text(const char *text) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_manifest_free_ Manifest *m = NULL;
        NormalizedManifest *n = NULL;

        if (manifest_parse(text, strlen(text), "karapace.toml", &m, &err) < 0 ||
            manifest_normalize(m, &n, &err) < 0)
                fail_msg("unexpected error: %s", err.message);
        return n;
}

/* The mock backend's resolution: digest BLAKE3("mock-image:<image>"), every
 * package at version 0.0.0-mock. */
static void mock_env_id(const char *text, char id[KP_HASH_HEX_SIZE]) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_normalized_manifest_free_ NormalizedManifest *n = normalize_text(text);
        _cleanup_resolution_result_free_ ResolutionResult *res = NULL;
        _cleanup_lock_free_ Lock *lock = NULL;
        _cleanup_free_ char *input = NULL;
        char digest[KP_HASH_HEX_SIZE];

        assert_true(asprintf(&input, "mock-image:%s", n->base_image) > 0);
        kp_hash_str_hex(input, digest);
        assert_int_equal(resolution_result_new(digest, &res), 0);
        for (size_t i = 0; i < n->n_system_packages; i++)
                assert_int_equal(resolution_result_add_package(res, n->system_packages[i], "0.0.0-mock"), 0);

        assert_int_equal(lock_create(n, res, &lock, &err), 0);
        assert_string_equal(lock->base_image_digest, digest);
        memcpy(id, lock->env_id, KP_HASH_HEX_SIZE);
}

static void test_env_id_mock_end_to_end(void **state) {
        char id[KP_HASH_HEX_SIZE];

        mock_env_id("manifest_version = 1\n[base]\nimage = \"rolling\"\n[runtime]\nbackend = \"mock\"\n", id);
        assert_string_equal(id, "a6eed69a452afb2af460611c937db841dd73d43e864eb5b12f994bf76e2e0766");

        mock_env_id("manifest_version = 1\n[base]\nimage = \"rolling\"\n[system]\npackages = [\"git\"]\n"
                    "[runtime]\nbackend = \"mock\"\n",
                    id);
        assert_string_equal(id, "78232f730f707cdbb45a92090780c08e7f8b6c396b936bd4d57e001f0354a1e3");

        mock_env_id("manifest_version = 1\n[base]\nimage = \"rolling\"\n[system]\npackages = [\"git\", \"clang\"]\n"
                    "[runtime]\nbackend = \"mock\"\n",
                    id);
        assert_string_equal(id, "5e07b4d895397108c26d04cee57fc26755b8903b2dd5a59eab534ca1a62fcf1b");
}

static void test_mock_digest_of_rolling(void **state) {
        char digest[KP_HASH_HEX_SIZE];

        kp_hash_str_hex("mock-image:rolling", digest);
        assert_string_equal(digest, "8f5a576f14f6a9d22f7b7c901865a89ceee954b235faa365a3631098b1a7019e");
}

static void preliminary(const char *text, char id[KP_HASH_HEX_SIZE]) {
        _cleanup_normalized_manifest_free_ NormalizedManifest *n = normalize_text(text);

        assert_int_equal(identity_preliminary_compute(n, id), 0);
}

static void test_preliminary_golden(void **state) {
        char id[KP_HASH_HEX_SIZE];

        preliminary("manifest_version = 1\n[base]\nimage = \"rolling\"\n[runtime]\nbackend = \"mock\"\n", id);
        assert_string_equal(id, "d1730aa8582ba850c89a8205dac042b785eed48715681a607a99a6c733b87853");
}

static void test_preliminary_package_order_irrelevant(void **state) {
        char a[KP_HASH_HEX_SIZE], b[KP_HASH_HEX_SIZE];

        preliminary("manifest_version = 1\n[base]\nimage = \"r\"\n[system]\npackages = [\"git\", \"clang\"]\n", a);
        preliminary("manifest_version = 1\n[base]\nimage = \"r\"\n[system]\npackages = [\"clang\", \"git\"]\n", b);
        assert_string_equal(a, b);
}

static void test_preliminary_inputs_matter(void **state) {
        static const char *const variants[] = {
                "manifest_version = 1\n[base]\nimage = \"r\"\n",
                "manifest_version = 1\n[base]\nimage = \"r2\"\n",
                "manifest_version = 1\n[base]\nimage = \"r\"\n[system]\npackages = [\"git\"]\n",
                "manifest_version = 1\n[base]\nimage = \"r\"\n[system]\npackages = [\"vim\"]\n",
                "manifest_version = 1\n[base]\nimage = \"r\"\n[runtime]\nbackend = \"oci\"\n",
                "manifest_version = 1\n[base]\nimage = \"r\"\n[gui]\napps = [\"x\"]\n",
                "manifest_version = 1\n[base]\nimage = \"r\"\n[hardware]\ngpu = true\n",
                "manifest_version = 1\n[base]\nimage = \"r\"\n[hardware]\naudio = true\n",
                "manifest_version = 1\n[base]\nimage = \"r\"\n[mounts]\na = \"/tmp:/t\"\n",
                "manifest_version = 1\n[base]\nimage = \"r\"\n[runtime]\nnetwork_isolation = true\n",
                "manifest_version = 1\n[base]\nimage = \"r\"\n[runtime.resource_limits]\ncpu_shares = 1\n",
                "manifest_version = 1\n[base]\nimage = \"r\"\n[runtime.resource_limits]\nmemory_limit_mb = 1\n",
        };
        char ids[sizeof(variants) / sizeof(variants[0])][KP_HASH_HEX_SIZE];

        for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
                preliminary(variants[i], ids[i]);
                for (size_t j = 0; j < i; j++)
                        if (streq(ids[i], ids[j]))
                                fail_msg("variants %zu and %zu have the same id", j, i);
        }
}

static void test_short_id(void **state) {
        char id[KP_HASH_HEX_SIZE], short_id[IDENTITY_SHORT_ID_SIZE];

        preliminary("manifest_version = 1\n[base]\nimage = \"rolling\"\n", id);
        identity_short_id(id, short_id);
        assert_int_equal(strlen(short_id), 12);
        assert_true(strneq(id, short_id, 12));

        identity_short_id("abc", short_id);
        assert_string_equal(short_id, "abc");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_env_id_golden_values),
                cmocka_unit_test(test_env_id_ignores_image_name),
                cmocka_unit_test(test_env_id_mock_end_to_end),
                cmocka_unit_test(test_mock_digest_of_rolling),
                cmocka_unit_test(test_preliminary_golden),
                cmocka_unit_test(test_preliminary_package_order_irrelevant),
                cmocka_unit_test(test_preliminary_inputs_matter),
                cmocka_unit_test(test_short_id),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
