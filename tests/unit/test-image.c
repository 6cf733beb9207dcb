/* SPDX-License-Identifier: MIT */
/*
 * Base images: the image name syntaxes, the image server index, the apt
 * sources and configuration lookups, and image_ensure() on local tarballs.
 *
 * Run with arguments, this program is also the driver of the integration
 * tests (tests/integration/test_images.py), which reach image_ensure()
 * before the CLI does. The commands are:
 *
 *   test-image ensure STORE IMAGE [--offline]   (prints the ImageInfo as JSON)
 *   test-image verify STORE CACHE_KEY           (prints the ImageVerifyResult)
 *   test-image digest DIR                       (prints image_tree_digest())
 *   test-image remove DIR                       (userns_remove_tree(), for cleanup)
 *
 * Progress messages go to stderr as "[karapace] <message>"; a failure
 * prints the error and exits 1.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <jansson.h>

#include "basic/json-util.h"
#include "basic/log.h"
#include "runtime/image-internal.h"
#include "runtime/userns.h"
#include "schema/image-name.h"
#include "test-image-helpers.h"

/* ---- Image names --------------------------------------------------------- */

static ImageSpec *resolve_ok(const char *image) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        ImageSpec *spec = NULL;

        if (image_spec_resolve(image, &spec, &err) < 0)
                fail_msg("'%s' did not resolve: %s", image, err.message);
        return spec;
}

static void expect_invalid(const char *image, const char *message_part) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        ImageSpec *spec = NULL;

        assert_int_equal(image_spec_resolve(image, &spec, &err), -EINVAL);
        assert_null(spec);
        assert_int_equal(err.kind, KP_ERROR_MANIFEST);
        if (!strstr(err.message, message_part))
                fail_msg("message '%s' does not contain '%s'", err.message, message_part);
}

static void test_spec_file_image(void **state) {
        _cleanup_image_spec_free_ ImageSpec *spec = resolve_ok(" FILE:///Data/Images/RootFS.tar.gz ");
        _cleanup_image_spec_free_ ImageSpec *other = resolve_ok("file:///data/images/rootfs.tar.gz");

        assert_int_equal(spec->kind, IMAGE_KIND_FILE);
        assert_false(spec->is_url);
        assert_string_equal(spec->name, "file:///Data/Images/RootFS.tar.gz");
        assert_string_equal(spec->path, "/Data/Images/RootFS.tar.gz");
        assert_string_equal(spec->display_name, "Local (/Data/Images/RootFS.tar.gz)");
        assert_true(strneq(spec->cache_key, "file-", 5));
        assert_int_equal(strlen(spec->cache_key), 5 + KP_HASH_HEX_LEN);

        /* Paths are case-sensitive. */
        assert_string_not_equal(spec->cache_key, other->cache_key);

        expect_invalid("file://relative/rootfs.tar", "needs an absolute path");
        expect_invalid("file://", "needs an absolute path");
}

static void test_spec_url_digest(void **state) {
        static const char hex[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        _cleanup_free_ char *with_sha = NULL, *with_b3 = NULL;
        _cleanup_image_spec_free_ ImageSpec *plain = resolve_ok("https://example.com/rootfs.tar.xz");
        _cleanup_image_spec_free_ ImageSpec *sha = NULL, *b3 = NULL, *frag = NULL;

        assert_true(asprintf(&with_sha, "https://example.com/rootfs.tar.xz#sha256=%s", hex) > 0);
        assert_true(asprintf(&with_b3, "HTTPS://example.com/rootfs.tar.xz#BLAKE3=%s", hex) > 0);
        sha = resolve_ok(with_sha);
        b3 = resolve_ok(with_b3);
        frag = resolve_ok("https://example.com/rootfs.tar.xz#top");

        assert_int_equal(plain->kind, IMAGE_KIND_URL);
        assert_int_equal(plain->expected_digest_type, IMAGE_DIGEST_NONE);
        assert_string_equal(plain->url, "https://example.com/rootfs.tar.xz");
        assert_string_equal(plain->expected_digest, "");

        assert_int_equal(sha->expected_digest_type, IMAGE_DIGEST_SHA256);
        assert_string_equal(sha->expected_digest, hex);
        assert_string_equal(sha->url, "https://example.com/rootfs.tar.xz");
        assert_int_equal(b3->expected_digest_type, IMAGE_DIGEST_BLAKE3);
        assert_string_equal(b3->url, "https://example.com/rootfs.tar.xz");

        /* The cache key covers the digest: another digest is another image. */
        assert_string_not_equal(sha->cache_key, plain->cache_key);
        assert_string_not_equal(sha->cache_key, b3->cache_key);

        /* A fragment without '=' is not a digest. */
        assert_int_equal(frag->expected_digest_type, IMAGE_DIGEST_NONE);
        assert_string_equal(frag->url, "https://example.com/rootfs.tar.xz#top");

        expect_invalid("https://example.com/x.tar#md5=abc", "unknown digest type in '#md5=abc'");
        expect_invalid("https://example.com/x.tar#sha256=abc", "must be 64 hexadecimal characters");
        expect_invalid("https://example.com/x.tar#blake3=", "must be 64 hexadecimal characters");
}

static void test_spec_bootstrap(void **state) {
        _cleanup_image_spec_free_ ImageSpec *debian = resolve_ok("bootstrap:debian/bookworm");
        _cleanup_image_spec_free_ ImageSpec *ubuntu = resolve_ok(" Bootstrap:Ubuntu/Noble ");

        assert_int_equal(debian->kind, IMAGE_KIND_BOOTSTRAP);
        assert_string_equal(debian->distro, "debian");
        assert_string_equal(debian->suite, "bookworm");
        assert_string_equal(debian->cache_key, "bootstrap-debian-bookworm");
        assert_string_equal(debian->display_name, "Debian bookworm (bootstrap)");

        assert_string_equal(ubuntu->distro, "ubuntu");
        assert_string_equal(ubuntu->suite, "noble");
        assert_string_equal(ubuntu->cache_key, "bootstrap-ubuntu-noble");

        expect_invalid("bootstrap:fedora/41", "expected bootstrap:debian/<suite>");
        expect_invalid("bootstrap:debian", "expected bootstrap:debian/<suite>");
        expect_invalid("bootstrap:debian/", "the suite must be a release name");
        expect_invalid("bootstrap:debian/../../x", "the suite must be a release name");
        expect_invalid("bootstrap:debian/a b", "the suite must be a release name");
}

/* ---- Image server index --------------------------------------------------- */

static void test_index_latest_build(void **state) {
        static const char html[] =
                "<html><body><h1>Index</h1>\n"
                "<a href=\"../\">Parent</a>\n"
                "<tr><td><a href=\"20260219_04%3A20/\">20260219_04:20/</a></td></tr>\n"
                "<tr><td><a href=\"20260221_04%3A20/\">20260221_04:20/</a> <a href=\"99999999_99:99/\">x</a></td></tr>\n"
                "<tr><td><a href=\"20260220_04%3A20/\">20260220_04:20/</a></td></tr>\n"
                "<a href=\"2026/\">too short</a>\n"
                "<a href=\"latest-build/\">not a date</a>\n"
                "<a href=\"unterminated\n";
        _cleanup_free_ char *build = NULL;

        assert_int_equal(image_index_parse_latest(html, &build), 0);
        /* Only the first href of a line counts. */
        assert_string_equal(build, "20260221_04:20");
}

static void test_index_without_builds(void **state) {
        char *build = NULL;

        assert_int_equal(image_index_parse_latest("", &build), -ENOENT);
        assert_int_equal(image_index_parse_latest("<a href=\"../\">up</a>\n<a href=\"1234567\">short</a>", &build),
                         -ENOENT);
        assert_null(build);
}

/* ---- apt sources and configuration ----------------------------------------- */

static void write_text(const char *dir, const char *name, const char *text) {
        _cleanup_free_ char *path = test_path(dir, name);

        assert_int_equal(kp_write_file_atomic_at(AT_FDCWD, path, text, strlen(text), 0644, 0), 0);
}

static void test_apt_mirror_one_line(void **state) {
        _cleanup_free_ char *dir = test_mkdtemp(), *mirror = NULL;

        write_text(dir, "sources.list",
                   "# deb http://commented.example/debian bookworm main\n"
                   "deb-src http://src.example/debian bookworm main\n"
                   "deb http://security.example/debian-security bookworm-security main\n"
                   "deb [arch=amd64 signed-by=/usr/share/keyrings/x.gpg] http://mirror.example/debian bookworm main\n"
                   "deb http://later.example/debian bookworm main\n");

        assert_int_equal(image_apt_debian_mirror(dir, &mirror), 0);
        assert_string_equal(mirror, "http://mirror.example/debian");
        test_rm_rf(dir);
}

static void test_apt_mirror_deb822(void **state) {
        _cleanup_free_ char *dir = test_mkdtemp(), *parts = NULL, *mirror = NULL;

        parts = test_path(dir, "sources.list.d");
        assert_int_equal(mkdir(parts, 0755), 0);
        write_text(dir, "sources.list", "# only comments\n");
        write_text(parts, "a-vendor.list", "deb https://vendor.example/apt cloud-sdk main\n");
        write_text(parts, "debian.sources",
                   "Types: deb\n"
                   "URIs: http://disabled.example/debian\n"
                   "Suites: bookworm\n"
                   "Enabled: no\n"
                   "\n"
                   "Types: deb\n"
                   "URIs: http://security.example/debian-security\n"
                   "Suites: bookworm-security\n"
                   "\n"
                   "Types: deb deb-src\n"
                   "# a comment inside the stanza\n"
                   "URIs: http://deb.example/debian\n"
                   "Suites: bookworm bookworm-updates\n"
                   "Components: main\n"
                   "Signed-By:\n"
                   " -----BEGIN PGP PUBLIC KEY BLOCK-----\n");

        assert_int_equal(image_apt_debian_mirror(dir, &mirror), 0);
        assert_string_equal(mirror, "http://deb.example/debian");
        test_rm_rf(dir);
}

static void test_apt_mirror_missing(void **state) {
        _cleanup_free_ char *dir = test_mkdtemp();
        char *mirror = NULL;

        assert_int_equal(image_apt_debian_mirror(dir, &mirror), -ENOENT);
        write_text(dir, "sources.list", "deb http://archive.example/ubuntu noble main\n");
        assert_int_equal(image_apt_debian_mirror(dir, &mirror), -ENOENT);
        assert_null(mirror);
        test_rm_rf(dir);
}

typedef struct EnvBackup {
        char *xdg, *server;
} EnvBackup;

static EnvBackup env_save(void) {
        const char *xdg = getenv("XDG_CONFIG_HOME"), *server = getenv("KARAPACE_IMAGE_SERVER");

        return (EnvBackup) { xdg ? strdup(xdg) : NULL, server ? strdup(server) : NULL };
}

static void env_restore(EnvBackup *b) {
        if (b->xdg)
                setenv("XDG_CONFIG_HOME", b->xdg, 1);
        else
                unsetenv("XDG_CONFIG_HOME");
        if (b->server)
                setenv("KARAPACE_IMAGE_SERVER", b->server, 1);
        else
                unsetenv("KARAPACE_IMAGE_SERVER");
        free(b->xdg);
        free(b->server);
}

static void test_config_sources(void **state) {
        _cleanup_free_ char *dir = test_mkdtemp(), *kdir = NULL;
        EnvBackup saved = env_save();
        ImageConfig c = {};
        KpError err = KP_ERROR_INIT;

        kdir = test_path(dir, "karapace");
        assert_int_equal(mkdir(kdir, 0755), 0);
        setenv("XDG_CONFIG_HOME", dir, 1);
        unsetenv("KARAPACE_IMAGE_SERVER");

        /* No file: the defaults. */
        assert_int_equal(image_config_load(&c, &err), 0);
        assert_string_equal(c.image_server, IMAGE_DEFAULT_SERVER);
        assert_null(c.ubuntu_mirror);
        assert_non_null(strstr(c.path, "/karapace/config.toml"));
        image_config_done(&c);

        write_text(kdir, "config.toml",
                   "image_server = \"http://images.example/\"\n"
                   "ubuntu_mirror = \"http://ubuntu.example/ubuntu\"\n"
                   "unrelated = 3\n");
        assert_int_equal(image_config_load(&c, &err), 0);
        assert_string_equal(c.image_server, "http://images.example");
        assert_string_equal(c.ubuntu_mirror, "http://ubuntu.example/ubuntu");
        assert_null(c.debian_mirror);
        image_config_done(&c);

        /* The environment wins over the file. */
        setenv("KARAPACE_IMAGE_SERVER", "http://127.0.0.1:9/", 1);
        assert_int_equal(image_config_load(&c, &err), 0);
        assert_string_equal(c.image_server, "http://127.0.0.1:9");
        image_config_done(&c);

        write_text(kdir, "config.toml", "\n\nimage_server = 42\n");
        assert_int_equal(image_config_load(&c, &err), -EINVAL);
        assert_non_null(strstr(err.message, "config.toml:3:16: 'image_server' must be a string, found integer"));
        kp_error_clear(&err);

        write_text(kdir, "config.toml", "image_server = \n");
        assert_int_equal(image_config_load(&c, &err), -EINVAL);
        assert_non_null(strstr(err.message, "invalid configuration file: "));
        kp_error_clear(&err);

        env_restore(&saved);
        test_rm_rf(dir);
}

static void test_bootstrap_mirror_choice(void **state) {
        _cleanup_image_spec_free_ ImageSpec *debian = resolve_ok("bootstrap:debian/trixie");
        _cleanup_image_spec_free_ ImageSpec *ubuntu = resolve_ok("bootstrap:ubuntu/noble");
        _cleanup_free_ char *dir = test_mkdtemp(), *mirror = NULL;
        ImageConfig config = { .path = (char *) "/home/u/.config/karapace/config.toml" };
        KpError err = KP_ERROR_INIT;

        write_text(dir, "sources.list", "deb http://host-mirror.example/debian bookworm main\n");
        assert_int_equal(image_bootstrap_mirror(&config, debian, dir, &mirror, &err), 0);
        assert_string_equal(mirror, "http://host-mirror.example/debian");
        free(mirror);
        mirror = NULL;

        assert_int_equal(image_bootstrap_mirror(&config, ubuntu, dir, &mirror, &err), -ENOENT);
        assert_non_null(strstr(err.message, "no Ubuntu mirror is configured; add a line such as ubuntu_mirror = "));
        assert_non_null(strstr(err.message, "/home/u/.config/karapace/config.toml"));
        kp_error_clear(&err);

        config.ubuntu_mirror = (char *) "http://ubuntu.example/ubuntu";
        config.debian_mirror = (char *) "http://configured.example/debian";
        assert_int_equal(image_bootstrap_mirror(&config, ubuntu, dir, &mirror, &err), 0);
        assert_string_equal(mirror, "http://ubuntu.example/ubuntu");
        free(mirror);
        mirror = NULL;
        assert_int_equal(image_bootstrap_mirror(&config, debian, dir, &mirror, &err), 0);
        assert_string_equal(mirror, "http://configured.example/debian");
        test_rm_rf(dir);
}

/* ---- image_ensure on local tarballs ---------------------------------------- */

typedef struct EnsureFixture {
        char *dir;
        char *store;
        char *tarball;
        char *image;            /* file://<tarball> */
        char **messages;        /* progress reports */
        size_t n_messages;
} EnsureFixture;

static void record_message(const char *message, void *userdata) {
        EnsureFixture *f = userdata;

        assert_int_equal(kp_strv_push(&f->messages, &f->n_messages, strdup(message)), 0);
}

static bool saw_message(EnsureFixture *f, const char *text) {
        for (size_t i = 0; i < f->n_messages; i++)
                if (strstr(f->messages[i], text))
                        return true;
        return false;
}

static void forget_messages(EnsureFixture *f) {
        kp_strv_free(f->messages);
        f->messages = NULL;
        f->n_messages = 0;
}

static void write_image_tarball(const char *path, const char *motd) {
        struct archive *a = tar_open(path, ARCHIVE_FILTER_GZIP);

        tar_add_dir(a, "./", 0755);
        tar_add_dir(a, "./etc/", 0755);
        tar_add_file(a, "./etc/motd", motd, 0644);
        tar_add_file(a, "./etc/shadow", "root:*:1::::::\n", 0640);
        tar_add_dir(a, "./usr/bin/", 0755);
        tar_add_file(a, "./usr/bin/passwd", "#!/bin/sh\n", 04755);
        tar_add_symlink(a, "./bin", "usr/bin");
        tar_add_dir(a, "./dev/", 0755);
        tar_add_special(a, "./dev/null", AE_IFCHR, 1, 3);
        tar_add_special(a, "./dev/zero", AE_IFCHR, 1, 5);
        tar_add_special(a, "./dev/console", AE_IFCHR, 5, 1);
        tar_close(a);
}

static int ensure_setup(void **state) {
        EnsureFixture *f = calloc(1, sizeof(EnsureFixture));

        f->dir = test_mkdtemp();
        f->store = test_path(f->dir, "store");
        f->tarball = test_path(f->dir, "rootfs.tar.gz");
        if (asprintf(&f->image, "file://%s", f->tarball) < 0)
                return -1;
        write_image_tarball(f->tarball, "hello\n");
        *state = f;
        return 0;
}

static int ensure_teardown(void **state) {
        EnsureFixture *f = *state;
        _cleanup_error_ KpError err = KP_ERROR_INIT;

        (void) userns_remove_tree(f->dir, &err);
        forget_messages(f);
        free(f->dir);
        free(f->store);
        free(f->tarball);
        free(f->image);
        free(f);
        return 0;
}

static void ensure_ok(EnsureFixture *f, bool offline, ImageInfo *info) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        ImageOptions opts = { .offline = offline, .progress = record_message, .progress_data = f };

        if (image_ensure(f->store, f->image, &opts, info, &err) < 0)
                fail_msg("image_ensure('%s') failed: %s", f->image, err.message);
}

static void test_ensure_file_image(void **state) {
        _cleanup_(image_info_done) ImageInfo info = {}, again = {};
        _cleanup_free_ char *motd = NULL, *digest_file = NULL, *digest = NULL, *lock = NULL, *display = NULL;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        EnsureFixture *f = *state;
        char recomputed[KP_HASH_HEX_SIZE];
        struct stat st;
        size_t len;

        ensure_ok(f, /* offline= */ false, &info);
        assert_true(strneq(info.cache_key, "file-", 5));
        assert_true(asprintf(&display, "Local (%s)", f->tarball) > 0);
        assert_string_equal(info.display_name, display);
        assert_true(kp_hash_hex_is_valid(info.digest));
        assert_true(saw_message(f, "extracting rootfs..."));
        assert_true(saw_message(f, "skipped 3 device nodes"));
        assert_true(saw_message(f, "ready"));

        /* The tree: content, modes, no device nodes. */
        motd = test_path(info.rootfs, "etc/motd");
        assert_int_equal(kp_read_file_at(AT_FDCWD, motd, 1024, &digest, &len), 0);
        assert_string_equal(digest, "hello\n");
        free(digest);
        digest = NULL;
        free(motd);
        motd = test_path(info.rootfs, "usr/bin/passwd");
        assert_int_equal(lstat(motd, &st), 0);
        assert_int_equal(st.st_mode & 07777, 04755);
        free(motd);
        motd = test_path(info.rootfs, "dev/null");
        assert_int_equal(lstat(motd, &st), -1);

        /* The digest file is the recorded digest and matches the tree. */
        digest_file = test_path(info.rootfs, "../digest");
        assert_int_equal(kp_read_file_at(AT_FDCWD, digest_file, 1024, &digest, &len), 0);
        assert_string_equal(digest, info.digest);
        assert_int_equal(image_tree_digest(info.rootfs, recomputed, &err), 0);
        assert_string_equal(recomputed, info.digest);

        /* The lock file sits next to the image directory. */
        assert_true(asprintf(&lock, "%s/images/%s.lock", f->store, info.cache_key) > 0);
        assert_int_equal(lstat(lock, &st), 0);

        /* Second use: cached, also offline. */
        forget_messages(f);
        ensure_ok(f, /* offline= */ true, &again);
        assert_true(saw_message(f, "using cached image: Local ("));
        assert_false(saw_message(f, "extracting"));
        assert_string_equal(again.digest, info.digest);
        assert_string_equal(again.rootfs, info.rootfs);
}

static void test_ensure_changed_tarball(void **state) {
        _cleanup_(image_info_done) ImageInfo first = {}, second = {};
        EnsureFixture *f = *state;
        struct timespec ts[2] = { { 0, UTIME_OMIT }, { 1600000000, 0 } };

        ensure_ok(f, false, &first);

        write_image_tarball(f->tarball, "changed\n");
        assert_int_equal(utimensat(AT_FDCWD, f->tarball, ts, 0), 0);
        ensure_ok(f, false, &second);

        assert_string_not_equal(first.cache_key, second.cache_key);
        assert_string_not_equal(first.digest, second.digest);
        /* The first image stays for the environments built on it. */
        assert_true(kp_is_dir_at(AT_FDCWD, first.rootfs));
}

static void test_ensure_incomplete_not_cached(void **state) {
        _cleanup_(image_info_done) ImageInfo info = {}, again = {};
        _cleanup_free_ char *digest_file = NULL, *stale = NULL, *stale_file = NULL, *key_dir = NULL;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        EnsureFixture *f = *state;
        struct stat st;

        ensure_ok(f, false, &info);

        /* As if the process died after extraction but before the digest
         * file, with a half-written temporary directory next to it. */
        key_dir = test_path(info.rootfs, "..");
        digest_file = test_path(key_dir, "digest");
        assert_int_equal(unlink(digest_file), 0);
        stale = test_path(key_dir, ".tmp-rootfs-0123456789abcdef");
        assert_int_equal(mkdir(stale, 0500), 0);
        stale_file = test_path(key_dir, ".tmp-0123456789abcdef");
        assert_int_equal(kp_write_file_atomic_at(AT_FDCWD, stale_file, "x", 1, 0600, 0), 0);

        /* Offline a local file still works: it needs no network. */
        forget_messages(f);
        ensure_ok(f, true, &again);
        assert_true(saw_message(f, "extracting rootfs..."));
        assert_false(saw_message(f, "using cached image"));
        assert_string_equal(again.digest, info.digest);
        assert_int_equal(lstat(stale, &st), -1);
        assert_int_equal(lstat(stale_file, &st), -1);
        assert_int_equal(lstat(digest_file, &st), 0);

        /* A full verification finds the tree intact. */
        {
                ImageVerifyResult v;

                assert_int_equal(image_cache_verify(f->store, again.cache_key, &v, &err), 0);
                assert_true(v.complete);
                assert_true(v.ok);
                assert_string_equal(v.actual, again.digest);
        }
}

static void test_ensure_bad_tarball_leaves_nothing(void **state) {
        _cleanup_strv_free_ char **keys = NULL;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_free_ char *key_dir = NULL;
        EnsureFixture *f = *state;
        ImageInfo info = {};
        struct archive *a;
        size_t n = 0;

        a = tar_open(f->tarball, ARCHIVE_FILTER_NONE);
        tar_add_file(a, "etc/ok", "fine", 0644);
        tar_add_file(a, "../escape", "bad", 0644);
        tar_close(a);

        assert_int_equal(image_ensure(f->store, f->image, NULL, &info, &err), -EINVAL);
        assert_non_null(strstr(err.message, "failed to extract rootfs tarball of Local ("));
        assert_non_null(strstr(err.message, "'../escape' contains a '..' component"));

        /* The image directory exists (it is locked and created first) but
         * holds nothing: no rootfs, no digest, no temporary directory. */
        assert_int_equal(image_cache_list(f->store, &keys, &n, &err), 0);
        assert_int_equal(n, 1);
        key_dir = test_path(f->store, "images");
        {
                _cleanup_free_ char *dir = test_path(key_dir, keys[0]);
                static const char *const nothing[] = { NULL };

                assert_true(dir_has_exactly(dir, nothing));
        }
}

static void test_verify_detects_tampering(void **state) {
        _cleanup_(image_info_done) ImageInfo info = {};
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_free_ char *motd = NULL;
        EnsureFixture *f = *state;
        ImageVerifyResult v;

        ensure_ok(f, false, &info);
        motd = test_path(info.rootfs, "etc/motd");
        assert_int_equal(kp_write_file_atomic_at(AT_FDCWD, motd, "HELLO\n", 6, 0644, 0), 0);

        assert_int_equal(image_cache_verify(f->store, info.cache_key, &v, &err), 0);
        assert_true(v.complete);
        assert_false(v.ok);
        assert_string_equal(v.expected, info.digest);
        assert_string_not_equal(v.actual, info.digest);
}

static void test_ensure_offline_not_cached(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        EnsureFixture *f = *state;
        ImageOptions opts = { .offline = true };
        ImageInfo info = {};

        assert_int_equal(image_ensure(f->store, "https://127.0.0.1:9/rootfs.tar.xz", &opts, &info, &err),
                         -ENETUNREACH);
        assert_string_equal(err.message,
                            "offline mode: base image 'Custom (https://127.0.0.1:9/rootfs.tar.xz)' is not cached");
        kp_error_clear(&err);

        assert_int_equal(image_ensure(f->store, "debian/trixie", &opts, &info, &err), -ENETUNREACH);
        assert_string_equal(err.message, "offline mode: base image 'Debian Trixie' is not cached");
        kp_error_clear(&err);

        assert_int_equal(image_ensure(f->store, "bootstrap:debian/trixie", &opts, &info, &err), -ENETUNREACH);
        assert_non_null(strstr(err.message, "'Debian trixie (bootstrap)' is not cached"));
        kp_error_clear(&err);

        assert_int_equal(image_ensure(f->store, "file:///nonexistent/rootfs.tar", &opts, &info, &err), -ENOENT);
        assert_string_equal(err.message, "image file /nonexistent/rootfs.tar: No such file or directory");
        assert_int_equal(err.kind, KP_ERROR_NOT_FOUND);
}

static void test_resolve_url(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_free_ char *url = NULL;

        assert_int_equal(image_resolve_url(" HTTPS://Example.com/R.tar.xz#sha256="
                                           "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                                           NULL, &url, &err),
                         0);
        assert_string_equal(url, "https://example.com/r.tar.xz#sha256="
                                 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");

        assert_int_equal(image_resolve_url("file:///x.tar", NULL, &url, &err), -EOPNOTSUPP);
        assert_non_null(strstr(err.message, "only aliases and http(s) URLs can be pinned"));
}

/* ---- Driver for the integration tests --------------------------------------- */

static void print_progress(const char *message, void *userdata) {
        fprintf(stderr, "[karapace] %s\n", message);
}

static int driver_fail(KpError *err) {
        _cleanup_free_ char *text = kp_error_format(err);

        fprintf(stderr, "error: %s\n", text ? text : "(no message)");
        return 1;
}

static int driver_print(json_t *obj) {
        char *text = json_dumps(obj, JSON_SORT_KEYS);

        json_decref(obj);
        if (!text)
                return 1;
        printf("%s\n", text);
        free(text);
        return 0;
}

static int driver_main(int argc, char **argv) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;

        kp_log_setup(false, false);

        if (argc >= 4 && streq(argv[1], "ensure")) {
                _cleanup_(image_info_done) ImageInfo info = {};
                ImageOptions opts = {
                        .offline = argc >= 5 && streq(argv[4], "--offline"),
                        .progress = print_progress,
                };

                if (image_ensure(argv[2], argv[3], &opts, &info, &err) < 0)
                        return driver_fail(&err);
                return driver_print(json_pack("{s:s, s:s, s:s, s:s}", "cache_key", info.cache_key, "display_name",
                                              info.display_name, "rootfs", info.rootfs, "digest", info.digest));
        }

        if (argc == 4 && streq(argv[1], "verify")) {
                ImageVerifyResult v;

                if (image_cache_verify(argv[2], argv[3], &v, &err) < 0)
                        return driver_fail(&err);
                return driver_print(json_pack("{s:b, s:b, s:s, s:s}", "complete", v.complete, "ok", v.ok, "expected",
                                              v.expected, "actual", v.actual));
        }

        if (argc == 3 && streq(argv[1], "digest")) {
                char digest[KP_HASH_HEX_SIZE];

                if (image_tree_digest(argv[2], digest, &err) < 0)
                        return driver_fail(&err);
                printf("%s\n", digest);
                return 0;
        }

        if (argc == 3 && streq(argv[1], "remove")) {
                if (userns_remove_tree(argv[2], &err) < 0)
                        return driver_fail(&err);
                return 0;
        }

        fprintf(stderr, "usage: %s ensure STORE IMAGE [--offline] | verify STORE CACHE_KEY | digest DIR | remove DIR\n",
                argv[0]);
        return 2;
}

int main(int argc, char **argv) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_spec_file_image),
                cmocka_unit_test(test_spec_url_digest),
                cmocka_unit_test(test_spec_bootstrap),
                cmocka_unit_test(test_index_latest_build),
                cmocka_unit_test(test_index_without_builds),
                cmocka_unit_test(test_apt_mirror_one_line),
                cmocka_unit_test(test_apt_mirror_deb822),
                cmocka_unit_test(test_apt_mirror_missing),
                cmocka_unit_test(test_config_sources),
                cmocka_unit_test(test_bootstrap_mirror_choice),
                cmocka_unit_test_setup_teardown(test_ensure_file_image, ensure_setup, ensure_teardown),
                cmocka_unit_test_setup_teardown(test_ensure_changed_tarball, ensure_setup, ensure_teardown),
                cmocka_unit_test_setup_teardown(test_ensure_incomplete_not_cached, ensure_setup, ensure_teardown),
                cmocka_unit_test_setup_teardown(test_ensure_bad_tarball_leaves_nothing, ensure_setup,
                                                ensure_teardown),
                cmocka_unit_test_setup_teardown(test_verify_detects_tampering, ensure_setup, ensure_teardown),
                cmocka_unit_test_setup_teardown(test_ensure_offline_not_cached, ensure_setup, ensure_teardown),
                cmocka_unit_test(test_resolve_url),
        };

        if (argc > 1)
                return driver_main(argc, argv);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
