/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/openat2.h>

#include "basic/fs-util.h"

int kp_read_fd(int fd, size_t max_size, char **ret, size_t *ret_len) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, allocated = 0;

        for (;;) {
                ssize_t n;

                if (allocated - size < 4096) {
                        size_t want = allocated ? allocated * 2 : 16384;
                        char *p;

                        if (want > max_size + 1)
                                want = max_size + 1;
                        if (want <= size)
                                return -EFBIG;
                        p = realloc(buf, want + 1);
                        if (!p)
                                return -ENOMEM;
                        buf = p;
                        allocated = want;
                }

                n = read(fd, buf + size, allocated - size);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                size += (size_t) n;
                if (size > max_size)
                        return -EFBIG;
        }

        if (!buf) {
                buf = malloc(1);
                if (!buf)
                        return -ENOMEM;
        }
        buf[size] = '\0';
        *ret = TAKE_PTR(buf);
        if (ret_len)
                *ret_len = size;
        return 0;
}

int kp_read_file_at(int dirfd, const char *path, size_t max_size, char **ret, size_t *ret_len) {
        _cleanup_close_ int fd = -1;

        fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        return kp_read_fd(fd, max_size, ret, ret_len);
}

int kp_write_all(int fd, const void *data, size_t len) {
        const char *p = data;

        while (len > 0) {
                ssize_t n = write(fd, p, len);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        return -EIO;
                p += n;
                len -= (size_t) n;
        }
        return 0;
}

void kp_random_hex(char *buf, size_t len) {
        static const char digits[] = "0123456789abcdef";
        uint8_t raw[64];
        size_t done = 0;

        while (done < len) {
                size_t chunk = len - done > sizeof(raw) ? sizeof(raw) : len - done;
                ssize_t n = getrandom(raw, chunk, 0);

                if (n <= 0) {
                        /* getrandom() can fail (EINTR, or ENOSYS on old
                         * kernels). These names only need to be unique, so a
                         * weaker source is good enough. */
                        for (size_t i = 0; i < chunk; i++)
                                raw[i] = (uint8_t) random();
                        n = (ssize_t) chunk;
                }
                for (ssize_t i = 0; i < n; i++)
                        buf[done++] = digits[raw[i] & 15];
        }
        buf[len] = '\0';
}

int kp_open_tmpfile_at(int dirfd, mode_t mode, char **ret_name) {
        for (int attempt = 0; attempt < 16; attempt++) {
                char name[5 + 16 + 1] = ".tmp-";
                int fd;

                kp_random_hex(name + 5, 16);
                fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
                if (fd < 0) {
                        if (errno == EEXIST)
                                continue;
                        return -errno;
                }
                *ret_name = strdup(name);
                if (!*ret_name) {
                        (void) unlinkat(dirfd, name, 0);
                        (void) close(fd);
                        return -ENOMEM;
                }
                return fd;
        }
        return -EEXIST;
}

int kp_fsync_dir_at(int dirfd, const char *path) {
        _cleanup_close_ int fd = -1;

        fd = openat(dirfd, path ? path : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fsync(fd) < 0)
                return -errno;
        return 0;
}

/* The directory part of PATH relative to DIRFD, for the directory fsync. */
static int dir_fsync_for(int dirfd, const char *path) {
        const char *slash = strrchr(path, '/');
        _cleanup_free_ char *dir = NULL;

        if (!slash)
                return kp_fsync_dir_at(dirfd, ".");
        if (slash == path)
                return kp_fsync_dir_at(dirfd, "/");
        dir = strndup(path, (size_t) (slash - path));
        if (!dir)
                return -ENOMEM;
        return kp_fsync_dir_at(dirfd, dir);
}

int kp_commit_tmpfile_at(int dirfd, int fd, const char *tmp_name, const char *path,
                         KpAtomicFlags flags) {
        int r;

        if (fsync(fd) < 0)
                return -errno;

        if (flags & KP_ATOMIC_NO_REPLACE) {
                r = renameat2(dirfd, tmp_name, dirfd, path, RENAME_NOREPLACE);
                if (r < 0 && (errno == EINVAL || errno == ENOSYS)) {
                        /* Filesystems without RENAME_NOREPLACE: a hard link
                         * fails with EEXIST just the same. */
                        r = linkat(dirfd, tmp_name, dirfd, path, 0);
                        if (r == 0)
                                (void) unlinkat(dirfd, tmp_name, 0);
                }
        } else
                r = renameat(dirfd, tmp_name, dirfd, path);
        if (r < 0)
                return -errno;

        if (!(flags & KP_ATOMIC_NO_DIR_SYNC)) {
                r = dir_fsync_for(dirfd, path);
                if (r < 0)
                        return r;
        }
        return 0;
}

int kp_write_file_atomic_at(int dirfd, const char *path, const void *data, size_t len,
                            mode_t mode, KpAtomicFlags flags) {
        _cleanup_free_ char *tmp_name = NULL, *dir = NULL, *tmp_path = NULL;
        _cleanup_close_ int fd = -1;
        const char *slash = strrchr(path, '/');
        int r;

        /* The temporary file must be in the target's directory so that the
         * rename stays within one filesystem. */
        if (slash) {
                dir = strndup(path, slash == path ? 1 : (size_t) (slash - path));
                if (!dir)
                        return -ENOMEM;
                _cleanup_close_ int sub = openat(dirfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (sub < 0)
                        return -errno;
                fd = kp_open_tmpfile_at(sub, mode, &tmp_name);
                if (fd < 0)
                        return fd;
                tmp_path = kp_path_join(dir, tmp_name);
                if (!tmp_path) {
                        (void) unlinkat(sub, tmp_name, 0);
                        return -ENOMEM;
                }
        } else {
                fd = kp_open_tmpfile_at(dirfd, mode, &tmp_name);
                if (fd < 0)
                        return fd;
                tmp_path = strdup(tmp_name);
                if (!tmp_path) {
                        (void) unlinkat(dirfd, tmp_name, 0);
                        return -ENOMEM;
                }
        }

        r = kp_write_all(fd, data, len);
        if (r >= 0 && fchmod(fd, mode) < 0)
                r = -errno;
        if (r >= 0)
                r = kp_commit_tmpfile_at(dirfd, fd, tmp_path, path, flags);
        if (r < 0) {
                (void) unlinkat(dirfd, tmp_path, 0);
                return r;
        }
        return 0;
}

int kp_mkdir_p_at(int dirfd, const char *path, mode_t mode) {
        _cleanup_free_ char *copy = strdup(path);
        char *p;

        if (!copy)
                return -ENOMEM;

        for (p = copy + 1; ; p++) {
                if (*p != '/' && *p != '\0')
                        continue;

                char saved = *p;
                *p = '\0';
                if (mkdirat(dirfd, copy, mode) < 0) {
                        if (errno != EEXIST)
                                return -errno;
                        if (!kp_is_dir_at(dirfd, copy))
                                return -ENOTDIR;
                }
                *p = saved;
                if (saved == '\0')
                        break;
                while (p[1] == '/')
                        p++;
        }
        return 0;
}

int kp_mkdir_p(const char *path, mode_t mode) {
        return kp_mkdir_p_at(AT_FDCWD, path, mode);
}

bool kp_path_exists_at(int dirfd, const char *path) {
        struct stat st;
        return fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

bool kp_is_dir_at(int dirfd, const char *path) {
        struct stat st;
        return fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

/* Remove everything inside the open directory FD, which lives on DEV. */
static int rm_rf_children(int fd, dev_t dev) {
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        int r = 0;

        d = fdopendir(fd);
        if (!d) {
                r = -errno;
                (void) close(fd);
                return r;
        }

        while ((errno = 0, de = readdir(d))) {
                struct stat st;
                int q;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;

                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno != ENOENT && r == 0)
                                r = -errno;
                        continue;
                }

                if (!S_ISDIR(st.st_mode)) {
                        if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT && r == 0)
                                r = -errno;
                        continue;
                }

                if (st.st_dev != dev) {
                        /* A mount point: never remove another filesystem's files. */
                        if (r == 0)
                                r = -EBUSY;
                        continue;
                }

                /* Overlayfs leaves work/work at mode 000; a read-only
                 * directory cannot have its entries removed either. */
                if ((st.st_mode & 0700) != 0700)
                        (void) fchmodat(dirfd(d), de->d_name, (st.st_mode & 07777) | 0700, 0);

                int sub = openat(dirfd(d), de->d_name,
                                 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub < 0) {
                        if (errno != ENOENT && r == 0)
                                r = -errno;
                        continue;
                }
                q = rm_rf_children(sub, dev);
                if (q < 0 && r == 0)
                        r = q;
                if (unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) < 0 && errno != ENOENT && r == 0)
                        r = -errno;
        }
        if (errno != 0 && r == 0)
                r = -errno;
        return r;
}

int kp_rm_rf_at(int dirfd, const char *path) {
        struct stat st;
        int fd, r;

        if (fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : -errno;

        if (!S_ISDIR(st.st_mode)) {
                if (unlinkat(dirfd, path, 0) < 0 && errno != ENOENT)
                        return -errno;
                return 0;
        }

        if ((st.st_mode & 0700) != 0700)
                (void) fchmodat(dirfd, path, (st.st_mode & 07777) | 0700, 0);

        fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;

        r = rm_rf_children(fd, st.st_dev);
        if (r < 0)
                return r;
        if (unlinkat(dirfd, path, AT_REMOVEDIR) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

int kp_rm_rf(const char *path) {
        return kp_rm_rf_at(AT_FDCWD, path);
}

char *kp_path_join(const char *a, const char *b) {
        size_t la = strlen(a);
        char *out = NULL;

        while (la > 1 && a[la - 1] == '/')
                la--;
        while (*b == '/')
                b++;
        if (la == 1 && a[0] == '/')
                la = 0;
        if (asprintf(&out, "%.*s/%s", (int) la, a, b) < 0)
                return NULL;
        return out;
}

/* Normalize REL lexically into OUT (no leading or trailing '/'). */
static int normalize_components(const char *rel, char **ret) {
        size_t len = strlen(rel);
        _cleanup_free_ char *out = malloc(len + 1);
        size_t o = 0;
        const char *p = rel;

        if (!out)
                return -ENOMEM;

        while (*p) {
                size_t n;

                while (*p == '/')
                        p++;
                if (!*p)
                        break;
                n = strcspn(p, "/");

                if (n == 1 && p[0] == '.') {
                        /* skip */
                } else if (n == 2 && p[0] == '.' && p[1] == '.') {
                        if (o == 0)
                                return -EXDEV;
                        while (o > 0 && out[o - 1] != '/')
                                o--;
                        if (o > 0)
                                o--;
                } else {
                        if (o > 0)
                                out[o++] = '/';
                        memcpy(out + o, p, n);
                        o += n;
                }
                p += n;
        }
        out[o] = '\0';
        *ret = TAKE_PTR(out);
        return 0;
}

int kp_path_join_in_root(const char *root, const char *rel, char **ret) {
        _cleanup_free_ char *norm = NULL;
        int r;

        r = normalize_components(rel, &norm);
        if (r < 0)
                return r;
        if (norm[0] == '\0') {
                *ret = strdup(root);
                return *ret ? 0 : -ENOMEM;
        }
        *ret = kp_path_join(root, norm);
        return *ret ? 0 : -ENOMEM;
}

int kp_path_normalize(const char *path, char **ret) {
        _cleanup_free_ char *norm = NULL;
        size_t len = strlen(path), o = 0;
        char *out;
        const char *p = path;

        /* Unlike kp_path_join_in_root(), ".." at the root stays at the root,
         * as the kernel does for absolute paths. */
        out = malloc(len + 2);
        if (!out)
                return -ENOMEM;
        norm = out;

        while (*p) {
                size_t n;

                while (*p == '/')
                        p++;
                if (!*p)
                        break;
                n = strcspn(p, "/");
                if (n == 1 && p[0] == '.') {
                        /* skip */
                } else if (n == 2 && p[0] == '.' && p[1] == '.') {
                        while (o > 0 && out[o - 1] != '/')
                                o--;
                        if (o > 0)
                                o--;
                } else {
                        out[o++] = '/';
                        memcpy(out + o, p, n);
                        o += n;
                }
                p += n;
        }
        if (o == 0)
                out[o++] = '/';
        out[o] = '\0';
        *ret = TAKE_PTR(norm);
        return 0;
}

static int open_in_root_fallback(int rootfd, const char *rel, int flags, mode_t mode) {
        _cleanup_free_ char *norm = NULL;
        _cleanup_close_ int cur = -1;
        char *p, *next;
        int r;

        /* Walk one component at a time with O_NOFOLLOW, so no symlink is
         * ever followed. Lexical ".." is resolved first and cannot go above
         * the root. This is stricter than RESOLVE_IN_ROOT: a symlink in the
         * middle of the path is rejected with ELOOP instead of resolved. */
        r = normalize_components(rel, &norm);
        if (r < 0)
                return r;

        cur = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
        if (cur < 0)
                return -errno;
        if (norm[0] == '\0')
                return TAKE_FD(cur);

        for (p = norm; ; p = next + 1) {
                int fd;

                next = strchr(p, '/');
                if (!next) {
                        fd = openat(cur, p, flags | O_NOFOLLOW | O_CLOEXEC, mode);
                        if (fd < 0)
                                return -errno;
                        return fd;
                }
                *next = '\0';
                fd = openat(cur, p, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return -errno;
                (void) close(cur);
                cur = fd;
        }
}

int kp_open_in_root(int rootfd, const char *rel, int flags, mode_t mode) {
        static int have_openat2 = -1;
        struct open_how how = {
                .flags = (uint64_t) (flags | O_CLOEXEC),
                .mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
        };
        const char *path = rel;
        int fd;

        if (getenv("KARAPACE_TEST_NO_OPENAT2"))
                have_openat2 = 0;

        if (have_openat2 != 0) {
                while (*path == '/')
                        path++;
                fd = (int) syscall(SYS_openat2, rootfd, *path ? path : ".", &how, sizeof(how));
                if (fd >= 0) {
                        have_openat2 = 1;
                        return fd;
                }
                if (errno != ENOSYS && errno != EPERM)
                        return -errno;
                if (errno == EPERM && have_openat2 == 1)
                        return -EPERM;
                /* ENOSYS, or EPERM from a seccomp filter that blocks openat2. */
                have_openat2 = 0;
        }
        return open_in_root_fallback(rootfd, rel, flags, mode);
}

static int compare_strings(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

void kp_strv_free(char **v) {
        if (!v)
                return;
        for (char **p = v; *p; p++)
                free(*p);
        free(v);
}

size_t kp_strv_length(char *const *v) {
        size_t n = 0;

        if (v)
                while (v[n])
                        n++;
        return n;
}

int kp_strv_push(char ***v, size_t *n, char *s) {
        char **grown;

        if (!s)
                return -ENOMEM;
        grown = realloc(*v, (*n + 2) * sizeof(char *));
        if (!grown) {
                free(s);
                return -ENOMEM;
        }
        grown[*n] = s;
        grown[*n + 1] = NULL;
        *v = grown;
        (*n)++;
        return 0;
}

int kp_dir_list_at(int dirfd, const char *path, bool skip_hidden, bool missing_ok,
                   char ***ret, size_t *ret_count) {
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        size_t n = 0;
        int fd, r;

        fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
                if (errno == ENOENT && missing_ok) {
                        names = calloc(1, sizeof(char *));
                        if (!names)
                                return -ENOMEM;
                        *ret = TAKE_PTR(names);
                        if (ret_count)
                                *ret_count = 0;
                        return 0;
                }
                return -errno;
        }
        d = fdopendir(fd);
        if (!d) {
                r = -errno;
                (void) close(fd);
                return r;
        }

        names = calloc(1, sizeof(char *));
        if (!names)
                return -ENOMEM;

        while ((errno = 0, de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (skip_hidden && de->d_name[0] == '.')
                        continue;
                r = kp_strv_push(&names, &n, strdup(de->d_name));
                if (r < 0)
                        return r;
        }
        if (errno != 0)
                return -errno;

        qsort(names, n, sizeof(char *), compare_strings);
        *ret = TAKE_PTR(names);
        if (ret_count)
                *ret_count = n;
        return 0;
}

static int walk_dir(int fd, const char *prefix, KpWalkFunc func, void *userdata) {
        _cleanup_strv_free_ char **names = NULL;
        size_t n = 0;
        int r;

        r = kp_dir_list_at(fd, ".", false, false, &names, &n);
        if (r < 0)
                return r;

        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *relpath = NULL;
                struct stat st;

                if (fstatat(fd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno == ENOENT)
                                continue;
                        return -errno;
                }

                if (*prefix)
                        relpath = kp_path_join(prefix, names[i]);
                else
                        relpath = strdup(names[i]);
                if (!relpath)
                        return -ENOMEM;

                r = func(fd, names[i], relpath, &st, userdata);
                if (r < 0)
                        return r;
                if (r == KP_WALK_SKIP || !S_ISDIR(st.st_mode))
                        continue;

                _cleanup_close_ int sub = openat(fd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub < 0)
                        return -errno;
                r = walk_dir(sub, relpath, func, userdata);
                if (r < 0)
                        return r;
        }
        return 0;
}

int kp_walk_at(int dirfd, const char *path, KpWalkFunc func, void *userdata) {
        _cleanup_close_ int fd = -1;

        fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        return walk_dir(fd, "", func, userdata);
}

int kp_remove_stale_tmpfiles_at(int dirfd, const char *path) {
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_close_ int fd = -1;
        size_t n = 0;
        int removed = 0, r;

        fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;

        r = kp_dir_list_at(fd, ".", false, false, &names, &n);
        if (r < 0)
                return r;

        for (size_t i = 0; i < n; i++) {
                if (!strneq(names[i], ".tmp-", 5))
                        continue;
                r = kp_rm_rf_at(fd, names[i]);
                if (r < 0)
                        return r;
                removed++;
        }
        return removed;
}
