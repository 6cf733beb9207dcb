/* SPDX-License-Identifier: MIT */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "basic/log.h"
#include "runtime/extract.h"
#include "basic/archive-api.h"

/* libarchive reads the archive in blocks of this size. */
#define EXTRACT_READ_BLOCK (128 * 1024)

/* Maximum symlink target length the kernel stores (PATH_MAX including the NUL). */
#define EXTRACT_MAX_SYMLINK_TARGET (PATH_MAX - 1)

/* A directory whose mode and modification time are set after all entries,
 * so that a read-only directory can still receive its content and adding
 * entries does not change the recorded time. */
typedef struct DeferredDir {
        char *path;                     /* normalized, "" for the root */
        size_t index;                   /* archive order, for duplicate entries */
        mode_t mode;
        bool has_mtime;
        struct timespec mtime;
} DeferredDir;

typedef struct Extractor {
        struct archive *archive;
        int root_fd;                    /* borrowed */
        ExtractOptions opts;
        ExtractStats stats;
        KpError *err;

        /* The parent directory of the previous entry, reused when the next
         * entry has the same parent (the common case in tarballs). */
        char *cached_parent;
        int cached_parent_fd;

        DeferredDir *dirs;
        size_t n_dirs;
        size_t allocated_dirs;
} Extractor;

static void archive_read_freep(struct archive **a) {
        if (*a)
                (void) archive_read_free(*a);
}
#define _cleanup_archive_read_free_ _cleanup_(archive_read_freep)

static void extractor_done(Extractor *x) {
        for (size_t i = 0; i < x->n_dirs; i++)
                free(x->dirs[i].path);
        free(x->dirs);
        free(x->cached_parent);
        if (x->cached_parent_fd >= 0)
                (void) close(x->cached_parent_fd);
}

static void extractor_forget_parent(Extractor *x) {
        free(x->cached_parent);
        x->cached_parent = NULL;
        if (x->cached_parent_fd >= 0)
                (void) close(x->cached_parent_fd);
        x->cached_parent_fd = -1;
}

static int invalid_entry(Extractor *x, int code, const char *path, const char *reason) {
        return kp_error_set_kind(x->err, KP_ERROR_RUNTIME, code, "invalid image tarball: entry '%s': %s", path,
                                 reason);
}

/* ---- Entry names ------------------------------------------------------- */

int extract_path_normalize(const char *raw, char **ret) {
        _cleanup_free_ char *out = NULL;
        size_t len = 0;
        const char *p = raw;

        out = malloc(strlen(raw) + 1);
        if (!out)
                return -ENOMEM;

        while (*p) {
                size_t n;

                p += strspn(p, "/");
                n = strcspn(p, "/");
                if (n == 0)
                        break;
                if (n == 2 && p[0] == '.' && p[1] == '.')
                        return -EINVAL;
                if (n > NAME_MAX)
                        return -ENAMETOOLONG;
                if (!(n == 1 && p[0] == '.')) {
                        if (len > 0)
                                out[len++] = '/';
                        memcpy(out + len, p, n);
                        len += n;
                }
                p += n;
        }
        out[len] = '\0';
        if (len >= PATH_MAX)
                return -ENAMETOOLONG;

        *ret = TAKE_PTR(out);
        return 0;
}

static int entry_path_get(Extractor *x, const char *raw, const char *what, char **ret) {
        int r;

        if (!raw)
                return kp_error_set_kind(x->err, KP_ERROR_RUNTIME, -EINVAL,
                                         "invalid image tarball: entry %" PRIu64 " has no %s", x->stats.entries, what);

        r = extract_path_normalize(raw, ret);
        if (r == -EINVAL)
                return kp_error_set_kind(x->err, KP_ERROR_RUNTIME, r,
                                         "invalid image tarball: %s '%s' contains a '..' component", what, raw);
        if (r == -ENAMETOOLONG)
                return kp_error_set_kind(x->err, KP_ERROR_RUNTIME, r,
                                         "invalid image tarball: %s '%.80s...' is too long (limits: %d bytes per "
                                         "component, %d bytes in total)",
                                         what, raw, NAME_MAX, PATH_MAX - 1);
        if (r < 0)
                return kp_error_set(x->err, r, "out of memory");
        return 0;
}

/* ---- Walking to a parent directory without following symlinks --------- */

static int open_child_dir(Extractor *x, int dir_fd, const char *name, const char *path, bool create) {
        struct stat st;
        int fd;

        for (int attempt = 0; attempt < 2; attempt++) {
                fd = openat(dir_fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd >= 0)
                        return fd;
                if (errno != ENOENT || !create)
                        break;
                if (mkdirat(dir_fd, name, 0755) < 0 && errno != EEXIST)
                        return kp_error_set_kind(x->err, KP_ERROR_RUNTIME, -errno,
                                                 "failed to create directory '%s': %s", path, strerror(errno));
        }

        if (errno == ENOENT)
                return invalid_entry(x, -ENOENT, path, "directory does not exist");
        if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
                return invalid_entry(x, -ELOOP, path, "is a symlink, refusing to write through it");
        if (errno == ENOTDIR || errno == ELOOP)
                return invalid_entry(x, -ENOTDIR, path, "is not a directory");
        return kp_error_set_kind(x->err, KP_ERROR_RUNTIME, -errno, "failed to open directory '%s': %s", path,
                                 strerror(errno));
}

/* Open the directory PATH (normalized, "" for the root) below the root,
 * creating missing components when CREATE is set. Returns a new O_PATH fd. */
static int open_dir_below_root(Extractor *x, const char *path, bool create) {
        _cleanup_free_ char *walked = NULL;
        _cleanup_close_ int fd = -1;
        size_t len = 0;
        const char *p = path;

        fd = openat(x->root_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return kp_error_set(x->err, -errno, "failed to open the extraction root: %s", strerror(errno));

        walked = malloc(strlen(path) + 1);
        if (!walked)
                return kp_error_set(x->err, -ENOMEM, "out of memory");

        while (*p) {
                _cleanup_free_ char *name = NULL;
                size_t n = strcspn(p, "/");
                int child;

                name = strndup(p, n);
                if (!name)
                        return kp_error_set(x->err, -ENOMEM, "out of memory");
                memcpy(walked + len, p, n);
                len += n;
                walked[len] = '\0';

                child = open_child_dir(x, fd, name, walked, create);
                if (child < 0)
                        return child;
                (void) close(fd);
                fd = child;

                p += n;
                if (*p == '/') {
                        walked[len++] = '/';
                        p++;
                }
        }
        return TAKE_FD(fd);
}

/* Split PATH into its parent directory (returned as a borrowed O_PATH fd,
 * valid until the next call) and its last component. */
static int extractor_parent(Extractor *x, const char *path, const char **ret_name) {
        _cleanup_free_ char *parent = NULL;
        const char *slash = strrchr(path, '/');
        int fd;

        parent = slash ? strndup(path, (size_t) (slash - path)) : strdup("");
        if (!parent)
                return kp_error_set(x->err, -ENOMEM, "out of memory");
        *ret_name = slash ? slash + 1 : path;

        if (x->cached_parent && streq(x->cached_parent, parent))
                return x->cached_parent_fd;

        fd = open_dir_below_root(x, parent, /* create= */ true);
        if (fd < 0)
                return fd;

        extractor_forget_parent(x);
        x->cached_parent = TAKE_PTR(parent);
        x->cached_parent_fd = fd;
        return fd;
}

/* Something at PATH is about to be removed: if it is the cached parent or
 * one of its ancestors, the cached fd no longer names that path. */
static void extractor_path_removed(Extractor *x, const char *path) {
        size_t n = strlen(path);

        if (!x->cached_parent)
                return;
        if (strneq(x->cached_parent, path, n) && (x->cached_parent[n] == '\0' || x->cached_parent[n] == '/'))
                extractor_forget_parent(x);
}

/* Remove what exists at NAME unless it is a directory and WANT_DIR is set.
 * Returns 1 when a directory was kept, 0 when the name is free. */
static int clear_leaf(Extractor *x, int parent_fd, const char *name, const char *path, bool want_dir) {
        struct stat st;

        if (fstatat(parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno == ENOENT)
                        return 0;
                return kp_error_set_kind(x->err, KP_ERROR_RUNTIME, -errno, "failed to inspect '%s': %s", path,
                                         strerror(errno));
        }
        if (S_ISDIR(st.st_mode) && want_dir)
                return 1;

        extractor_path_removed(x, path);
        if (unlinkat(parent_fd, name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0) {
                if (errno == ENOTEMPTY || errno == EEXIST)
                        return invalid_entry(x, -ENOTEMPTY, path, "replaces a directory that is not empty");
                return kp_error_set_kind(x->err, KP_ERROR_RUNTIME, -errno, "failed to replace '%s': %s", path,
                                         strerror(errno));
        }
        return 0;
}

/* ---- Metadata ---------------------------------------------------------- */

/* Change the owner of NAME in PARENT_FD (FD >= 0: of that open file). An id
 * that is not mapped in this user namespace (EINVAL) or that the caller may
 * not give away (EPERM) is counted, and the file keeps the caller's ids. */
static int apply_owner(Extractor *x, struct archive_entry *e, int fd, int parent_fd, const char *name,
                       const char *path) {
        uid_t uid = (uid_t) archive_entry_uid(e);
        gid_t gid = (gid_t) archive_entry_gid(e);
        int r;

        if (!x->opts.keep_owners)
                return 0;

        if (fd >= 0)
                r = fchown(fd, uid, gid);
        else
                r = fchownat(parent_fd, name, uid, gid, AT_SYMLINK_NOFOLLOW);
        if (r == 0)
                return 0;
        if (errno == EINVAL || errno == EPERM) {
                x->stats.owners_dropped++;
                log_trace("keeping the extracting user as owner of '%s' instead of %u:%u: %s", path,
                          (unsigned) uid, (unsigned) gid, strerror(errno));
                return 0;
        }
        return kp_error_set_kind(x->err, KP_ERROR_RUNTIME, -errno, "failed to set the owner of '%s': %s", path,
                                 strerror(errno));
}

static void apply_xattrs(Extractor *x, struct archive_entry *e, int fd, const char *path) {
        const char *name;
        const void *value;
        size_t size;

        if (archive_entry_xattr_reset(e) == 0)
                return;

        while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
                if (fd < 0 || !name || fsetxattr(fd, name, value, size, 0) < 0) {
                        x->stats.xattrs_dropped++;
                        log_trace("dropping extended attribute '%s' of '%s': %s", name ? name : "(unnamed)", path,
                                  fd < 0 ? "not supported on this file type" : strerror(errno));
                }
        }
}

static void entry_mtime(struct archive_entry *e, struct timespec ts[2]) {
        ts[0].tv_sec = 0;
        ts[0].tv_nsec = UTIME_OMIT;
        if (archive_entry_mtime_is_set(e)) {
                ts[1].tv_sec = archive_entry_mtime(e);
                ts[1].tv_nsec = archive_entry_mtime_nsec(e);
        } else {
                ts[1].tv_sec = 0;
                ts[1].tv_nsec = UTIME_OMIT;
        }
}

/* ---- Entry types ------------------------------------------------------- */

static int write_data(Extractor *x, int fd, const char *path) {
        for (;;) {
                const void *buf;
                size_t size;
                la_int64_t offset;
                int r;

                r = archive_read_data_block(x->archive, &buf, &size, &offset);
                if (r == ARCHIVE_EOF)
                        break;
                if (r < ARCHIVE_WARN)
                        return kp_error_set_kind(x->err, KP_ERROR_RUNTIME, -EIO,
                                                 "failed to read the content of '%s' from the image tarball: %s", path,
                                                 archive_error_string(x->archive));
                if (offset < 0 || (uint64_t) offset + size > x->opts.max_file_size)
                        return invalid_entry(x, -EFBIG, path, "content exceeds the size limit per file");
                if (x->stats.bytes + size > x->opts.max_total_size)
                        return kp_error_set_kind(x->err, KP_ERROR_RUNTIME, -EFBIG,
                                                 "invalid image tarball: the content exceeds the limit of %" PRIu64
                                                 " bytes in total",
                                                 x->opts.max_total_size);

                for (size_t done = 0; done < size;) {
                        ssize_t n = pwrite(fd, (const char *) buf + done, size - done, (off_t) offset + (off_t) done);

                        if (n < 0) {
                                if (errno == EINTR)
                                        continue;
                                return kp_error_set_kind(x->err, KP_ERROR_RUNTIME, -errno, "failed to write '%s': %s",
                                                         path, strerror(errno));
                        }
                        done += (size_t) n;
                }
                x->stats.bytes += size;
        }
        return 0;
}

static int extract_file(Extractor *x, struct archive_entry *e, int parent_fd, const char *name, const char *path) {
        _cleanup_close_ int fd = -1;
        struct timespec ts[2];
        la_int64_t size = archive_entry_size(e);
        int r;

        if (archive_entry_size_is_set(e) && (size < 0 || (uint64_t) size > x->opts.max_file_size))
                return kp_error_set_kind(x->err, KP_ERROR_RUNTIME, -EFBIG,
                                         "invalid image tarball: entry '%s' declares %" PRId64
                                         " bytes, more than the limit of %" PRIu64 " bytes per file",
                                         path, (int64_t) size, x->opts.max_file_size);

        fd = openat(parent_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return kp_error_set_kind(x->err, KP_ERROR_RUNTIME, -errno, "failed to create '%s': %s", path,
                                         strerror(errno));

        r = write_data(x, fd, path);
        if (r < 0)
                return r;

        /* Sets the size of a sparse file that ends in a hole. */
        if (archive_entry_size_is_set(e) && ftruncate(fd, (off_t) size) < 0)
                return kp_error_set_kind(x->err, KP_ERROR_RUNTIME, -errno, "failed to set the size of '%s': %s", path,
                                         strerror(errno));

        /* The owner first: chown clears the setuid and setgid bits. */
        r = apply_owner(x, e, fd, parent_fd, name, path);
        if (r < 0)
                return r;

        if (fchmod(fd, archive_entry_perm(e) & 07777) < 0)
                return kp_error_set_kind(x->err, KP_ERROR_RUNTIME, -errno, "failed to set the mode of '%s': %s", path,
                                         strerror(errno));

        apply_xattrs(x, e, fd, path);
        entry_mtime(e, ts);
        (void) futimens(fd, ts);
        return 0;
}

static int defer_dir(Extractor *x, struct archive_entry *e, const char *path) {
        DeferredDir *d;

        if (x->n_dirs == x->allocated_dirs) {
                size_t n = x->allocated_dirs ? x->allocated_dirs * 2 : 256;
                DeferredDir *grown = reallocarray(x->dirs, n, sizeof(DeferredDir));

                if (!grown)
                        return kp_error_set(x->err, -ENOMEM, "out of memory");
                x->dirs = grown;
                x->allocated_dirs = n;
        }

        d = &x->dirs[x->n_dirs];
        *d = (DeferredDir) {
                .path = strdup(path),
                .index = x->n_dirs,
                .mode = archive_entry_perm(e) & 07777,
                .has_mtime = archive_entry_mtime_is_set(e),
                .mtime = { archive_entry_mtime(e), archive_entry_mtime_nsec(e) },
        };
        if (!d->path)
                return kp_error_set(x->err, -ENOMEM, "out of memory");
        x->n_dirs++;
        return 0;
}

static int extract_dir(Extractor *x, struct archive_entry *e, int parent_fd, const char *name, const char *path) {
        _cleanup_close_ int fd = -1;
        int r;

        if (path[0] == '\0')
                fd = openat(x->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        else {
                r = clear_leaf(x, parent_fd, name, path, /* want_dir= */ true);
                if (r < 0)
                        return r;
                /* Owner-only until the final mode is set at the end. */
                if (r == 0 && mkdirat(parent_fd, name, 0700) < 0)
                        return kp_error_set_kind(x->err, KP_ERROR_RUNTIME, -errno,
                                                 "failed to create directory '%s': %s", path, strerror(errno));
                fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        if (fd < 0)
                return kp_error_set_kind(x->err, KP_ERROR_RUNTIME, -errno, "failed to open directory '%s': %s",
                                         path[0] ? path : ".", strerror(errno));

        r = apply_owner(x, e, fd, parent_fd, name, path);
        if (r < 0)
                return r;

        apply_xattrs(x, e, fd, path);
        return defer_dir(x, e, path);
}

static int extract_symlink(Extractor *x, struct archive_entry *e, int parent_fd, const char *name,
                           const char *path) {
        const char *target = archive_entry_symlink(e);
        struct timespec ts[2];
        int r;

        if (isempty(target))
                return invalid_entry(x, -EINVAL, path, "symlink without a target");
        if (strlen(target) > EXTRACT_MAX_SYMLINK_TARGET)
                return invalid_entry(x, -ENAMETOOLONG, path, "symlink target is too long");

        if (symlinkat(target, parent_fd, name) < 0)
                return kp_error_set_kind(x->err, KP_ERROR_RUNTIME, -errno, "failed to create symlink '%s': %s", path,
                                         strerror(errno));

        r = apply_owner(x, e, -1, parent_fd, name, path);
        if (r < 0)
                return r;

        /* Linux accepts no user.* attributes on symlinks. */
        apply_xattrs(x, e, -1, path);
        entry_mtime(e, ts);
        (void) utimensat(parent_fd, name, ts, AT_SYMLINK_NOFOLLOW);
        return 0;
}

static int extract_hardlink(Extractor *x, struct archive_entry *e, int parent_fd, const char *name,
                            const char *path) {
        _cleanup_free_ char *target = NULL, *target_parent = NULL;
        _cleanup_close_ int target_dir = -1;
        const char *target_name, *slash;
        struct stat st;
        int r;

        r = entry_path_get(x, archive_entry_hardlink(e), "hard link target", &target);
        if (r < 0)
                return r;
        if (target[0] == '\0' || streq(target, path))
                return invalid_entry(x, -EINVAL, path, "hard link to itself or to the root");

        slash = strrchr(target, '/');
        target_parent = slash ? strndup(target, (size_t) (slash - target)) : strdup("");
        if (!target_parent)
                return kp_error_set(x->err, -ENOMEM, "out of memory");
        target_name = slash ? slash + 1 : target;

        target_dir = open_dir_below_root(x, target_parent, /* create= */ false);
        if (target_dir < 0 && target_dir != -ENOENT)
                return kp_error_prefix(x->err, "hard link '%s' to '%s'", path, target);

        if (target_dir < 0 || fstatat(target_dir, target_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return kp_error_set_kind(x->err, KP_ERROR_RUNTIME, -ENOENT,
                                         "invalid image tarball: hard link '%s' points to '%s', which no earlier "
                                         "entry created",
                                         path, target);
        if (S_ISDIR(st.st_mode))
                return kp_error_set_kind(x->err, KP_ERROR_RUNTIME, -EPERM,
                                         "invalid image tarball: hard link '%s' points to directory '%s'", path,
                                         target);

        if (linkat(target_dir, target_name, parent_fd, name, 0) < 0)
                return kp_error_set_kind(x->err, KP_ERROR_RUNTIME, -errno,
                                         "failed to create hard link '%s' to '%s': %s", path, target,
                                         strerror(errno));
        return 0;
}

static int extract_fifo(Extractor *x, struct archive_entry *e, int parent_fd, const char *name, const char *path) {
        struct timespec ts[2];
        int r;

        if (mkfifoat(parent_fd, name, 0600) < 0)
                return kp_error_set_kind(x->err, KP_ERROR_RUNTIME, -errno, "failed to create FIFO '%s': %s", path,
                                         strerror(errno));

        r = apply_owner(x, e, -1, parent_fd, name, path);
        if (r < 0)
                return r;

        /* The name was just created as a FIFO, so following it is safe. */
        if (fchmodat(parent_fd, name, archive_entry_perm(e) & 07777, 0) < 0)
                return kp_error_set_kind(x->err, KP_ERROR_RUNTIME, -errno, "failed to set the mode of '%s': %s", path,
                                         strerror(errno));

        entry_mtime(e, ts);
        (void) utimensat(parent_fd, name, ts, AT_SYMLINK_NOFOLLOW);
        return 0;
}

/* ---- Main loop --------------------------------------------------------- */

static int extract_entry(Extractor *x, struct archive_entry *e) {
        _cleanup_free_ char *path = NULL;
        mode_t type = archive_entry_filetype(e);
        const char *name = NULL;
        int parent_fd, r;

        if (type == AE_IFCHR || type == AE_IFBLK || type == AE_IFSOCK) {
                x->stats.devices_skipped++;
                return 0;
        }

        r = entry_path_get(x, archive_entry_pathname(e), "name", &path);
        if (r < 0)
                return r;

        if (path[0] == '\0') {
                if (type != AE_IFDIR || archive_entry_hardlink(e))
                        return invalid_entry(x, -EINVAL, ".", "the root can only be a directory");
                return extract_dir(x, e, -1, "", "");
        }

        parent_fd = extractor_parent(x, path, &name);
        if (parent_fd < 0)
                return parent_fd;

        if (type == AE_IFDIR && !archive_entry_hardlink(e))
                return extract_dir(x, e, parent_fd, name, path);

        r = clear_leaf(x, parent_fd, name, path, /* want_dir= */ false);
        if (r < 0)
                return r;

        if (archive_entry_hardlink(e))
                return extract_hardlink(x, e, parent_fd, name, path);

        switch (type) {
        case AE_IFREG:
                return extract_file(x, e, parent_fd, name, path);
        case AE_IFLNK:
                return extract_symlink(x, e, parent_fd, name, path);
        case AE_IFIFO:
                return extract_fifo(x, e, parent_fd, name, path);
        default:
                log_debug("skipping '%s' of unsupported type 0%o in the image tarball", path, (unsigned) type);
                return 0;
        }
}

static int deferred_dir_compare(const void *a, const void *b) {
        const DeferredDir *x = a, *y = b;
        int c = strcmp(x->path, y->path);

        if (c != 0)
                return c;
        return x->index < y->index ? -1 : x->index > y->index;
}

/* Set the final mode and time of every directory, deepest first (reverse
 * name order puts "a/b" before "a"), so that a directory made read-only or
 * inaccessible does not block its children. For a directory listed twice,
 * the later entry counts. */
static int finish_dirs(Extractor *x) {
        extractor_forget_parent(x);
        if (x->n_dirs == 0)
                return 0;
        qsort(x->dirs, x->n_dirs, sizeof(DeferredDir), deferred_dir_compare);

        for (size_t i = x->n_dirs; i > 0; i--) {
                const DeferredDir *d = &x->dirs[i - 1];
                _cleanup_close_ int dir = -1, fd = -1;
                struct timespec ts[2] = { { 0, UTIME_OMIT }, d->mtime };

                if (i < x->n_dirs && streq(d->path, x->dirs[i].path))
                        continue;

                dir = open_dir_below_root(x, d->path, /* create= */ false);
                if (dir < 0)
                        return dir;
                fd = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0 || fchmod(fd, d->mode) < 0)
                        return kp_error_set_kind(x->err, KP_ERROR_RUNTIME, -errno,
                                                 "failed to set the mode of directory '%s': %s",
                                                 d->path[0] ? d->path : ".", strerror(errno));
                if (d->has_mtime)
                        (void) futimens(fd, ts);
        }
        return 0;
}

static struct archive *archive_reader_new(void) {
        struct archive *a = archive_read_new();

        if (!a)
                return NULL;

        /* Only tar and the usual compressors, all built into libarchive: the
         * "all" variants would also accept other formats and run external
         * decompressors. */
        (void) archive_read_support_filter_gzip(a);
        (void) archive_read_support_filter_xz(a);
        (void) archive_read_support_filter_zstd(a);
        (void) archive_read_support_filter_bzip2(a);
        (void) archive_read_support_filter_lzma(a);
        (void) archive_read_support_format_tar(a);
        return a;
}

static int extractor_run(Extractor *x) {
        for (;;) {
                struct archive_entry *e;
                int r;

                r = archive_read_next_header(x->archive, &e);
                if (r == ARCHIVE_EOF)
                        break;
                if (r < ARCHIVE_WARN)
                        return kp_error_set_kind(x->err, KP_ERROR_RUNTIME, -EINVAL,
                                                 "invalid image tarball: %s after %" PRIu64 " entries",
                                                 archive_error_string(x->archive), x->stats.entries);
                if (r == ARCHIVE_WARN)
                        log_debug("image tarball: %s", archive_error_string(x->archive));

                if (++x->stats.entries > x->opts.max_entries)
                        return kp_error_set_kind(x->err, KP_ERROR_RUNTIME, -EFBIG,
                                                 "invalid image tarball: more than %" PRIu64 " entries",
                                                 x->opts.max_entries);

                r = extract_entry(x, e);
                if (r < 0)
                        return r;
        }
        return finish_dirs(x);
}

int extract_archive_fd(int archive_fd, int root_fd, const ExtractOptions *opts, ExtractStats *stats,
                       KpError *err) {
        _cleanup_archive_read_free_ struct archive *a = NULL;
        Extractor x = {
                .root_fd = root_fd,
                .err = err,
                .cached_parent_fd = -1,
        };
        int r;

        if (opts)
                x.opts = *opts;
        if (x.opts.max_file_size == 0)
                x.opts.max_file_size = EXTRACT_DEFAULT_MAX_FILE_SIZE;
        if (x.opts.max_total_size == 0)
                x.opts.max_total_size = EXTRACT_DEFAULT_MAX_TOTAL_SIZE;
        if (x.opts.max_entries == 0)
                x.opts.max_entries = EXTRACT_DEFAULT_MAX_ENTRIES;

        /* A freshly downloaded file is positioned at its end. Pipes cannot
         * seek and start at the beginning anyway. */
        if (lseek(archive_fd, 0, SEEK_SET) < 0 && errno != ESPIPE)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, -errno, "failed to rewind the image tarball: %s",
                                         strerror(errno));

        a = archive_reader_new();
        if (!a)
                return kp_error_set(err, -ENOMEM, "out of memory");
        if (archive_read_open_fd(a, archive_fd, EXTRACT_READ_BLOCK) != ARCHIVE_OK)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, -EINVAL, "invalid image tarball: %s",
                                         archive_error_string(a));
        x.archive = a;

        r = extractor_run(&x);
        if (stats)
                *stats = x.stats;
        extractor_done(&x);
        return r;
}
