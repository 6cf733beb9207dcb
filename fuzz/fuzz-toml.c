/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the TOML parser and writer. Every input that parses
 * must survive a write: the written text must parse again, give an equal
 * tree, and write back to the same text.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/macro.h"
#include "toml/toml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *problem, const char *text) {
        fprintf(stderr, "fuzz-toml: %s\n--- written text:\n%s\n---\n", problem, text ? text : "(none)");
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(toml_value_freep) TomlValue *first = NULL, *second = NULL;
        _cleanup_free_ char *text = NULL, *text2 = NULL;
        TomlParseError err;
        size_t len = 0;

        if (toml_parse((const char *) data, size, &first, &err) < 0)
                return 0;

        if (toml_write(first, &text, &len) < 0)
                fail("toml_write() failed on a parsed tree", NULL);
        if (strlen(text) != len)
                fail("toml_write() returned a wrong length", text);

        if (toml_parse(text, len, &second, &err) < 0) {
                fprintf(stderr, "fuzz-toml: written text does not parse: line %u, column %u: %s\n",
                        err.line, err.column, err.message);
                fail("re-parse failed", text);
        }
        if (!toml_value_equal(first, second))
                fail("re-parsed tree differs from the original", text);

        if (toml_write(second, &text2, NULL) < 0)
                fail("toml_write() failed on the re-parsed tree", text);
        if (strcmp(text, text2) != 0)
                fail("writing the re-parsed tree gave different text", text2);

        return 0;
}
