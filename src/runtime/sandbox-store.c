/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/fs-util.h"
#include "runtime/sandbox-store.h"
#include "runtime/userns.h"
#include "store/tree.h"

typedef struct PackJob {
        Store *store;
        int dirfd;
        const char *path;
        const char *cache_path;
} PackJob;

/* In the namespace: pack, then write the tree key and the object list, one
 * per line, for the caller. */
static int pack_in_namespace(void *userdata, int out_fd) {
        PackJob *job = userdata;
        _cleanup_strv_free_ char **refs = NULL;
        char key[KP_HASH_HEX_SIZE];
        KpError err = KP_ERROR_INIT;
        size_t n = 0;
        int r;

        r = store_tree_pack_cached(job->store, job->dirfd, job->path, job->cache_path, key, &refs, &n, &err);
        if (r < 0) {
                r = userns_report_error(&err);
                kp_error_clear(&err);
                return r;
        }

        dprintf(out_fd, "%s\n", key);
        for (size_t i = 0; i < n; i++)
                dprintf(out_fd, "%s\n", refs[i]);
        return 0;
}

static int pack_result_parse(char *text, char ret_tree_key[KP_HASH_HEX_SIZE], char ***ret_refs, size_t *ret_count) {
        _cleanup_strv_free_ char **refs = NULL;
        char *save = NULL, *line;
        size_t n = 0;
        int r;

        line = strtok_r(text, "\n", &save);
        if (!line || !kp_hash_hex_is_valid(line))
                return -EBADMSG;
        memcpy(ret_tree_key, line, KP_HASH_HEX_SIZE);

        while ((line = strtok_r(NULL, "\n", &save))) {
                if (!kp_hash_hex_is_valid(line))
                        return -EBADMSG;
                r = kp_strv_push(&refs, &n, strdup(line));
                if (r < 0)
                        return r;
        }
        if (!refs && !(refs = calloc(1, sizeof(char *))))
                return -ENOMEM;
        *ret_refs = TAKE_PTR(refs);
        *ret_count = n;
        return 0;
}

int sandbox_tree_pack_cached(Store *s, int dirfd, const char *path, const char *cache_path,
                             char ret_tree_key[KP_HASH_HEX_SIZE], char ***ret_object_refs, size_t *ret_count,
                             KpError *err) {
        PackJob job = { .store = s, .dirfd = dirfd, .path = path, .cache_path = cache_path };
        _cleanup_free_ char *out = NULL;
        size_t len = 0;
        int r;

        if (geteuid() == 0)
                return store_tree_pack_cached(s, dirfd, path, cache_path, ret_tree_key, ret_object_refs, ret_count,
                                              err);

        r = userns_run_output(pack_in_namespace, &job, &out, &len, err);
        if (r < 0)
                return r;
        r = pack_result_parse(out, ret_tree_key, ret_object_refs, ret_count);
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_STORE, r, "invalid result from packing '%s' in the user namespace",
                                         path);
        return 0;
}

typedef struct UnpackJob {
        Store *store;
        const char *tree_key;
        int dirfd;
        const char *path;
} UnpackJob;

static int unpack_in_namespace(void *userdata) {
        UnpackJob *job = userdata;
        KpError err = KP_ERROR_INIT;
        int r;

        r = store_tree_unpack(job->store, job->tree_key, job->dirfd, job->path, &err);
        if (r < 0) {
                r = userns_report_error(&err);
                kp_error_clear(&err);
        }
        return r;
}

int sandbox_tree_unpack(Store *s, const char *tree_key, int target_dirfd, const char *path, KpError *err) {
        UnpackJob job = { .store = s, .tree_key = tree_key, .dirfd = target_dirfd, .path = path };

        if (geteuid() == 0)
                return store_tree_unpack(s, tree_key, target_dirfd, path, err);
        return userns_run(unpack_in_namespace, &job, err);
}
