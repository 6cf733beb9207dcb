/* SPDX-License-Identifier: MIT */
/*
 * The content digest of an extracted image tree (docs/image-digest.md).
 *
 * The tree is listed first (one lstat per entry). Then a few threads hash
 * the content of the regular files at once. Finally one record per entry
 * goes into a single BLAKE3 hasher in byte order of the paths. Only the
 * content hashing runs in parallel, so the result does not depend on
 * scheduling.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/fs-util.h"
#include "basic/log.h"
#include "runtime/image-internal.h"
#include "runtime/userns.h"

/* Read size per call while hashing; large reads let BLAKE3 use its
 * widest SIMD kernels. */
#define DIGEST_READ_SIZE (1024 * 1024)

/* More threads than this only compete for the disk. */
#define DIGEST_MAX_THREADS 16

typedef struct DigestEntry {
        char *path;             /* relative to the root, "" for the root itself */
        mode_t mode;            /* full st_mode, type bits included */
        uid_t uid;
        gid_t gid;
        dev_t dev;
        ino_t ino;
        nlink_t nlink;
        dev_t rdev;
        char *target;           /* symlinks */
        ssize_t link_of;        /* index of the first path of the same inode, or -1 */
        uint64_t size;          /* regular files: bytes hashed */
        uint8_t hash[BLAKE3_OUT_LEN];
} DigestEntry;

typedef struct DigestTree {
        int root_fd;
        dev_t root_dev;
        DigestEntry *entries;
        size_t n_entries;
        size_t allocated;
} DigestTree;

static void digest_tree_done(DigestTree *t) {
        for (size_t i = 0; i < t->n_entries; i++) {
                free(t->entries[i].path);
                free(t->entries[i].target);
        }
        free(t->entries);
        if (t->root_fd >= 0)
                (void) close(t->root_fd);
}

/* ---- Listing ----------------------------------------------------------- */

static int digest_tree_add(DigestTree *t, char *path, const struct stat *st) {
        DigestEntry *e;

        if (t->n_entries == t->allocated) {
                size_t n = t->allocated ? t->allocated * 2 : 1024;
                DigestEntry *grown = reallocarray(t->entries, n, sizeof(DigestEntry));

                if (!grown) {
                        free(path);
                        return -ENOMEM;
                }
                t->entries = grown;
                t->allocated = n;
        }

        e = &t->entries[t->n_entries++];
        *e = (DigestEntry) {
                .path = path,
                .mode = st->st_mode,
                .uid = st->st_uid,
                .gid = st->st_gid,
                .dev = st->st_dev,
                .ino = st->st_ino,
                .nlink = st->st_nlink,
                .rdev = st->st_rdev,
                .link_of = -1,
        };
        return 0;
}

static int read_symlink_at(int dir_fd, const char *name, char **ret) {
        char buf[PATH_MAX];
        ssize_t n;

        n = readlinkat(dir_fd, name, buf, sizeof(buf));
        if (n < 0)
                return -errno;
        if ((size_t) n >= sizeof(buf))
                return -ENAMETOOLONG;
        *ret = strndup(buf, (size_t) n);
        return *ret ? 0 : -ENOMEM;
}

static int list_dir(DigestTree *t, int dir_fd, const char *prefix, KpError *err);

static int list_child(DigestTree *t, int dir_fd, const char *name, const char *prefix, KpError *err) {
        _cleanup_free_ char *path = NULL;
        struct stat st;
        int r;

        if (asprintf(&path, "%s%s%s", prefix, prefix[0] ? "/" : "", name) < 0)
                return kp_error_set(err, -ENOMEM, "out of memory");

        if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, -errno, "failed to inspect '%s': %s", path,
                                         strerror(errno));

        /* A mount point below the image is not part of the image. */
        if (S_ISDIR(st.st_mode) && st.st_dev != t->root_dev) {
                log_debug("image digest: skipping mount point '%s'", path);
                return 0;
        }

        r = digest_tree_add(t, strdup(path), &st);
        if (r < 0)
                return kp_error_set(err, r, "out of memory");

        if (S_ISLNK(st.st_mode)) {
                r = read_symlink_at(dir_fd, name, &t->entries[t->n_entries - 1].target);
                if (r < 0)
                        return kp_error_set_kind(err, KP_ERROR_RUNTIME, r, "failed to read symlink '%s': %s", path,
                                                 strerror(-r));
        }

        if (S_ISDIR(st.st_mode)) {
                _cleanup_close_ int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

                if (fd < 0)
                        return kp_error_set_kind(err, KP_ERROR_RUNTIME, -errno, "failed to open directory '%s': %s",
                                                 path, strerror(errno));
                return list_dir(t, fd, path, err);
        }
        return 0;
}

static int list_dir(DigestTree *t, int dir_fd, const char *prefix, KpError *err) {
        _cleanup_closedir_ DIR *d = NULL;
        int fd;

        /* fdopendir() takes over the descriptor; keep the caller's. */
        fd = fcntl(dir_fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return kp_error_set(err, -errno, "failed to duplicate a descriptor: %s", strerror(errno));
        d = fdopendir(fd);
        if (!d) {
                (void) close(fd);
                return kp_error_set(err, -errno, "failed to read directory '%s': %s", prefix[0] ? prefix : ".",
                                    strerror(errno));
        }

        for (;;) {
                struct dirent *de;
                int r;

                errno = 0;
                de = readdir(d);
                if (!de) {
                        if (errno != 0)
                                return kp_error_set_kind(err, KP_ERROR_RUNTIME, -errno,
                                                         "failed to read directory '%s': %s",
                                                         prefix[0] ? prefix : ".", strerror(errno));
                        return 0;
                }
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;

                r = list_child(t, dirfd(d), de->d_name, prefix, err);
                if (r < 0)
                        return r;
        }
}

static int entry_compare_path(const void *a, const void *b) {
        return strcmp(((const DigestEntry *) a)->path, ((const DigestEntry *) b)->path);
}

/* Orders entry indices by inode, then by path position. */
static int link_compare(const void *a, const void *b, void *userdata) {
        const DigestEntry *entries = userdata;
        size_t i = *(const size_t *) a, j = *(const size_t *) b;

        if (entries[i].dev != entries[j].dev)
                return entries[i].dev < entries[j].dev ? -1 : 1;
        if (entries[i].ino != entries[j].ino)
                return entries[i].ino < entries[j].ino ? -1 : 1;
        return i < j ? -1 : i > j;
}

/* Mark every path of a multiply linked inode after the first (in path
 * order) as a link to the first. */
static int find_hardlinks(DigestTree *t) {
        _cleanup_free_ size_t *idx = NULL;
        size_t n = 0;

        for (size_t i = 0; i < t->n_entries; i++)
                if (!S_ISDIR(t->entries[i].mode) && t->entries[i].nlink > 1)
                        n++;
        if (n < 2)
                return 0;

        idx = malloc(n * sizeof(size_t));
        if (!idx)
                return -ENOMEM;
        n = 0;
        for (size_t i = 0; i < t->n_entries; i++)
                if (!S_ISDIR(t->entries[i].mode) && t->entries[i].nlink > 1)
                        idx[n++] = i;

        qsort_r(idx, n, sizeof(size_t), link_compare, t->entries);

        for (size_t i = 1; i < n; i++) {
                DigestEntry *prev = &t->entries[idx[i - 1]], *cur = &t->entries[idx[i]];

                if (prev->dev == cur->dev && prev->ino == cur->ino)
                        cur->link_of = prev->link_of >= 0 ? prev->link_of : (ssize_t) idx[i - 1];
        }
        return 0;
}

/* ---- Hashing file content in parallel ---------------------------------- */

typedef struct HashJob {
        DigestTree *tree;
        size_t *files;          /* indices of the entries to hash */
        size_t n_files;
        atomic_size_t next;
        atomic_int failed;      /* first error (negative errno), 0 while none */
        atomic_size_t failed_at;
} HashJob;

static int hash_file(int root_fd, DigestEntry *e, uint8_t *buf) {
        _cleanup_close_ int fd = -1;
        blake3_hasher h;
        uint64_t size = 0;

        fd = openat(root_fd, e->path, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
        if (fd < 0)
                return -errno;

        (void) posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
        blake3_hasher_init(&h);
        for (;;) {
                ssize_t n = read(fd, buf, DIGEST_READ_SIZE);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                blake3_hasher_update(&h, buf, (size_t) n);
                size += (uint64_t) n;
        }
        blake3_hasher_finalize(&h, e->hash, sizeof(e->hash));
        e->size = size;
        return 0;
}

static void *hash_worker(void *userdata) {
        HashJob *job = userdata;
        _cleanup_free_ uint8_t *buf = malloc(DIGEST_READ_SIZE);

        if (!buf) {
                int expected = 0;

                (void) atomic_compare_exchange_strong(&job->failed, &expected, -ENOMEM);
                return NULL;
        }

        while (atomic_load(&job->failed) == 0) {
                size_t i = atomic_fetch_add(&job->next, 1);
                int r;

                if (i >= job->n_files)
                        break;
                r = hash_file(job->tree->root_fd, &job->tree->entries[job->files[i]], buf);
                if (r < 0) {
                        int expected = 0;

                        if (atomic_compare_exchange_strong(&job->failed, &expected, r))
                                atomic_store(&job->failed_at, job->files[i]);
                }
        }
        return NULL;
}

static unsigned hash_thread_count(size_t n_files) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        unsigned n = cpus > 0 ? (unsigned) cpus : 1;

        if (n > DIGEST_MAX_THREADS)
                n = DIGEST_MAX_THREADS;
        if (n > n_files)
                n = (unsigned) n_files;
        return n > 0 ? n : 1;
}

static int hash_contents(DigestTree *t, KpError *err) {
        _cleanup_free_ size_t *files = NULL;
        pthread_t threads[DIGEST_MAX_THREADS];
        unsigned n_threads, started = 0;
        HashJob job = { .tree = t };

        files = malloc((t->n_entries + 1) * sizeof(size_t));
        if (!files)
                return kp_error_set(err, -ENOMEM, "out of memory");
        for (size_t i = 0; i < t->n_entries; i++)
                if (S_ISREG(t->entries[i].mode) && t->entries[i].link_of < 0)
                        files[job.n_files++] = i;
        job.files = files;

        /* The calling thread works too, so one thread needs no pthread. */
        n_threads = hash_thread_count(job.n_files);
        for (unsigned i = 1; i < n_threads; i++) {
                if (pthread_create(&threads[started], NULL, hash_worker, &job) != 0)
                        break;
                started++;
        }
        (void) hash_worker(&job);
        for (unsigned i = 0; i < started; i++)
                (void) pthread_join(threads[i], NULL);

        if (atomic_load(&job.failed) < 0) {
                int r = atomic_load(&job.failed);

                return kp_error_set_kind(err, KP_ERROR_RUNTIME, r, "failed to read '%s': %s",
                                         t->entries[atomic_load(&job.failed_at)].path, strerror(-r));
        }
        return 0;
}

/* ---- Records ----------------------------------------------------------- */

static char entry_type_char(mode_t mode) {
        switch (mode & S_IFMT) {
        case S_IFDIR:
                return 'd';
        case S_IFREG:
                return 'f';
        case S_IFLNK:
                return 'l';
        case S_IFIFO:
                return 'p';
        case S_IFCHR:
                return 'c';
        case S_IFBLK:
                return 'b';
        default:
                return 's';
        }
}

/* "<len>:<bytes>", so that any byte (newline included) can appear in a name. */
static void hash_counted(KpHasher *h, const char *s) {
        char len[24];

        snprintf(len, sizeof(len), "%zu:", strlen(s));
        kp_hasher_update_str(h, len);
        kp_hasher_update_str(h, s);
}

/* NOTE: extended attributes are not part of the record, so a change of a
 * file capability (security.capability) keeps the digest. */
static void hash_record(KpHasher *h, const DigestTree *t, const DigestEntry *e) {
        char buf[128], hex[KP_HASH_HEX_SIZE];
        char type = e->link_of >= 0 ? 'h' : entry_type_char(e->mode);

        snprintf(buf, sizeof(buf), "%c %04o %u %u ", type, (unsigned) (e->mode & 07777), (unsigned) e->uid,
                 (unsigned) e->gid);
        kp_hasher_update_str(h, buf);
        hash_counted(h, e->path);
        kp_hasher_update_str(h, " ");

        switch (type) {
        case 'h':
                hash_counted(h, t->entries[e->link_of].path);
                break;
        case 'f':
                kp_hex_encode(e->hash, sizeof(e->hash), hex);
                snprintf(buf, sizeof(buf), "%" PRIu64 " %s", e->size, hex);
                kp_hasher_update_str(h, buf);
                break;
        case 'l':
                hash_counted(h, e->target);
                break;
        case 'c':
        case 'b':
                snprintf(buf, sizeof(buf), "%u:%u", major(e->rdev), minor(e->rdev));
                kp_hasher_update_str(h, buf);
                break;
        default:
                kp_hasher_update_str(h, "-");
                break;
        }
        kp_hasher_update_str(h, "\n");
}

int image_tree_digest_at(int dirfd, const char *path, char ret[KP_HASH_HEX_SIZE], KpError *err) {
        _cleanup_(digest_tree_done) DigestTree t = { .root_fd = -1 };
        struct stat st;
        KpHasher h;
        int r;

        t.root_fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (t.root_fd < 0 || fstat(t.root_fd, &st) < 0)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, -errno, "failed to open image tree '%s': %s", path,
                                         strerror(errno));
        t.root_dev = st.st_dev;

        r = digest_tree_add(&t, strdup(""), &st);
        if (r < 0 || !t.entries[0].path)
                return kp_error_set(err, -ENOMEM, "out of memory");

        r = list_dir(&t, t.root_fd, "", err);
        if (r < 0)
                return r;

        /* The root ("") sorts first. */
        qsort(t.entries, t.n_entries, sizeof(DigestEntry), entry_compare_path);

        r = find_hardlinks(&t);
        if (r < 0)
                return kp_error_set(err, r, "out of memory");

        r = hash_contents(&t, err);
        if (r < 0)
                return r;

        kp_hasher_init(&h);
        kp_hasher_update_str(&h, IMAGE_DIGEST_HEADER);
        for (size_t i = 0; i < t.n_entries; i++)
                hash_record(&h, &t, &t.entries[i]);
        kp_hasher_final_hex(&h, ret);
        return 0;
}

/* ---- Digest with the image's own owners -------------------------------- */

typedef struct DigestRequest {
        const char *rootfs;
        char *result;           /* shared mapping of KP_HASH_HEX_SIZE bytes */
} DigestRequest;

static int digest_in_namespace(void *userdata) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        DigestRequest *req = userdata;
        int r;

        r = image_tree_digest_at(AT_FDCWD, req->rootfs, req->result, &err);
        if (r < 0)
                return userns_report_error(&err);
        return 0;
}

int image_tree_digest(const char *rootfs, char ret[KP_HASH_HEX_SIZE], KpError *err) {
        DigestRequest req = { .rootfs = rootfs };
        int r;

        /* For real root, stat() returns the image's owners directly. */
        if (geteuid() == 0)
                return image_tree_digest_at(AT_FDCWD, rootfs, ret, err);

        /* Outside the user namespace, files of subordinate ids show the host
         * ids they map to. Inside it the ids are the image's own (0, 1, ...),
         * as during extraction, and every file is readable. */
        req.result = mmap(NULL, KP_HASH_HEX_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (req.result == MAP_FAILED)
                return kp_error_set(err, -errno, "failed to map memory: %s", strerror(errno));

        r = userns_run(digest_in_namespace, &req, err);
        if (r >= 0) {
                memcpy(ret, req.result, KP_HASH_HEX_SIZE);
                ret[KP_HASH_HEX_LEN] = '\0';
        }
        (void) munmap(req.result, KP_HASH_HEX_SIZE);
        if (r < 0)
                return kp_error_prefix(err, "failed to compute the digest of '%s'", rootfs);
        return 0;
}
