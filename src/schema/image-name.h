/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>

#include "basic/error.h"

/*
 * Base image names: the built-in aliases ("rolling", "ubuntu/24.04", ...)
 * and http(s) URLs of a root filesystem tarball. Names are trimmed and
 * lowercased before matching, URLs included, as the original tool does.
 */

typedef struct ImageSpec {
        char *name;             /* trimmed and lowercased */
        bool is_url;
        const char *distro;     /* directory on the image server, NULL for URLs */
        const char *variant;    /* NULL for URLs */
        char *cache_key;        /* directory name in the image cache */
        char *display_name;     /* e.g. "Ubuntu 24.04 (Noble)", "Custom (<url>)" */
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
