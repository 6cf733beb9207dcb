/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Helpers shared by the image tests: temporary directories and tarballs
 * written with libarchive.
 */

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/fs-util.h"
#include "runtime/userns.h"

static inline char *test_mkdtemp(void) {
        char *dir = strdup("/tmp/kp-test-image-XXXXXX");

        if (!dir || !mkdtemp(dir))
                abort();
        return dir;
}

/* Remove DIR, also when it contains read-only directories or files owned
 * by subordinate ids. */
static inline void test_rm_rf(const char *dir) {
        KpError err = KP_ERROR_INIT;

        if (dir)
                (void) userns_remove_tree(dir, &err);
        kp_error_clear(&err);
}

static inline char *test_path(const char *dir, const char *name) {
        char *p = kp_path_join(dir, name);

        if (!p)
                abort();
        return p;
}

/* A tarball being written. FILTER: ARCHIVE_FILTER_NONE, _GZIP, _XZ, _ZSTD. */
static inline struct archive *tar_open(const char *path, int filter) {
        struct archive *a = archive_write_new();

        if (!a || archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
            archive_write_add_filter(a, filter) != ARCHIVE_OK || archive_write_open_filename(a, path) != ARCHIVE_OK)
                abort();
        return a;
}

static inline void tar_close(struct archive *a) {
        if (archive_write_close(a) != ARCHIVE_OK)
                abort();
        archive_write_free(a);
}

static inline struct archive_entry *tar_entry(const char *name, mode_t type, mode_t perm) {
        struct archive_entry *e = archive_entry_new();

        archive_entry_set_pathname(e, name);
        archive_entry_set_filetype(e, type);
        archive_entry_set_perm(e, perm);
        archive_entry_set_uid(e, 0);
        archive_entry_set_gid(e, 0);
        archive_entry_set_mtime(e, 1700000000, 0);
        return e;
}

static inline void tar_write(struct archive *a, struct archive_entry *e, const void *data, size_t len) {
        if (archive_write_header(a, e) != ARCHIVE_OK)
                abort();
        if (len > 0 && archive_write_data(a, data, len) != (la_ssize_t) len)
                abort();
        archive_entry_free(e);
}

static inline void tar_add_file_owned(struct archive *a, const char *name, const char *content, mode_t perm,
                                      unsigned uid, unsigned gid) {
        struct archive_entry *e = tar_entry(name, AE_IFREG, perm);

        archive_entry_set_size(e, (la_int64_t) strlen(content));
        archive_entry_set_uid(e, uid);
        archive_entry_set_gid(e, gid);
        tar_write(a, e, content, strlen(content));
}

static inline void tar_add_file(struct archive *a, const char *name, const char *content, mode_t perm) {
        tar_add_file_owned(a, name, content, perm, 0, 0);
}

static inline void tar_add_dir(struct archive *a, const char *name, mode_t perm) {
        tar_write(a, tar_entry(name, AE_IFDIR, perm), NULL, 0);
}

static inline void tar_add_symlink(struct archive *a, const char *name, const char *target) {
        struct archive_entry *e = tar_entry(name, AE_IFLNK, 0777);

        archive_entry_set_symlink(e, target);
        tar_write(a, e, NULL, 0);
}

static inline void tar_add_hardlink(struct archive *a, const char *name, const char *target) {
        struct archive_entry *e = tar_entry(name, AE_IFREG, 0644);

        archive_entry_set_hardlink(e, target);
        archive_entry_set_size(e, 0);
        tar_write(a, e, NULL, 0);
}

static inline void tar_add_special(struct archive *a, const char *name, mode_t type, unsigned major_nr,
                                   unsigned minor_nr) {
        struct archive_entry *e = tar_entry(name, type, 0644);

        archive_entry_set_rdevmajor(e, major_nr);
        archive_entry_set_rdevminor(e, minor_nr);
        tar_write(a, e, NULL, 0);
}

/* True when DIR contains exactly the NULL-terminated NAMES (any order). */
static inline bool dir_has_exactly(const char *dir, const char *const *names) {
        char **found = NULL;
        size_t n = 0, expected = 0;
        bool ok = true;

        if (kp_dir_list_at(AT_FDCWD, dir, false, false, &found, &n) < 0)
                return false;
        for (const char *const *p = names; *p; p++) {
                bool present = false;

                expected++;
                for (size_t i = 0; i < n; i++)
                        present = present || strcmp(found[i], *p) == 0;
                ok = ok && present;
        }
        kp_strv_free(found);
        return ok && n == expected;
}
