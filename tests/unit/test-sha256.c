/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "basic/sha256.h"

static void sha256_hex(const void *data, size_t len, char out[KP_SHA256_HEX_SIZE]) {
        KpSha256 s;

        kp_sha256_init(&s);
        kp_sha256_update(&s, data, len);
        kp_sha256_final_hex(&s, out);
}

/* Values from the FIPS 180-4 examples and `sha256sum`. */
static void test_sha256_known_values(void **state) {
        char hex[KP_SHA256_HEX_SIZE];

        sha256_hex("", 0, hex);
        assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

        sha256_hex("abc", 3, hex);
        assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

        /* 56 bytes: the padding needs a second block. */
        sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, hex);
        assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_sha256_million_a(void **state) {
        char *data = malloc(1000000);
        char hex[KP_SHA256_HEX_SIZE];

        assert_non_null(data);
        memset(data, 'a', 1000000);
        sha256_hex(data, 1000000, hex);
        assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
        free(data);
}

static void test_sha256_split_updates(void **state) {
        static const char text[] = "The quick brown fox jumps over the lazy dog, again and again and again.";
        char whole[KP_SHA256_HEX_SIZE], pieces[KP_SHA256_HEX_SIZE];
        size_t len = strlen(text);

        static const size_t steps[] = { 1, 7, 63, 64, 65 };

        sha256_hex(text, len, whole);
        assert_string_equal(whole, "802b36a08060a04df2747ab535fb3a8ff9acfab606370f012564152e8d6505de");

        for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
                size_t step = steps[i];
                KpSha256 s;

                kp_sha256_init(&s);
                for (size_t off = 0; off < len; off += step)
                        kp_sha256_update(&s, text + off, off + step <= len ? step : len - off);
                kp_sha256_final_hex(&s, pieces);
                assert_string_equal(pieces, whole);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_sha256_known_values),
                cmocka_unit_test(test_sha256_million_a),
                cmocka_unit_test(test_sha256_split_updates),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
