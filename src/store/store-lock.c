/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "store/store-internal.h"
#include "store/store-lock.h"

static int lock_open(Store *s, KpError *err) {
        _cleanup_free_ char *path = NULL;
        int fd, r;

        r = kp_mkdir_p(s->store_path, 0755);
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_STORE, r, "lock acquisition failed: cannot create '%s': %s",
                                         s->store_path, strerror(-r));

        path = store_path_of(s, _STORE_DIR_MAX, ".lock");
        if (!path)
                return kp_error_set(err, -ENOMEM, "out of memory");

        /* Opened for writing without truncation, so the file stays empty. */
        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0644);
        if (fd < 0) {
                r = -errno;
                return kp_error_set_kind(err, KP_ERROR_STORE, r, "lock acquisition failed: cannot open '%s': %s",
                                         path, strerror(-r));
        }
        return fd;
}

static int lock_take(Store *s, bool wait, int *ret_fd, KpError *err) {
        _cleanup_close_ int fd = -1;
        int r;

        fd = lock_open(s, err);
        if (fd < 0)
                return fd;

        for (;;) {
                if (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) == 0)
                        break;
                r = -errno;
                if (r == -EINTR)
                        continue;
                if (r == -EWOULDBLOCK && !wait) {
                        *ret_fd = -1;
                        return 0;
                }
                return kp_error_set_kind(err, KP_ERROR_STORE, r, "lock acquisition failed: %s", strerror(-r));
        }

        *ret_fd = TAKE_FD(fd);
        return 1;
}

int store_lock_acquire(Store *s, int *ret_fd, KpError *err) {
        int r;

        r = lock_take(s, /* wait= */ true, ret_fd, err);
        return r < 0 ? r : 0;
}

int store_lock_try(Store *s, int *ret_fd, KpError *err) {
        return lock_take(s, /* wait= */ false, ret_fd, err);
}

int store_lock_release(int fd) {
        if (fd >= 0)
                (void) close(fd);
        return -1;
}
