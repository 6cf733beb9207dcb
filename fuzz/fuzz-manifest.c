/* SPDX-License-Identifier: MIT */
/* libFuzzer target: manifest parsing, normalization, canonical JSON and the
 * manifest writer. Whatever parses must normalize or fail cleanly, and a
 * written manifest must parse back to the same canonical JSON. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "schema/manifest.h"
#include "schema/normalize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *canonical(const Manifest *m) {
        _cleanup_normalized_manifest_free_ NormalizedManifest *n = NULL;
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        char *json = NULL;
        size_t len = 0;

        if (manifest_normalize(m, &n, &err) < 0)
                return NULL;
        if (normalized_manifest_to_json(n, &json, &len) < 0)
                return NULL;
        return json;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_manifest_free_ Manifest *m = NULL, *again = NULL;
        _cleanup_error_ KpError err = KP_ERROR_INIT, err2 = KP_ERROR_INIT;
        _cleanup_free_ char *text = NULL, *json = NULL, *json2 = NULL;
        size_t len = 0;

        if (manifest_parse((const char *) data, size, "fuzz.toml", &m, &err) < 0) {
                if (!err.message)
                        abort();
                return 0;
        }
        json = canonical(m);
        if (manifest_to_toml(m, &text, &len) < 0)
                return 0;
        if (manifest_parse(text, len, "written.toml", &again, &err2) < 0)
                abort();
        json2 = canonical(again);
        if ((json == NULL) != (json2 == NULL))
                abort();
        if (json && strcmp(json, json2) != 0)
                abort();
        return 0;
}
