/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * libarchive, loaded on first use.
 *
 * libarchive and the compression libraries it needs take milliseconds to
 * load and relocate at every start of karapace, although only image
 * extraction and legacy layer unpacking use them. Files that call
 * libarchive include this header after <archive.h>; the names below then
 * call through pointers that kp_archive_api() fills with dlopen() and
 * dlsym() the first time one is used.
 */

#include <archive.h>
#include <archive_entry.h>

#define KP_ARCHIVE_FUNCTIONS(X)                         \
        X(archive_entry_filetype)                       \
        X(archive_entry_gid)                            \
        X(archive_entry_hardlink)                       \
        X(archive_entry_mtime)                          \
        X(archive_entry_mtime_is_set)                   \
        X(archive_entry_mtime_nsec)                     \
        X(archive_entry_pathname)                       \
        X(archive_entry_perm)                           \
        X(archive_entry_size)                           \
        X(archive_entry_size_is_set)                    \
        X(archive_entry_symlink)                        \
        X(archive_entry_uid)                            \
        X(archive_entry_xattr_next)                     \
        X(archive_entry_xattr_reset)                    \
        X(archive_error_string)                         \
        X(archive_read_data)                            \
        X(archive_read_data_block)                      \
        X(archive_read_free)                            \
        X(archive_read_new)                             \
        X(archive_read_next_header)                     \
        X(archive_read_open_fd)                         \
        X(archive_read_support_filter_bzip2)            \
        X(archive_read_support_filter_gzip)             \
        X(archive_read_support_filter_lzma)             \
        X(archive_read_support_filter_xz)               \
        X(archive_read_support_filter_zstd)             \
        X(archive_read_support_format_empty)            \
        X(archive_read_support_format_tar)

typedef struct KpArchiveApi {
#define KP_ARCHIVE_MEMBER(name) typeof(&name) name;
        KP_ARCHIVE_FUNCTIONS(KP_ARCHIVE_MEMBER)
#undef KP_ARCHIVE_MEMBER
} KpArchiveApi;

/* The loaded functions. Exits the process with a message naming the missing
 * library or symbol when libarchive cannot be loaded, since it is a
 * dependency of the package like any linked library. */
const KpArchiveApi *kp_archive_api(void);

#ifndef KP_ARCHIVE_API_IMPLEMENTATION
#define archive_entry_filetype (kp_archive_api()->archive_entry_filetype)
#define archive_entry_gid (kp_archive_api()->archive_entry_gid)
#define archive_entry_hardlink (kp_archive_api()->archive_entry_hardlink)
#define archive_entry_mtime (kp_archive_api()->archive_entry_mtime)
#define archive_entry_mtime_is_set (kp_archive_api()->archive_entry_mtime_is_set)
#define archive_entry_mtime_nsec (kp_archive_api()->archive_entry_mtime_nsec)
#define archive_entry_pathname (kp_archive_api()->archive_entry_pathname)
#define archive_entry_perm (kp_archive_api()->archive_entry_perm)
#define archive_entry_size (kp_archive_api()->archive_entry_size)
#define archive_entry_size_is_set (kp_archive_api()->archive_entry_size_is_set)
#define archive_entry_symlink (kp_archive_api()->archive_entry_symlink)
#define archive_entry_uid (kp_archive_api()->archive_entry_uid)
#define archive_entry_xattr_next (kp_archive_api()->archive_entry_xattr_next)
#define archive_entry_xattr_reset (kp_archive_api()->archive_entry_xattr_reset)
#define archive_error_string (kp_archive_api()->archive_error_string)
#define archive_read_data (kp_archive_api()->archive_read_data)
#define archive_read_data_block (kp_archive_api()->archive_read_data_block)
#define archive_read_free (kp_archive_api()->archive_read_free)
#define archive_read_new (kp_archive_api()->archive_read_new)
#define archive_read_next_header (kp_archive_api()->archive_read_next_header)
#define archive_read_open_fd (kp_archive_api()->archive_read_open_fd)
#define archive_read_support_filter_bzip2 (kp_archive_api()->archive_read_support_filter_bzip2)
#define archive_read_support_filter_gzip (kp_archive_api()->archive_read_support_filter_gzip)
#define archive_read_support_filter_lzma (kp_archive_api()->archive_read_support_filter_lzma)
#define archive_read_support_filter_xz (kp_archive_api()->archive_read_support_filter_xz)
#define archive_read_support_filter_zstd (kp_archive_api()->archive_read_support_filter_zstd)
#define archive_read_support_format_empty (kp_archive_api()->archive_read_support_format_empty)
#define archive_read_support_format_tar (kp_archive_api()->archive_read_support_format_tar)
#endif
