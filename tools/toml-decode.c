/* SPDX-License-Identifier: MIT */
/*
 * toml-decode: read TOML on stdin and print it on stdout in the "tagged JSON"
 * form of the toml-test suite: tables become objects, arrays become arrays,
 * and every scalar becomes {"type": "<type>", "value": "<text>"} with type one
 * of string, integer, float, bool, datetime, datetime-local, date-local or
 * time-local. Invalid input exits 1 with "line L, column C: message" on stderr.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/fs-util.h"
#include "basic/json-util.h"
#include "basic/macro.h"
#include "toml/toml.h"

/* Refuse input above this size: the tool is meant for test documents. */
#define INPUT_MAX (64u * 1024 * 1024)

static json_t *tagged_scalar(const char *type, const char *value, size_t len) {
        return json_pack("{s:s, s:s%}", "type", type, "value", value, len);
}

static const char *datetime_tag(TomlType type) {
        switch (type) {
        case TOML_OFFSET_DATETIME:
                return "datetime";
        case TOML_LOCAL_DATETIME:
                return "datetime-local";
        case TOML_LOCAL_DATE:
                return "date-local";
        default:
                return "time-local";
        }
}

static json_t *float_to_json(double d) {
        char buf[64];

        if (isnan(d))
                return tagged_scalar("float", "nan", 3);
        if (isinf(d))
                return tagged_scalar("float", d < 0 ? "-inf" : "inf", d < 0 ? 4 : 3);

        /* toml-test compares floats numerically, so 17 digits suffice. */
        snprintf(buf, sizeof(buf), "%.17g", d);
        return tagged_scalar("float", buf, strlen(buf));
}

static json_t *value_to_json(const TomlValue *v);

static json_t *table_to_json(const TomlValue *table) {
        _cleanup_json_ json_t *object = json_object();

        if (!object)
                return NULL;
        for (size_t i = 0; i < toml_table_size(table); i++) {
                size_t key_len = 0;
                const char *key = toml_table_key_bytes(table, i, &key_len);
                json_t *member = value_to_json(toml_table_value(table, i));

                if (!member || json_object_setn_new(object, key, key_len, member) < 0)
                        return NULL;
        }
        return TAKE_PTR(object);
}

static json_t *array_to_json(const TomlValue *array) {
        _cleanup_json_ json_t *list = json_array();

        if (!list)
                return NULL;
        for (size_t i = 0; i < toml_array_size(array); i++) {
                json_t *item = value_to_json(toml_array_get(array, i));

                if (!item || json_array_append_new(list, item) < 0)
                        return NULL;
        }
        return TAKE_PTR(list);
}

static json_t *value_to_json(const TomlValue *v) {
        char buf[32];
        const char *s;
        size_t len = 0;

        switch (toml_value_type(v)) {
        case TOML_STRING:
                s = toml_value_string(v, &len);
                return tagged_scalar("string", s, len);
        case TOML_INTEGER:
                snprintf(buf, sizeof(buf), "%" PRId64, toml_value_integer(v));
                return tagged_scalar("integer", buf, strlen(buf));
        case TOML_FLOAT:
                return float_to_json(toml_value_float(v));
        case TOML_BOOLEAN:
                s = toml_value_boolean(v) ? "true" : "false";
                return tagged_scalar("bool", s, strlen(s));
        case TOML_OFFSET_DATETIME:
        case TOML_LOCAL_DATETIME:
        case TOML_LOCAL_DATE:
        case TOML_LOCAL_TIME:
                s = toml_value_datetime(v);
                return tagged_scalar(datetime_tag(toml_value_type(v)), s, strlen(s));
        case TOML_ARRAY:
                return array_to_json(v);
        case TOML_TABLE:
                return table_to_json(v);
        }
        return NULL;
}

int main(int argc, char *argv[]) {
        _cleanup_(toml_value_freep) TomlValue *root = NULL;
        _cleanup_json_ json_t *json = NULL;
        _cleanup_free_ char *data = NULL;
        TomlParseError err;
        size_t len = 0;
        int r;

        if (argc > 1) {
                fprintf(stderr, "usage: %s < file.toml\n", argv[0]);
                return 2;
        }

        r = kp_read_fd(STDIN_FILENO, INPUT_MAX, &data, &len);
        if (r < 0) {
                fprintf(stderr, "toml-decode: failed to read standard input: %s\n", strerror(-r));
                return 2;
        }

        r = toml_parse(data, len, &root, &err);
        if (r < 0) {
                fprintf(stderr, "toml-decode: line %u, column %u: %s\n", err.line, err.column, err.message);
                return 1;
        }

        json = value_to_json(root);
        if (!json || json_dumpf(json, stdout, JSON_INDENT(2)) < 0 || fputc('\n', stdout) == EOF) {
                fprintf(stderr, "toml-decode: failed to write JSON\n");
                return 2;
        }
        return fflush(stdout) == 0 ? 0 : 2;
}
