/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blake3.h"

/* BLAKE3 with the default 32-byte output, as 64 lowercase hex characters. */
#define KP_HASH_HEX_LEN 64
#define KP_HASH_HEX_SIZE (KP_HASH_HEX_LEN + 1)

typedef struct KpHasher {
        blake3_hasher state;
} KpHasher;

void kp_hasher_init(KpHasher *h);
void kp_hasher_update(KpHasher *h, const void *data, size_t len);
void kp_hasher_update_str(KpHasher *h, const char *s);
void kp_hasher_final_hex(const KpHasher *h, char out[KP_HASH_HEX_SIZE]);

void kp_hash_bytes_hex(const void *data, size_t len, char out[KP_HASH_HEX_SIZE]);
void kp_hash_str_hex(const char *s, char out[KP_HASH_HEX_SIZE]);

/* Hash everything readable from FD (until EOF). Returns 0 or -errno. */
int kp_hash_fd_hex(int fd, char out[KP_HASH_HEX_SIZE]);
int kp_hash_file_at_hex(int dirfd, const char *path, char out[KP_HASH_HEX_SIZE]);

/* Returns true for exactly 64 lowercase hex characters. */
bool kp_hash_hex_is_valid(const char *s);

void kp_hex_encode(const uint8_t *data, size_t len, char *out);
