/* SPDX-License-Identifier: MIT */
/* Environment metadata: checksums, states, names, listing. */
#include <fcntl.h>
#include <time.h>

#include "test-store-helpers.h"
#include "store/store-metadata.h"

static char *dep1_strv[] = { (char *) "dep1", NULL };

/* Metadata with borrowed strings; do not free it. */
static EnvMetadata meta_make(const char *env_id, EnvState state, uint32_t ref_count) {
        return (EnvMetadata) {
                .env_id = (char *) env_id,
                .short_id = (char *) env_id,
                .state = state,
                .manifest_hash = (char *) "mhash",
                .base_layer = (char *) "base1",
                .dependency_layers = dep1_strv,
                .n_dependency_layers = 1,
                .created_at = (char *) "2025-01-01T00:00:00Z",
                .updated_at = (char *) "2025-01-01T00:00:00Z",
                .ref_count = ref_count,
        };
}

static void test_checksum_vector(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        EnvMetadata m = meta_make("abc123def456", ENV_STATE_DEFINED, 1);
        char sum[KP_HASH_HEX_SIZE];

        assert_store_ok(env_metadata_compute_checksum(&m, sum, &err));
        assert_string_equal(sum, "1aa97384399e11440fb558c5ff416545cf8c9faf106e611bf4ad3fbc8ac6d46e");
}

static void test_json_member_order(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_free_ char *json = NULL;
        EnvMetadata m = meta_make("abc123def456", ENV_STATE_BUILT, 3);
        const char *expected =
                "{\n"
                "  \"env_id\": \"abc123def456\",\n"
                "  \"short_id\": \"abc123def456\",\n"
                "  \"name\": null,\n"
                "  \"state\": \"Built\",\n"
                "  \"manifest_hash\": \"mhash\",\n"
                "  \"base_layer\": \"base1\",\n"
                "  \"dependency_layers\": [\n"
                "    \"dep1\"\n"
                "  ],\n"
                "  \"policy_layer\": null,\n"
                "  \"created_at\": \"2025-01-01T00:00:00Z\",\n"
                "  \"updated_at\": \"2025-01-01T00:00:00Z\",\n"
                "  \"ref_count\": 3,\n"
                "  \"checksum\": \"c\"\n"
                "}";

        assert_store_ok(env_metadata_to_json(&m, "c", &json, NULL, &err));
        assert_string_equal(json, expected);
}

static void test_put_get_embeds_checksum(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_env_metadata_free_ EnvMetadata *got = NULL;
        _cleanup_free_ char *file = NULL;
        char id[KP_HASH_HEX_SIZE], rel[128], sum[KP_HASH_HEX_SIZE];
        EnvMetadata m;

        test_id("env", id);
        m = meta_make(id, ENV_STATE_BUILT, 1);
        m.checksum = (char *) "ignored-by-put";
        assert_store_ok(store_metadata_put(t->s, &m, &err));

        snprintf(rel, sizeof(rel), "store/metadata/%s", id);
        file = test_read_file(t, rel);
        assert_store_ok(env_metadata_compute_checksum(&m, sum, &err));
        assert_non_null(strstr(file, sum));
        assert_null(strstr(file, "ignored-by-put"));

        assert_store_ok(store_metadata_get(t->s, id, &got, &err));
        assert_string_equal(got->env_id, id);
        assert_int_equal(got->state, ENV_STATE_BUILT);
        assert_string_equal(got->manifest_hash, "mhash");
        assert_string_equal(got->base_layer, "base1");
        assert_int_equal(got->n_dependency_layers, 1);
        assert_string_equal(got->dependency_layers[0], "dep1");
        assert_null(got->name);
        assert_null(got->policy_layer);
        assert_int_equal(got->ref_count, 1);
        assert_string_equal(got->checksum, sum);
}

static void test_get_missing(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        EnvMetadata *got = NULL;
        char id[KP_HASH_HEX_SIZE], expected[200];

        test_id("nobody", id);
        assert_int_equal(store_metadata_get(t->s, id, &got, &err), -ENOENT);
        assert_int_equal(err.kind, KP_ERROR_NOT_FOUND);
        snprintf(expected, sizeof(expected), "environment not found: %s", id);
        assert_string_equal(err.message, expected);
        assert_false(store_metadata_exists(t->s, id));
}

static void put_env(TestStore *t, const char *seed, char id[KP_HASH_HEX_SIZE]) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        EnvMetadata m;

        test_id(seed, id);
        m = meta_make(id, ENV_STATE_BUILT, 1);
        assert_store_ok(store_metadata_put(t->s, &m, &err));
}

static void test_update_state(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_env_metadata_free_ EnvMetadata *got = NULL;
        char id[KP_HASH_HEX_SIZE];

        put_env(t, "env", id);
        assert_store_ok(store_metadata_update_state(t->s, id, ENV_STATE_FROZEN, &err));
        assert_store_ok(store_metadata_get(t->s, id, &got, &err));
        assert_int_equal(got->state, ENV_STATE_FROZEN);
        assert_string_not_equal(got->updated_at, "2025-01-01T00:00:00Z");
        assert_string_equal(got->created_at, "2025-01-01T00:00:00Z");
}

static uint32_t ref_count_of(TestStore *t, const char *id) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_env_metadata_free_ EnvMetadata *got = NULL;

        assert_store_ok(store_metadata_get(t->s, id, &got, &err));
        return got->ref_count;
}

static void test_ref_count_saturates_at_zero(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        char id[KP_HASH_HEX_SIZE];

        put_env(t, "env", id);
        assert_store_ok(store_metadata_ref_increment(t->s, id, &err));
        assert_int_equal(ref_count_of(t, id), 2);
        assert_store_ok(store_metadata_ref_decrement(t->s, id, &err));
        assert_store_ok(store_metadata_ref_decrement(t->s, id, &err));
        assert_int_equal(ref_count_of(t, id), 0);
        assert_store_ok(store_metadata_ref_decrement(t->s, id, &err));
        assert_int_equal(ref_count_of(t, id), 0);
}

static void test_ref_count_saturates_at_max(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        char id[KP_HASH_HEX_SIZE];
        EnvMetadata m;

        test_id("env", id);
        m = meta_make(id, ENV_STATE_BUILT, UINT32_MAX);
        assert_store_ok(store_metadata_put(t->s, &m, &err));
        assert_store_ok(store_metadata_ref_increment(t->s, id, &err));
        assert_int_equal(ref_count_of(t, id), UINT32_MAX);
}

static void test_name_validation(void **state) {
        char long64[65], long65[66];
        const char *valid[] = { "my-env_123", "a", long64 };
        const char *bad_chars[] = { "has space", "a/b", "a.b", ".", "ü" };

        memset(long64, 'x', 64);
        long64[64] = '\0';
        memset(long65, 'x', 65);
        long65[65] = '\0';

        for (size_t i = 0; i < ELEMENTSOF(valid); i++) {
                _cleanup_error_ KpError err = KP_ERROR_INIT;
                assert_int_equal(env_name_validate(valid[i], &err), 0);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad_chars); i++) {
                _cleanup_error_ KpError err = KP_ERROR_INIT;
                assert_int_equal(env_name_validate(bad_chars[i], &err), -EINVAL);
                assert_string_equal(err.message,
                                    "invalid environment name: environment name must match [a-zA-Z0-9_-]");
        }
        {
                _cleanup_error_ KpError err = KP_ERROR_INIT;
                assert_int_equal(env_name_validate("", &err), -EINVAL);
                assert_string_equal(err.message, "invalid environment name: environment name must be 1-64 characters");
        }
        {
                _cleanup_error_ KpError err = KP_ERROR_INIT;
                assert_int_equal(env_name_validate(long65, &err), -EINVAL);
                assert_string_equal(err.message, "invalid environment name: environment name must be 1-64 characters");
        }
}

static void test_name_round_trip_and_lookup(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_env_metadata_free_ EnvMetadata *byname = NULL;
        EnvMetadata *missing = NULL;
        char id[KP_HASH_HEX_SIZE], other[KP_HASH_HEX_SIZE];

        put_env(t, "env", id);
        put_env(t, "other", other);
        assert_store_ok(store_metadata_set_name(t->s, id, "dev", &err));

        assert_store_ok(store_metadata_get_by_name(t->s, "dev", &byname, &err));
        assert_string_equal(byname->env_id, id);
        assert_string_equal(byname->name, "dev");

        assert_int_equal(store_metadata_get_by_name(t->s, "nope", &missing, &err), -ENOENT);
        assert_int_equal(err.kind, KP_ERROR_NOT_FOUND);
        assert_string_equal(err.message, "environment not found: name 'nope'");
}

static void test_name_unique_across_envs(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        char id[KP_HASH_HEX_SIZE], other[KP_HASH_HEX_SIZE], expected[200];

        put_env(t, "env", id);
        put_env(t, "other", other);
        assert_store_ok(store_metadata_set_name(t->s, id, "dev", &err));

        assert_int_equal(store_metadata_set_name(t->s, other, "dev", &err), -EEXIST);
        snprintf(expected, sizeof(expected), "name 'dev' is already used by environment %.12s", id);
        assert_string_equal(err.message, expected);
        kp_error_clear(&err);

        /* The same name again on the same environment is fine. */
        assert_store_ok(store_metadata_set_name(t->s, id, "dev", &err));
}

static void test_name_clear(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_env_metadata_free_ EnvMetadata *got = NULL;
        char id[KP_HASH_HEX_SIZE], other[KP_HASH_HEX_SIZE];

        put_env(t, "env", id);
        put_env(t, "other", other);
        assert_store_ok(store_metadata_set_name(t->s, id, "dev", &err));
        assert_store_ok(store_metadata_set_name(t->s, id, NULL, &err));
        assert_store_ok(store_metadata_get(t->s, id, &got, &err));
        assert_null(got->name);

        /* Freed for use by another environment. */
        assert_store_ok(store_metadata_set_name(t->s, other, "dev", &err));
}

static void test_set_invalid_name_rejected(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        char id[KP_HASH_HEX_SIZE];

        put_env(t, "env", id);
        assert_int_equal(store_metadata_set_name(t->s, id, "bad name", &err), -EINVAL);
        assert_int_equal(err.kind, KP_ERROR_STORE);
}

static void write_metadata_file(TestStore *t, const char *name, const char *json) {
        char rel[160];

        snprintf(rel, sizeof(rel), "store/metadata/%s", name);
        test_write_file(t, rel, json, 0644);
}

__attribute__((noinline)) static char *legacy_json(const char *id, const char *extra) {
        char *json = NULL;

        assert_true(asprintf(&json,
                             "{\"env_id\": \"%s\", \"short_id\": \"%.12s\", \"state\": \"Built\", "
                             "\"manifest_hash\": \"m\", \"base_layer\": \"\", \"dependency_layers\": [], "
                             "\"created_at\": \"t\", \"updated_at\": \"t\", \"ref_count\": 1%s}",
                             id, id, extra) > 0);
        return json;
}

static void test_legacy_without_name_and_checksum_loads(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_env_metadata_free_ EnvMetadata *got = NULL;
        _cleanup_free_ char *json = NULL;
        char id[KP_HASH_HEX_SIZE];

        test_id("legacy", id);
        json = legacy_json(id, "");
        write_metadata_file(t, id, json);

        assert_store_ok(store_metadata_get(t->s, id, &got, &err));
        assert_null(got->name);
        assert_null(got->checksum);
        assert_null(got->policy_layer);
}

static void test_null_checksum_accepted(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_env_metadata_free_ EnvMetadata *got = NULL;
        _cleanup_free_ char *json = NULL;
        char id[KP_HASH_HEX_SIZE];

        test_id("migrated", id);
        json = legacy_json(id, ", \"name\": null, \"checksum\": null, \"policy_layer\": null");
        write_metadata_file(t, id, json);

        assert_store_ok(store_metadata_get(t->s, id, &got, &err));
        assert_null(got->checksum);
}

static void test_tampering_detected(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_free_ char *file = NULL;
        EnvMetadata *got = NULL;
        char id[KP_HASH_HEX_SIZE], rel[128];
        char *p;

        put_env(t, "env", id);
        snprintf(rel, sizeof(rel), "store/metadata/%s", id);
        file = test_read_file(t, rel);

        /* Same shape, one value changed. */
        p = strstr(file, "\"ref_count\": 1");
        assert_non_null(p);
        p[strlen("\"ref_count\": ")] = '7';
        test_write_file(t, rel, file, 0644);

        assert_int_equal(store_metadata_get(t->s, id, &got, &err), -EBADMSG);
        assert_null(got);
        assert_non_null(strstr(err.message, "integrity check failed for metadata"));
}

static void test_file_name_must_match_env_id(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_free_ char *json = NULL;
        EnvMetadata *got = NULL;
        char id[KP_HASH_HEX_SIZE], other[KP_HASH_HEX_SIZE];

        test_id("real", id);
        test_id("copy", other);
        json = legacy_json(id, "");
        write_metadata_file(t, other, json);

        assert_int_equal(store_metadata_get(t->s, other, &got, &err), -EBADMSG);
        assert_null(got);
}

static void test_invalid_env_ids_rejected(void **state) {
        TestStore *t = *state;
        const char *bad[] = { "../../escape", "abc123def456", "", "/etc/passwd" };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_error_ KpError err = KP_ERROR_INIT;
                EnvMetadata m = meta_make(bad[i], ENV_STATE_BUILT, 1);
                EnvMetadata *got = NULL;

                assert_int_equal(store_metadata_put(t->s, &m, &err), -EINVAL);
                kp_error_clear(&err);
                assert_int_equal(store_metadata_get(t->s, bad[i], &got, &err), -EINVAL);
                kp_error_clear(&err);
                assert_int_equal(store_metadata_remove(t->s, bad[i], &err), -EINVAL);
                kp_error_clear(&err);
                assert_int_equal(store_metadata_update_state(t->s, bad[i], ENV_STATE_BUILT, &err), -EINVAL);
        }
        assert_false(test_exists(t, "escape"));
        assert_true(test_exists(t, "store/version"));
}

static void test_list_skips_corrupt_reports_with_errors(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        MetadataListEntry *entries = NULL;
        EnvMetadata *list = NULL;
        char a[KP_HASH_HEX_SIZE], b[KP_HASH_HEX_SIZE], bad[KP_HASH_HEX_SIZE];
        size_t n = 0;

        put_env(t, "a", a);
        put_env(t, "b", b);
        test_id("corrupt", bad);
        write_metadata_file(t, bad, "{ not json");
        write_metadata_file(t, ".tmp-partial", "{");

        assert_store_ok(store_metadata_list(t->s, &list, &n, &err));
        assert_int_equal(n, 2);
        assert_true(strcmp(list[0].env_id, list[1].env_id) < 0);
        env_metadata_array_free(list, n);

        assert_store_ok(store_metadata_list_with_errors(t->s, &entries, &n, &err));
        assert_int_equal(n, 3);
        for (size_t i = 0; i < n; i++) {
                if (streq(entries[i].name, bad)) {
                        assert_null(entries[i].metadata);
                        assert_non_null(entries[i].error.message);
                } else {
                        assert_non_null(entries[i].metadata);
                        assert_string_equal(entries[i].metadata->env_id, entries[i].name);
                }
        }
        metadata_list_entries_free(entries, n);
}

static void test_remove(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        char id[KP_HASH_HEX_SIZE];

        put_env(t, "env", id);
        assert_true(store_metadata_exists(t->s, id));
        assert_store_ok(store_metadata_remove(t->s, id, &err));
        assert_false(store_metadata_exists(t->s, id));
        assert_store_ok(store_metadata_remove(t->s, id, &err));
}

static void test_state_strings(void **state) {
        const char *names[] = { "Defined", "Built", "Running", "Frozen", "Archived" };
        const char *display[] = { "defined", "built", "running", "frozen", "archived" };

        for (EnvState s = 0; s < _ENV_STATE_MAX; s++) {
                assert_string_equal(env_state_to_string(s), names[s]);
                assert_string_equal(env_state_to_display(s), display[s]);
                assert_int_equal(env_state_from_string(names[s]), s);
                assert_int_equal(env_state_from_string(display[s]), _ENV_STATE_INVALID);
                assert_int_equal(env_state_from_any_string(display[s]), s);
                assert_int_equal(env_state_from_any_string(names[s]), s);
        }
        assert_int_equal(env_state_from_any_string("Bogus"), _ENV_STATE_INVALID);
}

static void test_unknown_state_rejected_on_read(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_free_ char *json = NULL;
        EnvMetadata *got = NULL;
        char id[KP_HASH_HEX_SIZE];

        test_id("env", id);
        json = legacy_json(id, "");
        memcpy(strstr(json, "Built"), "built", 5);
        write_metadata_file(t, id, json);
        assert_int_equal(store_metadata_get(t->s, id, &got, &err), -EINVAL);
        assert_non_null(strstr(err.message, "unknown state 'built'"));
}

/* Writes N metadata files directly (no fsync), then times the listing. */
static void test_list_10000_entries(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_close_ int dfd = -1;
        EnvMetadata *list = NULL;
        struct timespec t0, t1;
        size_t n = 0;
        double seconds;

        dfd = openat(store_dirfd(t->s), "metadata", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(dfd >= 0);
        for (int i = 0; i < 10000; i++) {
                _cleanup_free_ char *json = NULL;
                char seed[32], id[KP_HASH_HEX_SIZE], sum[KP_HASH_HEX_SIZE];
                _cleanup_close_ int fd = -1;
                size_t len = 0;
                EnvMetadata m;

                snprintf(seed, sizeof(seed), "env-%d", i);
                test_id(seed, id);
                m = meta_make(id, ENV_STATE_BUILT, 1);
                assert_store_ok(env_metadata_compute_checksum(&m, sum, &err));
                assert_store_ok(env_metadata_to_json(&m, sum, &json, &len, &err));
                fd = openat(dfd, id, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                assert_true(fd >= 0);
                assert_int_equal(kp_write_all(fd, json, len), 0);
        }

        clock_gettime(CLOCK_MONOTONIC, &t0);
        assert_store_ok(store_metadata_list(t->s, &list, &n, &err));
        clock_gettime(CLOCK_MONOTONIC, &t1);
        assert_int_equal(n, 10000);
        for (size_t i = 1; i < n; i++)
                assert_true(strcmp(list[i - 1].env_id, list[i].env_id) < 0);
        env_metadata_array_free(list, n);

        seconds = (double) (t1.tv_sec - t0.tv_sec) + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9;
        print_message("listing 10000 metadata entries took %.3f s\n", seconds);
        /* Generous: catches quadratic behaviour, not a slow machine. */
        assert_true(seconds < 20.0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, test_store_setup, test_store_teardown)

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_checksum_vector),
                cmocka_unit_test(test_json_member_order),
                T(test_put_get_embeds_checksum),
                T(test_get_missing),
                T(test_update_state),
                T(test_ref_count_saturates_at_zero),
                T(test_ref_count_saturates_at_max),
                cmocka_unit_test(test_name_validation),
                T(test_name_round_trip_and_lookup),
                T(test_name_unique_across_envs),
                T(test_name_clear),
                T(test_set_invalid_name_rejected),
                T(test_legacy_without_name_and_checksum_loads),
                T(test_null_checksum_accepted),
                T(test_tampering_detected),
                T(test_file_name_must_match_env_id),
                T(test_invalid_env_ids_rejected),
                T(test_list_skips_corrupt_reports_with_errors),
                T(test_remove),
                cmocka_unit_test(test_state_strings),
                T(test_unknown_state_rejected_on_read),
                T(test_list_10000_entries),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
