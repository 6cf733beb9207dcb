/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/hash.h"
#include "schema/image-name.h"
#include "schema/schema-util.h"

typedef struct ImageAlias {
        const char *names[5];   /* NULL-terminated */
        const char *distro;
        const char *variant;
        const char *cache_key;
        const char *display_name;
} ImageAlias;

/* Distro and variant are directory names on the image server. The cache
 * keys are the directory names that existing image caches use. */
static const ImageAlias image_aliases[] = {
        { { "rolling", "opensuse", "opensuse/tumbleweed", "tumbleweed" },
          "opensuse", "tumbleweed", "opensuse-tumbleweed", "openSUSE Tumbleweed" },
        { { "opensuse/leap", "leap" }, "opensuse", "15.6", "opensuse-leap-15.6", "openSUSE Leap 15.6" },
        { { "ubuntu", "ubuntu/24.04", "ubuntu/noble" }, "ubuntu", "noble", "ubuntu-noble", "Ubuntu 24.04 (Noble)" },
        { { "ubuntu/22.04", "ubuntu/jammy" }, "ubuntu", "jammy", "ubuntu-jammy", "Ubuntu 22.04 (Jammy)" },
        { { "ubuntu/24.10", "ubuntu/oracular" }, "ubuntu", "oracular", "ubuntu-oracular", "Ubuntu 24.10 (Oracular)" },
        { { "ubuntu/20.04", "ubuntu/focal" }, "ubuntu", "focal", "ubuntu-focal", "Ubuntu 20.04 (Focal)" },
        { { "debian", "debian/bookworm" }, "debian", "bookworm", "debian-bookworm", "Debian Bookworm" },
        { { "debian/trixie" }, "debian", "trixie", "debian-trixie", "Debian Trixie" },
        { { "debian/sid" }, "debian", "sid", "debian-sid", "Debian Sid" },
        { { "fedora", "fedora/41" }, "fedora", "41", "fedora-41", "Fedora 41" },
        { { "fedora/40" }, "fedora", "40", "fedora-40", "Fedora 40" },
        { { "fedora/42" }, "fedora", "42", "fedora-42", "Fedora 42" },
        { { "arch", "archlinux" }, "archlinux", "current", "archlinux", "Arch Linux" },
};

ImageSpec *image_spec_free(ImageSpec *spec) {
        if (!spec)
                return NULL;

        free(spec->name);
        free(spec->cache_key);
        free(spec->display_name);
        free(spec);
        return NULL;
}

static bool has_url_scheme(const char *s) {
        return strneq(s, "http://", 7) || strneq(s, "https://", 8);
}

bool image_is_pinned(const char *image) {
        _cleanup_free_ char *trimmed = NULL;

        trimmed = schema_strdup_trimmed(image);
        return trimmed && has_url_scheme(trimmed);
}

static const ImageAlias *image_alias_find(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(image_aliases); i++)
                for (const char *const *n = image_aliases[i].names; *n; n++)
                        if (streq(*n, name))
                                return &image_aliases[i];
        return NULL;
}

/* "rolling, opensuse, ..., arch, archlinux" */
static char *image_alias_list(void) {
        _cleanup_free_ char *list = NULL;
        size_t size = 0;
        bool first = true;
        FILE *f;

        f = open_memstream(&list, &size);
        if (!f)
                return NULL;

        for (size_t i = 0; i < ELEMENTSOF(image_aliases); i++)
                for (const char *const *n = image_aliases[i].names; *n; n++) {
                        fprintf(f, "%s%s", first ? "" : ", ", *n);
                        first = false;
                }

        if (fclose(f) != 0)
                return NULL;
        return TAKE_PTR(list);
}

static int image_unknown_error(const char *name, KpError *err) {
        _cleanup_free_ char *aliases = NULL;

        aliases = image_alias_list();
        if (!aliases)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, -ENOMEM, "image not found: out of memory");

        return kp_error_set_kind(err, KP_ERROR_RUNTIME, -ENOENT,
                                 "image not found: unknown image '%s'. Supported: %s, or a URL starting with http:// or https://",
                                 name, aliases);
}

static int image_spec_fill(ImageSpec *spec) {
        const ImageAlias *alias;
        char hash[KP_HASH_HEX_SIZE];

        if (has_url_scheme(spec->name)) {
                spec->is_url = true;
                kp_hash_str_hex(spec->name, hash);
                if (asprintf(&spec->cache_key, "custom-%s", hash) < 0 ||
                    asprintf(&spec->display_name, "Custom (%s)", spec->name) < 0)
                        return -ENOMEM;
                return 0;
        }

        alias = image_alias_find(spec->name);
        if (!alias)
                return -ENOENT;

        spec->distro = alias->distro;
        spec->variant = alias->variant;
        spec->cache_key = strdup(alias->cache_key);
        spec->display_name = strdup(alias->display_name);
        if (!spec->cache_key || !spec->display_name)
                return -ENOMEM;
        return 0;
}

int image_spec_resolve(const char *image, ImageSpec **ret, KpError *err) {
        _cleanup_image_spec_free_ ImageSpec *spec = NULL;
        int r;

        spec = calloc(1, sizeof(ImageSpec));
        if (!spec)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, -ENOMEM, "image not found: out of memory");

        /* NOTE: lowercasing the URL too follows the original tool, so that
         * cache keys match, but it breaks servers with case-sensitive paths. */
        spec->name = schema_strdup_trimmed(image);
        if (!spec->name)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, -ENOMEM, "image not found: out of memory");
        schema_ascii_lowercase(spec->name);

        r = image_spec_fill(spec);
        if (r == -ENOENT)
                return image_unknown_error(spec->name, err);
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, r, "image not found: out of memory");

        *ret = TAKE_PTR(spec);
        return 0;
}
