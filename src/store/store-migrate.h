/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "basic/error.h"
#include "store/store.h"

typedef struct MigrateResult {
        bool migrated;                  /* false: the store already had the current version */
        unsigned from_version;
        unsigned to_version;
        size_t environments_migrated;   /* metadata files rewritten */
        char *backup_path;              /* copy of the old version file; NULL when not migrated */
} MigrateResult;

void migrate_result_done(MigrateResult *r);

/*
 * Bring an older store to STORE_FORMAT_VERSION:
 *   1. read store/version (missing: -ENOENT); a missing or non-numeric
 *      format_version counts as 0;
 *   2. the current version: nothing to do; a newer one: version mismatch;
 *   3. copy store/version to store/version.backup.<UTC YYYYMMDDTHHMMSSZ>;
 *   4. add "name" and "policy_layer" (null) and "checksum" to every
 *      metadata file lacking them. The added checksum is the real one when
 *      the file is otherwise complete metadata, else null;
 *   5. write the new version file last, so a failure leaves the old one.
 * Metadata files that are not JSON objects are skipped untouched.
 */
int store_migrate(Store *s, MigrateResult *ret, KpError *err);
