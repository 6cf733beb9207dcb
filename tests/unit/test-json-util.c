/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "basic/json-util.h"

static void expect_dump(const json_t *v, KpJsonFlags flags, const char *expected) {
        _cleanup_free_ char *text = NULL;
        size_t len = 0;

        text = kp_json_dump(v, flags, &len);
        assert_non_null(text);
        assert_string_equal(text, expected);
        assert_int_equal(len, strlen(expected));
}

static void test_json_compact_keeps_order(void **state) {
        _cleanup_json_ json_t *v = json_pack("{s:i, s:s, s:[], s:{}, s:n, s:b}",
                                             "manifest_version", 1, "base_image", "rolling",
                                             "system_packages", "obj", "cpu_shares", "flag", 0);

        expect_dump(v, 0,
                    "{\"manifest_version\":1,\"base_image\":\"rolling\",\"system_packages\":[],"
                    "\"obj\":{},\"cpu_shares\":null,\"flag\":false}");
}

static void test_json_pretty_layout(void **state) {
        _cleanup_json_ json_t *v = json_pack("{s:s, s:n, s:[s], s:[], s:b}",
                                             "hash", "af", "parent", "object_refs", "af",
                                             "empty", "read_only", 1);

        expect_dump(v, KP_JSON_PRETTY,
                    "{\n"
                    "  \"hash\": \"af\",\n"
                    "  \"parent\": null,\n"
                    "  \"object_refs\": [\n"
                    "    \"af\"\n"
                    "  ],\n"
                    "  \"empty\": [],\n"
                    "  \"read_only\": true\n"
                    "}");
}

static void test_json_sorted_keys(void **state) {
        _cleanup_json_ json_t *v = json_pack("{s:s, s:n, s:s}", "status", "built", "name", "env_id", "x");

        expect_dump(v, KP_JSON_SORT_KEYS, "{\"env_id\":\"x\",\"name\":null,\"status\":\"built\"}");
}

static void test_json_string_escapes(void **state) {
        _cleanup_json_ json_t *v = json_string("q\"b\\n\nr\rt\tb\bf\f\x01\x1f/é\x7f");

        expect_dump(v, 0, "\"q\\\"b\\\\n\\nr\\rt\\tb\\bf\\f\\u0001\\u001f/é\x7f\"");
}

static void test_json_empty_containers_pretty(void **state) {
        _cleanup_json_ json_t *a = json_array(), *o = json_object();

        expect_dump(a, KP_JSON_PRETTY, "[]");
        expect_dump(o, KP_JSON_PRETTY, "{}");
}

static void test_json_parse_error_location(void **state) {
        _cleanup_free_ char *error = NULL;
        json_t *v = NULL;

        assert_int_equal(kp_json_parse("{\n  \"a\": ,\n}", 12, &v, &error), -EINVAL);
        assert_null(v);
        assert_non_null(strstr(error, "line 2"));
}

static void test_json_parse_rejects_duplicates(void **state) {
        _cleanup_free_ char *error = NULL;
        json_t *v = NULL;
        const char *text = "{\"a\":1,\"a\":2}";

        assert_int_equal(kp_json_parse(text, strlen(text), &v, &error), -EINVAL);
}

static void test_json_roundtrip_integers(void **state) {
        _cleanup_json_ json_t *v = NULL;
        _cleanup_free_ char *error = NULL;
        const char *text = "{\"ref_count\":4294967295,\"neg\":-3}";

        assert_int_equal(kp_json_parse(text, strlen(text), &v, &error), 0);
        expect_dump(v, 0, text);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_json_compact_keeps_order),
                cmocka_unit_test(test_json_pretty_layout),
                cmocka_unit_test(test_json_sorted_keys),
                cmocka_unit_test(test_json_string_escapes),
                cmocka_unit_test(test_json_empty_containers_pretty),
                cmocka_unit_test(test_json_parse_error_location),
                cmocka_unit_test(test_json_parse_rejects_duplicates),
                cmocka_unit_test(test_json_roundtrip_integers),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
