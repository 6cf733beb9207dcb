/* SPDX-License-Identifier: MIT */
/*
 * The image cache below <store root>/images: one directory per cache key,
 * each guarded by an flock on "<cache key>.lock" next to it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/fs-util.h"
#include "basic/log.h"
#include "runtime/image-internal.h"
#include "runtime/userns.h"

void image_cache_close(ImageCache *c) {
        free(c->key_dir);
        if (c->key_fd >= 0)
                (void) close(c->key_fd);
        /* Closing the last descriptor releases the flock. */
        if (c->lock_fd >= 0)
                (void) close(c->lock_fd);
        *c = (ImageCache) { .key_fd = -1, .lock_fd = -1 };
}

static int cache_lock(ImageCache *c, const char *images_dir, const char *cache_key, const char *display,
                      const ImageOptions *opts, KpError *err) {
        _cleanup_free_ char *lock_path = NULL;

        if (asprintf(&lock_path, "%s/%s.lock", images_dir, cache_key) < 0)
                return kp_error_set(err, -ENOMEM, "out of memory");

        c->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (c->lock_fd < 0)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, -errno, "failed to open image lock %s: %s",
                                         lock_path, strerror(errno));

        if (flock(c->lock_fd, LOCK_EX | LOCK_NB) == 0)
                return 0;
        if (errno != EWOULDBLOCK)
                return kp_error_set_kind(err, KP_ERROR_LOCK, -errno, "failed to lock %s: %s", lock_path,
                                         strerror(errno));

        image_report(opts, "waiting for another process to finish preparing image %s...", display);
        while (flock(c->lock_fd, LOCK_EX) < 0)
                if (errno != EINTR)
                        return kp_error_set_kind(err, KP_ERROR_LOCK, -errno, "failed to lock %s: %s", lock_path,
                                                 strerror(errno));
        return 0;
}

int image_cache_open(const char *store_root, const char *cache_key, const char *display, const ImageOptions *opts,
                     ImageCache *ret, KpError *err) {
        _cleanup_(image_cache_close) ImageCache c = { .key_fd = -1, .lock_fd = -1 };
        _cleanup_free_ char *images_dir = NULL;
        int r;

        /* Cache keys come from image-name.c; this keeps a future key from
         * naming a path outside images/. */
        if (isempty(cache_key) || strchr(cache_key, '/') || cache_key[0] == '.')
                return kp_error_set(err, -EINVAL, "invalid image cache key '%s'", cache_key);

        images_dir = kp_path_join(store_root, "images");
        if (!images_dir)
                return kp_error_set(err, -ENOMEM, "out of memory");
        r = kp_mkdir_p(images_dir, 0755);
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_STORE, r, "failed to create %s: %s", images_dir,
                                         strerror(-r));

        r = cache_lock(&c, images_dir, cache_key, display, opts, err);
        if (r < 0)
                return r;

        c.key_dir = kp_path_join(images_dir, cache_key);
        if (!c.key_dir)
                return kp_error_set(err, -ENOMEM, "out of memory");
        if (mkdir(c.key_dir, 0755) < 0 && errno != EEXIST)
                return kp_error_set_kind(err, KP_ERROR_STORE, -errno, "failed to create %s: %s", c.key_dir,
                                         strerror(errno));
        c.key_fd = open(c.key_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (c.key_fd < 0)
                return kp_error_set_kind(err, KP_ERROR_STORE, -errno, "failed to open %s: %s", c.key_dir,
                                         strerror(errno));

        *ret = c;
        c = (ImageCache) { .key_fd = -1, .lock_fd = -1 };
        return 0;
}

int image_cache_read_digest(int key_fd, char ret[KP_HASH_HEX_SIZE]) {
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        int r;

        r = kp_read_file_at(key_fd, IMAGE_DIGEST_FILE, 2 * KP_HASH_HEX_SIZE, &data, &len);
        if (r < 0)
                return r;
        if (len != KP_HASH_HEX_LEN || !kp_hash_hex_is_valid(data))
                return -EBADMSG;
        memcpy(ret, data, KP_HASH_HEX_SIZE);
        return 0;
}

bool image_cache_is_complete(int key_fd, char ret_digest[KP_HASH_HEX_SIZE]) {
        return image_cache_read_digest(key_fd, ret_digest) == 0 && kp_is_dir_at(key_fd, IMAGE_ROOTFS_DIR);
}

static int remove_in_cache(ImageCache *c, const char *name, KpError *err) {
        _cleanup_free_ char *path = kp_path_join(c->key_dir, name);

        if (!path)
                return kp_error_set(err, -ENOMEM, "out of memory");
        log_debug("removing leftover %s", path);
        return userns_remove_tree(path, err);
}

int image_cache_clean(ImageCache *c, KpError *err) {
        _cleanup_strv_free_ char **names = NULL;
        size_t n = 0;
        int r;

        /* Without a digest file the image is not complete, so a rootfs is
         * what an interrupted run left behind. The digest file goes first:
         * from then on nothing counts the rootfs as cached. */
        if (unlinkat(c->key_fd, IMAGE_DIGEST_FILE, 0) < 0 && errno != ENOENT)
                return kp_error_set_kind(err, KP_ERROR_STORE, -errno, "failed to remove %s/%s: %s", c->key_dir,
                                         IMAGE_DIGEST_FILE, strerror(errno));

        r = kp_dir_list_at(c->key_fd, ".", /* skip_hidden= */ false, /* missing_ok= */ false, &names, &n);
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_STORE, r, "failed to list %s: %s", c->key_dir, strerror(-r));

        for (size_t i = 0; i < n; i++) {
                if (!strneq(names[i], ".tmp-", 5) && !streq(names[i], IMAGE_ROOTFS_DIR))
                        continue;
                r = remove_in_cache(c, names[i], err);
                if (r < 0)
                        return r;
        }
        return 0;
}

int image_cache_verify(const char *store_root, const char *cache_key, ImageVerifyResult *ret, KpError *err) {
        _cleanup_(image_cache_close) ImageCache c = { .key_fd = -1, .lock_fd = -1 };
        _cleanup_free_ char *rootfs = NULL;
        ImageOptions opts = {};
        int r;

        *ret = (ImageVerifyResult) {};
        r = image_cache_open(store_root, cache_key, cache_key, &opts, &c, err);
        if (r < 0)
                return r;

        (void) image_cache_read_digest(c.key_fd, ret->expected);
        if (!kp_is_dir_at(c.key_fd, IMAGE_ROOTFS_DIR))
                return 0;

        rootfs = kp_path_join(c.key_dir, IMAGE_ROOTFS_DIR);
        if (!rootfs)
                return kp_error_set(err, -ENOMEM, "out of memory");
        r = image_tree_digest(rootfs, ret->actual, err);
        if (r < 0)
                return r;

        ret->complete = ret->expected[0] != '\0';
        ret->ok = ret->complete && streq(ret->expected, ret->actual);
        return 0;
}

int image_cache_list(const char *store_root, char ***ret, size_t *ret_count, KpError *err) {
        _cleanup_strv_free_ char **names = NULL, **keys = NULL;
        _cleanup_free_ char *images_dir = NULL;
        _cleanup_close_ int fd = -1;
        size_t n = 0, n_keys = 0;
        int r;

        images_dir = kp_path_join(store_root, "images");
        if (!images_dir)
                return kp_error_set(err, -ENOMEM, "out of memory");

        r = kp_dir_list_at(AT_FDCWD, images_dir, /* skip_hidden= */ true, /* missing_ok= */ true, &names, &n);
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_STORE, r, "failed to list %s: %s", images_dir, strerror(-r));

        fd = open(images_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        keys = calloc(1, sizeof(char *));
        if (!keys)
                return kp_error_set(err, -ENOMEM, "out of memory");

        for (size_t i = 0; fd >= 0 && i < n; i++) {
                if (!kp_is_dir_at(fd, names[i]))
                        continue;
                r = kp_strv_push(&keys, &n_keys, strdup(names[i]));
                if (r < 0)
                        return kp_error_set(err, r, "out of memory");
        }

        *ret = TAKE_PTR(keys);
        if (ret_count)
                *ret_count = n_keys;
        return 0;
}
