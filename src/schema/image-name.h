/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>

#include "basic/error.h"

/*
 * Base image names (docs/images.md):
 * - the built-in aliases ("rolling", "ubuntu/24.04", ...), found on an
 *   image server that speaks the linuxcontainers protocol;
 * - http(s) URLs of a root filesystem tarball, optionally with the
 *   expected digest of the downloaded bytes as a fragment:
 *   "https://host/rootfs.tar.xz#sha256=<64 hex>" or "#blake3=<64 hex>";
 * - "file:///abs/path/rootfs.tar[.gz|.xz|.zst]", a local tarball;
 * - "bootstrap:<distro>/<suite>" (distro debian or ubuntu), a base built
 *   with mmdebstrap.
 * Names are trimmed and lowercased before matching, URLs included, as the
 * original tool does. The path of a file: image keeps its case.
 */

typedef enum ImageKind {
        IMAGE_KIND_ALIAS,
        IMAGE_KIND_URL,
        IMAGE_KIND_FILE,
        IMAGE_KIND_BOOTSTRAP,
        _IMAGE_KIND_MAX,
} ImageKind;

typedef enum ImageDigestType {
        IMAGE_DIGEST_NONE,
        IMAGE_DIGEST_SHA256,
        IMAGE_DIGEST_BLAKE3,
} ImageDigestType;

typedef struct ImageSpec {
        char *name;             /* trimmed and lowercased (file: images keep the path's case) */
        ImageKind kind;
        bool is_url;            /* kind == IMAGE_KIND_URL */
        const char *distro;     /* directory on the image server, or the bootstrap distro; NULL otherwise */
        const char *variant;    /* directory on the image server; NULL for other kinds */
        char *cache_key;        /* directory name in the image cache */
        char *display_name;     /* e.g. "Ubuntu 24.04 (Noble)", "Custom (<url>)" */
        char *url;              /* URL images: NAME without the fragment */
        ImageDigestType expected_digest_type;   /* URL images with a digest fragment */
        char expected_digest[65];               /* 64 lowercase hex, "" without */
        char *path;             /* file: images: absolute path of the tarball */
        char *suite;            /* bootstrap: images: e.g. "bookworm" */
} ImageSpec;

/* Look up IMAGE. An unknown name fails with KP_ERROR_RUNTIME and
 * "image not found: unknown image '<name>'. Supported: <aliases>, or a URL ...". */
int image_spec_resolve(const char *image, ImageSpec **ret, KpError *err);

ImageSpec *image_spec_free(ImageSpec *spec);
static inline void image_spec_freep(ImageSpec **spec) {
        if (*spec)
                (void) image_spec_free(*spec);
}
#define _cleanup_image_spec_free_ _cleanup_(image_spec_freep)

/* Returns true when IMAGE, trimmed, starts with "http://" or "https://"
 * (case-sensitive). */
bool image_is_pinned(const char *image);
