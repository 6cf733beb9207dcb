/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "basic/error.h"

/*
 * Safe extraction of root filesystem tarballs (tar, optionally compressed
 * with gzip, xz, zstd, bzip2 or lzma; libarchive detects the filter).
 *
 * Nothing is written outside the target directory:
 * - absolute entry names are taken relative to the target ("/etc" is "etc");
 * - a ".." component rejects the archive;
 * - every parent directory is opened component by component with
 *   O_NOFOLLOW, so an entry below a symlink ("a" -> "/tmp", then "a/b")
 *   rejects the archive instead of writing through the link;
 * - a hard link must name a file inside the target that an earlier entry
 *   created.
 * Device nodes are skipped and counted. Regular files, directories,
 * symlinks, hard links and FIFOs are created with their permission bits
 * (setuid, setgid and sticky included), modification times and extended
 * attributes, and with their owners when KEEP_OWNERS is set.
 */

typedef struct ExtractOptions {
        bool keep_owners;               /* chown to the archive's uid/gid */
        uint64_t max_file_size;         /* per regular file, in bytes; 0 = EXTRACT_DEFAULT_MAX_FILE_SIZE */
        uint64_t max_total_size;        /* sum of all file sizes, in bytes; 0 = EXTRACT_DEFAULT_MAX_TOTAL_SIZE */
        uint64_t max_entries;           /* 0 = EXTRACT_DEFAULT_MAX_ENTRIES */
} ExtractOptions;

/* A root filesystem has no single file near 16 GiB; a larger size in a
 * header is a corrupt or hostile (sparse) entry. */
#define EXTRACT_DEFAULT_MAX_FILE_SIZE (UINT64_C(16) << 30)
/* Roughly ten times the largest distribution images (full desktop
 * installs are 10-20 GiB). */
#define EXTRACT_DEFAULT_MAX_TOTAL_SIZE (UINT64_C(256) << 30)
/* Bounds the memory used to remember directories until their modes are
 * set (a full Debian desktop has about 500 000 entries). */
#define EXTRACT_DEFAULT_MAX_ENTRIES UINT64_C(20000000)

typedef struct ExtractStats {
        uint64_t entries;               /* archive entries read */
        uint64_t bytes;                 /* file content written (holes of sparse files excluded) */
        uint64_t devices_skipped;       /* character and block devices, sockets */
        uint64_t owners_dropped;        /* chown failed because the id is not mapped here */
        uint64_t xattrs_dropped;        /* extended attributes the filesystem or the caller rejected */
} ExtractStats;

/* Extract the archive read from ARCHIVE_FD into the existing directory
 * ROOT_FD. The directory's own mode and owner are taken from a "./" entry
 * when the archive has one. STATS may be NULL. */
int extract_archive_fd(int archive_fd, int root_fd, const ExtractOptions *opts, ExtractStats *stats,
                       KpError *err);

/* Normalize an entry name: leading '/' dropped (absolute names are taken
 * relative to the root), empty and "." components dropped. Returns "" for
 * the root itself, -EINVAL for a ".." component and -ENAMETOOLONG for a
 * component longer than NAME_MAX or a result of PATH_MAX bytes or more. */
int extract_path_normalize(const char *raw, char **ret);
