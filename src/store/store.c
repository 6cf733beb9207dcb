/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/fault.h"
#include "basic/json-util.h"
#include "basic/log.h"
#include "store/store-internal.h"

/* The version file is tiny, so anything larger is not ours. */
#define STORE_VERSION_FILE_MAX 4096

static const char *const store_dir_table[_STORE_DIR_MAX] = {
        [STORE_DIR_OBJECTS] = "objects",
        [STORE_DIR_LAYERS] = "layers",
        [STORE_DIR_METADATA] = "metadata",
        [STORE_DIR_STAGING] = "staging",
        [STORE_DIR_WAL] = "wal",
};

const char *store_dir_to_string(StoreDir d) {
        if ((unsigned) d >= _STORE_DIR_MAX)
                return NULL;
        return store_dir_table[d];
}

static int root_make_absolute(const char *root, char **ret) {
        _cleanup_free_ char *cwd = NULL, *joined = NULL;

        if (root[0] == '/')
                return kp_path_normalize(root, ret);

        cwd = getcwd(NULL, 0);
        if (!cwd)
                return negative_errno();
        joined = kp_path_join(cwd, root);
        if (!joined)
                return -ENOMEM;
        return kp_path_normalize(joined, ret);
}

int store_open(const char *root, Store **ret, KpError *err) {
        _cleanup_free_ char *abs_root = NULL, *store_path = NULL;
        Store *s;
        int r;

        if (isempty(root))
                return kp_error_set_kind(err, KP_ERROR_STORE, -EINVAL, "store root path is empty");

        r = root_make_absolute(root, &abs_root);
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_STORE, r, "invalid store root '%s': %s", root,
                                         strerror(-r));

        store_path = kp_path_join(abs_root, "store");
        if (!store_path)
                return kp_error_set(err, -ENOMEM, "out of memory");

        s = calloc(1, sizeof(Store));
        if (!s)
                return kp_error_set(err, -ENOMEM, "out of memory");

        s->root = TAKE_PTR(abs_root);
        s->store_path = TAKE_PTR(store_path);
        s->dirfd = -1;
        for (size_t i = 0; i < _STORE_DIR_MAX; i++)
                s->dir_fds[i] = -1;

        *ret = s;
        return 0;
}

static void store_close_fds(Store *s) {
        for (size_t i = 0; i < _STORE_DIR_MAX; i++)
                (void) close_and_reset(&s->dir_fds[i]);
        (void) close_and_reset(&s->dirfd);
}

Store *store_free(Store *s) {
        if (!s)
                return NULL;

        store_close_fds(s);
        free(s->root);
        free(s->store_path);
        free(s);
        return NULL;
}

const char *store_root(const Store *s) {
        return s->root;
}

int store_dirfd(const Store *s) {
        return s->dirfd;
}

char *store_path_of(const Store *s, StoreDir d, const char *name) {
        _cleanup_free_ char *dir = NULL;

        if (d == _STORE_DIR_MAX)
                return name ? kp_path_join(s->store_path, name) : strdup(s->store_path);

        dir = kp_path_join(s->store_path, store_dir_to_string(d));
        if (!dir || !name)
                return TAKE_PTR(dir);
        return kp_path_join(dir, name);
}

bool store_name_is_plain(const char *name) {
        return !isempty(name) && !strchr(name, '/') && !streq(name, ".") && !streq(name, "..");
}

int store_strv_empty(char ***ret, size_t *ret_count) {
        char **v = calloc(1, sizeof(char *));

        if (!v)
                return -ENOMEM;
        *ret = v;
        if (ret_count)
                *ret_count = 0;
        return 0;
}

int store_base_fd(Store *s, KpError *err) {
        int r;

        if (s->dirfd >= 0)
                return s->dirfd;

        s->dirfd = open(s->store_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->dirfd < 0) {
                r = negative_errno();
                return kp_error_set_kind(err, KP_ERROR_STORE, r, "failed to open store directory '%s': %s",
                                         s->store_path, strerror(-r));
        }
        return s->dirfd;
}

int store_dir_fd(Store *s, StoreDir d, KpError *err) {
        int r;

        if ((unsigned) d >= _STORE_DIR_MAX)
                return kp_error_set(err, -EINVAL, "invalid store directory");
        if (s->dir_fds[d] >= 0)
                return s->dir_fds[d];

        r = store_base_fd(s, err);
        if (r < 0)
                return r;

        s->dir_fds[d] = openat(s->dirfd, store_dir_to_string(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->dir_fds[d] < 0) {
                r = negative_errno();
                return kp_error_set_kind(err, KP_ERROR_STORE, r, "failed to open store directory '%s/%s': %s",
                                         s->store_path, store_dir_to_string(d), strerror(-r));
        }
        return s->dir_fds[d];
}

int store_write_file_atomic(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
                            KpAtomicFlags flags, const char *fault_name) {
        _cleanup_free_ char *tmp_name = NULL, *point = NULL;
        _cleanup_close_ int fd = -1;
        int r;

        fd = kp_open_tmpfile_at(dirfd, mode, &tmp_name);
        if (fd < 0)
                return fd;

        r = kp_write_all(fd, data, len);
        if (r >= 0 && fchmod(fd, mode) < 0)
                r = -errno;
        if (r < 0)
                goto fail;

        if (asprintf(&point, "%s:tmp-written", fault_name) < 0) {
                r = -ENOMEM;
                goto fail;
        }
        kp_fault_point(point);

        r = kp_commit_tmpfile_at(dirfd, fd, tmp_name, name, flags);
        if (r < 0)
                goto fail;

        strcpy(point + strlen(fault_name), ":renamed");
        kp_fault_point(point);
        return 0;

fail:
        (void) unlinkat(dirfd, tmp_name, 0);
        return r;
}

int store_tmpfiles_list(int dirfd, time_t now, time_t min_age, char ***ret, size_t *ret_count) {
        _cleanup_strv_free_ char **names = NULL, **stale = NULL;
        size_t n = 0, n_stale = 0;
        int r;

        r = kp_dir_list_at(dirfd, ".", /* skip_hidden= */ false, /* missing_ok= */ false, &names, &n);
        if (r < 0)
                return r;

        stale = calloc(1, sizeof(char *));
        if (!stale)
                return -ENOMEM;

        for (size_t i = 0; i < n; i++) {
                struct stat st;

                if (!strneq(names[i], ".tmp-", 5))
                        continue;
                if (fstatat(dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno == ENOENT)
                                continue;
                        return -errno;
                }
                if (st.st_mtime > now - min_age)
                        continue;

                r = kp_strv_push(&stale, &n_stale, strdup(names[i]));
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(stale);
        if (ret_count)
                *ret_count = n_stale;
        return 0;
}

int store_tmpfile_remove(int dirfd, const char *name) {
        kp_fault_point("tmpfile:remove");
        return kp_rm_rf_at(dirfd, name);
}

int store_file_hash_at(int dirfd, const char *name, char ret_hex[KP_HASH_HEX_SIZE]) {
        _cleanup_close_ int fd = -1;

        /* O_NONBLOCK: a FIFO planted in the store must not block us. */
        fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        return kp_hash_fd_hex(fd, ret_hex);
}

/* Remove stale temporary files in the store dir and its subdirectories.
 * Failures only produce a warning because they do not make the store
 * unusable. */
static void store_clean_tmpfiles(Store *s) {
        time_t now = time(NULL);
        int fds[] = {
                s->dirfd,
                s->dir_fds[STORE_DIR_OBJECTS],
                s->dir_fds[STORE_DIR_LAYERS],
                s->dir_fds[STORE_DIR_METADATA],
                s->dir_fds[STORE_DIR_WAL],
        };

        for (size_t i = 0; i < ELEMENTSOF(fds); i++) {
                _cleanup_strv_free_ char **names = NULL;
                size_t n = 0;
                int r;

                r = store_tmpfiles_list(fds[i], now, STORE_TMPFILE_STALE_SEC, &names, &n);
                if (r < 0) {
                        log_warn("Failed to list temporary files in the store, ignoring: %s", strerror(-r));
                        continue;
                }
                for (size_t j = 0; j < n; j++) {
                        r = store_tmpfile_remove(fds[i], names[j]);
                        if (r < 0)
                                log_warn("Failed to remove stale temporary file '%s' in the store, ignoring: %s",
                                         names[j], strerror(-r));
                        else
                                log_debug("Removed stale temporary file '%s'", names[j]);
                }
        }
}

static int version_parse(const char *data, size_t len, json_int_t *ret, bool *ret_present, KpError *err) {
        _cleanup_json_ json_t *v = NULL;
        _cleanup_free_ char *msg = NULL;
        json_t *fv;
        int r;

        r = kp_json_parse(data, len, &v, &msg);
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_STORE, r, "invalid version file: %s", msg);
        if (!json_is_object(v))
                return kp_error_set_kind(err, KP_ERROR_STORE, -EINVAL, "invalid version file: not a JSON object");

        fv = json_object_get(v, "format_version");
        *ret_present = json_is_integer(fv);
        *ret = json_is_integer(fv) ? json_integer_value(fv) : 0;
        return 0;
}

static int version_load(Store *s, json_int_t *ret, bool *ret_present, KpError *err) {
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        int r;

        r = store_base_fd(s, err);
        if (r < 0)
                return r;

        r = kp_read_file_at(s->dirfd, "version", STORE_VERSION_FILE_MAX, &data, &len);
        if (r == -ENOENT)
                return kp_error_set_kind(err, KP_ERROR_STORE, r, "store has no version file: %s/version",
                                         s->store_path);
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_STORE, r, "failed to read version file: %s",
                                         strerror(-r));

        return version_parse(data, len, ret, ret_present, err);
}

int store_version_read(Store *s, unsigned *ret_version, KpError *err) {
        json_int_t v;
        bool present;
        int r;

        r = version_load(s, &v, &present, err);
        if (r < 0)
                return r;

        /* A missing or non-numeric member reads as version 0, as the original
         * tool's migration does. */
        *ret_version = present && v >= 0 && v <= (json_int_t) UINT32_MAX ? (unsigned) v : 0;
        return 0;
}

int store_version_check(Store *s, KpError *err) {
        json_int_t v;
        bool present;
        int r;

        r = version_load(s, &v, &present, err);
        if (r < 0)
                return r;

        if (!present)
                return kp_error_set_kind(err, KP_ERROR_STORE, -EINVAL,
                                         "invalid version file: format_version is missing or not a number");
        if (v != STORE_FORMAT_VERSION)
                return kp_error_set_kind(err, KP_ERROR_STORE, -EPROTO,
                                         "store format version mismatch: expected %d, found %lld",
                                         STORE_FORMAT_VERSION, (long long) v);
        return 0;
}

int store_version_write(Store *s, KpError *err) {
        _cleanup_json_ json_t *v = NULL;
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r;

        r = store_base_fd(s, err);
        if (r < 0)
                return r;

        v = json_pack("{s:i}", "format_version", STORE_FORMAT_VERSION);
        if (!v)
                return kp_error_set(err, -ENOMEM, "out of memory");
        text = kp_json_dump(v, KP_JSON_PRETTY, &len);
        if (!text)
                return kp_error_set(err, -ENOMEM, "out of memory");

        r = store_write_file_atomic(s->dirfd, "version", text, len, 0644, 0, "version");
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_STORE, r, "failed to write version file: %s",
                                         strerror(-r));
        return 0;
}

static int store_make_layout(Store *s, KpError *err) {
        _cleanup_free_ char *env = NULL;
        int r;

        for (StoreDir d = 0; d < _STORE_DIR_MAX; d++) {
                _cleanup_free_ char *p = store_path_of(s, d, NULL);

                if (!p)
                        return kp_error_set(err, -ENOMEM, "out of memory");
                r = kp_mkdir_p(p, 0755);
                if (r < 0)
                        return kp_error_set_kind(err, KP_ERROR_STORE, r, "failed to create '%s': %s", p,
                                                 strerror(-r));
        }

        env = kp_path_join(s->root, "env");
        if (!env)
                return kp_error_set(err, -ENOMEM, "out of memory");
        r = kp_mkdir_p(env, 0755);
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_STORE, r, "failed to create '%s': %s", env,
                                         strerror(-r));
        return 0;
}

int store_init(Store *s, KpError *err) {
        int r;

        r = store_make_layout(s, err);
        if (r < 0)
                return r;

        /* Re-open everything, because the directories may have been replaced
         * since an earlier call. */
        store_close_fds(s);
        for (StoreDir d = 0; d < _STORE_DIR_MAX; d++) {
                r = store_dir_fd(s, d, err);
                if (r < 0)
                        return r;
        }

        if (kp_path_exists_at(s->dirfd, "version"))
                r = store_version_check(s, err);
        else
                r = store_version_write(s, err);
        if (r < 0)
                return r;

        store_clean_tmpfiles(s);
        return 0;
}

void store_set_remove_tree(Store *s, StoreRemoveTreeFunc func) {
        s->remove_tree = func;
}

int store_remove_tree(Store *s, const char *path) {
        return s->remove_tree ? s->remove_tree(path) : kp_rm_rf(path);
}
