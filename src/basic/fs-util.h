/* SPDX-License-Identifier: MIT */
#pragma once

#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "basic/macro.h"

/* Helpers in this file return 0 or a negative errno and never log. */

/* Read a whole file. MAX_SIZE bounds what is accepted (-EFBIG past it);
 * the buffer is NUL-terminated one byte past *ret_len. */
int kp_read_fd(int fd, size_t max_size, char **ret, size_t *ret_len);
int kp_read_file_at(int dirfd, const char *path, size_t max_size, char **ret, size_t *ret_len);

/* Write all bytes, retrying short writes and EINTR. */
int kp_write_all(int fd, const void *data, size_t len);

typedef enum KpAtomicFlags {
        KP_ATOMIC_NO_REPLACE = 1 << 0,  /* fail with -EEXIST if the target exists */
        KP_ATOMIC_NO_DIR_SYNC = 1 << 1, /* skip the fsync of the directory */
} KpAtomicFlags;

/* Replace PATH (relative to DIRFD) with DATA so that readers see either the
 * old or the new content, also after a crash: write a temporary file named
 * ".tmp-<random>" in the same directory, fsync it, rename it over PATH, then
 * fsync the directory. The temporary file is removed on failure. */
int kp_write_file_atomic_at(int dirfd, const char *path, const void *data, size_t len,
                            mode_t mode, KpAtomicFlags flags);

/* Create a unique temporary file ".tmp-<random>" in DIRFD for the caller to
 * fill; returns its fd and stores its name in RET_NAME (caller frees). */
int kp_open_tmpfile_at(int dirfd, mode_t mode, char **ret_name);

/* fsync the file and rename it to PATH, then fsync the directory. */
int kp_commit_tmpfile_at(int dirfd, int fd, const char *tmp_name, const char *path,
                         KpAtomicFlags flags);

int kp_fsync_dir_at(int dirfd, const char *path);

/* Create PATH and missing parents. Existing directories are fine. */
int kp_mkdir_p(const char *path, mode_t mode);
int kp_mkdir_p_at(int dirfd, const char *path, mode_t mode);

/* Remove PATH recursively. Directories without write or search permission
 * (overlayfs leaves work/work at mode 000) are made accessible first. Never
 * descends into another filesystem: a mount point below PATH gives -EBUSY.
 * A missing PATH is not an error. */
int kp_rm_rf_at(int dirfd, const char *path);
int kp_rm_rf(const char *path);

/* Join two path pieces with exactly one '/' between them. */
char *kp_path_join(const char *a, const char *b);

/* Normalize REL lexically ("." and empty components dropped, ".." pops one
 * component) and join it below ROOT. A path that would leave ROOT gives
 * -EXDEV; leading '/' in REL is taken relative to ROOT. Symlinks are not
 * looked at: use kp_open_in_root() for paths on disk. */
int kp_path_join_in_root(const char *root, const char *rel, char **ret);

/* Normalize an absolute path lexically, as kp_path_join_in_root() does. */
int kp_path_normalize(const char *path, char **ret);

/* Open REL below the directory ROOTFD so that neither ".." nor symlinks
 * (absolute or relative) resolve outside of it: openat2(RESOLVE_IN_ROOT),
 * with a component-by-component fallback for kernels without openat2. */
int kp_open_in_root(int rootfd, const char *rel, int flags, mode_t mode);

/* Sorted (byte order) names in a directory, without "." and "..". With
 * SKIP_HIDDEN, names starting with '.' are left out too. The array is
 * NULL-terminated; free with kp_strv_free(). A missing directory gives an
 * empty list when MISSING_OK is set. */
int kp_dir_list_at(int dirfd, const char *path, bool skip_hidden, bool missing_ok,
                   char ***ret, size_t *ret_count);

/* Callback of kp_walk_at(): RELPATH is relative to the walk root. Return a
 * negative errno to stop the walk, KP_WALK_SKIP to not descend into a
 * directory, or 0 to go on. */
#define KP_WALK_SKIP 1
typedef int (*KpWalkFunc)(int parent_fd, const char *name, const char *relpath,
                          const struct stat *st, void *userdata);

/* Walk the tree below PATH depth-first in byte order of names, using lstat.
 * The root itself is not reported. */
int kp_walk_at(int dirfd, const char *path, KpWalkFunc func, void *userdata);

bool kp_path_exists_at(int dirfd, const char *path);
bool kp_is_dir_at(int dirfd, const char *path);

/* Remove leftover ".tmp-*" files in a directory (from a crash). Returns the
 * number removed or a negative errno. */
int kp_remove_stale_tmpfiles_at(int dirfd, const char *path);

/* String vector helpers. */
void kp_strv_free(char **v);
int kp_strv_push(char ***v, size_t *n, char *s);  /* takes ownership of S, also on failure */
size_t kp_strv_length(char *const *v);
static inline void kp_strv_freep(char ***v) {
        kp_strv_free(*v);
}
#define _cleanup_strv_free_ _cleanup_(kp_strv_freep)

/* Fill BUF with LEN random lowercase hex characters and a NUL. */
void kp_random_hex(char *buf, size_t len);
