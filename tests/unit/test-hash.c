/* SPDX-License-Identifier: MIT */
/* BLAKE3 wrapper tests. b3sum (Debian package b3sum) is the oracle for the
 * official test-vector input lengths, since the packaged sources do not ship
 * the vector file. */
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
#include "basic/hash.h"

static const size_t vector_lengths[] = {
        0, 1, 63, 64, 65, 1023, 1024, 1025, 2048, 2049, 3072, 3073, 4096, 4097,
        5120, 5121, 6144, 6145, 7168, 7169, 8192, 8193, 16384, 31744, 102400,
};

/* The official vectors use the repeating byte pattern 0, 1, ..., 250. */
static uint8_t *make_pattern(size_t len) {
        uint8_t *buf = malloc(len ? len : 1);

        assert_non_null(buf);
        for (size_t i = 0; i < len; i++)
                buf[i] = (uint8_t) (i % 251);
        return buf;
}

static void b3sum_of_file(const char *path, char out[KP_HASH_HEX_SIZE]) {
        char command[4200];
        FILE *p;

        snprintf(command, sizeof(command), "b3sum --no-names '%s'", path);
        p = popen(command, "r");
        assert_non_null(p);
        assert_non_null(fgets(out, KP_HASH_HEX_SIZE, p));
        assert_int_equal(pclose(p), 0);
        assert_int_equal(strlen(out), KP_HASH_HEX_LEN);
}

static char *write_temp(const void *data, size_t len) {
        char *path = strdup("/tmp/kp-hash-XXXXXX");
        int fd;

        assert_non_null(path);
        fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(kp_write_all(fd, data, len), 0);
        close(fd);
        return path;
}

static void test_hash_official_lengths(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(vector_lengths); i++) {
                size_t len = vector_lengths[i];
                _cleanup_free_ uint8_t *buf = make_pattern(len);
                _cleanup_free_ char *path = write_temp(buf, len);
                char ours[KP_HASH_HEX_SIZE], oracle[KP_HASH_HEX_SIZE];

                b3sum_of_file(path, oracle);
                kp_hash_bytes_hex(buf, len, ours);
                if (strcmp(ours, oracle) != 0)
                        fail_msg("length %zu: got %s, b3sum %s", len, ours, oracle);
                unlink(path);
        }
}

static void test_hash_incremental_matches_oneshot(void **state) {
        size_t len = 102400;
        _cleanup_free_ uint8_t *buf = make_pattern(len);
        char oneshot[KP_HASH_HEX_SIZE], pieces[KP_HASH_HEX_SIZE];
        KpHasher h;

        kp_hash_bytes_hex(buf, len, oneshot);

        /* Odd piece sizes cross chunk and block boundaries. */
        kp_hasher_init(&h);
        for (size_t off = 0, step = 1; off < len; off += step, step = step * 3 + 1) {
                size_t n = step > len - off ? len - off : step;
                kp_hasher_update(&h, buf + off, n);
        }
        kp_hasher_final_hex(&h, pieces);
        assert_string_equal(oneshot, pieces);
}

static void test_hash_large_files(void **state) {
        static const size_t sizes[] = { 1024 * 1024 + 1, 5 * 1024 * 1024 + 12345 };

        for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
                _cleanup_free_ uint8_t *buf = make_pattern(sizes[i]);
                _cleanup_free_ char *path = write_temp(buf, sizes[i]);
                char ours[KP_HASH_HEX_SIZE], oracle[KP_HASH_HEX_SIZE];

                b3sum_of_file(path, oracle);
                assert_int_equal(kp_hash_file_at_hex(AT_FDCWD, path, ours), 0);
                assert_string_equal(ours, oracle);
                unlink(path);
        }
}

static void test_hash_missing_file(void **state) {
        char out[KP_HASH_HEX_SIZE];

        assert_int_equal(kp_hash_file_at_hex(AT_FDCWD, "/nonexistent/kp-hash", out), -ENOENT);
}

/* Canonical identity inputs and their env_ids, as produced by the original
 * implementation's golden tests. */
static void test_hash_identity_vectors(void **state) {
        static const struct {
                const char *input;
                const char *digest;
        } vectors[] = {
                { "base_digest:sha256:abc123backend:mock",
                  "aabaeaeda3b27db42054f64719a16afd49e72b4fc6e8493e2fce9d862d240806" },
                { "base_digest:sha256:abc123pkg:curl@7.88.1pkg:git@2.39.2backend:namespace",
                  "dfea3163e5925ee788a97fae24d9ec08f774c29c64c9180befe771d877e62f18" },
                { "base_digest:sha256:abc123pkg:vim@9.0.1hw:gpuhw:audiomount:home:/home/user:/homebackend:namespace",
                  "d6ca89829da264240d0508bd58bffc28c2014f643426bbecff3db5a525793546" },
                { "base_digest:sha256:abc123backend:mocknet:isolated",
                  "dcdae57b3749d0aa2d3948de9fde99ceedad34deaef9b618c2d9f939dac25596" },
                { "base_digest:sha256:abc123backend:mockcpu:1024",
                  "d966f9ee1c5e8959ae29d0483c45fc66813ec47201aa9f26c6371336b3dfd252" },
                { "base_digest:sha256:abc123backend:mockmem:4096",
                  "74823889e305b7b28394508b5813568faf9c814b4ef8f1f97e8d3dcd9a7a6bae" },
                { "base_digest:sha256:abc123app:firefoxapp:codebackend:mock",
                  "1aaf066c7b1e18178e838b0cf33c0bc67cd7401e586df826daa9033178ccfdf3" },
                { "base_digest:sha256:abc123pkg:curl@7.88.1app:vlchw:gpuhw:audiomount:data:/mnt/data:/databackend:namespacenet:isolatedcpu:2048mem:8192",
                  "44f9547036b4f24f8fe32844f2672804020c6260e29b7f72e17fd29d441ebc27" },
                { "base_digest:sha256:abc123hw:gpubackend:mock",
                  "f761765ba48777bcc64c2cd5169cb44be27bcd2d6587c64c28bc98fa0964b266" },
                { "base_digest:sha256:abc123hw:audiobackend:mock",
                  "428d91b41a03c1625e01bab1278ef231fb186833bff80a6bdc8227a2276f4318" },
                { "", "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262" },
        };

        for (size_t i = 0; i < ELEMENTSOF(vectors); i++) {
                char out[KP_HASH_HEX_SIZE];

                kp_hash_str_hex(vectors[i].input, out);
                assert_string_equal(out, vectors[i].digest);
        }
}

static void test_hash_hex_validation(void **state) {
        assert_true(kp_hash_hex_is_valid("af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"));
        assert_false(kp_hash_hex_is_valid("AF1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"));
        assert_false(kp_hash_hex_is_valid("af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f326"));
        assert_false(kp_hash_hex_is_valid("af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f32620"));
        assert_false(kp_hash_hex_is_valid("../etc/passwd"));
        assert_false(kp_hash_hex_is_valid(NULL));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_hash_official_lengths),
                cmocka_unit_test(test_hash_incremental_matches_oneshot),
                cmocka_unit_test(test_hash_large_files),
                cmocka_unit_test(test_hash_missing_file),
                cmocka_unit_test(test_hash_identity_vectors),
                cmocka_unit_test(test_hash_hex_validation),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
