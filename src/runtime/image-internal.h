/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "basic/error.h"
#include "basic/hash.h"
#include "runtime/image.h"
#include "schema/image-name.h"

/* Shared between the image modules (image*.c); not part of the API. */

/* First line of the digest input; see docs/image-digest.md. */
#define IMAGE_DIGEST_HEADER "karapace-image-digest 1\n"

/* Compute the tree digest of PATH below DIRFD in this process, with the
 * owner ids that stat() returns here. */
int image_tree_digest_at(int dirfd, const char *path, char ret[KP_HASH_HEX_SIZE], KpError *err);

/* Report MESSAGE through the options' progress callback, if any. */
void image_report(const ImageOptions *opts, const char *fmt, ...) _printf_(2, 3);

/* Default for the image_server setting. */
#define IMAGE_DEFAULT_SERVER "https://images.linuxcontainers.org"

/* Settings from $XDG_CONFIG_HOME/karapace/config.toml and the environment. */
typedef struct ImageConfig {
        char *path;             /* the configuration file, NULL when no home is known */
        char *image_server;     /* base URL without trailing '/' */
        char *debian_mirror;    /* NULL: take it from the host's apt sources */
        char *ubuntu_mirror;    /* NULL: bootstrap:ubuntu/... fails */
} ImageConfig;

/* Load the settings: the file (missing is fine), then KARAPACE_IMAGE_SERVER,
 * then defaults. */
int image_config_load(ImageConfig *ret, KpError *err);
void image_config_done(ImageConfig *c);

/* The first Debian archive URI of the "deb" sources below APT_DIR (usually
 * /etc/apt: sources.list, then sources.list.d/ *.list and *.sources in name
 * order). Security and updates suites do not count. -ENOENT when none. */
int image_apt_debian_mirror(const char *apt_dir, char **ret);

/* The image server's name for the host architecture ("amd64", "arm64"). */
const char *image_server_arch(void);

/* The greatest build name in an index page (see image-server.c), or
 * -ENOENT when the page lists none. */
int image_index_parse_latest(const char *html, char **ret_build);

/* The download URL of the latest build of alias SPEC on the server. */
int image_server_latest_url(const ImageConfig *config, const ImageSpec *spec, char **ret_url, KpError *err);

/* The mirror to bootstrap SPEC from: the configured one, else for Debian
 * the host's (apt sources below APT_DIR). */
int image_bootstrap_mirror(const ImageConfig *config, const ImageSpec *spec, const char *apt_dir, char **ret,
                           KpError *err);

/* Run mmdebstrap to write SPEC's base as a tarball at TAR_PATH. Its output
 * is kept in an unnamed file in LOG_DIR_FD and quoted on failure. */
int image_bootstrap_run(const ImageSpec *spec, const char *mirror, const char *tar_path, int log_dir_fd,
                        KpError *err);

/* An unnamed file in DIR_FD (O_TMPFILE, or a named one removed at once on
 * filesystems without it). Returns the fd. */
int image_open_unnamed_tmpfile(int dir_fd);

/* ---- The cache (image-cache.c) ---- */

/* Below <store root>/images/<cache key>/. */
#define IMAGE_ROOTFS_DIR "rootfs"
#define IMAGE_DIGEST_FILE "digest"
/* A complete, verified download waiting for extraction; removed once the
 * image is complete. */
#define IMAGE_TARBALL_FILE "rootfs.tar"

/* One image's cache directory, locked. */
typedef struct ImageCache {
        char *key_dir;          /* <store root>/images/<cache key> */
        int key_fd;
        int lock_fd;            /* holds the flock on <cache key>.lock */
} ImageCache;

/* Create and lock the cache directory of CACHE_KEY. Waits for another
 * process holding the lock, reporting that through OPTS. */
int image_cache_open(const char *store_root, const char *cache_key, const char *display, const ImageOptions *opts,
                     ImageCache *ret, KpError *err);
void image_cache_close(ImageCache *c);

/* The recorded digest: -ENOENT without a digest file, -EBADMSG when it is
 * not 64 hex characters. */
int image_cache_read_digest(int key_fd, char ret[KP_HASH_HEX_SIZE]);

/* The cheap check on use: a valid digest file and a rootfs directory. */
bool image_cache_is_complete(int key_fd, char ret_digest[KP_HASH_HEX_SIZE]);

/* Remove what an interrupted run left: the digest file, temporary files
 * and directories (".tmp-*") and an incomplete rootfs. A verified
 * IMAGE_TARBALL_FILE is kept for reuse. */
int image_cache_clean(ImageCache *c, KpError *err);
