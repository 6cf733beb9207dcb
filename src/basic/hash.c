/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/hash.h"
#include "basic/macro.h"

/* Large reads let BLAKE3 hash many 1 KiB chunks per call with its SIMD
 * kernels; 256 KiB keeps the buffer small enough for the heap. */
#define HASH_READ_SIZE (256 * 1024)

void kp_hex_encode(const uint8_t *data, size_t len, char *out) {
        static const char digits[] = "0123456789abcdef";

        for (size_t i = 0; i < len; i++) {
                out[2 * i] = digits[data[i] >> 4];
                out[2 * i + 1] = digits[data[i] & 15];
        }
        out[2 * len] = '\0';
}

void kp_hasher_init(KpHasher *h) {
        blake3_hasher_init(&h->state);
}

void kp_hasher_update(KpHasher *h, const void *data, size_t len) {
        blake3_hasher_update(&h->state, data, len);
}

void kp_hasher_update_str(KpHasher *h, const char *s) {
        blake3_hasher_update(&h->state, s, strlen(s));
}

void kp_hasher_final_hex(const KpHasher *h, char out[KP_HASH_HEX_SIZE]) {
        uint8_t digest[BLAKE3_OUT_LEN];

        blake3_hasher_finalize(&h->state, digest, sizeof(digest));
        kp_hex_encode(digest, sizeof(digest), out);
}

void kp_hash_bytes_hex(const void *data, size_t len, char out[KP_HASH_HEX_SIZE]) {
        KpHasher h;

        kp_hasher_init(&h);
        kp_hasher_update(&h, data, len);
        kp_hasher_final_hex(&h, out);
}

void kp_hash_str_hex(const char *s, char out[KP_HASH_HEX_SIZE]) {
        kp_hash_bytes_hex(s, strlen(s), out);
}

int kp_hash_fd_hex(int fd, char out[KP_HASH_HEX_SIZE]) {
        _cleanup_free_ uint8_t *buf = malloc(HASH_READ_SIZE);
        KpHasher h;

        if (!buf)
                return -ENOMEM;

        kp_hasher_init(&h);
        for (;;) {
                ssize_t n = read(fd, buf, HASH_READ_SIZE);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                kp_hasher_update(&h, buf, (size_t) n);
        }
        kp_hasher_final_hex(&h, out);
        return 0;
}

int kp_hash_file_at_hex(int dirfd, const char *path, char out[KP_HASH_HEX_SIZE]) {
        _cleanup_close_ int fd = -1;

        fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        return kp_hash_fd_hex(fd, out);
}

bool kp_hash_hex_is_valid(const char *s) {
        size_t i;

        if (!s)
                return false;
        for (i = 0; i < KP_HASH_HEX_LEN; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return s[i] == '\0';
}
