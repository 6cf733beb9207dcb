/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basic/error.h"
#include "basic/hash.h"
#include "basic/sha256.h"

/*
 * HTTP(S) downloads with libcurl. Redirects are followed (http and https
 * only) and HTTP errors are failures. A connect timeout and a minimum
 * transfer rate replace a total time limit, so that large images on slow
 * links still work while a stalled server fails.
 */

/* Connecting (DNS, TCP, TLS) longer than this fails. */
#define DOWNLOAD_CONNECT_TIMEOUT_SEC 30L
/* A transfer slower than DOWNLOAD_LOW_SPEED_BYTES per second for
 * DOWNLOAD_LOW_SPEED_SEC seconds counts as stalled. */
#define DOWNLOAD_LOW_SPEED_BYTES 1024L
#define DOWNLOAD_LOW_SPEED_SEC 60L

typedef struct DownloadOptions {
        const char *label;              /* shown in the progress line, e.g. "Debian Bookworm" */
        bool show_progress;             /* progress line on stderr, only when stderr is a terminal */
        uint64_t max_size;              /* bytes; larger bodies fail; 0 = no limit */
        long timeout_sec;               /* whole transfer; 0 = only the stall rule above */
} DownloadOptions;

/* Digests of the downloaded bytes, computed while they arrive. */
typedef struct DownloadDigests {
        char blake3[KP_HASH_HEX_SIZE];
        char sha256[KP_SHA256_HEX_SIZE];
        uint64_t size;
} DownloadDigests;

/* Download URL and append the body to FD. DIGESTS may be NULL. Errors are
 * KP_ERROR_RUNTIME with "failed to download <url>: <reason>". */
int download_to_fd(const char *url, int fd, const DownloadOptions *opts, DownloadDigests *digests, KpError *err);

/* Download URL into memory (NUL-terminated, at most MAX_SIZE bytes). */
int download_to_memory(const char *url, const DownloadOptions *opts, char **ret, size_t *ret_len, KpError *err);
