/* SPDX-License-Identifier: MIT */
/* Layer manifests. */
#include "test-store-helpers.h"
#include "store/store-layer.h"

#define EMPTY_KEY "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
#define EMPTY_BASE_LAYER_ID "69556583baf4f02fc8e64452959dcefee8366067213fed79ebe6e16ad02bcd06"

static const char empty_base_json[] =
        "{\n"
        "  \"hash\": \"" EMPTY_KEY "\",\n"
        "  \"kind\": \"Base\",\n"
        "  \"parent\": null,\n"
        "  \"object_refs\": [\n"
        "    \"" EMPTY_KEY "\"\n"
        "  ],\n"
        "  \"read_only\": true,\n"
        "  \"tar_hash\": \"" EMPTY_KEY "\"\n"
        "}";

/* A layer with borrowed strings; do not free it. */
static Layer layer_make(const char *hash, LayerKind kind, const char *parent, char **refs, size_t n_refs,
                        const char *tar_hash) {
        return (Layer) {
                .hash = (char *) hash,
                .kind = kind,
                .parent = (char *) parent,
                .object_refs = refs,
                .n_object_refs = n_refs,
                .read_only = true,
                .tar_hash = (char *) tar_hash,
        };
}

static void test_empty_base_layer_vector(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_free_ char *json = NULL;
        char *refs[] = { (char *) EMPTY_KEY, NULL };
        Layer l = layer_make(EMPTY_KEY, LAYER_KIND_BASE, NULL, refs, 1, EMPTY_KEY);
        char id[KP_HASH_HEX_SIZE];
        size_t len = 0;

        assert_store_ok(layer_to_json(&l, &json, &len, &err));
        assert_string_equal(json, empty_base_json);
        assert_int_equal(len, strlen(empty_base_json));

        assert_store_ok(layer_compute_id(&l, id, &err));
        assert_string_equal(id, EMPTY_BASE_LAYER_ID);
}

static void test_put_uses_vector_id(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_free_ char *stored = NULL;
        char *refs[] = { (char *) EMPTY_KEY, NULL };
        Layer l = layer_make(EMPTY_KEY, LAYER_KIND_BASE, NULL, refs, 1, EMPTY_KEY);
        char id[KP_HASH_HEX_SIZE];

        assert_store_ok(store_layer_put(t->s, &l, id, &err));
        assert_string_equal(id, EMPTY_BASE_LAYER_ID);
        stored = test_read_file(t, "store/layers/" EMPTY_BASE_LAYER_ID);
        assert_string_equal(stored, empty_base_json);
}

static void test_round_trip_snapshot(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_layer_free_ Layer *got = NULL;
        char parent[KP_HASH_HEX_SIZE], a[KP_HASH_HEX_SIZE], b[KP_HASH_HEX_SIZE];
        char *refs[] = { a, b, NULL };
        Layer l;
        char id[KP_HASH_HEX_SIZE], predicted[KP_HASH_HEX_SIZE];

        test_id("parent", parent);
        test_id("a", a);
        test_id("b", b);
        l = layer_make("snapshot-hash", LAYER_KIND_SNAPSHOT, parent, refs, 2, a);

        assert_store_ok(layer_compute_id(&l, predicted, &err));
        assert_store_ok(store_layer_put(t->s, &l, id, &err));
        assert_string_equal(id, predicted);

        assert_store_ok(store_layer_get(t->s, id, &got, &err));
        assert_string_equal(got->hash, "snapshot-hash");
        assert_int_equal(got->kind, LAYER_KIND_SNAPSHOT);
        assert_string_equal(got->parent, parent);
        assert_int_equal(got->n_object_refs, 2);
        assert_string_equal(got->object_refs[0], a);
        assert_string_equal(got->object_refs[1], b);
        assert_null(got->object_refs[2]);
        assert_true(got->read_only);
        assert_string_equal(got->tar_hash, a);
}

static void test_put_idempotent(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_strv_free_ char **ids = NULL;
        char *refs[] = { (char *) EMPTY_KEY, NULL };
        Layer l = layer_make(EMPTY_KEY, LAYER_KIND_BASE, NULL, refs, 1, EMPTY_KEY);
        char id1[KP_HASH_HEX_SIZE], id2[KP_HASH_HEX_SIZE];
        size_t n = 0;

        assert_store_ok(store_layer_put(t->s, &l, id1, &err));
        assert_store_ok(store_layer_put(t->s, &l, id2, &err));
        assert_string_equal(id1, id2);

        /* The listing returns the id (the JSON hash), not the inner hash. */
        assert_store_ok(store_layer_list(t->s, &ids, &n, &err));
        assert_int_equal(n, 1);
        assert_string_equal(ids[0], id1);
        assert_true(store_layer_exists(t->s, id1));
}

static void put_raw_layer(TestStore *t, const char *json, char id[KP_HASH_HEX_SIZE]) {
        char rel[128];

        kp_hash_str_hex(json, id);
        snprintf(rel, sizeof(rel), "store/layers/%s", id);
        test_write_file(t, rel, json, 0644);
}

static void test_missing_tar_hash_reads_empty(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_layer_free_ Layer *got = NULL;
        char id[KP_HASH_HEX_SIZE];

        put_raw_layer(t,
                      "{\"hash\": \"h\", \"kind\": \"Base\", \"parent\": null, \"object_refs\": [], "
                      "\"read_only\": true}",
                      id);
        assert_store_ok(store_layer_get(t->s, id, &got, &err));
        assert_non_null(got->tar_hash);
        assert_string_equal(got->tar_hash, "");
        assert_null(got->parent);
        assert_int_equal(got->n_object_refs, 0);
}

static void test_corrupted_file_detected(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        char *refs[] = { (char *) EMPTY_KEY, NULL };
        Layer l = layer_make(EMPTY_KEY, LAYER_KIND_BASE, NULL, refs, 1, EMPTY_KEY);
        Layer *got = NULL;
        char id[KP_HASH_HEX_SIZE], expected[400], actual[KP_HASH_HEX_SIZE];
        const char *edited = "{\"hash\": \"x\", \"kind\": \"Base\", \"parent\": null, \"object_refs\": [], "
                             "\"read_only\": false, \"tar_hash\": \"\"}";

        assert_store_ok(store_layer_put(t->s, &l, id, &err));
        test_write_file(t, "store/layers/" EMPTY_BASE_LAYER_ID, edited, 0644);

        assert_int_equal(store_layer_get(t->s, id, &got, &err), -EBADMSG);
        assert_null(got);
        kp_hash_str_hex(edited, actual);
        snprintf(expected, sizeof(expected), "integrity check failed for layer '%s': expected %s, got %s", id, id,
                 actual);
        assert_string_equal(err.message, expected);
}

static void test_garbage_with_matching_name_fails_parse(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        Layer *got = NULL;
        char id[KP_HASH_HEX_SIZE];

        put_raw_layer(t, "not json", id);
        assert_true(store_layer_get(t->s, id, &got, &err) < 0);
        assert_null(got);
        assert_non_null(strstr(err.message, "invalid layer manifest"));
        kp_error_clear(&err);

        put_raw_layer(t, "{\"hash\": \"h\", \"kind\": \"Weird\", \"parent\": null, \"object_refs\": [], "
                         "\"read_only\": true}", id);
        assert_true(store_layer_get(t->s, id, &got, &err) < 0);
        assert_non_null(strstr(err.message, "unknown kind 'Weird'"));
}

static void test_get_missing(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        Layer *got = NULL;

        assert_int_equal(store_layer_get(t->s, EMPTY_BASE_LAYER_ID, &got, &err), -ENOENT);
        assert_string_equal(err.message, "layer not found: " EMPTY_BASE_LAYER_ID);
        assert_int_equal(err.kind, KP_ERROR_STORE);
}

static void test_invalid_ids_rejected(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        Layer *got = NULL;

        assert_int_equal(store_layer_get(t->s, "../version", &got, &err), -EINVAL);
        kp_error_clear(&err);
        assert_int_equal(store_layer_remove(t->s, "../version", &err), -EINVAL);
        assert_true(test_exists(t, "store/version"));
        assert_false(store_layer_exists(t->s, "../version"));
}

static void test_remove(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        char *refs[] = { (char *) EMPTY_KEY, NULL };
        Layer l = layer_make(EMPTY_KEY, LAYER_KIND_BASE, NULL, refs, 1, EMPTY_KEY);
        char id[KP_HASH_HEX_SIZE];

        assert_store_ok(store_layer_put(t->s, &l, id, &err));
        assert_store_ok(store_layer_remove(t->s, id, &err));
        assert_false(store_layer_exists(t->s, id));
        assert_store_ok(store_layer_remove(t->s, id, &err));
}

static void test_kind_strings(void **state) {
        const char *names[] = { "Base", "Dependency", "Policy", "Snapshot" };

        for (LayerKind k = 0; k < _LAYER_KIND_MAX; k++) {
                assert_string_equal(layer_kind_to_string(k), names[k]);
                assert_int_equal(layer_kind_from_string(names[k]), k);
        }
        assert_int_equal(layer_kind_from_string("base"), _LAYER_KIND_INVALID);
        assert_int_equal(layer_kind_from_string(NULL), _LAYER_KIND_INVALID);
        assert_null(layer_kind_to_string(_LAYER_KIND_MAX));
}

static void test_different_content_different_id(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        char *refs[] = { (char *) EMPTY_KEY, NULL };
        Layer a = layer_make(EMPTY_KEY, LAYER_KIND_BASE, NULL, refs, 1, EMPTY_KEY);
        Layer b = layer_make(EMPTY_KEY, LAYER_KIND_SNAPSHOT, NULL, refs, 1, EMPTY_KEY);
        char ida[KP_HASH_HEX_SIZE], idb[KP_HASH_HEX_SIZE];

        assert_store_ok(layer_compute_id(&a, ida, &err));
        assert_store_ok(layer_compute_id(&b, idb, &err));
        assert_string_not_equal(ida, idb);
}

#define T(f) cmocka_unit_test_setup_teardown(f, test_store_setup, test_store_teardown)

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_empty_base_layer_vector),
                T(test_put_uses_vector_id),
                T(test_round_trip_snapshot),
                T(test_put_idempotent),
                T(test_missing_tar_hash_reads_empty),
                T(test_corrupted_file_detected),
                T(test_garbage_with_matching_name_fails_parse),
                T(test_get_missing),
                T(test_invalid_ids_rejected),
                T(test_remove),
                cmocka_unit_test(test_kind_strings),
                cmocka_unit_test(test_different_content_different_id),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
