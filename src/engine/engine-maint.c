/* SPDX-License-Identifier: MIT */
/* verify-store and migrate. */
#include <stdlib.h>
#include <string.h>

#include "basic/fs-util.h"
#include "engine/engine-internal.h"
#include "store/store-migrate.h"

void verify_summary_done(VerifySummary *r) {
        VerifyReport report = { .failures = r->failures, .n_failures = r->n_failures };

        verify_report_done(&report);
        memset(r, 0, sizeof(*r));
}

int engine_verify_store(Engine *e, VerifySummary *ret, KpError *err) {
        VerifyReport report = {};
        int r;

        memset(ret, 0, sizeof(*ret));
        r = store_verify(e->store, &report, err);
        if (r < 0) {
                verify_report_done(&report);
                return r;
        }
        *ret = (VerifySummary) {
                .objects_checked = report.checked,
                .objects_passed = report.passed,
                .layers_checked = report.layers_checked,
                .layers_passed = report.layers_passed,
                .metadata_checked = report.metadata_checked,
                .metadata_passed = report.metadata_passed,
                .failures = report.failures,
                .n_failures = report.n_failures,
        };
        return 0;
}

void migrate_summary_done(MigrateSummary *r) {
        free(r->backup_path);
        r->backup_path = NULL;
}

int engine_migrate(Engine *e, MigrateSummary *ret, KpError *err) {
        _cleanup_free_ char *store_dir = kp_path_join(e->root, "store"), *version = NULL;
        MigrateResult result = {};
        unsigned found = 0;
        int r;

        memset(ret, 0, sizeof(*ret));
        ret->to_version = STORE_FORMAT_VERSION;
        if (!store_dir || !(version = kp_path_join(store_dir, "version")))
                return kp_error_set(err, -ENOMEM, "out of memory");

        if (!kp_is_dir_at(AT_FDCWD, store_dir)) {
                ret->status = MIGRATE_NO_STORE;
                return 0;
        }
        if (!kp_path_exists_at(AT_FDCWD, version)) {
                ret->status = MIGRATE_NO_VERSION_FILE;
                return 0;
        }

        r = store_version_read(e->store, &found, err);
        if (r < 0)
                return r;
        ret->from_version = found;
        if (found == STORE_FORMAT_VERSION) {
                ret->status = MIGRATE_CURRENT;
                return 0;
        }
        if (found > STORE_FORMAT_VERSION) {
                ret->status = MIGRATE_NEWER;
                return 0;
        }

        r = engine_lock_only(e, err);
        if (r < 0)
                return r;
        r = store_migrate(e->store, &result, err);
        engine_unlock(e);
        if (r < 0) {
                migrate_result_done(&result);
                return r;
        }
        ret->status = MIGRATE_MIGRATED;
        ret->from_version = result.from_version;
        ret->to_version = result.to_version;
        ret->environments_updated = result.environments_migrated;
        ret->backup_path = TAKE_PTR(result.backup_path);
        migrate_result_done(&result);
        return 0;
}
