/* SPDX-License-Identifier: MIT */
/* libFuzzer target: lock file parsing, integrity check and the lock writer.
 * A parsed lock must write back to text that parses to the same identity. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "schema/identity.h"
#include "schema/lock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_error_ KpError err = KP_ERROR_INIT, err2 = KP_ERROR_INIT, verify_err = KP_ERROR_INIT;
        _cleanup_free_ char *text = NULL;
        char id1[KP_HASH_HEX_SIZE], id2[KP_HASH_HEX_SIZE];
        Lock *lock = NULL, *again = NULL;
        size_t len = 0;

        if (lock_parse((const char *) data, size, "fuzz.lock", &lock, &err) < 0) {
                if (!err.message)
                        abort();
                return 0;
        }
        (void) lock_verify_integrity(lock, &verify_err);
        identity_env_id_compute(lock, id1);
        if (lock_to_toml(lock, &text, &len) >= 0) {
                if (lock_parse(text, len, "written.lock", &again, &err2) < 0)
                        abort();
                identity_env_id_compute(again, id2);
                if (strcmp(id1, id2) != 0)
                        abort();
        }
        lock_free(again);
        lock_free(lock);
        return 0;
}
