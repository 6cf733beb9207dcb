/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/fault.h"
#include "basic/log.h"
#include "store/store-internal.h"

/* store_object_get() reads the whole object into memory. It serves small
 * objects (manifests, tree listings); larger content goes through
 * store_object_open(). The limit keeps a corrupt or hostile store from
 * making the process allocate without bound. */
#define STORE_OBJECT_GET_MAX ((size_t) 1 << 30)

/* Buffer size for streaming object content. */
#define STORE_OBJECT_COPY_BUFFER (128 * 1024)

static int object_key_check(const char *key, KpError *err) {
        if (!kp_hash_hex_is_valid(key))
                return kp_error_set_kind(err, KP_ERROR_STORE, -EINVAL, "invalid object key '%s'", key ? key : "");
        return 0;
}

static int object_dir(Store *s, KpError *err) {
        return store_dir_fd(s, STORE_DIR_OBJECTS, err);
}

/* Make the temporary file TMP_NAME the object KEY. An object that already
 * exists is kept as it is, and the temporary file is dropped. */
static int object_commit(int dfd, int fd, const char *tmp_name, const char *key, bool defer_dir_sync,
                         KpError *err) {
        int r;

        if (fchmod(fd, 0444) < 0) {
                r = -errno;
                goto fail;
        }

        if (faccessat(dfd, key, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
                (void) unlinkat(dfd, tmp_name, 0);
                return 0;
        }

        kp_fault_point("object:tmp-written");
        r = kp_commit_tmpfile_at(dfd, fd, tmp_name, key,
                                 KP_ATOMIC_NO_REPLACE | (defer_dir_sync ? KP_ATOMIC_NO_DIR_SYNC : 0));
        if (r == -EEXIST) {
                /* Another writer stored the same content first. */
                (void) unlinkat(dfd, tmp_name, 0);
                return 0;
        }
        if (r < 0)
                goto fail;

        kp_fault_point("object:renamed");
        return 0;

fail:
        (void) unlinkat(dfd, tmp_name, 0);
        return kp_error_set_kind(err, KP_ERROR_STORE, r, "failed to store object %s: %s", key, strerror(-r));
}

int store_object_put_bytes(Store *s, const void *data, size_t len, char ret_key[KP_HASH_HEX_SIZE],
                           KpError *err) {
        char key[KP_HASH_HEX_SIZE];
        int dfd, r;

        dfd = object_dir(s, err);
        if (dfd < 0)
                return dfd;

        kp_hash_bytes_hex(data, len, key);
        if (faccessat(dfd, key, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
                memcpy(ret_key, key, KP_HASH_HEX_SIZE);
                return 0;
        }

        r = store_write_file_atomic(dfd, key, data, len, 0444, KP_ATOMIC_NO_REPLACE, "object");
        if (r < 0 && r != -EEXIST)
                return kp_error_set_kind(err, KP_ERROR_STORE, r, "failed to store object %s: %s", key,
                                         strerror(-r));

        memcpy(ret_key, key, KP_HASH_HEX_SIZE);
        return 0;
}

/* Copy FD to OUT_FD until EOF, hashing the bytes. */
static int object_copy_hashing(int fd, int out_fd, char ret_key[KP_HASH_HEX_SIZE]) {
        _cleanup_free_ char *buf = malloc(STORE_OBJECT_COPY_BUFFER);
        KpHasher h;
        int r;

        if (!buf)
                return -ENOMEM;

        kp_hasher_init(&h);
        for (;;) {
                ssize_t n = read(fd, buf, STORE_OBJECT_COPY_BUFFER);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;

                kp_hasher_update(&h, buf, (size_t) n);
                r = kp_write_all(out_fd, buf, (size_t) n);
                if (r < 0)
                        return r;
        }

        kp_hasher_final_hex(&h, ret_key);
        return 0;
}

int store_object_put_fd(Store *s, int fd, char ret_key[KP_HASH_HEX_SIZE], KpError *err) {
        _cleanup_free_ char *tmp_name = NULL;
        _cleanup_close_ int out_fd = -1;
        char key[KP_HASH_HEX_SIZE];
        int dfd, r;

        dfd = object_dir(s, err);
        if (dfd < 0)
                return dfd;

        out_fd = kp_open_tmpfile_at(dfd, 0444, &tmp_name);
        if (out_fd < 0)
                return kp_error_set_kind(err, KP_ERROR_STORE, out_fd, "failed to create a temporary object file: %s",
                                         strerror(-out_fd));

        r = object_copy_hashing(fd, out_fd, key);
        if (r < 0) {
                (void) unlinkat(dfd, tmp_name, 0);
                return kp_error_set_kind(err, KP_ERROR_STORE, r, "failed to copy content into the store: %s",
                                         strerror(-r));
        }

        r = object_commit(dfd, out_fd, tmp_name, key, s->objects_sync_deferred, err);
        if (r < 0)
                return r;

        memcpy(ret_key, key, KP_HASH_HEX_SIZE);
        return 0;
}

static int object_not_found(const char *key, KpError *err) {
        return kp_error_set_kind(err, KP_ERROR_STORE, -ENOENT, "object not found: %s", key);
}

int store_object_open(Store *s, const char *key, int *ret_fd, KpError *err) {
        int dfd, fd, r;

        r = object_key_check(key, err);
        if (r < 0)
                return r;

        dfd = object_dir(s, err);
        if (dfd < 0)
                return dfd;

        fd = openat(dfd, key, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0) {
                r = -errno;
                if (r == -ENOENT)
                        return object_not_found(key, err);
                return kp_error_set_kind(err, KP_ERROR_STORE, r, "failed to open object %s: %s", key,
                                         strerror(-r));
        }

        *ret_fd = fd;
        return 0;
}

static int object_integrity_error(const char *key, const char *actual, KpError *err) {
        return kp_error_set_kind(err, KP_ERROR_STORE, -EBADMSG,
                                 "integrity check failed for object '%s': expected %s, got %s", key, key, actual);
}

int store_object_get(Store *s, const char *key, char **ret, size_t *ret_len, KpError *err) {
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *data = NULL;
        char actual[KP_HASH_HEX_SIZE];
        size_t len = 0;
        int r;

        r = store_object_open(s, key, &fd, err);
        if (r < 0)
                return r;

        r = kp_read_fd(fd, STORE_OBJECT_GET_MAX, &data, &len);
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_STORE, r, "failed to read object %s: %s", key,
                                         strerror(-r));

        kp_hash_bytes_hex(data, len, actual);
        if (!streq(actual, key))
                return object_integrity_error(key, actual, err);

        *ret = TAKE_PTR(data);
        if (ret_len)
                *ret_len = len;
        return 0;
}

int store_object_verify(Store *s, const char *key, KpError *err) {
        _cleanup_close_ int fd = -1;
        char actual[KP_HASH_HEX_SIZE];
        int r;

        r = store_object_open(s, key, &fd, err);
        if (r < 0)
                return r;

        r = kp_hash_fd_hex(fd, actual);
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_STORE, r, "failed to read object %s: %s", key,
                                         strerror(-r));
        if (!streq(actual, key))
                return object_integrity_error(key, actual, err);
        return 0;
}

bool store_object_exists(Store *s, const char *key) {
        int dfd;

        if (!kp_hash_hex_is_valid(key))
                return false;

        dfd = object_dir(s, NULL);
        if (dfd < 0)
                return false;
        return faccessat(dfd, key, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

int store_object_remove_name(Store *s, const char *name, KpError *err) {
        int dfd;

        if (!store_name_is_plain(name))
                return kp_error_set_kind(err, KP_ERROR_STORE, -EINVAL, "invalid object name '%s'", name);

        dfd = object_dir(s, err);
        if (dfd < 0)
                return dfd;

        kp_fault_point("object:remove");
        if (unlinkat(dfd, name, 0) < 0) {
                int r = -errno;

                if (r == -ENOENT)
                        return 0;
                if (r == -EISDIR || r == -EPERM) {
                        /* Only a stray directory gets here, because objects are files. */
                        r = kp_rm_rf_at(dfd, name);
                        if (r >= 0)
                                return 0;
                }
                return kp_error_set_kind(err, KP_ERROR_STORE, r, "failed to remove object %s: %s", name,
                                         strerror(-r));
        }
        return 0;
}

int store_object_remove(Store *s, const char *key, KpError *err) {
        int r;

        r = object_key_check(key, err);
        if (r < 0)
                return r;

        return store_object_remove_name(s, key, err);
}

int store_object_list(Store *s, char ***ret_keys, size_t *ret_count, KpError *err) {
        _cleanup_strv_free_ char **names = NULL;
        size_t n = 0;
        int dfd, r;

        dfd = object_dir(s, err);
        if (dfd == -ENOENT) {
                /* A store that was never initialized has no objects. */
                kp_error_clear(err);
                return store_strv_empty(ret_keys, ret_count);
        }
        if (dfd < 0)
                return dfd;

        r = kp_dir_list_at(dfd, ".", /* skip_hidden= */ true, /* missing_ok= */ false, &names, &n);
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_STORE, r, "failed to list objects: %s", strerror(-r));

        *ret_keys = TAKE_PTR(names);
        if (ret_count)
                *ret_count = n;
        return 0;
}

void store_object_defer_dir_sync(Store *s, bool defer) {
        s->objects_sync_deferred = defer;
}

int store_object_sync_dir(Store *s, KpError *err) {
        int dfd, r;

        dfd = object_dir(s, err);
        if (dfd < 0)
                return dfd;
        r = kp_fsync_dir_at(dfd, ".");
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_STORE, r, "failed to sync the objects directory: %s",
                                         strerror(-r));
        return 0;
}
