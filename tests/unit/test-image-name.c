/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "schema/image-name.h"

static ImageSpec *resolve_ok(const char *image) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        ImageSpec *spec = NULL;

        if (image_spec_resolve(image, &spec, &err) < 0)
                fail_msg("'%s' did not resolve: %s", image, err.message);
        return spec;
}

static void test_every_alias_resolves(void **state) {
        static const struct {
                const char *name, *distro, *variant, *cache_key, *display;
        } cases[] = {
                { "rolling", "opensuse", "tumbleweed", "opensuse-tumbleweed", "openSUSE Tumbleweed" },
                { "opensuse", "opensuse", "tumbleweed", "opensuse-tumbleweed", "openSUSE Tumbleweed" },
                { "opensuse/tumbleweed", "opensuse", "tumbleweed", "opensuse-tumbleweed", "openSUSE Tumbleweed" },
                { "tumbleweed", "opensuse", "tumbleweed", "opensuse-tumbleweed", "openSUSE Tumbleweed" },
                { "opensuse/leap", "opensuse", "15.6", "opensuse-leap-15.6", "openSUSE Leap 15.6" },
                { "leap", "opensuse", "15.6", "opensuse-leap-15.6", "openSUSE Leap 15.6" },
                { "ubuntu", "ubuntu", "noble", "ubuntu-noble", "Ubuntu 24.04 (Noble)" },
                { "ubuntu/24.04", "ubuntu", "noble", "ubuntu-noble", "Ubuntu 24.04 (Noble)" },
                { "ubuntu/noble", "ubuntu", "noble", "ubuntu-noble", "Ubuntu 24.04 (Noble)" },
                { "ubuntu/22.04", "ubuntu", "jammy", "ubuntu-jammy", "Ubuntu 22.04 (Jammy)" },
                { "ubuntu/jammy", "ubuntu", "jammy", "ubuntu-jammy", "Ubuntu 22.04 (Jammy)" },
                { "ubuntu/24.10", "ubuntu", "oracular", "ubuntu-oracular", "Ubuntu 24.10 (Oracular)" },
                { "ubuntu/oracular", "ubuntu", "oracular", "ubuntu-oracular", "Ubuntu 24.10 (Oracular)" },
                { "ubuntu/20.04", "ubuntu", "focal", "ubuntu-focal", "Ubuntu 20.04 (Focal)" },
                { "ubuntu/focal", "ubuntu", "focal", "ubuntu-focal", "Ubuntu 20.04 (Focal)" },
                { "debian", "debian", "bookworm", "debian-bookworm", "Debian Bookworm" },
                { "debian/bookworm", "debian", "bookworm", "debian-bookworm", "Debian Bookworm" },
                { "debian/trixie", "debian", "trixie", "debian-trixie", "Debian Trixie" },
                { "debian/sid", "debian", "sid", "debian-sid", "Debian Sid" },
                { "fedora", "fedora", "41", "fedora-41", "Fedora 41" },
                { "fedora/41", "fedora", "41", "fedora-41", "Fedora 41" },
                { "fedora/40", "fedora", "40", "fedora-40", "Fedora 40" },
                { "fedora/42", "fedora", "42", "fedora-42", "Fedora 42" },
                { "arch", "archlinux", "current", "archlinux", "Arch Linux" },
                { "archlinux", "archlinux", "current", "archlinux", "Arch Linux" },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                _cleanup_image_spec_free_ ImageSpec *spec = resolve_ok(cases[i].name);

                assert_false(spec->is_url);
                assert_string_equal(spec->name, cases[i].name);
                assert_string_equal(spec->distro, cases[i].distro);
                assert_string_equal(spec->variant, cases[i].variant);
                assert_string_equal(spec->cache_key, cases[i].cache_key);
                assert_string_equal(spec->display_name, cases[i].display);
        }
}

static void test_alias_trimmed_and_lowercased(void **state) {
        _cleanup_image_spec_free_ ImageSpec *spec = resolve_ok("  Ubuntu/24.04\t");

        assert_string_equal(spec->name, "ubuntu/24.04");
        assert_string_equal(spec->cache_key, "ubuntu-noble");
}

static void test_url_cache_key(void **state) {
        _cleanup_image_spec_free_ ImageSpec *spec = resolve_ok("https://example.com/rootfs.tar.xz");
        _cleanup_image_spec_free_ ImageSpec *upper = resolve_ok(" HTTPS://Example.COM/rootfs.tar.xz ");
        _cleanup_image_spec_free_ ImageSpec *plain = resolve_ok("http://example.com/a.tar.xz");

        assert_true(spec->is_url);
        assert_null(spec->distro);
        assert_null(spec->variant);
        assert_string_equal(spec->cache_key,
                            "custom-1d95485ded2dc9d266388d098ebb558879f6400f753307e7317acb4541f42f4e");
        assert_string_equal(spec->display_name, "Custom (https://example.com/rootfs.tar.xz)");

        /* URLs are lowercased before use, as in the original tool. */
        assert_true(upper->is_url);
        assert_string_equal(upper->name, "https://example.com/rootfs.tar.xz");
        assert_string_equal(upper->cache_key, spec->cache_key);

        assert_true(plain->is_url);
        assert_true(strneq(plain->cache_key, "custom-", 7));
        assert_string_not_equal(plain->cache_key, spec->cache_key);
}

static void test_unknown_image_error(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        ImageSpec *spec = NULL;

        assert_int_equal(image_spec_resolve(" Gentoo ", &spec, &err), -ENOENT);
        assert_null(spec);
        assert_int_equal(err.kind, KP_ERROR_RUNTIME);
        assert_string_equal(err.message,
                            "image not found: unknown image 'gentoo'. Supported: rolling, opensuse, "
                            "opensuse/tumbleweed, tumbleweed, opensuse/leap, leap, ubuntu, ubuntu/24.04, "
                            "ubuntu/noble, ubuntu/22.04, ubuntu/jammy, ubuntu/24.10, ubuntu/oracular, "
                            "ubuntu/20.04, ubuntu/focal, debian, debian/bookworm, debian/trixie, debian/sid, "
                            "fedora, fedora/41, fedora/40, fedora/42, arch, archlinux, or a URL starting with "
                            "http:// or https://");

        kp_error_clear(&err);
        assert_int_equal(image_spec_resolve("ftp://example.com/x.tar", &spec, &err), -ENOENT);
        assert_int_equal(image_spec_resolve("", &spec, &err), -ENOENT);
        assert_int_equal(image_spec_resolve("ubuntu/", &spec, &err), -ENOENT);
}

static void test_is_pinned(void **state) {
        assert_true(image_is_pinned("https://example.com/rootfs.tar.xz"));
        assert_true(image_is_pinned("http://example.com/rootfs.tar.xz"));
        assert_true(image_is_pinned("  https://example.com/x\n"));
        assert_false(image_is_pinned("rolling"));
        assert_false(image_is_pinned("ubuntu/24.04"));
        assert_false(image_is_pinned("ftp://example.com/x"));
        assert_false(image_is_pinned("HTTPS://example.com/x"));
        assert_false(image_is_pinned("https:/x"));
        assert_false(image_is_pinned(""));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_every_alias_resolves),
                cmocka_unit_test(test_alias_trimmed_and_lowercased),
                cmocka_unit_test(test_url_cache_key),
                cmocka_unit_test(test_unknown_image_error),
                cmocka_unit_test(test_is_pinned),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
