/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <nettle/sha2.h>

/*
 * SHA-256, for checking downloads against published sums (image servers
 * publish SHA256SUMS files), computed by Nettle. Karapace's own digests are
 * BLAKE3 (basic/hash.h).
 */

#define KP_SHA256_SIZE 32
#define KP_SHA256_HEX_SIZE (2 * KP_SHA256_SIZE + 1)

typedef struct KpSha256 {
        struct sha256_ctx ctx;
} KpSha256;

void kp_sha256_init(KpSha256 *s);
void kp_sha256_update(KpSha256 *s, const void *data, size_t len);
void kp_sha256_final(KpSha256 *s, uint8_t out[KP_SHA256_SIZE]);
void kp_sha256_final_hex(KpSha256 *s, char out[KP_SHA256_HEX_SIZE]);
