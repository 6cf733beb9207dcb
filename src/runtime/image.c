/* SPDX-License-Identifier: MIT */
/*
 * image_ensure(): find the image's tarball (a local file, a download, the
 * image server's latest build or an mmdebstrap run), extract it inside a
 * user namespace so that it keeps its owners, and record its digest.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/fs-util.h"
#include "basic/log.h"
#include "runtime/download.h"
#include "runtime/extract.h"
#include "runtime/image-internal.h"
#include "runtime/userns.h"

/* Root filesystem tarballs are well below this; it bounds what a broken or
 * hostile server can make us write. */
#define IMAGE_MAX_DOWNLOAD_SIZE (UINT64_C(16) << 30)

/* Directory of the host's apt sources, for bootstrap: images. */
#define APT_CONFIG_DIR "/etc/apt"

void image_info_done(ImageInfo *info) {
        free(info->cache_key);
        free(info->display_name);
        free(info->rootfs);
        info->cache_key = info->display_name = info->rootfs = NULL;
}

void image_report(const ImageOptions *opts, const char *fmt, ...) {
        _cleanup_free_ char *message = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&message, fmt, ap);
        va_end(ap);
        if (r < 0)
                return;

        log_debug("%s", message);
        if (opts && opts->progress)
                opts->progress(message, opts->progress_data);
}

int image_open_unnamed_tmpfile(int dir_fd) {
        int fd;

        fd = openat(dir_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (fd >= 0)
                return fd;
        if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
                return -errno;

        /* Filesystems without O_TMPFILE: a named file, removed at once. */
        for (int attempt = 0; attempt < 16; attempt++) {
                char name[5 + 16 + 1] = ".tmp-";

                kp_random_hex(name + 5, 16);
                fd = openat(dir_fd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (fd >= 0) {
                        (void) unlinkat(dir_fd, name, 0);
                        return fd;
                }
                if (errno != EEXIST)
                        return -errno;
        }
        return -EEXIST;
}

/* ---- Getting the tarball ------------------------------------------------ */

/* Give the finished download its name, so that a run killed during
 * extraction does not download it again. Only an O_TMPFILE file can be
 * linked, and otherwise the download is used without keeping it. */
static void keep_download(ImageCache *c, int fd) {
        char proc[64];

        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
        (void) unlinkat(c->key_fd, IMAGE_TARBALL_FILE, 0);
        if (linkat(AT_FDCWD, proc, c->key_fd, IMAGE_TARBALL_FILE, AT_SYMLINK_FOLLOW) < 0)
                log_debug("keeping the download of %s failed, ignoring: %s", c->key_dir, strerror(errno));
}

static int verify_download(const ImageSpec *spec, const DownloadDigests *d, KpError *err) {
        const char *actual, *type;

        switch (spec->expected_digest_type) {
        case IMAGE_DIGEST_SHA256:
                actual = d->sha256;
                type = "sha256";
                break;
        case IMAGE_DIGEST_BLAKE3:
                actual = d->blake3;
                type = "blake3";
                break;
        default:
                return 0;
        }

        if (streq(actual, spec->expected_digest))
                return 0;
        return kp_error_set_kind(err, KP_ERROR_RUNTIME, -EBADMSG,
                                 "digest mismatch for %s: expected %s %s, got %s (%" PRIu64 " bytes downloaded); "
                                 "nothing was cached",
                                 spec->url ? spec->url : spec->name, type, spec->expected_digest, actual, d->size);
}

static int download_image(ImageCache *c, const ImageSpec *spec, const char *url, const ImageOptions *opts,
                          KpError *err) {
        _cleanup_close_ int fd = -1;
        DownloadDigests digests = {};
        DownloadOptions dl = {
                .label = spec->display_name,
                .show_progress = true,
                .max_size = IMAGE_MAX_DOWNLOAD_SIZE,
        };
        int r;

        fd = image_open_unnamed_tmpfile(c->key_fd);
        if (fd < 0)
                return kp_error_set_kind(err, KP_ERROR_STORE, fd, "failed to create a temporary file in %s: %s",
                                         c->key_dir, strerror(-fd));

        image_report(opts, "downloading %s...", url);
        r = download_to_fd(url, fd, &dl, &digests, err);
        if (r < 0)
                return r;

        r = verify_download(spec, &digests, err);
        if (r < 0)
                return r;

        keep_download(c, fd);
        return TAKE_FD(fd);
}

static int bootstrap_image(ImageCache *c, const ImageSpec *spec, const ImageConfig *config, const ImageOptions *opts,
                           KpError *err) {
        _cleanup_free_ char *mirror = NULL, *tar_path = NULL;
        char name[64] = ".tmp-bootstrap-";
        int fd, r;

        r = image_bootstrap_mirror(config, spec, APT_CONFIG_DIR, &mirror, err);
        if (r < 0)
                return r;

        kp_random_hex(name + strlen(name), 16);
        strcat(name, ".tar");
        tar_path = kp_path_join(c->key_dir, name);
        if (!tar_path)
                return kp_error_set(err, -ENOMEM, "out of memory");

        image_report(opts, "bootstrapping %s with mmdebstrap from %s...", spec->display_name, mirror);
        r = image_bootstrap_run(spec, mirror, tar_path, c->key_fd, err);
        if (r < 0) {
                (void) unlinkat(c->key_fd, name, 0);
                return r;
        }

        if (renameat(c->key_fd, name, c->key_fd, IMAGE_TARBALL_FILE) < 0) {
                r = -errno;
                (void) unlinkat(c->key_fd, name, 0);
                return kp_error_set_kind(err, KP_ERROR_STORE, r, "failed to rename %s: %s", tar_path, strerror(-r));
        }

        fd = openat(c->key_fd, IMAGE_TARBALL_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return kp_error_set_kind(err, KP_ERROR_STORE, -errno, "failed to open %s/%s: %s", c->key_dir,
                                         IMAGE_TARBALL_FILE, strerror(errno));
        return fd;
}

/* Open the image's tarball for reading, fetching it first if needed.
 * Returns the fd. */
static int fetch_tarball(ImageCache *c, const ImageSpec *spec, const ImageOptions *opts, KpError *err) {
        _cleanup_(image_config_done) ImageConfig config = {};
        _cleanup_free_ char *url = NULL;
        int fd, r;

        if (spec->kind == IMAGE_KIND_FILE) {
                fd = open(spec->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (fd < 0)
                        return kp_error_set_kind(err, KP_ERROR_NOT_FOUND, -errno, "failed to open image file %s: %s",
                                                 spec->path, strerror(errno));
                return fd;
        }

        /* A verified download from an earlier, interrupted run. */
        fd = openat(c->key_fd, IMAGE_TARBALL_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd >= 0) {
                image_report(opts, "using the tarball downloaded earlier for %s", spec->display_name);
                return fd;
        }

        r = image_config_load(&config, err);
        if (r < 0)
                return r;

        switch (spec->kind) {
        case IMAGE_KIND_URL:
                return download_image(c, spec, spec->url, opts, err);
        case IMAGE_KIND_ALIAS:
                image_report(opts, "resolving image URL for %s...", spec->display_name);
                r = image_server_latest_url(&config, spec, &url, err);
                if (r < 0)
                        return r;
                return download_image(c, spec, url, opts, err);
        case IMAGE_KIND_BOOTSTRAP:
                return bootstrap_image(c, spec, &config, opts, err);
        case IMAGE_KIND_FILE:
        case _IMAGE_KIND_MAX:
                break;
        }
        return kp_error_set(err, -EINVAL, "unexpected image kind %d", (int) spec->kind);
}

/* ---- Extraction -------------------------------------------------------- */

/* Written by the extraction child into memory shared with the parent. */
typedef struct ExtractResult {
        ExtractStats stats;
        char digest[KP_HASH_HEX_SIZE];
} ExtractResult;

typedef struct ExtractRequest {
        int archive_fd;
        const char *root;
        ExtractResult *result;
} ExtractRequest;

/* Runs as root of a user namespace (or as real root), so the owners in the
 * tarball can be set and the digest records them as the image's ids. */
static int extract_in_namespace(void *userdata) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        ExtractRequest *req = userdata;
        _cleanup_close_ int root_fd = -1;
        ExtractOptions opts = { .keep_owners = true };
        int r;

        root_fd = open(req->root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (root_fd < 0) {
                kp_error_set_kind(&err, KP_ERROR_RUNTIME, -errno, "failed to open %s: %s", req->root,
                                  strerror(errno));
                return userns_report_error(&err);
        }

        r = extract_archive_fd(req->archive_fd, root_fd, &opts, &req->result->stats, &err);
        if (r < 0)
                return userns_report_error(&err);

        r = image_tree_digest_at(root_fd, ".", req->result->digest, &err);
        if (r < 0)
                return userns_report_error(&err);
        return 0;
}

static void report_extract_stats(const ImageSpec *spec, const ExtractStats *s, const ImageOptions *opts) {
        if (s->devices_skipped > 0)
                image_report(opts, "skipped %" PRIu64 " device nodes", s->devices_skipped);
        if (s->owners_dropped > 0)
                log_warn("image %s: %" PRIu64 " entries are owned by root instead of their own user or group, "
                         "because no subordinate id range is mapped",
                         spec->display_name, s->owners_dropped);
        if (s->xattrs_dropped > 0)
                log_warn("image %s: %" PRIu64 " extended attributes could not be set and were dropped",
                         spec->display_name, s->xattrs_dropped);
}

/* Extract into a temporary directory, move it to rootfs, then write the
 * digest file: the image is complete only once the digest file exists. */
static int extract_image(ImageCache *c, const ImageSpec *spec, int archive_fd, const ImageOptions *opts,
                         char ret_digest[KP_HASH_HEX_SIZE], KpError *err) {
        _cleanup_free_ char *tmp_path = NULL;
        char tmp_name[64] = ".tmp-rootfs-";
        ExtractRequest req = { .archive_fd = archive_fd };
        int r;

        kp_random_hex(tmp_name + strlen(tmp_name), 16);
        tmp_path = kp_path_join(c->key_dir, tmp_name);
        if (!tmp_path)
                return kp_error_set(err, -ENOMEM, "out of memory");
        if (mkdirat(c->key_fd, tmp_name, 0755) < 0)
                return kp_error_set_kind(err, KP_ERROR_STORE, -errno, "failed to create %s: %s", tmp_path,
                                         strerror(errno));

        req.root = tmp_path;
        req.result = mmap(NULL, sizeof(ExtractResult), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (req.result == MAP_FAILED)
                return kp_error_set(err, -errno, "failed to map memory: %s", strerror(errno));

        image_report(opts, "extracting rootfs...");
        r = userns_run(extract_in_namespace, &req, err);
        if (r >= 0) {
                report_extract_stats(spec, &req.result->stats, opts);
                memcpy(ret_digest, req.result->digest, KP_HASH_HEX_SIZE);
                ret_digest[KP_HASH_HEX_LEN] = '\0';
        }
        (void) munmap(req.result, sizeof(ExtractResult));
        if (r < 0) {
                _cleanup_error_ KpError cleanup_err = KP_ERROR_INIT;

                (void) kp_error_prefix(err, "failed to extract rootfs tarball of %s", spec->display_name);
                if (userns_remove_tree(tmp_path, &cleanup_err) < 0)
                        log_warn("failed to remove %s, ignoring: %s", tmp_path, cleanup_err.message);
                /* A kept download that does not extract is not reused. */
                (void) unlinkat(c->key_fd, IMAGE_TARBALL_FILE, 0);
                return r;
        }

        if (renameat(c->key_fd, tmp_name, c->key_fd, IMAGE_ROOTFS_DIR) < 0)
                return kp_error_set_kind(err, KP_ERROR_STORE, -errno, "failed to rename %s: %s", tmp_path,
                                         strerror(errno));

        r = kp_write_file_atomic_at(c->key_fd, IMAGE_DIGEST_FILE, ret_digest, KP_HASH_HEX_LEN, 0644, 0);
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_STORE, r, "failed to write %s/%s: %s", c->key_dir,
                                         IMAGE_DIGEST_FILE, strerror(-r));

        (void) unlinkat(c->key_fd, IMAGE_TARBALL_FILE, 0);
        return 0;
}

/* ---- image_ensure ------------------------------------------------------ */

/* A local tarball's cache key covers its size and modification time, so a
 * rebuilt tarball gives a new image. Environments built on the old one keep
 * their lower directory. */
static int file_spec_stamp(ImageSpec *spec, KpError *err) {
        char stamp[128], hash[KP_HASH_HEX_SIZE];
        KpHasher h;
        struct stat st;

        if (stat(spec->path, &st) < 0)
                return kp_error_set_kind(err, KP_ERROR_NOT_FOUND, -errno, "image file %s: %s", spec->path,
                                         strerror(errno));
        if (!S_ISREG(st.st_mode))
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, -EINVAL, "image file %s is not a regular file",
                                         spec->path);

        snprintf(stamp, sizeof(stamp), "%" PRIu64 " %" PRId64 ".%09ld", (uint64_t) st.st_size,
                 (int64_t) st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
        kp_hasher_init(&h);
        kp_hasher_update(&h, spec->path, strlen(spec->path) + 1);
        kp_hasher_update_str(&h, stamp);
        kp_hasher_final_hex(&h, hash);

        free(spec->cache_key);
        if (asprintf(&spec->cache_key, "file-%s", hash) < 0) {
                spec->cache_key = NULL;
                return kp_error_set(err, -ENOMEM, "out of memory");
        }
        return 0;
}

static bool needs_network(const ImageSpec *spec) {
        return spec->kind != IMAGE_KIND_FILE;
}

static int image_info_fill(ImageInfo *ret, const ImageSpec *spec, const ImageCache *c,
                           const char digest[KP_HASH_HEX_SIZE], KpError *err) {
        _cleanup_(image_info_done) ImageInfo info = {};

        info.cache_key = strdup(spec->cache_key);
        info.display_name = strdup(spec->display_name);
        info.rootfs = kp_path_join(c->key_dir, IMAGE_ROOTFS_DIR);
        if (!info.cache_key || !info.display_name || !info.rootfs)
                return kp_error_set(err, -ENOMEM, "out of memory");
        memcpy(info.digest, digest, KP_HASH_HEX_SIZE);

        *ret = info;
        info = (ImageInfo) {};
        return 0;
}

static int build_image(ImageCache *c, const ImageSpec *spec, const ImageOptions *opts,
                       char ret_digest[KP_HASH_HEX_SIZE], KpError *err) {
        _cleanup_close_ int fd = -1;
        int r;

        r = image_cache_clean(c, err);
        if (r < 0)
                return r;

        fd = fetch_tarball(c, spec, opts, err);
        if (fd < 0)
                return fd;

        return extract_image(c, spec, fd, opts, ret_digest, err);
}

int image_ensure(const char *store_root, const char *image, const ImageOptions *opts, ImageInfo *ret,
                 KpError *err) {
        _cleanup_image_spec_free_ ImageSpec *spec = NULL;
        _cleanup_(image_cache_close) ImageCache c = { .key_fd = -1, .lock_fd = -1 };
        ImageOptions no_opts = {};
        char digest[KP_HASH_HEX_SIZE];
        int r;

        if (!opts)
                opts = &no_opts;

        r = image_spec_resolve(image, &spec, err);
        if (r < 0)
                return r;
        if (spec->kind == IMAGE_KIND_FILE) {
                r = file_spec_stamp(spec, err);
                if (r < 0)
                        return r;
        }

        r = image_cache_open(store_root, spec->cache_key, spec->display_name, opts, &c, err);
        if (r < 0)
                return r;

        if (image_cache_is_complete(c.key_fd, digest)) {
                image_report(opts, "using cached image: %s", spec->display_name);
                return image_info_fill(ret, spec, &c, digest, err);
        }

        if (opts->offline && needs_network(spec))
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, -ENETUNREACH,
                                         "offline mode: base image '%s' is not cached", spec->display_name);

        r = build_image(&c, spec, opts, digest, err);
        if (r < 0)
                return r;

        image_report(opts, "image %s ready", spec->display_name);
        return image_info_fill(ret, spec, &c, digest, err);
}

int image_resolve_url(const char *image, const ImageOptions *opts, char **ret_url, KpError *err) {
        _cleanup_image_spec_free_ ImageSpec *spec = NULL;
        _cleanup_(image_config_done) ImageConfig config = {};
        int r;

        r = image_spec_resolve(image, &spec, err);
        if (r < 0)
                return r;

        switch (spec->kind) {
        case IMAGE_KIND_URL:
                *ret_url = strdup(spec->name);
                return *ret_url ? 0 : kp_error_set(err, -ENOMEM, "out of memory");
        case IMAGE_KIND_ALIAS:
                if (opts && opts->offline)
                        return kp_error_set_kind(err, KP_ERROR_RUNTIME, -ENETUNREACH,
                                                 "offline mode: cannot look up the latest build of '%s'",
                                                 spec->display_name);
                r = image_config_load(&config, err);
                if (r < 0)
                        return r;
                image_report(opts, "resolving image URL for %s...", spec->display_name);
                return image_server_latest_url(&config, spec, ret_url, err);
        case IMAGE_KIND_FILE:
        case IMAGE_KIND_BOOTSTRAP:
        case _IMAGE_KIND_MAX:
                break;
        }
        return kp_error_set_kind(err, KP_ERROR_RUNTIME, -EOPNOTSUPP,
                                 "image '%s' has no download URL to pin; only aliases and http(s) URLs can be pinned",
                                 spec->name);
}
