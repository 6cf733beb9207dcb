/* SPDX-License-Identifier: MIT */
/*
 * The linuxcontainers image server protocol, as far as Karapace uses it:
 * <server>/images/<distro>/<variant>/<arch>/default/ is an HTML index with
 * one directory per build, named by date ("20260220_04:20"), each holding
 * rootfs.tar.xz.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "basic/fs-util.h"
#include "runtime/download.h"
#include "runtime/image-internal.h"

/* The index page lists one line per build; a few MiB is far beyond it. */
#define INDEX_MAX_SIZE (4 * 1024 * 1024)
/* The original tool fetches the index with curl --max-time 30. */
#define INDEX_TIMEOUT_SEC 30L

/* Build directory names look like "20260220_04:20". */
#define BUILD_NAME_MIN_LEN 8

const char *image_server_arch(void) {
        struct utsname u;

        if (uname(&u) < 0)
                return "amd64";
        if (streq(u.machine, "aarch64"))
                return "arm64";
        if (streq(u.machine, "riscv64"))
                return "riscv64";
        if (streq(u.machine, "ppc64le"))
                return "ppc64el";
        if (streq(u.machine, "s390x"))
                return "s390x";
        /* x86_64 and anything unknown: the server's main architecture. */
        return "amd64";
}

/* The candidate on one line: the text after the first 'href="' up to the
 * next '"', trailing '/' removed and "%3A" decoded to ':'. */
static char *index_line_candidate(const char *line, size_t len) {
        const char *end = line + len, *start, *quote;
        char *out, *o;

        start = memmem(line, len, "href=\"", 6);
        if (!start)
                return NULL;
        start += 6;
        quote = memchr(start, '"', (size_t) (end - start));
        if (!quote)
                return NULL;
        while (quote > start && quote[-1] == '/')
                quote--;

        out = malloc((size_t) (quote - start) + 1);
        if (!out)
                return NULL;
        for (o = out; start < quote;) {
                if (quote - start >= 3 && strneq(start, "%3A", 3)) {
                        *o++ = ':';
                        start += 3;
                } else
                        *o++ = *start++;
        }
        *o = '\0';
        return out;
}

int image_index_parse_latest(const char *html, char **ret_build) {
        _cleanup_free_ char *best = NULL;

        for (const char *line = html; *line;) {
                size_t len = strcspn(line, "\n");
                char *candidate = index_line_candidate(line, len);

                if (candidate && candidate[0] >= '0' && candidate[0] <= '9' &&
                    strlen(candidate) >= BUILD_NAME_MIN_LEN && (!best || strcmp(candidate, best) > 0)) {
                        free(best);
                        best = candidate;
                } else
                        free(candidate);

                line += len;
                if (*line == '\n')
                        line++;
        }

        if (!best)
                return -ENOENT;
        *ret_build = TAKE_PTR(best);
        return 0;
}

/* Build names contain ':', which the server expects as "%3A". Other bytes
 * that are not safe in a path are escaped too. */
static char *build_name_escape(const char *build) {
        char *out = malloc(strlen(build) * 3 + 1), *o = out;

        if (!out)
                return NULL;
        for (const char *p = build; *p; p++) {
                unsigned char c = (unsigned char) *p;

                if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    strchr("-._~", c))
                        *o++ = (char) c;
                else
                        o += sprintf(o, "%%%02X", c);
        }
        *o = '\0';
        return out;
}

int image_server_latest_url(const ImageConfig *config, const ImageSpec *spec, char **ret_url, KpError *err) {
        _cleanup_free_ char *index_url = NULL, *html = NULL, *build = NULL, *escaped = NULL;
        DownloadOptions dl = {
                .max_size = INDEX_MAX_SIZE,
                .timeout_sec = INDEX_TIMEOUT_SEC,
        };
        int r;

        if (asprintf(&index_url, "%s/images/%s/%s/%s/default/", config->image_server, spec->distro, spec->variant,
                     image_server_arch()) < 0)
                return kp_error_set(err, -ENOMEM, "out of memory");

        r = download_to_memory(index_url, &dl, &html, NULL, err);
        if (r < 0)
                return kp_error_prefix(err, "failed to fetch image index from %s", index_url);

        r = image_index_parse_latest(html, &build);
        if (r == -ENOENT)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, r, "no builds found at %s", index_url);
        if (r < 0)
                return kp_error_set(err, r, "out of memory");

        escaped = build_name_escape(build);
        if (!escaped || asprintf(ret_url, "%s%s/rootfs.tar.xz", index_url, escaped) < 0)
                return kp_error_set(err, -ENOMEM, "out of memory");
        return 0;
}
