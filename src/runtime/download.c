/* SPDX-License-Identifier: MIT */
#include "runtime/curl-api.h"
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "basic/fs-util.h"
#include "basic/log.h"
#include "config.h"
#include "runtime/download.h"

/* Redirect chains longer than this are treated as loops. */
#define DOWNLOAD_MAX_REDIRECTS 10L

/* The progress line is redrawn at most this often. */
#define PROGRESS_INTERVAL_NSEC (250 * 1000 * 1000LL)

typedef struct Transfer {
        const DownloadOptions *opts;

        /* Destination: a file descriptor or a growing memory buffer. */
        int fd;
        char *buf;
        size_t len, allocated;

        uint64_t received;
        bool too_large;
        int write_errno;

        blake3_hasher blake3;
        KpSha256 sha256;

        /* Progress line state. */
        bool progress;
        int64_t started_ns, last_drawn_ns;
        bool drawn;
} Transfer;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void curl_init_once(void) {
        curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int64_t now_ns(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void easy_cleanupp(CURL **c) {
        if (*c)
                curl_easy_cleanup(*c);
}
#define _cleanup_curl_easy_ _cleanup_(easy_cleanupp)

/* ---- Progress ---------------------------------------------------------- */

static void format_size(double bytes, char *buf, size_t size) {
        static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
        unsigned u = 0;

        while (bytes >= 1024 && u + 1 < ELEMENTSOF(units)) {
                bytes /= 1024;
                u++;
        }
        snprintf(buf, size, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
}

static void progress_draw(Transfer *t, double total, bool final) {
        double elapsed = (double) (now_ns() - t->started_ns) / 1e9;
        double rate = elapsed > 0 ? (double) t->received / elapsed : 0;
        char got[32], all[32], speed[32], eta[32] = "";

        format_size((double) t->received, got, sizeof(got));
        format_size(rate, speed, sizeof(speed));
        if (total > 0) {
                format_size(total, all, sizeof(all));
                if (rate > 0 && !final) {
                        long left = (long) ((total - (double) t->received) / rate);

                        snprintf(eta, sizeof(eta), ", %ld:%02ld left", left / 60, left % 60);
                }
                fprintf(stderr, "\r%s: %s / %s (%.0f%%), %s/s%s\033[K", t->opts->label, got, all,
                        100.0 * (double) t->received / total, speed, eta);
        } else
                fprintf(stderr, "\r%s: %s, %s/s\033[K", t->opts->label, got, speed);
        if (final)
                fputc('\n', stderr);
        fflush(stderr);
        t->drawn = true;
}

static int progress_callback(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                             curl_off_t ulnow) {
        Transfer *t = userdata;
        int64_t now = now_ns();

        if (now - t->last_drawn_ns >= PROGRESS_INTERVAL_NSEC) {
                t->last_drawn_ns = now;
                progress_draw(t, (double) dltotal, /* final= */ false);
        }
        return 0;
}

/* ---- Receiving --------------------------------------------------------- */

static int sink_memory(Transfer *t, const char *data, size_t n) {
        if (t->len + n + 1 > t->allocated) {
                size_t want = (t->len + n + 1) * 2;
                char *grown = realloc(t->buf, want);

                if (!grown)
                        return -ENOMEM;
                t->buf = grown;
                t->allocated = want;
        }
        memcpy(t->buf + t->len, data, n);
        t->len += n;
        t->buf[t->len] = '\0';
        return 0;
}

static size_t write_callback(char *data, size_t size, size_t nmemb, void *userdata) {
        Transfer *t = userdata;
        size_t n = size * nmemb;
        int r;

        if (t->opts->max_size > 0 && t->received + n > t->opts->max_size) {
                t->too_large = true;
                return 0;
        }

        if (t->fd >= 0)
                r = kp_write_all(t->fd, data, n);
        else
                r = sink_memory(t, data, n);
        if (r < 0) {
                t->write_errno = -r;
                return 0;
        }

        blake3_hasher_update(&t->blake3, data, n);
        kp_sha256_update(&t->sha256, data, n);
        t->received += n;
        return n;
}

/* ---- The transfer ------------------------------------------------------ */

static int transfer_setup(CURL *c, const char *url, Transfer *t, char *errbuf) {
        const DownloadOptions *o = t->opts;
        CURLcode rc = CURLE_OK;

#define SET(option, value) \
        do { \
                if (rc == CURLE_OK) \
                        rc = curl_easy_setopt(c, option, value); \
        } while (0)
        SET(CURLOPT_URL, url);
        SET(CURLOPT_ERRORBUFFER, errbuf);
        SET(CURLOPT_FAILONERROR, 1L);
        SET(CURLOPT_FOLLOWLOCATION, 1L);
        SET(CURLOPT_MAXREDIRS, DOWNLOAD_MAX_REDIRECTS);
        SET(CURLOPT_PROTOCOLS_STR, "http,https");
        SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
        SET(CURLOPT_USERAGENT, "karapace/" KARAPACE_VERSION);
        SET(CURLOPT_CONNECTTIMEOUT, DOWNLOAD_CONNECT_TIMEOUT_SEC);
        SET(CURLOPT_LOW_SPEED_LIMIT, DOWNLOAD_LOW_SPEED_BYTES);
        SET(CURLOPT_LOW_SPEED_TIME, DOWNLOAD_LOW_SPEED_SEC);
        SET(CURLOPT_TIMEOUT, o->timeout_sec);
        SET(CURLOPT_NOSIGNAL, 1L);
        SET(CURLOPT_WRITEFUNCTION, write_callback);
        SET(CURLOPT_WRITEDATA, t);
        if (o->max_size > 0)
                SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) o->max_size);
        if (t->progress) {
                SET(CURLOPT_NOPROGRESS, 0L);
                SET(CURLOPT_XFERINFOFUNCTION, progress_callback);
                SET(CURLOPT_XFERINFODATA, t);
        }
#undef SET
        return rc == CURLE_OK ? 0 : -EINVAL;
}

static int transfer_error(const char *url, Transfer *t, CURLcode rc, const char *errbuf, KpError *err) {
        if (t->write_errno == ENOMEM)
                return kp_error_set(err, -ENOMEM, "out of memory");
        if (t->write_errno != 0)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, -t->write_errno, "failed to download %s: %s", url,
                                         strerror(t->write_errno));
        if (t->too_large || rc == CURLE_FILESIZE_EXCEEDED)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, -EFBIG,
                                         "failed to download %s: larger than the limit of %" PRIu64 " bytes", url,
                                         t->opts->max_size);
        if (rc == CURLE_OPERATION_TIMEDOUT)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, -ETIMEDOUT, "failed to download %s: timed out (%s)",
                                         url, errbuf[0] ? errbuf : curl_easy_strerror(rc));
        return kp_error_set_kind(err, KP_ERROR_RUNTIME, -EIO, "failed to download %s: %s", url,
                                 errbuf[0] ? errbuf : curl_easy_strerror(rc));
}

static int transfer_run(const char *url, Transfer *t, KpError *err) {
        _cleanup_curl_easy_ CURL *c = NULL;
        char errbuf[CURL_ERROR_SIZE] = "";
        curl_off_t total = -1;
        CURLcode rc;

        (void) pthread_once(&curl_once, curl_init_once);
        if (curl_init_result != CURLE_OK)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, -EIO, "failed to initialize libcurl: %s",
                                         curl_easy_strerror(curl_init_result));

        c = curl_easy_init();
        if (!c || transfer_setup(c, url, t, errbuf) < 0)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, -ENOMEM, "failed to set up the download of %s", url);

        blake3_hasher_init(&t->blake3);
        kp_sha256_init(&t->sha256);
        t->started_ns = t->last_drawn_ns = now_ns();

        log_debug("downloading %s", url);
        rc = curl_easy_perform(c);
        if (t->drawn) {
                (void) curl_easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &total);
                progress_draw(t, (double) total, /* final= */ true);
        }
        if (rc != CURLE_OK)
                return transfer_error(url, t, rc, errbuf, err);

        log_debug("downloaded %" PRIu64 " bytes from %s", t->received, url);
        return 0;
}

int download_to_fd(const char *url, int fd, const DownloadOptions *opts, DownloadDigests *digests, KpError *err) {
        Transfer t = {
                .opts = opts,
                .fd = fd,
                .progress = opts->show_progress && opts->label && isatty(STDERR_FILENO),
        };
        int r;

        r = transfer_run(url, &t, err);
        if (r < 0)
                return r;

        if (digests) {
                uint8_t out[BLAKE3_OUT_LEN];

                blake3_hasher_finalize(&t.blake3, out, sizeof(out));
                kp_hex_encode(out, sizeof(out), digests->blake3);
                kp_sha256_final_hex(&t.sha256, digests->sha256);
                digests->size = t.received;
        }
        return 0;
}

int download_to_memory(const char *url, const DownloadOptions *opts, char **ret, size_t *ret_len, KpError *err) {
        Transfer t = {
                .opts = opts,
                .fd = -1,
        };
        int r;

        r = transfer_run(url, &t, err);
        if (r < 0) {
                free(t.buf);
                return r;
        }

        if (!t.buf) {
                t.buf = strdup("");
                if (!t.buf)
                        return kp_error_set(err, -ENOMEM, "out of memory");
        }
        *ret = t.buf;
        if (ret_len)
                *ret_len = t.len;
        return 0;
}
