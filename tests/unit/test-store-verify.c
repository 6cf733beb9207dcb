/* SPDX-License-Identifier: MIT */
/* verify-store. */
#include "test-store-helpers.h"
#include "store/store-layer.h"
#include "store/store-metadata.h"
#include "store/store-verify.h"

static void put_object(TestStore *t, const char *content, char key[KP_HASH_HEX_SIZE]) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;

        assert_store_ok(store_object_put_bytes(t->s, content, strlen(content), key, &err));
}

static void put_layer(TestStore *t, const char *obj, char id[KP_HASH_HEX_SIZE]) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        char *refs[] = { (char *) obj, NULL };
        Layer l = {
                .hash = (char *) obj,
                .kind = LAYER_KIND_BASE,
                .object_refs = refs,
                .n_object_refs = 1,
                .read_only = true,
                .tar_hash = (char *) obj,
        };

        assert_store_ok(store_layer_put(t->s, &l, id, &err));
}

static void put_env(TestStore *t, const char *seed, char id[KP_HASH_HEX_SIZE]) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        EnvMetadata m;

        test_id(seed, id);
        m = (EnvMetadata) {
                .env_id = id,
                .short_id = id,
                .state = ENV_STATE_BUILT,
                .manifest_hash = (char *) "",
                .base_layer = (char *) "",
                .created_at = (char *) "2025-01-01T00:00:00Z",
                .updated_at = (char *) "2025-01-01T00:00:00Z",
                .ref_count = 1,
        };
        assert_store_ok(store_metadata_put(t->s, &m, &err));
}

static const VerifyFailure *find_failure(const VerifyReport *rep, const char *hash) {
        const VerifyFailure *found = NULL;

        for (size_t i = 0; i < rep->n_failures; i++)
                if (streq(rep->failures[i].hash, hash)) {
                        assert_null(found);     /* reported once */
                        found = &rep->failures[i];
                }
        return found;
}

static void test_clean_store_passes(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_(verify_report_done) VerifyReport rep = {};
        char o1[KP_HASH_HEX_SIZE], o2[KP_HASH_HEX_SIZE], l1[KP_HASH_HEX_SIZE], e1[KP_HASH_HEX_SIZE];

        put_object(t, "one", o1);
        put_object(t, "two", o2);
        put_layer(t, o1, l1);
        put_env(t, "env", e1);
        test_write_file(t, "store/objects/.tmp-partial", "ignored", 0644);

        assert_store_ok(store_verify(t->s, &rep, &err));
        assert_int_equal(rep.checked, 2);
        assert_int_equal(rep.passed, 2);
        assert_int_equal(rep.layers_checked, 1);
        assert_int_equal(rep.layers_passed, 1);
        assert_int_equal(rep.metadata_checked, 1);
        assert_int_equal(rep.metadata_passed, 1);
        assert_int_equal(rep.n_failures, 0);
}

static void test_corrupted_object_reported_once(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_(verify_report_done) VerifyReport rep = {};
        char key[KP_HASH_HEX_SIZE], other[KP_HASH_HEX_SIZE], rel[128], actual[KP_HASH_HEX_SIZE], reason[200];
        const VerifyFailure *f;

        put_object(t, "good", other);
        put_object(t, "original", key);
        snprintf(rel, sizeof(rel), "store/objects/%s", key);
        test_write_file(t, rel, "damaged", 0444);

        assert_store_ok(store_verify(t->s, &rep, &err));
        assert_int_equal(rep.checked, 2);
        assert_int_equal(rep.passed, 1);
        assert_int_equal(rep.n_failures, 1);
        f = find_failure(&rep, key);
        assert_non_null(f);
        kp_hash_str_hex("damaged", actual);
        snprintf(reason, sizeof(reason), "object hash mismatch: got %s", actual);
        assert_string_equal(f->reason, reason);
}

static void test_non_hash_name_fails(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_(verify_report_done) VerifyReport rep = {};
        const VerifyFailure *f;

        test_write_file(t, "store/objects/not_a_real_hash", "anything", 0444);
        assert_store_ok(store_verify(t->s, &rep, &err));
        assert_int_equal(rep.checked, 1);
        assert_int_equal(rep.passed, 0);
        f = find_failure(&rep, "not_a_real_hash");
        assert_non_null(f);
        assert_true(strneq(f->reason, "object hash mismatch: got ", 26));
}

static void test_unreadable_object_keeps_going(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_(verify_report_done) VerifyReport rep = {};
        char a[KP_HASH_HEX_SIZE], b[KP_HASH_HEX_SIZE], rel[128];
        _cleanup_free_ char *p = NULL;
        const VerifyFailure *f;

        if (geteuid() == 0)
                skip();

        put_object(t, "a", a);
        put_object(t, "b", b);
        snprintf(rel, sizeof(rel), "store/objects/%s", a);
        p = test_path(t, rel);
        assert_int_equal(chmod(p, 0), 0);

        assert_store_ok(store_verify(t->s, &rep, &err));
        assert_int_equal(rep.checked, 2);
        assert_int_equal(rep.passed, 1);
        f = find_failure(&rep, a);
        assert_non_null(f);
        assert_true(strneq(f->reason, "object read error: ", 19));
}

static void test_object_directory_entry_fails(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_(verify_report_done) VerifyReport rep = {};
        _cleanup_free_ char *p =
                test_path(t, "store/objects/af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262");
        const VerifyFailure *f;

        assert_int_equal(mkdir(p, 0755), 0);
        assert_store_ok(store_verify(t->s, &rep, &err));
        assert_int_equal(rep.checked, 1);
        f = find_failure(&rep, "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262");
        assert_non_null(f);
        assert_true(strneq(f->reason, "object read error: ", 19));
}

static void test_layer_failures(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_(verify_report_done) VerifyReport rep = {};
        char o[KP_HASH_HEX_SIZE], good[KP_HASH_HEX_SIZE], edited[KP_HASH_HEX_SIZE], dangling[KP_HASH_HEX_SIZE];
        char missing[KP_HASH_HEX_SIZE], rel[128], actual[KP_HASH_HEX_SIZE], reason[200];
        const VerifyFailure *f;

        put_object(t, "content", o);
        put_layer(t, o, good);
        put_layer(t, "0000000000000000000000000000000000000000000000000000000000000000", edited);
        snprintf(rel, sizeof(rel), "store/layers/%s", edited);
        test_write_file(t, rel, "{}", 0644);
        test_id("missing-object", missing);
        put_layer(t, missing, dangling);

        assert_store_ok(store_verify(t->s, &rep, &err));
        assert_int_equal(rep.layers_checked, 3);
        assert_int_equal(rep.layers_passed, 1);

        f = find_failure(&rep, edited);
        assert_non_null(f);
        kp_hash_str_hex("{}", actual);
        snprintf(reason, sizeof(reason), "layer hash mismatch: got %s", actual);
        assert_string_equal(f->reason, reason);

        f = find_failure(&rep, dangling);
        assert_non_null(f);
        snprintf(reason, sizeof(reason), "layer references missing object %s", missing);
        assert_string_equal(f->reason, reason);
        assert_null(find_failure(&rep, good));
}

static void test_layer_parse_error(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_(verify_report_done) VerifyReport rep = {};
        char id[KP_HASH_HEX_SIZE], rel[128];
        const VerifyFailure *f;

        kp_hash_str_hex("garbage", id);
        snprintf(rel, sizeof(rel), "store/layers/%s", id);
        test_write_file(t, rel, "garbage", 0644);

        assert_store_ok(store_verify(t->s, &rep, &err));
        f = find_failure(&rep, id);
        assert_non_null(f);
        assert_true(strneq(f->reason, "layer read error: ", 18));
}

static void test_metadata_failures(void **state) {
        TestStore *t = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_(verify_report_done) VerifyReport rep = {};
        _cleanup_free_ char *file = NULL;
        char good[KP_HASH_HEX_SIZE], tampered[KP_HASH_HEX_SIZE], nosum[KP_HASH_HEX_SIZE], broken[KP_HASH_HEX_SIZE];
        char rel[128], *p;
        const VerifyFailure *f;

        put_env(t, "good", good);
        put_env(t, "tampered", tampered);
        snprintf(rel, sizeof(rel), "store/metadata/%s", tampered);
        file = test_read_file(t, rel);
        p = strstr(file, "\"ref_count\": 1");
        assert_non_null(p);
        p[strlen("\"ref_count\": ")] = '2';
        test_write_file(t, rel, file, 0644);

        put_env(t, "nosum", nosum);
        snprintf(rel, sizeof(rel), "store/metadata/%s", nosum);
        free(file);
        file = test_read_file(t, rel);
        p = strstr(file, ",\n  \"checksum\"");
        assert_non_null(p);
        strcpy(p, "\n}");
        test_write_file(t, rel, file, 0644);

        test_id("broken", broken);
        snprintf(rel, sizeof(rel), "store/metadata/%s", broken);
        test_write_file(t, rel, "[1, 2, 3]", 0644);

        assert_store_ok(store_verify(t->s, &rep, &err));
        assert_int_equal(rep.metadata_checked, 4);
        assert_int_equal(rep.metadata_passed, 1);

        f = find_failure(&rep, tampered);
        assert_non_null(f);
        assert_true(strneq(f->reason, "metadata checksum mismatch: got ", 32));
        assert_int_equal(strlen(f->reason), 32 + 64);

        f = find_failure(&rep, nosum);
        assert_non_null(f);
        assert_string_equal(f->reason, "metadata has no checksum");

        f = find_failure(&rep, broken);
        assert_non_null(f);
        assert_true(strneq(f->reason, "metadata read error: ", 21));
        assert_null(find_failure(&rep, good));
}

static void test_uninitialized_store_is_empty(void **state) {
        char *root = test_mkdtemp();
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_(verify_report_done) VerifyReport rep = {};
        Store *s = NULL;

        assert_store_ok(store_open(root, &s, &err));
        assert_store_ok(store_verify(s, &rep, &err));
        assert_int_equal(rep.checked + rep.layers_checked + rep.metadata_checked, 0);
        store_free(s);
        assert_int_equal(kp_rm_rf(root), 0);
        free(root);
}

#define T(f) cmocka_unit_test_setup_teardown(f, test_store_setup, test_store_teardown)

int main(void) {
        const struct CMUnitTest tests[] = {
                T(test_clean_store_passes),
                T(test_corrupted_object_reported_once),
                T(test_non_hash_name_fails),
                T(test_unreadable_object_keeps_going),
                T(test_object_directory_entry_fails),
                T(test_layer_failures),
                T(test_layer_parse_error),
                T(test_metadata_failures),
                cmocka_unit_test(test_uninitialized_store_is_empty),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
