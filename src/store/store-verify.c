/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/log.h"
#include "store/store-internal.h"
#include "store/store-layer.h"
#include "store/store-metadata.h"
#include "store/store-verify.h"

void verify_report_done(VerifyReport *r) {
        if (!r)
                return;
        for (size_t i = 0; i < r->n_failures; i++) {
                free(r->failures[i].hash);
                free(r->failures[i].reason);
        }
        free(r->failures);
        *r = (VerifyReport) {};
}

_printf_(3, 4) static int verify_fail(VerifyReport *rep, const char *hash, const char *fmt, ...) {
        VerifyFailure *grown;
        char *reason = NULL, *copy;
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vasprintf(&reason, fmt, ap);
        va_end(ap);
        if (n < 0)
                return -ENOMEM;

        copy = strdup(hash);
        grown = realloc(rep->failures, (rep->n_failures + 1) * sizeof(VerifyFailure));
        if (!copy || !grown) {
                free(copy);
                free(reason);
                if (grown)
                        rep->failures = grown;
                return -ENOMEM;
        }

        rep->failures = grown;
        rep->failures[rep->n_failures++] = (VerifyFailure) { .hash = copy, .reason = reason };
        return 0;
}

static const char *error_text(const KpError *e) {
        return e->message ? e->message : strerror(e->code < 0 ? -e->code : EIO);
}

static int verify_objects(Store *s, VerifyReport *rep, KpError *err) {
        _cleanup_strv_free_ char **names = NULL;
        size_t n = 0;
        int dfd, r;

        r = store_object_list(s, &names, &n, err);
        if (r < 0)
                return r;
        if (n == 0)
                return 0;

        dfd = store_dir_fd(s, STORE_DIR_OBJECTS, err);
        if (dfd < 0)
                return dfd;

        for (size_t i = 0; i < n; i++) {
                char actual[KP_HASH_HEX_SIZE];

                rep->checked++;

                /* Hash by name, so that a file with a name that is no key
                 * counts as a mismatch like a corrupt object. */
                r = store_file_hash_at(dfd, names[i], actual);
                if (r < 0)
                        r = verify_fail(rep, names[i], "object read error: %s", strerror(-r));
                else if (!streq(actual, names[i]))
                        r = verify_fail(rep, names[i], "object hash mismatch: got %s", actual);
                else {
                        rep->passed++;
                        r = 0;
                }
                if (r < 0)
                        return kp_error_set(err, r, "out of memory");
        }
        return 0;
}

static bool strv_contains_n(char *const *v, size_t n, const char *s) {
        for (size_t i = 0; i < n; i++)
                if (streq(v[i], s))
                        return true;
        return false;
}

/* Every object a layer names must exist. */
static int verify_layer_refs(Store *s, const char *id, const Layer *l, VerifyReport *rep, bool *ret_ok) {
        int r;

        *ret_ok = true;
        for (size_t i = 0; i <= l->n_object_refs; i++) {
                const char *key = i < l->n_object_refs ? l->object_refs[i] : l->tar_hash;

                if (isempty(key) || store_object_exists(s, key))
                        continue;
                if (i == l->n_object_refs && strv_contains_n(l->object_refs, l->n_object_refs, key))
                        continue;       /* already reported */

                *ret_ok = false;
                r = verify_fail(rep, id, "layer references missing object %s", key);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int verify_one_layer(Store *s, const char *id, VerifyReport *rep) {
        _cleanup_layer_free_ Layer *l = NULL;
        _cleanup_error_ KpError e = KP_ERROR_INIT;
        char actual[KP_HASH_HEX_SIZE];
        bool ok;
        int dfd, r;

        dfd = store_dir_fd(s, STORE_DIR_LAYERS, &e);
        if (dfd < 0)
                return verify_fail(rep, id, "layer read error: %s", error_text(&e));

        r = store_file_hash_at(dfd, id, actual);
        if (r < 0)
                return verify_fail(rep, id, "layer read error: %s", strerror(-r));
        if (!streq(actual, id))
                return verify_fail(rep, id, "layer hash mismatch: got %s", actual);

        r = store_layer_get(s, id, &l, &e);
        if (r < 0)
                return verify_fail(rep, id, "layer read error: %s", error_text(&e));

        r = verify_layer_refs(s, id, l, rep, &ok);
        if (r < 0)
                return r;
        if (ok)
                rep->layers_passed++;
        return 0;
}

static int verify_layers(Store *s, VerifyReport *rep, KpError *err) {
        _cleanup_strv_free_ char **ids = NULL;
        size_t n = 0;
        int r;

        r = store_layer_list(s, &ids, &n, err);
        if (r < 0)
                return r;

        for (size_t i = 0; i < n; i++) {
                rep->layers_checked++;
                r = verify_one_layer(s, ids[i], rep);
                if (r < 0)
                        return kp_error_set(err, r, "out of memory");
        }
        return 0;
}

static int verify_one_metadata(Store *s, const char *name, VerifyReport *rep) {
        _cleanup_env_metadata_free_ EnvMetadata *m = NULL;
        _cleanup_error_ KpError e = KP_ERROR_INIT;
        char actual[KP_HASH_HEX_SIZE];
        int r;

        r = store_metadata_load_name(s, name, &m, actual, &e);
        if (r == -EBADMSG && m && m->checksum)
                return verify_fail(rep, name, "metadata checksum mismatch: got %s", actual);
        if (r < 0)
                return verify_fail(rep, name, "metadata read error: %s", error_text(&e));

        /* Loading accepts metadata without a checksum, as the original tool
         * does, but such a file is not protected and is reported here. */
        if (!m->checksum)
                return verify_fail(rep, name, "metadata has no checksum");

        rep->metadata_passed++;
        return 0;
}

static int verify_metadata(Store *s, VerifyReport *rep, KpError *err) {
        _cleanup_strv_free_ char **names = NULL;
        int dfd, r;
        size_t n = 0;

        dfd = store_dir_fd(s, STORE_DIR_METADATA, err);
        if (dfd == -ENOENT) {
                kp_error_clear(err);
                return 0;
        }
        if (dfd < 0)
                return dfd;

        r = kp_dir_list_at(dfd, ".", /* skip_hidden= */ true, /* missing_ok= */ false, &names, &n);
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_STORE, r, "failed to list metadata: %s", strerror(-r));

        for (size_t i = 0; i < n; i++) {
                rep->metadata_checked++;
                r = verify_one_metadata(s, names[i], rep);
                if (r < 0)
                        return kp_error_set(err, r, "out of memory");
        }
        return 0;
}

int store_verify(Store *s, VerifyReport *ret, KpError *err) {
        int r;

        *ret = (VerifyReport) {};

        r = verify_objects(s, ret, err);
        if (r < 0)
                return r;

        r = verify_layers(s, ret, err);
        if (r < 0)
                return r;

        return verify_metadata(s, ret, err);
}
