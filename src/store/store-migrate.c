/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "basic/json-util.h"
#include "basic/log.h"
#include "store/store-internal.h"
#include "store/store-metadata.h"
#include "store/store-migrate.h"

/* The same bound as for reading metadata. */
#define MIGRATE_FILE_MAX ((size_t) 1 << 20)

void migrate_result_done(MigrateResult *r) {
        if (!r)
                return;
        free(r->backup_path);
        *r = (MigrateResult) {};
}

static int migrate_backup_version(Store *s, char **ret_path, KpError *err) {
        _cleanup_free_ char *data = NULL, *name = NULL;
        char stamp[32];
        time_t now = time(NULL);
        struct tm tm;
        size_t len = 0;
        int dfd, r;

        dfd = store_base_fd(s, err);
        if (dfd < 0)
                return dfd;

        r = kp_read_file_at(dfd, "version", MIGRATE_FILE_MAX, &data, &len);
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_STORE, r, "failed to read version file: %s", strerror(-r));

        if (!gmtime_r(&now, &tm) || strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm) == 0)
                return kp_error_set(err, -EINVAL, "failed to format the backup time stamp");
        if (asprintf(&name, "version.backup.%s", stamp) < 0)
                return kp_error_set(err, -ENOMEM, "out of memory");

        r = store_write_file_atomic(dfd, name, data, len, 0644, KP_ATOMIC_NO_REPLACE, "migrate-backup");
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_STORE, r, "failed to back up the version file to '%s': %s",
                                         name, strerror(-r));

        *ret_path = store_path_of(s, _STORE_DIR_MAX, name);
        if (!*ret_path)
                return kp_error_set(err, -ENOMEM, "out of memory");
        return 0;
}

/* The checksum for the JSON object V once the missing keys are added, or
 * NULL when V does not hold complete metadata. */
static json_t *migrate_checksum_for(json_t *v) {
        _cleanup_env_metadata_free_ EnvMetadata *m = NULL;
        _cleanup_free_ char *text = NULL;
        char checksum[KP_HASH_HEX_SIZE];
        size_t len = 0;

        text = kp_json_dump(v, 0, &len);
        if (!text || env_metadata_from_json(text, len, &m, NULL) < 0)
                return json_null();
        if (env_metadata_compute_checksum(m, checksum, NULL) < 0)
                return json_null();
        return json_string(checksum);
}

/* Add the missing keys to one metadata file. Returns 1 when it was
 * rewritten, 0 when it was complete or skipped. */
static int migrate_metadata_file(int dfd, const char *name, KpError *err) {
        _cleanup_free_ char *data = NULL, *msg = NULL, *text = NULL;
        _cleanup_json_ json_t *v = NULL;
        bool added = false, add_checksum;
        size_t len = 0;
        int r;

        r = store_read_file_at(dfd, name, MIGRATE_FILE_MAX, &data, &len);
        if (r < 0) {
                log_warn("Migration: skipping metadata '%s': %s", name, strerror(-r));
                return 0;
        }
        r = kp_json_parse(data, len, &v, &msg);
        if (r < 0 || !json_is_object(v)) {
                log_warn("Migration: skipping metadata '%s': %s", name, r < 0 ? msg : "not a JSON object");
                return 0;
        }

        add_checksum = !json_object_get(v, "checksum");
        if (!json_object_get(v, "name")) {
                added = true;
                if (json_object_set_new(v, "name", json_null()) < 0)
                        return kp_error_set(err, -ENOMEM, "out of memory");
        }
        if (!json_object_get(v, "policy_layer")) {
                added = true;
                if (json_object_set_new(v, "policy_layer", json_null()) < 0)
                        return kp_error_set(err, -ENOMEM, "out of memory");
        }
        if (add_checksum) {
                /* The original tool adds "checksum": null, which disables the
                 * check for good. A real checksum keeps the file protected. */
                added = true;
                if (json_object_set_new(v, "checksum", migrate_checksum_for(v)) < 0)
                        return kp_error_set(err, -ENOMEM, "out of memory");
        }
        if (!added)
                return 0;

        text = kp_json_dump(v, KP_JSON_PRETTY | KP_JSON_SORT_KEYS, &len);
        if (!text)
                return kp_error_set(err, -ENOMEM, "out of memory");

        r = store_write_file_atomic(dfd, name, text, len, 0644, 0, "migrate-metadata");
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_STORE, r, "failed to rewrite metadata '%s': %s", name,
                                         strerror(-r));
        return 1;
}

static int migrate_metadata(Store *s, size_t *ret_count, KpError *err) {
        _cleanup_strv_free_ char **names = NULL;
        size_t n = 0, count = 0;
        int dfd, r;

        dfd = store_dir_fd(s, STORE_DIR_METADATA, err);
        if (dfd == -ENOENT) {
                kp_error_clear(err);
                *ret_count = 0;
                return 0;
        }
        if (dfd < 0)
                return dfd;

        /* Dot-files are temporary files of interrupted writes, not metadata. */
        r = kp_dir_list_at(dfd, ".", /* skip_hidden= */ true, /* missing_ok= */ false, &names, &n);
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_STORE, r, "failed to list metadata: %s", strerror(-r));

        for (size_t i = 0; i < n; i++) {
                struct stat st;

                if (fstatat(dfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
                        continue;

                r = migrate_metadata_file(dfd, names[i], err);
                if (r < 0)
                        return r;
                count += (size_t) r;
        }

        *ret_count = count;
        return 0;
}

int store_migrate(Store *s, MigrateResult *ret, KpError *err) {
        _cleanup_(migrate_result_done) MigrateResult res = {};
        int r;

        *ret = (MigrateResult) {};

        r = store_version_read(s, &res.from_version, err);
        if (r < 0)
                return r;
        res.to_version = STORE_FORMAT_VERSION;

        if (res.from_version == STORE_FORMAT_VERSION) {
                *ret = res;
                res = (MigrateResult) {};
                return 0;
        }
        if (res.from_version > STORE_FORMAT_VERSION)
                return kp_error_set_kind(err, KP_ERROR_STORE, -EPROTO,
                                         "store format version mismatch: expected %d, found %u", STORE_FORMAT_VERSION,
                                         res.from_version);

        r = migrate_backup_version(s, &res.backup_path, err);
        if (r < 0)
                return r;

        r = migrate_metadata(s, &res.environments_migrated, err);
        if (r < 0)
                return r;

        r = store_version_write(s, err);
        if (r < 0)
                return r;

        log_info("Migrated the store from format version %u to %u", res.from_version, res.to_version);
        res.migrated = true;
        *ret = res;
        res = (MigrateResult) {};
        return 0;
}
