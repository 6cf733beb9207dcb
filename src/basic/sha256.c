/* SPDX-License-Identifier: MIT */
#include "basic/hash.h"
#include "basic/sha256.h"

void kp_sha256_init(KpSha256 *s) {
        sha256_init(&s->ctx);
}

void kp_sha256_update(KpSha256 *s, const void *data, size_t len) {
        sha256_update(&s->ctx, len, data);
}

void kp_sha256_final(KpSha256 *s, uint8_t out[KP_SHA256_SIZE]) {
        sha256_digest(&s->ctx, KP_SHA256_SIZE, out);
}

void kp_sha256_final_hex(KpSha256 *s, char out[KP_SHA256_HEX_SIZE]) {
        uint8_t digest[KP_SHA256_SIZE];

        kp_sha256_final(s, digest);
        kp_hex_encode(digest, sizeof(digest), out);
}
