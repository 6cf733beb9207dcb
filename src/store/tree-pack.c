/* SPDX-License-Identifier: MIT */
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
#include <time.h>
#include <unistd.h>

#include "basic/fs-util.h"
#include "basic/log.h"
#include "store/tree-internal.h"

/* Files whose ctime is less than this much older than the start of a pack
 * are hashed again next time: a write in the same timestamp tick as the
 * cached stat could otherwise leave size, mtime and ctime unchanged. Two
 * seconds covers the coarse kernel clock and filesystems with one-second
 * timestamps. */
#define TREE_CACHE_RACY_NS (2LL * 1000000000LL)

#define TREE_CACHE_MAGIC "karapace-tree-cache 1\n"

static int64_t timespec_to_ns(const struct timespec *ts) {
        return (int64_t) ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

static int compare_xattr_names(const void *a, const void *b) {
        return strcmp(((const TreeXattr *) a)->name, ((const TreeXattr *) b)->name);
}

/* ---- Extended attributes ----------------------------------------------- */

/* The xattr calls below act on FD, or on PATH without following a final
 * symlink when FD is negative. */
static ssize_t xattr_list_raw(int fd, const char *path, char *buf, size_t size) {
        return fd >= 0 ? flistxattr(fd, buf, size) : llistxattr(path, buf, size);
}

static ssize_t xattr_get_raw(int fd, const char *path, const char *name, char *buf, size_t size) {
        return fd >= 0 ? fgetxattr(fd, name, buf, size) : lgetxattr(path, name, buf, size);
}

/* The NUL-separated attribute names; an empty list when the filesystem has
 * no extended attributes. */
static int xattr_names_read(int fd, const char *path, char **ret, size_t *ret_len) {
        for (;;) {
                _cleanup_free_ char *buf = NULL;
                ssize_t size, n;

                size = xattr_list_raw(fd, path, NULL, 0);
                if (size < 0 && errno == ENOTSUP)
                        size = 0;
                if (size < 0)
                        return -errno;
                if (size == 0) {
                        *ret = NULL;
                        *ret_len = 0;
                        return 0;
                }

                buf = malloc((size_t) size);
                if (!buf)
                        return -ENOMEM;
                n = xattr_list_raw(fd, path, buf, (size_t) size);
                if (n < 0 && errno == ERANGE)
                        continue;       /* an attribute was added meanwhile */
                if (n < 0)
                        return -errno;

                *ret = TAKE_PTR(buf);
                *ret_len = (size_t) n;
                return 0;
        }
}

static int xattr_value_read(int fd, const char *path, const char *name, char **ret, size_t *ret_size) {
        for (;;) {
                _cleanup_free_ char *buf = NULL;
                ssize_t size, n;

                size = xattr_get_raw(fd, path, name, NULL, 0);
                if (size < 0)
                        return -errno;
                if (size > TREE_XATTR_VALUE_MAX)
                        return -E2BIG;

                buf = malloc((size_t) size + 1);
                if (!buf)
                        return -ENOMEM;
                n = xattr_get_raw(fd, path, name, buf, (size_t) size);
                if (n < 0 && errno == ERANGE)
                        continue;       /* the value grew meanwhile */
                if (n < 0)
                        return -errno;

                buf[n] = '\0';
                *ret = TAKE_PTR(buf);
                *ret_size = (size_t) n;
                return 0;
        }
}

/* Read all extended attributes, sorted by name. */
static int xattrs_read(int fd, const char *path, TreeXattr **ret, size_t *ret_n) {
        _cleanup_free_ char *names = NULL;
        TreeXattr *xattrs = NULL;
        size_t len, n = 0;
        int r;

        r = xattr_names_read(fd, path, &names, &len);
        if (r < 0)
                return r;

        for (const char *name = names; name && name < names + len; name += strlen(name) + 1) {
                TreeXattr x = {};
                TreeXattr *grown;

                if (name[0] == '\0')
                        continue;

                r = xattr_value_read(fd, path, name, &x.value, &x.value_size);
                if (r == -ENODATA)
                        continue;       /* removed meanwhile */
                if (r < 0)
                        goto fail;

                x.name = strdup(name);
                grown = realloc(xattrs, (n + 1) * sizeof(TreeXattr));
                if (!x.name || !grown) {
                        free(x.name);
                        free(x.value);
                        if (grown)
                                xattrs = grown;
                        r = -ENOMEM;
                        goto fail;
                }
                xattrs = grown;
                xattrs[n++] = x;
        }

        if (n > 1)
                qsort(xattrs, n, sizeof(TreeXattr), compare_xattr_names);
        *ret = xattrs;
        *ret_n = n;
        return 0;

fail:
        tree_xattrs_free(xattrs, n);
        return r;
}

static bool xattrs_mark_opaque(const TreeXattr *xattrs, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (tree_xattr_name_is_opaque(xattrs[i].name) && xattrs[i].value_size == 1 &&
                    xattrs[i].value[0] == 'y')
                        return true;
        return false;
}

/* ---- The pack cache ---------------------------------------------------- */

/* One regular file as it was when its content key was computed. */
typedef struct CacheRecord {
        char *path;
        uint64_t dev;
        uint64_t ino;
        uint64_t size;
        int64_t mtime_ns;
        int64_t ctime_ns;
        char key[KP_HASH_HEX_SIZE];
} CacheRecord;

typedef struct CacheTable {
        CacheRecord *records;
        size_t n;
        size_t allocated;
        char *text;             /* the file as loaded, so an unchanged cache is not rewritten */
        size_t text_len;
} CacheTable;

static void cache_table_done(CacheTable *t) {
        for (size_t i = 0; i < t->n; i++)
                free(t->records[i].path);
        free(t->records);
        free(t->text);
        *t = (CacheTable) {};
}

static int cache_table_push(CacheTable *t, CacheRecord *rec) {
        if (t->n == t->allocated) {
                size_t want = t->allocated ? t->allocated * 2 : 256;
                CacheRecord *grown = realloc(t->records, want * sizeof(CacheRecord));

                if (!grown)
                        return -ENOMEM;
                t->records = grown;
                t->allocated = want;
        }
        t->records[t->n++] = *rec;
        *rec = (CacheRecord) {};
        return 0;
}

static int compare_cache_records(const void *a, const void *b) {
        return strcmp(((const CacheRecord *) a)->path, ((const CacheRecord *) b)->path);
}

static const CacheRecord *cache_table_find(const CacheTable *t, const char *path) {
        const CacheRecord probe = { .path = (char *) path };

        if (t->n == 0)
                return NULL;
        return bsearch(&probe, t->records, t->n, sizeof(CacheRecord), compare_cache_records);
}

static bool cache_record_matches(const CacheRecord *rec, const struct stat *st) {
        return rec->dev == (uint64_t) st->st_dev && rec->ino == (uint64_t) st->st_ino &&
               rec->size == (uint64_t) st->st_size && rec->mtime_ns == timespec_to_ns(&st->st_mtim) &&
               rec->ctime_ns == timespec_to_ns(&st->st_ctim);
}

static int parse_signed(const char *s, size_t len, int64_t *ret) {
        bool negative = len > 0 && s[0] == '-';
        uint64_t v;
        int r;

        r = tree_parse_decimal(s + negative, len - negative, negative ? (uint64_t) INT64_MAX + 1 : INT64_MAX, &v);
        if (r < 0)
                return r;
        *ret = negative ? (int64_t) (0 - v) : (int64_t) v;
        return 0;
}

/* Parse "<dev> <ino> <size> <mtime-ns> <ctime-ns> <key> <escaped-path>". */
static int cache_line_parse(const char *line, size_t len, CacheRecord *rec) {
        const char *pos = line, *end = line + len, *tok[7];
        size_t tok_len[7];
        uint64_t *numbers[3] = { &rec->dev, &rec->ino, &rec->size };
        int r;

        for (size_t i = 0; i < ELEMENTSOF(tok); i++)
                if (!tree_next_token(&pos, end, &tok[i], &tok_len[i]))
                        return -EBADMSG;
        if (pos)
                return -EBADMSG;        /* more than seven fields */

        for (size_t i = 0; i < ELEMENTSOF(numbers); i++)
                if (tree_parse_decimal(tok[i], tok_len[i], UINT64_MAX, numbers[i]) < 0)
                        return -EBADMSG;
        if (parse_signed(tok[3], tok_len[3], &rec->mtime_ns) < 0 ||
            parse_signed(tok[4], tok_len[4], &rec->ctime_ns) < 0 ||
            tree_parse_key(tok[5], tok_len[5], rec->key) < 0)
                return -EBADMSG;

        r = tree_unescape(tok[6], tok_len[6], false, &rec->path, NULL);
        if (r == -ENOMEM)
                return r;
        return r < 0 ? -EBADMSG : 0;
}

static int cache_parse(CacheTable *t) {
        const char *pos = t->text, *end = t->text + t->text_len;
        size_t magic_len = strlen(TREE_CACHE_MAGIC);
        int r;

        if (t->text_len < magic_len || memcmp(t->text, TREE_CACHE_MAGIC, magic_len) != 0)
                return -EBADMSG;
        if (t->text[t->text_len - 1] != '\n' || memchr(t->text, '\0', t->text_len))
                return -EBADMSG;

        for (pos += magic_len; pos < end; ) {
                const char *eol = memchr(pos, '\n', (size_t) (end - pos));
                CacheRecord rec = {};

                r = cache_line_parse(pos, (size_t) (eol - pos), &rec);
                if (r >= 0 && t->n > 0 && strcmp(t->records[t->n - 1].path, rec.path) >= 0)
                        r = -EBADMSG;   /* lookups need sorted, unique paths */
                if (r >= 0)
                        r = cache_table_push(t, &rec);
                free(rec.path);
                if (r < 0)
                        return r;
                pos = eol + 1;
        }
        return 0;
}

/* Load the cache file. A missing or invalid cache is an empty one: the
 * cache only saves work, the tree never depends on it. */
static int cache_load(const char *path, CacheTable *ret) {
        CacheTable t = {};
        int r;

        r = kp_read_file_at(AT_FDCWD, path, TREE_OBJECT_MAX, &t.text, &t.text_len);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                if (r != -ENOENT)
                        log_debug("ignoring tree cache '%s': %s", path, strerror(-r));
                *ret = (CacheTable) {};
                return 0;
        }

        r = cache_parse(&t);
        if (r == -ENOMEM) {
                cache_table_done(&t);
                return r;
        }
        if (r < 0) {
                log_debug("ignoring invalid tree cache '%s'", path);
                free(t.text);
                t.text = NULL;
                t.text_len = 0;
                for (size_t i = 0; i < t.n; i++)
                        free(t.records[i].path);
                t.n = 0;
        }
        *ret = t;
        return 0;
}

/* Write the records of this pack. Failures only cost speed, so they are
 * logged and ignored. */
static void cache_save(const char *path, CacheTable *t, const CacheTable *old) {
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        FILE *f;
        int r;

        if (t->n > 1)
                qsort(t->records, t->n, sizeof(CacheRecord), compare_cache_records);

        f = open_memstream(&buf, &len);
        if (!f) {
                log_warn("failed to write tree cache '%s', ignoring: %s", path, strerror(ENOMEM));
                return;
        }
        fputs(TREE_CACHE_MAGIC, f);
        for (size_t i = 0; i < t->n; i++) {
                const CacheRecord *rec = &t->records[i];

                fprintf(f, "%" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRId64 " %" PRId64 " %s ",
                        rec->dev, rec->ino, rec->size, rec->mtime_ns, rec->ctime_ns, rec->key);
                tree_escape_to(f, rec->path, strlen(rec->path));
                fputc('\n', f);
        }
        r = ferror(f) ? -ENOMEM : 0;
        if (fclose(f) != 0 || r < 0) {
                log_warn("failed to write tree cache '%s', ignoring: %s", path, strerror(ENOMEM));
                return;
        }

        if (old->text && old->text_len == len && memcmp(old->text, buf, len) == 0)
                return;

        r = kp_write_file_atomic_at(AT_FDCWD, path, buf, len, 0600, 0);
        if (r < 0)
                log_warn("failed to write tree cache '%s', ignoring: %s", path, strerror(-r));
}

/* ---- Packing ----------------------------------------------------------- */

typedef struct PackItem {
        TreeEntry entry;
        dev_t dev;
        ino_t ino;
        nlink_t nlink;
} PackItem;

/* A regular file with more than one link: its content key and, once the
 * items are sorted, the first of its paths in tree order. */
typedef struct InodeRecord {
        dev_t dev;
        ino_t ino;
        char key[KP_HASH_HEX_SIZE];
        const char *first_path;
} InodeRecord;

typedef struct PackContext {
        Store *store;
        const char *root_name;          /* PATH as the caller passed it, for messages */
        dev_t root_dev;
        PackItem *items;                /* items[0] is the root */
        size_t n_items;
        size_t allocated;
        void *inodes;                   /* tsearch() tree of InodeRecord */
        bool use_cache;
        CacheTable old_cache;
        CacheTable new_cache;
        int64_t cache_cutoff_ns;        /* files with a later ctime are not cached */
        KpError *err;
} PackContext;

static int compare_inode_records(const void *a, const void *b) {
        const InodeRecord *x = a, *y = b;

        if (x->dev != y->dev)
                return x->dev < y->dev ? -1 : 1;
        if (x->ino != y->ino)
                return x->ino < y->ino ? -1 : 1;
        return 0;
}

static int compare_item_paths(const void *a, const void *b) {
        return tree_compare_paths(((const PackItem *) a)->entry.path, ((const PackItem *) b)->entry.path);
}

static void pack_item_done(PackItem *item) {
        tree_entry_done(&item->entry);
}

static void pack_context_done(PackContext *c) {
        for (size_t i = 0; i < c->n_items; i++)
                pack_item_done(&c->items[i]);
        free(c->items);
        tdestroy(c->inodes, free);
        cache_table_done(&c->old_cache);
        cache_table_done(&c->new_cache);
}

static int pack_fail(PackContext *c, int r, const char *relpath, const char *action) {
        _cleanup_free_ char *escaped = tree_escape_string(relpath);

        if (r == -ENOMEM)
                return kp_error_set(c->err, r, "out of memory");
        return kp_error_set_kind(c->err, KP_ERROR_IO, r, "failed to %s '%s' while packing '%s': %s",
                                 action, strna(escaped), c->root_name, strerror(-r));
}

static int pack_fail_open(PackContext *c, int r, const char *relpath) {
        _cleanup_free_ char *escaped = NULL;

        if (r != -EACCES)
                return pack_fail(c, r, relpath, "open");

        escaped = tree_escape_string(relpath);
        return kp_error_set_kind(c->err, KP_ERROR_IO, r,
                                 "cannot read '%s' while packing '%s': permission denied, and its mode cannot be "
                                 "changed temporarily because the caller does not own it; pack as its owner or as root",
                                 strna(escaped), c->root_name);
}

static int pack_fail_changed(PackContext *c, const char *relpath) {
        _cleanup_free_ char *escaped = tree_escape_string(relpath);

        return kp_error_set_kind(c->err, KP_ERROR_IO, -EBUSY,
                                 "'%s' changed while '%s' was being packed; stop what writes to it and try again",
                                 strna(escaped), c->root_name);
}

static int pack_item_init(PackItem *item, TreeEntryType type, const char *relpath, const struct stat *st) {
        *item = (PackItem) {
                .entry = {
                        .type = type,
                        .path = strdup(relpath),
                        .mode = st->st_mode & 07777,
                        .uid = st->st_uid,
                        .gid = st->st_gid,
                },
                .dev = st->st_dev,
                .ino = st->st_ino,
                .nlink = st->st_nlink,
        };
        return item->entry.path ? 0 : -ENOMEM;
}

static int pack_item_add(PackContext *c, PackItem *item) {
        if (c->n_items == c->allocated) {
                size_t want = c->allocated ? c->allocated * 2 : 256;
                PackItem *grown = realloc(c->items, want * sizeof(PackItem));

                if (!grown)
                        return kp_error_set(c->err, -ENOMEM, "out of memory");
                c->items = grown;
                c->allocated = want;
        }
        c->items[c->n_items++] = *item;
        *item = (PackItem) {};
        return 0;
}

/* Open NAME below PARENT_FD for reading without following a symlink. When
 * the mode denies the caller read access (a mode 000 file copied up by a
 * package), add the owner's read permission, and search permission for a
 * directory. The chmod goes through an O_PATH descriptor, so a file swapped
 * in meanwhile is never touched. *RET_CHMODDED tells the caller to restore
 * the mode. */
static int open_for_reading(int parent_fd, const char *name, const struct stat *st, int *ret_fd, bool *ret_chmodded) {
        bool dir = S_ISDIR(st->st_mode);
        int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | (dir ? O_DIRECTORY : 0);
        _cleanup_close_ int fd = -1, path_fd = -1;
        char proc[64];
        struct stat now;
        int r;

        fd = openat(parent_fd, name, flags | O_NOFOLLOW);
        if (fd < 0 && errno != EACCES)
                return -errno;

        if (fd < 0) {
                path_fd = openat(parent_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                if (path_fd < 0)
                        return -errno;
                if (fstat(path_fd, &now) < 0)
                        return -errno;
                if (now.st_ino != st->st_ino || (now.st_mode & S_IFMT) != (st->st_mode & S_IFMT))
                        return -ESTALE;

                /* The magic link names the inode of PATH_FD, which is not a
                 * symlink, so chmod() and open() act on exactly that inode. */
                snprintf(proc, sizeof(proc), "/proc/self/fd/%d", path_fd);
                if (chmod(proc, (now.st_mode & 07777) | (dir ? 0500 : 0400)) < 0)
                        return errno == EPERM ? -EACCES : -errno;

                fd = open(proc, flags);
                if (fd < 0) {
                        r = -errno;
                        (void) chmod(proc, now.st_mode & 07777);
                        return r;
                }
                *ret_chmodded = true;
        } else
                *ret_chmodded = false;

        if (fstat(fd, &now) < 0)
                return -errno;
        if (now.st_ino != st->st_ino || now.st_dev != st->st_dev)
                return -ESTALE;

        *ret_fd = TAKE_FD(fd);
        return 0;
}

static char *proc_fd_path(int dir_fd, const char *name) {
        char *path;

        if (asprintf(&path, "/proc/self/fd/%d/%s", dir_fd, name) < 0)
                return NULL;
        return path;
}

static bool stat_content_unchanged(const struct stat *a, const struct stat *b) {
        return a->st_size == b->st_size && timespec_to_ns(&a->st_mtim) == timespec_to_ns(&b->st_mtim) &&
               timespec_to_ns(&a->st_ctim) == timespec_to_ns(&b->st_ctim);
}

/* Hash the file, then store it unless an object with that key exists. New
 * content is read twice, so that existing objects are never written again. */
static int file_store(PackContext *c, int fd, const char *relpath, const struct stat *st,
                      char key[KP_HASH_HEX_SIZE]) {
        char stored[KP_HASH_HEX_SIZE];
        struct stat before, after;
        int r;

        if (fstat(fd, &before) < 0)
                return pack_fail(c, -errno, relpath, "stat");

        r = kp_hash_fd_hex(fd, key);
        if (r < 0)
                return pack_fail(c, r, relpath, "read");

        if (fstat(fd, &after) < 0)
                return pack_fail(c, -errno, relpath, "stat");
        if (!stat_content_unchanged(&before, &after) || before.st_size != st->st_size)
                return pack_fail_changed(c, relpath);

        if (store_object_exists(c->store, key))
                return 0;

        if (lseek(fd, 0, SEEK_SET) < 0)
                return pack_fail(c, -errno, relpath, "rewind");

        r = store_object_put_fd(c->store, fd, stored, c->err);
        if (r < 0) {
                _cleanup_free_ char *escaped = tree_escape_string(relpath);

                return kp_error_prefix(c->err, "failed to store the content of '%s'", strna(escaped));
        }
        if (!streq(stored, key))
                return pack_fail_changed(c, relpath);
        return 0;
}

static int pack_cache_add(PackContext *c, const char *relpath, const struct stat *st, const char *key) {
        CacheRecord rec = {
                .path = strdup(relpath),
                .dev = (uint64_t) st->st_dev,
                .ino = (uint64_t) st->st_ino,
                .size = (uint64_t) st->st_size,
                .mtime_ns = timespec_to_ns(&st->st_mtim),
                .ctime_ns = timespec_to_ns(&st->st_ctim),
        };
        int r;

        if (!rec.path)
                return kp_error_set(c->err, -ENOMEM, "out of memory");
        memcpy(rec.key, key, KP_HASH_HEX_SIZE);

        r = cache_table_push(&c->new_cache, &rec);
        free(rec.path);
        if (r < 0)
                return kp_error_set(c->err, r, "out of memory");
        return 0;
}

/* Find the content key of a regular file: from another link to the same
 * inode, from the cache when the file is unchanged and its object still
 * exists (GC may have removed it), or by hashing it. CHMODDED files had their
 * ctime changed by the pack itself, so they are not cached. */
static int pack_file_key(PackContext *c, int fd, const char *relpath, const struct stat *st, bool chmodded,
                         char key[KP_HASH_HEX_SIZE]) {
        InodeRecord probe = { .dev = st->st_dev, .ino = st->st_ino };
        const CacheRecord *cached = NULL;
        InodeRecord *const *known = NULL;
        int r;

        if (st->st_nlink > 1)
                known = tfind(&probe, &c->inodes, compare_inode_records);
        if (c->use_cache)
                cached = cache_table_find(&c->old_cache, relpath);

        if (known)
                memcpy(key, (*known)->key, KP_HASH_HEX_SIZE);
        else if (cached && cache_record_matches(cached, st) && store_object_exists(c->store, cached->key))
                memcpy(key, cached->key, KP_HASH_HEX_SIZE);
        else {
                r = file_store(c, fd, relpath, st, key);
                if (r < 0)
                        return r;
        }

        if (st->st_nlink > 1 && !known) {
                InodeRecord *rec = malloc(sizeof(InodeRecord));

                if (!rec)
                        return kp_error_set(c->err, -ENOMEM, "out of memory");
                *rec = probe;
                memcpy(rec->key, key, KP_HASH_HEX_SIZE);
                if (!tsearch(rec, &c->inodes, compare_inode_records)) {
                        free(rec);
                        return kp_error_set(c->err, -ENOMEM, "out of memory");
                }
        }

        if (c->use_cache && !chmodded && timespec_to_ns(&st->st_ctim) <= c->cache_cutoff_ns)
                return pack_cache_add(c, relpath, st, key);
        return 0;
}

static int pack_file(PackContext *c, int parent_fd, const char *name, const char *relpath, const struct stat *st) {
        _cleanup_(pack_item_done) PackItem item = {};
        _cleanup_close_ int fd = -1;
        bool chmodded = false;
        int r;

        r = open_for_reading(parent_fd, name, st, &fd, &chmodded);
        if (r < 0)
                return pack_fail_open(c, r, relpath);

        /* Reading user.* attributes needs read permission too, so this
         * happens before the mode is restored. */
        r = pack_item_init(&item, TREE_ENTRY_FILE, relpath, st);
        if (r >= 0)
                r = xattrs_read(fd, NULL, &item.entry.xattrs, &item.entry.n_xattrs);
        if (chmodded && fchmod(fd, st->st_mode & 07777) < 0 && r >= 0)
                return pack_fail(c, -errno, relpath, "restore the mode of");
        if (r < 0)
                return pack_fail(c, r, relpath, "read the extended attributes of");

        item.entry.size = (uint64_t) st->st_size;
        r = pack_file_key(c, fd, relpath, st, chmodded, item.entry.key);
        if (r < 0)
                return r;

        return pack_item_add(c, &item);
}

static int symlink_read(int parent_fd, const char *name, char **ret) {
        for (size_t size = 256;; size *= 2) {
                _cleanup_free_ char *buf = malloc(size);
                ssize_t n;

                if (!buf)
                        return -ENOMEM;
                n = readlinkat(parent_fd, name, buf, size);
                if (n < 0)
                        return -errno;
                if ((size_t) n < size) {
                        if (n == 0 || (size_t) n > TREE_PATH_MAX)
                                return -EINVAL;
                        buf[n] = '\0';
                        *ret = TAKE_PTR(buf);
                        return 0;
                }
                if (size > PATH_MAX)
                        return -ENAMETOOLONG;
        }
}

/* Symlinks and whiteouts cannot be opened, so their extended attributes are
 * read through the parent directory's /proc/self/fd entry, and the l*xattr()
 * calls do not follow the final symlink. */
static int pack_node(PackContext *c, TreeEntryType type, int parent_fd, const char *name, const char *relpath,
                     const struct stat *st) {
        _cleanup_(pack_item_done) PackItem item = {};
        _cleanup_free_ char *proc = NULL;
        int r;

        r = pack_item_init(&item, type, relpath, st);
        if (r < 0)
                return pack_fail(c, r, relpath, "pack");

        if (type == TREE_ENTRY_SYMLINK) {
                item.entry.mode = 0;
                r = symlink_read(parent_fd, name, &item.entry.target);
                if (r < 0)
                        return pack_fail(c, r, relpath, "read the symlink");
        }

        proc = proc_fd_path(parent_fd, name);
        if (!proc)
                return pack_fail(c, -ENOMEM, relpath, "pack");
        r = xattrs_read(-1, proc, &item.entry.xattrs, &item.entry.n_xattrs);
        if (r < 0)
                return pack_fail(c, r, relpath, "read the extended attributes of");

        return pack_item_add(c, &item);
}

static int pack_entry(PackContext *c, int parent_fd, const char *name, const char *relpath);

static int pack_directory_contents(PackContext *c, int fd, const char *prefix) {
        _cleanup_strv_free_ char **names = NULL;
        size_t n = 0;
        int r;

        r = kp_dir_list_at(fd, ".", false, false, &names, &n);
        if (r < 0)
                return pack_fail(c, r, prefix[0] ? prefix : ".", "list");

        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *child = prefix[0] ? kp_path_join(prefix, names[i]) : strdup(names[i]);

                if (!child)
                        return kp_error_set(c->err, -ENOMEM, "out of memory");
                r = pack_entry(c, fd, names[i], child);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int directory_item_fill(int fd, const char *relpath, const struct stat *st, PackItem *item) {
        struct stat marker;
        int r;

        r = pack_item_init(item, TREE_ENTRY_DIRECTORY, relpath, st);
        if (r < 0)
                return r;

        r = xattrs_read(fd, NULL, &item->entry.xattrs, &item->entry.n_xattrs);
        if (r < 0)
                return r;

        item->entry.opaque = xattrs_mark_opaque(item->entry.xattrs, item->entry.n_xattrs) ||
                             fstatat(fd, TREE_OPAQUE_MARKER, &marker, AT_SYMLINK_NOFOLLOW) == 0;
        return 0;
}

/* NOTE: each directory level keeps one descriptor open, so a tree nested
 * deeper than the descriptor limit (RLIMIT_NOFILE) fails with EMFILE. */
static int pack_directory(PackContext *c, int parent_fd, const char *name, const char *relpath,
                          const struct stat *st) {
        _cleanup_(pack_item_done) PackItem item = {};
        _cleanup_close_ int fd = -1;
        bool chmodded = false;
        int r;

        r = open_for_reading(parent_fd, name, st, &fd, &chmodded);
        if (r < 0)
                return pack_fail_open(c, r, relpath);

        r = directory_item_fill(fd, relpath, st, &item);
        if (r < 0)
                r = pack_fail(c, r, relpath, "read the extended attributes of");
        else
                r = pack_item_add(c, &item);
        if (r >= 0)
                r = pack_directory_contents(c, fd, streq(relpath, ".") ? "" : relpath);

        if (chmodded && fchmod(fd, st->st_mode & 07777) < 0 && r >= 0)
                r = pack_fail(c, -errno, relpath, "restore the mode of");
        return r;
}

static const char *file_type_name(mode_t mode) {
        switch (mode & S_IFMT) {
        case S_IFIFO:
                return "fifo";
        case S_IFSOCK:
                return "socket";
        case S_IFCHR:
                return "character device";
        case S_IFBLK:
                return "block device";
        default:
                return "file of unknown type";
        }
}

static int pack_entry(PackContext *c, int parent_fd, const char *name, const char *relpath) {
        _cleanup_free_ char *escaped = NULL;
        struct stat st;

        if (fstatat(parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : pack_fail(c, -errno, relpath, "stat");
        if (strlen(relpath) > TREE_PATH_MAX)
                return pack_fail(c, -ENAMETOOLONG, relpath, "pack");

        if (st.st_dev != c->root_dev) {
                escaped = tree_escape_string(relpath);
                log_warn("skipping '%s' while packing '%s': it is on another filesystem", strna(escaped), c->root_name);
                return 0;
        }

        if (S_ISDIR(st.st_mode))
                return pack_directory(c, parent_fd, name, relpath, &st);
        if (S_ISREG(st.st_mode))
                return pack_file(c, parent_fd, name, relpath, &st);
        if (S_ISLNK(st.st_mode))
                return pack_node(c, TREE_ENTRY_SYMLINK, parent_fd, name, relpath, &st);
        if (S_ISCHR(st.st_mode) && major(st.st_rdev) == 0 && minor(st.st_rdev) == 0)
                return pack_node(c, TREE_ENTRY_WHITEOUT, parent_fd, name, relpath, &st);

        escaped = tree_escape_string(relpath);
        log_warn("skipping %s '%s' while packing '%s': only files, directories, symlinks and whiteouts are stored",
                 file_type_name(st.st_mode), strna(escaped), c->root_name);
        return 0;
}

/* Turn every later link to an inode into a hard link entry that names the
 * first path of that inode in tree order. */
static int pack_link_hardlinks(PackContext *c) {
        for (size_t i = 1; i < c->n_items; i++) {
                PackItem *item = &c->items[i];
                InodeRecord probe = { .dev = item->dev, .ino = item->ino };
                InodeRecord *const *rec;
                TreeEntry link;

                if (item->entry.type != TREE_ENTRY_FILE || item->nlink < 2)
                        continue;
                rec = tfind(&probe, &c->inodes, compare_inode_records);
                if (!rec)
                        continue;
                if (!(*rec)->first_path) {
                        (*rec)->first_path = item->entry.path;
                        continue;
                }

                link = (TreeEntry) {
                        .type = TREE_ENTRY_HARDLINK,
                        .path = TAKE_PTR(item->entry.path),
                        .target = strdup((*rec)->first_path),
                };
                tree_entry_done(&item->entry);
                item->entry = link;
                if (!link.target)
                        return kp_error_set(c->err, -ENOMEM, "out of memory");
        }
        return 0;
}

static int compare_strings(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The tree key and every content key, sorted and without duplicates. */
static int pack_collect_refs(PackContext *c, const char *tree_key, char ***ret, size_t *ret_count) {
        _cleanup_strv_free_ char **refs = NULL;
        size_t n = 0, unique = 0;
        int r;

        r = kp_strv_push(&refs, &n, strdup(tree_key));
        for (size_t i = 0; r >= 0 && i < c->n_items; i++)
                if (c->items[i].entry.type == TREE_ENTRY_FILE)
                        r = kp_strv_push(&refs, &n, strdup(c->items[i].entry.key));
        if (r < 0)
                return kp_error_set(c->err, r, "out of memory");

        qsort(refs, n, sizeof(char *), compare_strings);
        for (size_t i = 0; i < n; i++) {
                if (unique > 0 && streq(refs[unique - 1], refs[i])) {
                        free(refs[i]);
                        continue;
                }
                refs[unique++] = refs[i];
        }
        refs[unique] = NULL;

        *ret = TAKE_PTR(refs);
        *ret_count = unique;
        return 0;
}

static int pack_write(PackContext *c, char ret_key[KP_HASH_HEX_SIZE], char ***ret_refs, size_t *ret_count) {
        _cleanup_free_ TreeEntry *entries = NULL;
        _cleanup_free_ char *text = NULL;
        char key[KP_HASH_HEX_SIZE];
        size_t len;
        int r;

        if (c->n_items > 2)
                qsort(c->items + 1, c->n_items - 1, sizeof(PackItem), compare_item_paths);

        r = pack_link_hardlinks(c);
        if (r < 0)
                return r;

        /* tree_serialize() takes a plain entry array; these are shallow copies. */
        entries = calloc(c->n_items + 1, sizeof(TreeEntry));
        if (!entries)
                return kp_error_set(c->err, -ENOMEM, "out of memory");
        for (size_t i = 0; i < c->n_items; i++)
                entries[i] = c->items[i].entry;

        r = tree_serialize(entries, c->n_items, &text, &len);
        if (r < 0)
                return kp_error_set(c->err, r, "out of memory");

        /* The file objects' renames become durable before the tree object
         * that names them. */
        r = store_object_sync_dir(c->store, c->err);
        if (r < 0)
                return r;
        r = store_object_put_bytes(c->store, text, len, key, c->err);
        if (r < 0)
                return kp_error_prefix(c->err, "failed to store the tree object of '%s'", c->root_name);

        r = pack_collect_refs(c, key, ret_refs, ret_count);
        if (r < 0)
                return r;

        log_debug("packed '%s' as tree %s (%zu entries)", c->root_name, key, c->n_items);
        memcpy(ret_key, key, KP_HASH_HEX_SIZE);
        return 0;
}

int store_tree_pack_cached(Store *s, int dirfd, const char *path, const char *cache_path,
                           char ret_tree_key[KP_HASH_HEX_SIZE], char ***ret_object_refs, size_t *ret_count,
                           KpError *err) {
        _cleanup_(pack_context_done) PackContext c = {
                .store = s,
                .root_name = path,
                .use_cache = cache_path != NULL,
                .err = err,
        };
        struct timespec now;
        struct stat st;
        int r;

        if (fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                /* A missing directory packs as the empty tree. */
                if (errno != ENOENT)
                        return pack_fail(&c, -errno, ".", "stat");
        } else {
                if (!S_ISDIR(st.st_mode))
                        return kp_error_set_kind(err, KP_ERROR_IO, -ENOTDIR, "cannot pack '%s': not a directory", path);

                if (cache_path) {
                        r = cache_load(cache_path, &c.old_cache);
                        if (r < 0)
                                return kp_error_set(err, r, "out of memory");
                        (void) clock_gettime(CLOCK_REALTIME, &now);
                        c.cache_cutoff_ns = timespec_to_ns(&now) - TREE_CACHE_RACY_NS;
                }

                c.root_dev = st.st_dev;
                store_object_defer_dir_sync(s, true);
                r = pack_directory(&c, dirfd, path, ".", &st);
                store_object_defer_dir_sync(s, false);
                if (r < 0)
                        return r;
        }

        r = pack_write(&c, ret_tree_key, ret_object_refs, ret_count);
        if (r < 0)
                return r;

        if (cache_path)
                cache_save(cache_path, &c.new_cache, &c.old_cache);
        return 0;
}

int store_tree_pack(Store *s, int dirfd, const char *path, char ret_tree_key[KP_HASH_HEX_SIZE],
                    char ***ret_object_refs, size_t *ret_count, KpError *err) {
        return store_tree_pack_cached(s, dirfd, path, NULL, ret_tree_key, ret_object_refs, ret_count, err);
}
