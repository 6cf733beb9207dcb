/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>

#include "basic/error.h"
#include "store/store.h"

/*
 * verify-store: re-hash every object, re-hash and parse every layer
 * manifest, load every metadata file and check its checksum. Unreadable
 * files become failures; checking goes on.
 */

typedef struct VerifyFailure {
        char *hash;             /* object key, layer id or env id (the file name) */
        char *reason;
} VerifyFailure;

typedef struct VerifyReport {
        size_t checked;         /* objects */
        size_t passed;
        size_t layers_checked;
        size_t layers_passed;
        size_t metadata_checked;
        size_t metadata_passed;
        VerifyFailure *failures;
        size_t n_failures;
} VerifyReport;

void verify_report_done(VerifyReport *r);

/* Check the whole store. Returns 0 when the check ran, whatever it found
 * (see ret->n_failures); a negative errno only when it could not run. */
int store_verify(Store *s, VerifyReport *ret, KpError *err);
