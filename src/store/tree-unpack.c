/* SPDX-License-Identifier: MIT */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "basic/fs-util.h"
#include "basic/log.h"
#include "store/tree-internal.h"
#include "basic/archive-api.h"

/* Buffer size for copying content when copy_file_range() is unavailable. */
#define COPY_BUFFER_SIZE (128 * 1024)

/* Skipped entries of a legacy tarball that are reported one by one; the
 * rest only count towards the total. */
#define LEGACY_SKIP_WARN_MAX 5

static void free_nothing(void *p) {
}

static void archive_read_freep(struct archive **a) {
        if (*a)
                (void) archive_read_free(*a);
}
#define _cleanup_archive_read_free_ _cleanup_(archive_read_freep)

/* ---- Directory cursor -------------------------------------------------- */

/* The open directories along one path below the root, kept between entries
 * because consecutive entries usually share their parent. Each component is
 * opened with O_PATH|O_DIRECTORY|O_NOFOLLOW, so a symlink where a directory
 * is expected fails with ENOTDIR instead of being followed. */
typedef struct DirCursor {
        int root_fd;                    /* borrowed */
        bool create_missing;            /* create missing directories with mode 0755 (legacy tarballs) */
        char *path;                     /* path of the deepest open directory, "" for the root */
        int *fds;                       /* fds[i] is the directory of the first i + 1 components */
        size_t depth;
        size_t allocated;
} DirCursor;

static void dir_cursor_truncate(DirCursor *c, size_t depth) {
        while (c->depth > depth)
                (void) close(c->fds[--c->depth]);
}

static void dir_cursor_done(DirCursor *c) {
        dir_cursor_truncate(c, 0);
        free(c->fds);
        free(c->path);
        c->fds = NULL;
        c->path = NULL;
        c->allocated = 0;
}

/* Number of leading components that A and B share. */
static size_t common_components(const char *a, const char *b) {
        size_t k = 0;

        while (*a && *b) {
                size_t la = strcspn(a, "/"), lb = strcspn(b, "/");

                if (la != lb || memcmp(a, b, la) != 0)
                        break;
                k++;
                a += la + (a[la] == '/');
                b += lb + (b[lb] == '/');
        }
        return k;
}

static int dir_cursor_push(DirCursor *c, const char *name) {
        int parent = c->depth > 0 ? c->fds[c->depth - 1] : c->root_fd;
        int fd;

        if (c->depth == c->allocated) {
                size_t want = c->allocated ? c->allocated * 2 : 16;
                int *grown = realloc(c->fds, want * sizeof(int));

                if (!grown)
                        return -ENOMEM;
                c->fds = grown;
                c->allocated = want;
        }

        fd = openat(parent, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT && c->create_missing) {
                if (mkdirat(parent, name, 0755) < 0 && errno != EEXIST)
                        return -errno;
                fd = openat(parent, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        if (fd < 0)
                return -errno;

        c->fds[c->depth++] = fd;
        return 0;
}

/* Return a descriptor (owned by the cursor) of the directory DIR below the
 * root; "" is the root. */
static int dir_cursor_open(DirCursor *c, const char *dir, int *ret_fd) {
        const char *p = dir;
        size_t k = 0;
        int r;

        if (c->path)
                k = common_components(c->path, dir);
        dir_cursor_truncate(c, k);
        for (size_t i = 0; i < k; i++) {
                p += strcspn(p, "/");
                p += *p == '/';
        }

        while (*p) {
                size_t len = strcspn(p, "/");
                char name[NAME_MAX + 1];

                if (len > NAME_MAX) {
                        r = -ENAMETOOLONG;
                        goto fail;
                }
                memcpy(name, p, len);
                name[len] = '\0';

                r = dir_cursor_push(c, name);
                if (r < 0)
                        goto fail;
                p += len + (p[len] == '/');
        }

        free(c->path);
        c->path = strdup(dir);
        if (!c->path) {
                r = -ENOMEM;
                goto fail;
        }
        *ret_fd = c->depth > 0 ? c->fds[c->depth - 1] : c->root_fd;
        return 0;

fail:
        /* Start from the root on the next call. */
        dir_cursor_truncate(c, 0);
        free(c->path);
        c->path = NULL;
        return r;
}

/* ---- Unpacking tree objects -------------------------------------------- */

typedef struct UnpackContext {
        Store *store;
        const char *key;
        const char *target_name;        /* PATH as the caller passed it, for messages */
        int root_fd;
        DirCursor cursor;
        DirCursor link_cursor;          /* for the targets of hard links */
        TreeUnpackFlags flags;
        TreeUnpackReport report;
        void *verified;                 /* tsearch() tree of content keys verified so far */
        bool mknod_denied;
        bool warned_xattr;
        KpError *err;
} UnpackContext;

static void unpack_context_done(UnpackContext *c) {
        dir_cursor_done(&c->cursor);
        dir_cursor_done(&c->link_cursor);
        tdestroy(c->verified, free_nothing);
        c->verified = NULL;
}

static int unpack_fail(UnpackContext *c, int r, const char *path, const char *action) {
        _cleanup_free_ char *escaped = tree_escape_string(path);

        if (r == -ENOMEM)
                return kp_error_set(c->err, r, "out of memory");
        return kp_error_set_kind(c->err, KP_ERROR_IO, r, "failed to %s '%s' while unpacking into '%s': %s",
                                 action, strna(escaped), c->target_name, strerror(-r));
}

/* Set the owner when permitted. EPERM (no privilege) and EINVAL (the id has
 * no mapping in this user namespace) leave the caller as the owner. */
static int unpack_set_owner(UnpackContext *c, const TreeEntry *e, int fd, int parent_fd, const char *name) {
        int r;

        if (fd >= 0)
                r = fchown(fd, e->uid, e->gid);
        else
                r = fchownat(parent_fd, name, e->uid, e->gid, AT_SYMLINK_NOFOLLOW);
        if (r >= 0)
                return 0;
        if (errno != EPERM && errno != EINVAL)
                return -errno;

        c->report.owners_skipped++;
        return 0;
}

static bool xattr_is_opaque_mark(const TreeXattr *x) {
        return tree_xattr_name_is_opaque(x->name) && x->value_size == 1 && x->value[0] == 'y';
}

/* Set the extended attributes of FD, or of NAME below PARENT_FD (not
 * following a symlink) when FD is negative. trusted.* and security.* need
 * privileges, and some filesystems lack user.*; those are skipped with one
 * warning. *RET_OPAQUE_SET is set to whether an opaque mark was set. */
static int unpack_set_xattrs(UnpackContext *c, const TreeEntry *e, int fd, int parent_fd, const char *name,
                             bool *ret_opaque_set) {
        _cleanup_free_ char *proc = NULL;
        bool opaque_set = false;

        if (fd < 0 && e->n_xattrs > 0 && asprintf(&proc, "/proc/self/fd/%d/%s", parent_fd, name) < 0)
                return -ENOMEM;

        for (size_t i = 0; i < e->n_xattrs; i++) {
                const TreeXattr *x = &e->xattrs[i];
                _cleanup_free_ char *escaped_name = NULL, *escaped_path = NULL;
                int r;

                if (fd >= 0)
                        r = fsetxattr(fd, x->name, x->value, x->value_size, 0);
                else
                        r = lsetxattr(proc, x->name, x->value, x->value_size, 0);
                if (r >= 0) {
                        opaque_set = opaque_set || xattr_is_opaque_mark(x);
                        continue;
                }
                if (errno != EPERM && errno != EACCES && errno != ENOTSUP)
                        return -errno;

                c->report.xattrs_skipped++;
                if (c->warned_xattr)
                        continue;
                c->warned_xattr = true;
                r = -errno;
                escaped_name = tree_escape_string(x->name);
                escaped_path = tree_escape_string(e->path);
                log_warn("cannot set extended attribute '%s' on '%s' in '%s' (%s); skipping the attributes "
                         "that are not permitted or not supported",
                         strna(escaped_name), strna(escaped_path), c->target_name, strerror(-r));
        }

        if (ret_opaque_set)
                *ret_opaque_set = opaque_set;
        return 0;
}

static int compare_strings(const void *a, const void *b) {
        return strcmp(a, b);
}

/* Open the content object of a file entry, verifying it the first time the
 * key comes up. copy_file_range() never passes the bytes through this
 * process, so the verification reads the object once beforehand. */
static int unpack_open_content(UnpackContext *c, const TreeEntry *e, int *ret_fd) {
        _cleanup_free_ char *escaped = tree_escape_string(e->path);
        _cleanup_close_ int fd = -1;
        struct stat st;
        int r;

        if (!tfind(e->key, &c->verified, compare_strings)) {
                r = store_object_verify(c->store, e->key, c->err);
                if (r < 0)
                        return kp_error_prefix(c->err, "cannot unpack '%s'", strna(escaped));
                if (!tsearch(e->key, &c->verified, compare_strings))
                        return kp_error_set(c->err, -ENOMEM, "out of memory");
        }

        r = store_object_open(c->store, e->key, &fd, c->err);
        if (r < 0)
                return kp_error_prefix(c->err, "cannot unpack '%s'", strna(escaped));
        if (fstat(fd, &st) < 0)
                return unpack_fail(c, -errno, e->path, "stat the content of");
        if ((uint64_t) st.st_size != e->size)
                return kp_error_set_kind(c->err, KP_ERROR_STORE, -EBADMSG,
                                         "invalid tree object '%s': '%s' has size %" PRIu64 ", but its object %s "
                                         "has %" PRIu64 " bytes",
                                         c->key, strna(escaped), e->size, e->key, (uint64_t) st.st_size);

        *ret_fd = TAKE_FD(fd);
        return 0;
}

static int copy_content(int src, int dst, uint64_t size) {
        _cleanup_free_ char *buf = NULL;
        bool use_copy_range = true;

        while (size > 0) {
                size_t chunk = size > COPY_BUFFER_SIZE ? COPY_BUFFER_SIZE : (size_t) size;
                ssize_t n;

                if (use_copy_range) {
                        n = copy_file_range(src, NULL, dst, NULL, size > (1U << 30) ? (1U << 30) : (size_t) size, 0);
                        if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == ENOTSUP)) {
                                use_copy_range = false;
                                continue;
                        }
                } else {
                        if (!buf) {
                                buf = malloc(COPY_BUFFER_SIZE);
                                if (!buf)
                                        return -ENOMEM;
                        }
                        n = read(src, buf, chunk);
                        if (n > 0) {
                                int r = kp_write_all(dst, buf, (size_t) n);

                                if (r < 0)
                                        return r;
                        }
                }

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return -EIO;    /* the object is shorter than it was a moment ago */
                size -= (uint64_t) n;
        }
        return 0;
}

static int unpack_file(UnpackContext *c, const TreeEntry *e, int parent_fd, const char *name) {
        _cleanup_close_ int src = -1, fd = -1;
        int r;

        r = unpack_open_content(c, e, &src);
        if (r < 0)
                return r;

        fd = openat(parent_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return unpack_fail(c, -errno, e->path, "create");

        r = copy_content(src, fd, e->size);
        if (r < 0)
                return unpack_fail(c, r, e->path, "write");

        r = unpack_set_owner(c, e, fd, -1, NULL);
        if (r < 0)
                return unpack_fail(c, r, e->path, "set the owner of");

        /* After fchown(), because a change of owner clears setuid and setgid. */
        if (fchmod(fd, e->mode) < 0)
                return unpack_fail(c, -errno, e->path, "set the mode of");

        r = unpack_set_xattrs(c, e, fd, -1, NULL, NULL);
        if (r < 0)
                return unpack_fail(c, r, e->path, "set the extended attributes of");

        c->report.files++;
        return 0;
}

/* Write the fuse-overlayfs form of an opaque directory, unless the tree
 * carries the marker file itself (packed from a fuse-overlayfs upper). */
static int unpack_opaque_marker(UnpackContext *c, const TreeEntry *entries, size_t n, const TreeEntry *e, int fd) {
        _cleanup_close_ int marker_fd = -1;
        char marker_path[PATH_MAX];
        int len;

        if (streq(e->path, "."))
                len = snprintf(marker_path, sizeof(marker_path), "%s", TREE_OPAQUE_MARKER);
        else
                len = snprintf(marker_path, sizeof(marker_path), "%s/%s", e->path, TREE_OPAQUE_MARKER);
        if (len >= 0 && (size_t) len < sizeof(marker_path) && tree_entries_find(entries, n, marker_path) >= 0)
                return 0;

        marker_fd = openat(fd, TREE_OPAQUE_MARKER, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (marker_fd < 0)
                return unpack_fail(c, -errno, e->path, "mark as opaque");

        c->report.opaque_markers++;
        return 0;
}

/* Owner and extended attributes of a directory; its mode comes last (see
 * unpack_apply_directory_modes()). */
static int unpack_directory_attributes(UnpackContext *c, const TreeEntry *entries, size_t n, const TreeEntry *e,
                                       int fd) {
        bool opaque_set = false;
        int r;

        r = unpack_set_owner(c, e, fd, -1, NULL);
        if (r < 0)
                return unpack_fail(c, r, e->path, "set the owner of");

        r = unpack_set_xattrs(c, e, fd, -1, NULL, &opaque_set);
        if (r < 0)
                return unpack_fail(c, r, e->path, "set the extended attributes of");

        if (e->opaque && (!opaque_set || (c->flags & TREE_UNPACK_WHITEOUT_FILES))) {
                r = unpack_opaque_marker(c, entries, n, e, fd);
                if (r < 0)
                        return r;
        }

        c->report.directories++;
        return 0;
}

static int unpack_directory(UnpackContext *c, const TreeEntry *entries, size_t n, const TreeEntry *e,
                            int parent_fd, const char *name) {
        _cleanup_close_ int fd = -1;

        /* Owner-only until the final mode is applied, so that read-only
         * directories can still be filled. */
        if (mkdirat(parent_fd, name, 0700) < 0)
                return unpack_fail(c, -errno, e->path, "create");

        fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return unpack_fail(c, -errno, e->path, "open");

        return unpack_directory_attributes(c, entries, n, e, fd);
}

/* Set the owner and the extended attributes of the entry NAME (not
 * followed if it is a symlink) below PARENT_FD. */
static int unpack_set_metadata_at(UnpackContext *c, const TreeEntry *e, int parent_fd, const char *name) {
        int r;

        r = unpack_set_owner(c, e, -1, parent_fd, name);
        if (r < 0)
                return unpack_fail(c, r, e->path, "set the owner of");

        r = unpack_set_xattrs(c, e, -1, parent_fd, name, NULL);
        if (r < 0)
                return unpack_fail(c, r, e->path, "set the extended attributes of");
        return 0;
}

static int unpack_symlink(UnpackContext *c, const TreeEntry *e, int parent_fd, const char *name) {
        int r;

        if (symlinkat(e->target, parent_fd, name) < 0)
                return unpack_fail(c, -errno, e->path, "create");

        r = unpack_set_metadata_at(c, e, parent_fd, name);
        if (r < 0)
                return r;

        c->report.symlinks++;
        return 0;
}

static int unpack_hardlink(UnpackContext *c, const TreeEntry *e, int parent_fd, const char *name) {
        char dir[PATH_MAX];
        const char *target_name;
        int target_fd, r;

        target_name = tree_path_split(e->target, dir);
        r = dir_cursor_open(&c->link_cursor, dir, &target_fd);
        if (r < 0)
                return unpack_fail(c, r, e->target, "open the directory of");

        if (linkat(target_fd, target_name, parent_fd, name, 0) < 0)
                return unpack_fail(c, -errno, e->path, "create the hard link");

        c->report.hardlinks++;
        return 0;
}

static int unpack_whiteout_file(UnpackContext *c, const TreeEntry *e, int parent_fd, const char *name) {
        _cleanup_close_ int fd = -1;
        char wh_name[NAME_MAX + 1];
        int len, r;

        len = snprintf(wh_name, sizeof(wh_name), TREE_WHITEOUT_PREFIX "%s", name);
        if (len < 0 || (size_t) len >= sizeof(wh_name))
                return unpack_fail(c, -ENAMETOOLONG, e->path, "write the whiteout file of");

        fd = openat(parent_fd, wh_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0 && errno == EEXIST) {
                /* The tree carries the ".wh." file as well. */
                c->report.whiteout_files++;
                return 0;
        }
        if (fd < 0)
                return unpack_fail(c, -errno, e->path, "write the whiteout file of");

        r = unpack_set_owner(c, e, fd, -1, NULL);
        if (r < 0)
                return unpack_fail(c, r, e->path, "set the owner of");
        if (fchmod(fd, e->mode) < 0)
                return unpack_fail(c, -errno, e->path, "set the mode of");

        c->report.whiteout_files++;
        return 0;
}

static int unpack_whiteout(UnpackContext *c, const TreeEntry *e, int parent_fd, const char *name) {
        int r;

        if ((c->flags & TREE_UNPACK_WHITEOUT_FILES) || c->mknod_denied)
                return unpack_whiteout_file(c, e, parent_fd, name);

        if (mknodat(parent_fd, name, S_IFCHR | e->mode, makedev(0, 0)) < 0) {
                if (errno != EPERM)
                        return unpack_fail(c, -errno, e->path, "create the whiteout");

                c->mknod_denied = true;
                log_warn("creating whiteout devices in '%s' is not permitted; writing whiteouts as '.wh.<name>' "
                         "files, which fuse-overlayfs understands but kernel overlayfs does not",
                         c->target_name);
                return unpack_whiteout_file(c, e, parent_fd, name);
        }

        /* mknodat() applied the umask. */
        if (fchmodat(parent_fd, name, e->mode, AT_SYMLINK_NOFOLLOW) < 0)
                return unpack_fail(c, -errno, e->path, "set the mode of");

        r = unpack_set_metadata_at(c, e, parent_fd, name);
        if (r < 0)
                return r;

        c->report.whiteout_devices++;
        return 0;
}

static int unpack_entry(UnpackContext *c, const TreeEntry *entries, size_t n, const TreeEntry *e) {
        char dir[PATH_MAX];
        const char *name;
        int parent_fd, r;

        if (streq(e->path, "."))
                return unpack_directory_attributes(c, entries, n, e, c->root_fd);

        name = tree_path_split(e->path, dir);
        r = dir_cursor_open(&c->cursor, dir, &parent_fd);
        if (r < 0)
                return unpack_fail(c, r, e->path, "open the directory of");

        switch (e->type) {
        case TREE_ENTRY_DIRECTORY:
                return unpack_directory(c, entries, n, e, parent_fd, name);
        case TREE_ENTRY_FILE:
                return unpack_file(c, e, parent_fd, name);
        case TREE_ENTRY_SYMLINK:
                return unpack_symlink(c, e, parent_fd, name);
        case TREE_ENTRY_HARDLINK:
                return unpack_hardlink(c, e, parent_fd, name);
        case TREE_ENTRY_WHITEOUT:
                return unpack_whiteout(c, e, parent_fd, name);
        case _TREE_ENTRY_TYPE_MAX:
                break;
        }
        return unpack_fail(c, -EINVAL, e->path, "unpack");
}

/* Apply directory modes deepest first. A directory's descendants sort after
 * it, so walking the entries backwards never needs to pass through a
 * directory whose final (possibly read-only) mode is already set. */
static int unpack_apply_directory_modes(UnpackContext *c, const TreeEntry *entries, size_t n) {
        for (size_t i = n; i-- > 0;) {
                const TreeEntry *e = &entries[i];
                char dir[PATH_MAX];
                const char *name;
                int parent_fd, r;

                if (e->type != TREE_ENTRY_DIRECTORY)
                        continue;

                if (streq(e->path, ".")) {
                        if (fchmod(c->root_fd, e->mode) < 0)
                                return unpack_fail(c, -errno, e->path, "set the mode of");
                        continue;
                }

                name = tree_path_split(e->path, dir);
                r = dir_cursor_open(&c->cursor, dir, &parent_fd);
                if (r < 0)
                        return unpack_fail(c, r, e->path, "open the directory of");
                if (fchmodat(parent_fd, name, e->mode, AT_SYMLINK_NOFOLLOW) < 0)
                        return unpack_fail(c, -errno, e->path, "set the mode of");
        }
        return 0;
}

static int unpack_tree(UnpackContext *c, const TreeEntry *entries, size_t n) {
        int r;

        for (size_t i = 0; i < n; i++) {
                r = unpack_entry(c, entries, n, &entries[i]);
                if (r < 0)
                        return r;
        }
        return unpack_apply_directory_modes(c, entries, n);
}

/* ---- Legacy layer tarballs --------------------------------------------- */

/* A directory entry of a tarball, whose mode is applied at the end. */
typedef struct LegacyDirectory {
        char *path;
        mode_t mode;
        size_t seq;             /* position in the tarball: the last entry for a path wins */
} LegacyDirectory;

typedef struct LegacyDirectories {
        LegacyDirectory *items;
        size_t n;
        size_t allocated;
} LegacyDirectories;

static void legacy_directories_done(LegacyDirectories *d) {
        for (size_t i = 0; i < d->n; i++)
                free(d->items[i].path);
        free(d->items);
        *d = (LegacyDirectories) {};
}

/* Normalize a tarball path: empty and "." components are dropped. Returns 0
 * with the path, 1 for the root itself, -EINVAL with a reason for paths that
 * must be skipped (absolute, with "..", too long). */
static int legacy_path_normalize(const char *raw, char **ret, const char **ret_reason) {
        _cleanup_free_ char *out = NULL;
        size_t o = 0;

        if (isempty(raw)) {
                *ret_reason = "the path is empty";
                return -EINVAL;
        }
        if (raw[0] == '/') {
                *ret_reason = "the path is absolute";
                return -EINVAL;
        }

        out = malloc(strlen(raw) + 1);
        if (!out)
                return -ENOMEM;

        for (const char *p = raw; *p; ) {
                size_t n = strcspn(p, "/");

                if (n == 2 && p[0] == '.' && p[1] == '.') {
                        *ret_reason = "the path contains '..'";
                        return -EINVAL;
                }
                if (n > NAME_MAX) {
                        *ret_reason = "a name is too long";
                        return -EINVAL;
                }
                if (n > 0 && !(n == 1 && p[0] == '.')) {
                        if (o > 0)
                                out[o++] = '/';
                        memcpy(out + o, p, n);
                        o += n;
                }
                p += n + (p[n] == '/');
        }
        out[o] = '\0';

        if (o == 0)
                return 1;
        if (o > TREE_PATH_MAX) {
                *ret_reason = "the path is too long";
                return -EINVAL;
        }
        *ret = TAKE_PTR(out);
        return 0;
}

static int legacy_skip(UnpackContext *c, const char *raw, const char *reason) {
        _cleanup_free_ char *escaped = tree_escape_string(raw ? raw : "");

        c->report.entries_skipped++;
        if (c->report.entries_skipped <= LEGACY_SKIP_WARN_MAX)
                log_warn("skipping '%s' in legacy layer tarball %s: %s", strna(escaped), c->key, reason);
        return 0;
}

/* Remove a non-directory at NAME so that a later tarball entry replaces it;
 * -EISDIR when NAME is a directory. */
static int legacy_make_room(int parent_fd, const char *name) {
        struct stat st;

        if (fstatat(parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (unlinkat(parent_fd, name, 0) < 0)
                return -errno;
        return 0;
}

static int legacy_directory(UnpackContext *c, LegacyDirectories *dirs, int parent_fd, const char *name,
                            const char *path, mode_t mode) {
        struct stat st;
        int r;

        if (fstatat(parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode)) {
                r = legacy_make_room(parent_fd, name);
                if (r < 0)
                        return unpack_fail(c, r, path, "replace");
                if (mkdirat(parent_fd, name, 0700) < 0)
                        return unpack_fail(c, -errno, path, "create");
        }

        if (dirs->n == dirs->allocated) {
                size_t want = dirs->allocated ? dirs->allocated * 2 : 64;
                LegacyDirectory *grown = realloc(dirs->items, want * sizeof(LegacyDirectory));

                if (!grown)
                        return kp_error_set(c->err, -ENOMEM, "out of memory");
                dirs->items = grown;
                dirs->allocated = want;
        }
        dirs->items[dirs->n] = (LegacyDirectory) { .path = strdup(path), .mode = mode, .seq = dirs->n };
        if (!dirs->items[dirs->n].path)
                return kp_error_set(c->err, -ENOMEM, "out of memory");
        dirs->n++;

        c->report.directories++;
        return 0;
}

static int legacy_file(UnpackContext *c, struct archive *a, int parent_fd, const char *name, const char *path,
                       const char *raw, mode_t mode) {
        _cleanup_free_ char *buf = NULL;
        _cleanup_close_ int fd = -1;
        int r;

        r = legacy_make_room(parent_fd, name);
        if (r == -EISDIR)
                return legacy_skip(c, raw, "a directory of that name exists");
        if (r < 0)
                return unpack_fail(c, r, path, "replace");

        fd = openat(parent_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return unpack_fail(c, -errno, path, "create");

        buf = malloc(COPY_BUFFER_SIZE);
        if (!buf)
                return kp_error_set(c->err, -ENOMEM, "out of memory");
        for (;;) {
                la_ssize_t n = archive_read_data(a, buf, COPY_BUFFER_SIZE);

                if (n < 0)
                        return kp_error_set_kind(c->err, KP_ERROR_STORE, -EBADMSG,
                                                 "invalid legacy layer tarball %s: %s", c->key,
                                                 archive_error_string(a));
                if (n == 0)
                        break;
                r = kp_write_all(fd, buf, (size_t) n);
                if (r < 0)
                        return unpack_fail(c, r, path, "write");
        }

        if (fchmod(fd, mode) < 0)
                return unpack_fail(c, -errno, path, "set the mode of");

        c->report.files++;
        return 0;
}

static int legacy_symlink(UnpackContext *c, int parent_fd, const char *name, const char *path, const char *raw,
                          const char *target) {
        int r;

        if (isempty(target) || strlen(target) > TREE_PATH_MAX)
                return legacy_skip(c, raw, "invalid symlink target");

        r = legacy_make_room(parent_fd, name);
        if (r == -EISDIR)
                return legacy_skip(c, raw, "a directory of that name exists");
        if (r < 0)
                return unpack_fail(c, r, path, "replace");

        if (symlinkat(target, parent_fd, name) < 0)
                return unpack_fail(c, -errno, path, "create");

        c->report.symlinks++;
        return 0;
}

static int legacy_hardlink(UnpackContext *c, int parent_fd, const char *name, const char *path, const char *raw,
                           const char *link) {
        _cleanup_free_ char *target = NULL;
        const char *reason = NULL, *target_name;
        char dir[PATH_MAX];
        struct stat st;
        int target_fd, r;

        r = legacy_path_normalize(link, &target, &reason);
        if (r == -ENOMEM)
                return kp_error_set(c->err, r, "out of memory");
        if (r != 0)
                return legacy_skip(c, raw, "invalid hard link target");
        if (streq(target, path))
                return legacy_skip(c, raw, "the hard link names itself");

        target_name = tree_path_split(target, dir);
        r = dir_cursor_open(&c->link_cursor, dir, &target_fd);
        if (r == -ENOMEM)
                return kp_error_set(c->err, r, "out of memory");
        if (r < 0 || fstatat(target_fd, target_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
                return legacy_skip(c, raw, "the hard link target is not an earlier regular file");

        r = legacy_make_room(parent_fd, name);
        if (r == -EISDIR)
                return legacy_skip(c, raw, "a directory of that name exists");
        if (r < 0)
                return unpack_fail(c, r, path, "replace");

        if (linkat(target_fd, target_name, parent_fd, name, 0) < 0)
                return unpack_fail(c, -errno, path, "create the hard link");

        c->report.hardlinks++;
        return 0;
}

static int legacy_entry(UnpackContext *c, LegacyDirectories *dirs, struct archive *a, struct archive_entry *ae) {
        const char *raw = archive_entry_pathname(ae), *link = archive_entry_hardlink(ae), *reason = NULL;
        mode_t type = archive_entry_filetype(ae), mode = archive_entry_perm(ae) & 07777;
        _cleanup_free_ char *path = NULL;
        char dir[PATH_MAX];
        const char *name;
        int parent_fd, r;

        r = legacy_path_normalize(raw, &path, &reason);
        if (r == -ENOMEM)
                return kp_error_set(c->err, r, "out of memory");
        if (r < 0)
                return legacy_skip(c, raw, reason);
        if (r > 0)
                return 0;       /* the root itself ("./") */

        if (!link && type != AE_IFDIR && type != AE_IFREG && type != AE_IFLNK)
                return legacy_skip(c, raw, "devices, fifos and sockets are not restored");

        name = tree_path_split(path, dir);
        r = dir_cursor_open(&c->cursor, dir, &parent_fd);
        if (r == -ENOTDIR || r == -ELOOP)
                return legacy_skip(c, raw, "a parent is not a directory");
        if (r < 0)
                return unpack_fail(c, r, path, "open the directory of");

        if (link)
                return legacy_hardlink(c, parent_fd, name, path, raw, link);
        if (type == AE_IFDIR)
                return legacy_directory(c, dirs, parent_fd, name, path, mode);
        if (type == AE_IFREG)
                return legacy_file(c, a, parent_fd, name, path, raw, mode);
        return legacy_symlink(c, parent_fd, name, path, raw, archive_entry_symlink(ae));
}

static int compare_legacy_directories(const void *a, const void *b) {
        const LegacyDirectory *x = a, *y = b;
        int d = strcmp(y->path, x->path);

        if (d != 0)
                return d;
        if (x->seq == y->seq)
                return 0;
        return x->seq < y->seq ? 1 : -1;
}

/* Deepest first (reverse byte order), the last entry of each path wins. */
static int legacy_apply_directory_modes(UnpackContext *c, LegacyDirectories *dirs) {
        c->cursor.create_missing = false;
        if (dirs->n > 1)
                qsort(dirs->items, dirs->n, sizeof(LegacyDirectory), compare_legacy_directories);

        for (size_t i = 0; i < dirs->n; i++) {
                const LegacyDirectory *d = &dirs->items[i];
                char dir[PATH_MAX];
                const char *name;
                int parent_fd, r;

                if (i > 0 && streq(d->path, dirs->items[i - 1].path))
                        continue;

                name = tree_path_split(d->path, dir);
                r = dir_cursor_open(&c->cursor, dir, &parent_fd);
                if (r < 0)
                        return unpack_fail(c, r, d->path, "open the directory of");
                if (fchmodat(parent_fd, name, d->mode, AT_SYMLINK_NOFOLLOW) < 0)
                        return unpack_fail(c, -errno, d->path, "set the mode of");
        }
        return 0;
}

static int legacy_open(const char *key, int fd, struct archive **ret, KpError *err) {
        _cleanup_archive_read_free_ struct archive *a = NULL;

        if (lseek(fd, 0, SEEK_SET) < 0)
                return kp_error_set_kind(err, KP_ERROR_STORE, -errno, "failed to read object %s: %s", key,
                                         strerror(errno));

        a = archive_read_new();
        if (!a)
                return kp_error_set(err, -ENOMEM, "out of memory");

        /* Only plain tar, as the original tool wrote it; "empty" accepts the
         * 0-byte object of an environment without an upper directory. */
        if (archive_read_support_format_tar(a) != ARCHIVE_OK ||
            archive_read_support_format_empty(a) != ARCHIVE_OK ||
            archive_read_open_fd(a, fd, 64 * 1024) != ARCHIVE_OK)
                return kp_error_set_kind(err, KP_ERROR_STORE, -EBADMSG,
                                         "object %s is neither a tree object nor a layer tarball: %s", key,
                                         archive_error_string(a));

        *ret = TAKE_PTR(a);
        return 0;
}

/* Returns 1 with the next entry, 0 at the end of the tarball. */
static int legacy_next(struct archive *a, const char *key, struct archive_entry **ret, KpError *err) {
        for (;;) {
                int r = archive_read_next_header(a, ret);

                if (r == ARCHIVE_EOF)
                        return 0;
                if (r == ARCHIVE_OK || r == ARCHIVE_WARN)
                        return 1;
                if (r == ARCHIVE_RETRY)
                        continue;
                return kp_error_set_kind(err, KP_ERROR_STORE, -EBADMSG,
                                         "object %s is neither a tree object nor a valid layer tarball: %s", key,
                                         archive_error_string(a));
        }
}

static int unpack_legacy(UnpackContext *c, int object_fd) {
        _cleanup_archive_read_free_ struct archive *a = NULL;
        _cleanup_(legacy_directories_done) LegacyDirectories dirs = {};
        struct archive_entry *ae;
        int r;

        c->report.legacy = true;
        c->cursor.create_missing = true;

        r = legacy_open(c->key, object_fd, &a, c->err);
        if (r < 0)
                return r;

        while ((r = legacy_next(a, c->key, &ae, c->err)) > 0) {
                r = legacy_entry(c, &dirs, a, ae);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;

        if (c->report.entries_skipped > LEGACY_SKIP_WARN_MAX)
                log_warn("skipped %zu entries of legacy layer tarball %s in total", c->report.entries_skipped, c->key);

        return legacy_apply_directory_modes(c, &dirs);
}

static int legacy_list_entry(struct archive_entry *ae, TreeEntry *e) {
        const char *link = archive_entry_hardlink(ae), *reason = NULL;
        mode_t type = archive_entry_filetype(ae);
        int r;

        r = legacy_path_normalize(archive_entry_pathname(ae), &e->path, &reason);
        if (r != 0)
                return r == -ENOMEM ? r : 0;

        e->mode = archive_entry_perm(ae) & 07777;
        e->uid = (uid_t) archive_entry_uid(ae);
        e->gid = (gid_t) archive_entry_gid(ae);

        if (link) {
                e->type = TREE_ENTRY_HARDLINK;
                r = legacy_path_normalize(link, &e->target, &reason);
                if (r == -ENOMEM)
                        return r;
                return r == 0 ? 1 : 0;
        }
        if (type == AE_IFDIR)
                e->type = TREE_ENTRY_DIRECTORY;
        else if (type == AE_IFREG) {
                e->type = TREE_ENTRY_FILE;
                e->size = (uint64_t) archive_entry_size(ae);
        } else if (type == AE_IFLNK && !isempty(archive_entry_symlink(ae))) {
                e->type = TREE_ENTRY_SYMLINK;
                e->target = strdup(archive_entry_symlink(ae));
                if (!e->target)
                        return -ENOMEM;
        } else
                return 0;
        return 1;
}

/* Returns true if a proper ancestor of PATH is in NONDIRS: unpack skips such
 * entries because their parent is not a directory. */
static bool legacy_parent_is_nondir(void *const *nondirs, const char *path) {
        char prefix[PATH_MAX];

        for (const char *slash = strchr(path, '/'); slash; slash = strchr(slash + 1, '/')) {
                size_t len = (size_t) (slash - path);

                memcpy(prefix, path, len);
                prefix[len] = '\0';
                if (tfind(prefix, nondirs, compare_strings))
                        return true;
        }
        return false;
}

/* Track which listed paths are not directories, as unpack would see them. */
static int legacy_track_nondir(void **nondirs, const TreeEntry *e) {
        char *const *found = tfind(e->path, nondirs, compare_strings);
        char *copy, *key;

        if (e->type == TREE_ENTRY_DIRECTORY) {
                if (found) {
                        key = *found;
                        (void) tdelete(key, nondirs, compare_strings);
                        free(key);
                }
                return 0;
        }
        if (found)
                return 0;

        copy = strdup(e->path);
        if (!copy || !tsearch(copy, nondirs, compare_strings)) {
                free(copy);
                return -ENOMEM;
        }
        return 0;
}

static void nondirs_freep(void **nondirs) {
        tdestroy(*nondirs, free);
}

int tree_legacy_list(Store *s, const char *key, int fd, TreeEntry **ret, size_t *ret_count, KpError *err) {
        _cleanup_archive_read_free_ struct archive *a = NULL;
        _cleanup_(nondirs_freep) void *nondirs = NULL;
        TreeEntry *entries = NULL;
        size_t n = 0, allocated = 0;
        struct archive_entry *ae;
        int r;

        r = store_object_verify(s, key, err);
        if (r < 0)
                return r;
        r = legacy_open(key, fd, &a, err);
        if (r < 0)
                return r;

        while ((r = legacy_next(a, key, &ae, err)) > 0) {
                TreeEntry e = {};

                /* Entries that unpack would skip are left out. */
                r = legacy_list_entry(ae, &e);
                if (r > 0 && legacy_parent_is_nondir(&nondirs, e.path))
                        r = 0;
                if (r > 0 && legacy_track_nondir(&nondirs, &e) < 0)
                        r = -ENOMEM;
                if (r <= 0) {
                        tree_entry_done(&e);
                        if (r < 0) {
                                r = kp_error_set(err, r, "out of memory");
                                break;
                        }
                        continue;
                }

                if (n == allocated) {
                        size_t want = allocated ? allocated * 2 : 64;
                        TreeEntry *grown = realloc(entries, want * sizeof(TreeEntry));

                        if (!grown) {
                                tree_entry_done(&e);
                                r = kp_error_set(err, -ENOMEM, "out of memory");
                                break;
                        }
                        entries = grown;
                        allocated = want;
                }
                entries[n++] = e;
        }
        if (r < 0) {
                tree_entries_free(entries, n);
                return r;
        }

        *ret = entries;
        *ret_count = n;
        return 0;
}

/* ---- Entry points ------------------------------------------------------ */

/* Create PATH, or accept it when it is an empty directory (not a symlink). */
static int unpack_target_open(UnpackContext *c, int target_dirfd, const char *path, int *ret_fd, bool *ret_created) {
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_close_ int fd = -1;
        bool created = false;
        size_t n = 0;
        int r;

        if (mkdirat(target_dirfd, path, 0700) >= 0)
                created = true;
        else if (errno != EEXIST)
                return kp_error_set_kind(c->err, KP_ERROR_IO, -errno, "failed to create '%s': %s", path,
                                         strerror(errno));

        fd = openat(target_dirfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
                r = -errno;
                if (created)
                        (void) unlinkat(target_dirfd, path, AT_REMOVEDIR);
                return kp_error_set_kind(c->err, KP_ERROR_IO, r, "cannot unpack into '%s': %s", path, strerror(-r));
        }

        if (!created) {
                r = kp_dir_list_at(fd, ".", false, false, &names, &n);
                if (r < 0)
                        return kp_error_set_kind(c->err, KP_ERROR_IO, r, "cannot unpack into '%s': %s", path,
                                                 strerror(-r));
                if (n > 0)
                        return kp_error_set_kind(c->err, KP_ERROR_IO, -ENOTEMPTY,
                                                 "cannot unpack into '%s': the directory is not empty", path);
        }

        *ret_fd = TAKE_FD(fd);
        *ret_created = created;
        return 0;
}

/* Remove what a failed unpack created: the contents of the target, and the
 * target itself when this unpack created it. */
static void unpack_cleanup(int target_dirfd, const char *path, int root_fd, bool created) {
        _cleanup_strv_free_ char **names = NULL;
        size_t n = 0;

        if (kp_dir_list_at(root_fd, ".", false, false, &names, &n) >= 0)
                for (size_t i = 0; i < n; i++)
                        (void) kp_rm_rf_at(root_fd, names[i]);
        if (created)
                (void) unlinkat(target_dirfd, path, AT_REMOVEDIR);
}

static void unpack_report_log(const UnpackContext *c) {
        const TreeUnpackReport *r = &c->report;

        if (r->owners_skipped > 0)
                log_warn("could not set the owner of %zu entries in '%s' (not permitted); the caller owns them",
                         r->owners_skipped, c->target_name);
        log_debug("unpacked %s into '%s': %zu directories, %zu files, %zu symlinks, %zu hard links, "
                  "%zu whiteout devices, %zu whiteout files, %zu opaque markers",
                  c->key, c->target_name, r->directories, r->files, r->symlinks, r->hardlinks,
                  r->whiteout_devices, r->whiteout_files, r->opaque_markers);
}

int store_tree_unpack_full(Store *s, const char *tree_key, int target_dirfd, const char *path,
                           TreeUnpackFlags flags, TreeUnpackReport *ret_report, KpError *err) {
        _cleanup_(unpack_context_done) UnpackContext c = {
                .store = s,
                .key = tree_key,
                .target_name = path,
                .flags = flags,
                .err = err,
        };
        _cleanup_close_ int object_fd = -1, root_fd = -1;
        TreeEntry *entries = NULL;
        bool is_tree, created = false;
        size_t n = 0;
        int r;

        /* Validate everything before the first write. */
        r = tree_object_open(s, tree_key, &object_fd, &is_tree, err);
        if (r < 0)
                return r;
        if (is_tree)
                r = tree_object_load(s, tree_key, object_fd, &entries, &n, err);
        else
                r = store_object_verify(s, tree_key, err);
        if (r < 0)
                return r;

        r = unpack_target_open(&c, target_dirfd, path, &root_fd, &created);
        if (r >= 0) {
                c.root_fd = c.cursor.root_fd = c.link_cursor.root_fd = root_fd;
                r = is_tree ? unpack_tree(&c, entries, n) : unpack_legacy(&c, object_fd);
                /* Without a root entry the target keeps the usual directory mode. */
                if (r >= 0 && created && n == 0 && fchmod(root_fd, 0755) < 0)
                        r = unpack_fail(&c, -errno, ".", "set the mode of");
                if (r < 0) {
                        unpack_context_done(&c);
                        unpack_cleanup(target_dirfd, path, root_fd, created);
                }
        }
        tree_entries_free(entries, n);
        if (r < 0)
                return r;

        unpack_report_log(&c);
        if (ret_report)
                *ret_report = c.report;
        return 0;
}

int store_tree_unpack(Store *s, const char *tree_key, int target_dirfd, const char *path, KpError *err) {
        return store_tree_unpack_full(s, tree_key, target_dirfd, path, 0, NULL, err);
}
