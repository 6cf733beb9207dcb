/* SPDX-License-Identifier: MIT */
/* libFuzzer target: environment metadata JSON. Whatever parses must
 * serialize, and the serialized form must parse to the same checksum. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/store-metadata.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_env_metadata_free_ EnvMetadata *m = NULL, *again = NULL;
        _cleanup_error_ KpError err = KP_ERROR_INIT, err2 = KP_ERROR_INIT;
        _cleanup_free_ char *json = NULL;
        char sum1[KP_HASH_HEX_SIZE], sum2[KP_HASH_HEX_SIZE];
        size_t len = 0;

        if (env_metadata_from_json((const char *) data, size, &m, &err) < 0) {
                if (!err.message)
                        abort();
                return 0;
        }
        if (env_metadata_to_json(m, NULL, &json, &len, &err) < 0)
                return 0;
        if (env_metadata_from_json(json, len, &again, &err2) < 0)
                abort();
        if (env_metadata_compute_checksum(m, sum1, &err) < 0 || env_metadata_compute_checksum(again, sum2, &err2) < 0)
                return 0;
        if (strcmp(sum1, sum2) != 0)
                abort();
        return 0;
}
