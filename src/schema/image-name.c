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
        free(spec->url);
        free(spec->path);
        free(spec->suite);
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

/* "#sha256=<hex>" or "#blake3=<hex>" at the end of a URL. A fragment
 * without '=' is not a digest and stays part of the URL. */
static int image_url_parse_digest(ImageSpec *spec, KpError *err) {
        const char *hash = strchr(spec->name, '#');
        const char *value;

        if (!hash || !strchr(hash, '=')) {
                spec->url = strdup(spec->name);
                return spec->url ? 0 : -ENOMEM;
        }

        if (strneq(hash + 1, "sha256=", 7))
                spec->expected_digest_type = IMAGE_DIGEST_SHA256;
        else if (strneq(hash + 1, "blake3=", 7))
                spec->expected_digest_type = IMAGE_DIGEST_BLAKE3;
        else
                return kp_error_set_kind(err, KP_ERROR_MANIFEST, -EINVAL,
                                         "invalid image URL '%s': unknown digest type in '%s' (expected #sha256=<hex> "
                                         "or #blake3=<hex>)",
                                         spec->name, hash);

        value = hash + 8;
        if (!kp_hash_hex_is_valid(value))
                return kp_error_set_kind(err, KP_ERROR_MANIFEST, -EINVAL,
                                         "invalid image URL '%s': the digest must be 64 hexadecimal characters",
                                         spec->name);

        memcpy(spec->expected_digest, value, KP_HASH_HEX_LEN + 1);
        spec->url = strndup(spec->name, (size_t) (hash - spec->name));
        return spec->url ? 0 : -ENOMEM;
}

static int image_spec_fill_url(ImageSpec *spec, KpError *err) {
        char hash[KP_HASH_HEX_SIZE];
        int r;

        spec->kind = IMAGE_KIND_URL;
        spec->is_url = true;
        r = image_url_parse_digest(spec, err);
        if (r < 0)
                return r;

        /* The whole name, fragment included: an image pinned to another
         * digest is another cache entry. */
        kp_hash_str_hex(spec->name, hash);
        if (asprintf(&spec->cache_key, "custom-%s", hash) < 0 ||
            asprintf(&spec->display_name, "Custom (%s)", spec->name) < 0)
                return -ENOMEM;
        return 0;
}

/* "file:///abs/path": RAW is the trimmed name before lowercasing. */
static int image_spec_fill_file(ImageSpec *spec, const char *raw, KpError *err) {
        char hash[KP_HASH_HEX_SIZE];
        const char *path = raw + strlen("file://");

        spec->kind = IMAGE_KIND_FILE;
        if (path[0] != '/')
                return kp_error_set_kind(err, KP_ERROR_MANIFEST, -EINVAL,
                                         "invalid image '%s': a file: image needs an absolute path, as in "
                                         "file:///path/to/rootfs.tar.gz",
                                         raw);

        free(spec->name);
        spec->name = strdup(raw);
        memcpy(spec->name, "file://", 7);
        spec->path = strdup(path);
        if (!spec->name || !spec->path)
                return -ENOMEM;

        kp_hash_str_hex(spec->path, hash);
        if (asprintf(&spec->cache_key, "file-%s", hash) < 0 ||
            asprintf(&spec->display_name, "Local (%s)", spec->path) < 0)
                return -ENOMEM;
        return 0;
}

static bool bootstrap_suite_is_valid(const char *s) {
        if (isempty(s) || strlen(s) > 64)
                return false;
        for (; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '.'))
                        return false;
        return true;
}

/* "bootstrap:debian/bookworm", "bootstrap:ubuntu/noble". */
static int image_spec_fill_bootstrap(ImageSpec *spec, KpError *err) {
        const char *rest = spec->name + strlen("bootstrap:");
        const char *slash = strchr(rest, '/');

        spec->kind = IMAGE_KIND_BOOTSTRAP;
        if (slash && (size_t) (slash - rest) == 6 && strneq(rest, "debian", 6))
                spec->distro = "debian";
        else if (slash && (size_t) (slash - rest) == 6 && strneq(rest, "ubuntu", 6))
                spec->distro = "ubuntu";
        else
                return kp_error_set_kind(err, KP_ERROR_MANIFEST, -EINVAL,
                                         "invalid image '%s': expected bootstrap:debian/<suite> or "
                                         "bootstrap:ubuntu/<suite>, as in bootstrap:debian/bookworm",
                                         spec->name);

        if (!bootstrap_suite_is_valid(slash + 1))
                return kp_error_set_kind(err, KP_ERROR_MANIFEST, -EINVAL,
                                         "invalid image '%s': the suite must be a release name such as bookworm or "
                                         "noble (letters, digits, '-' and '.')",
                                         spec->name);

        spec->suite = strdup(slash + 1);
        if (!spec->suite)
                return -ENOMEM;
        if (asprintf(&spec->cache_key, "bootstrap-%s-%s", spec->distro, spec->suite) < 0 ||
            asprintf(&spec->display_name, "%s %s (bootstrap)", streq(spec->distro, "debian") ? "Debian" : "Ubuntu",
                     spec->suite) < 0)
                return -ENOMEM;
        return 0;
}

static int image_spec_fill(ImageSpec *spec, const char *raw, KpError *err) {
        const ImageAlias *alias;

        if (has_url_scheme(spec->name))
                return image_spec_fill_url(spec, err);
        if (strneq(spec->name, "file://", 7))
                return image_spec_fill_file(spec, raw, err);
        if (strneq(spec->name, "bootstrap:", 10))
                return image_spec_fill_bootstrap(spec, err);

        alias = image_alias_find(spec->name);
        if (!alias)
                return -ENOENT;

        spec->kind = IMAGE_KIND_ALIAS;
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
        _cleanup_free_ char *raw = NULL;
        int r;

        spec = calloc(1, sizeof(ImageSpec));
        if (!spec)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, -ENOMEM, "image not found: out of memory");

        /* NOTE: lowercasing the URL too follows the original tool, so that
         * cache keys match, but it breaks servers with case-sensitive paths. */
        spec->name = schema_strdup_trimmed(image);
        raw = schema_strdup_trimmed(image);
        if (!spec->name || !raw)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, -ENOMEM, "image not found: out of memory");
        schema_ascii_lowercase(spec->name);

        r = image_spec_fill(spec, raw, err);
        if (r == -ENOENT)
                return image_unknown_error(spec->name, err);
        if (r == -ENOMEM)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, r, "image not found: out of memory");
        if (r < 0)
                return r;

        *ret = TAKE_PTR(spec);
        return 0;
}
