/* SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/fs-util.h"
#include "schema/toml-schema.h"

int schema_error(const SchemaReader *s, unsigned line, unsigned column, const char *fmt, ...) {
        _cleanup_free_ char *detail = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&detail, fmt, ap);
        va_end(ap);
        if (r < 0)
                return kp_error_set_kind(s->err, s->kind, -ENOMEM, "%s: out of memory", s->prefix);

        if (line > 0)
                return kp_error_set_kind(s->err, s->kind, -EINVAL, "%s: %s:%u:%u: %s", s->prefix, s->path,
                                         line, column, detail);
        return kp_error_set_kind(s->err, s->kind, -EINVAL, "%s: %s: %s", s->prefix, s->path, detail);
}

static const char *type_with_article(TomlType type) {
        switch (type) {
        case TOML_STRING:
                return "a string";
        case TOML_INTEGER:
                return "an integer";
        case TOML_FLOAT:
                return "a float";
        case TOML_BOOLEAN:
                return "a boolean";
        case TOML_OFFSET_DATETIME:
        case TOML_LOCAL_DATETIME:
        case TOML_LOCAL_DATE:
        case TOML_LOCAL_TIME:
                return "a date-time";
        case TOML_ARRAY:
                return "an array";
        case TOML_TABLE:
                return "a table";
        }
        return "a value";
}

static int type_error(const SchemaReader *s, const TomlValue *v, const char *name, TomlType expected) {
        return schema_error(s, toml_value_line(v), toml_value_column(v), "'%s' must be %s, found %s", name,
                            type_with_article(expected), toml_type_to_string(toml_value_type(v)));
}

static bool key_is_valid(const char *key, const char *const *valid_keys) {
        for (const char *const *k = valid_keys; *k; k++)
                if (streq(*k, key))
                        return true;
        return false;
}

static char *valid_keys_join(const char *const *valid_keys) {
        size_t len = 1;
        char *joined, *p;

        for (const char *const *k = valid_keys; *k; k++)
                len += strlen(*k) + 2;

        joined = malloc(len);
        if (!joined)
                return NULL;

        p = joined;
        for (const char *const *k = valid_keys; *k; k++)
                p = stpcpy(stpcpy(p, k == valid_keys ? "" : ", "), *k);
        *p = '\0';
        return joined;
}

int schema_check_keys(const SchemaReader *s, const TomlValue *table, const char *table_name,
                      const char *const *valid_keys) {
        size_t n = toml_table_size(table);

        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *valid = NULL;
                const char *key = toml_table_key(table, i);
                unsigned line = toml_table_key_line(table, i), column = toml_table_key_column(table, i);

                if (key_is_valid(key, valid_keys))
                        continue;

                valid = valid_keys_join(valid_keys);
                if (!valid)
                        return kp_error_set_kind(s->err, s->kind, -ENOMEM, "%s: out of memory", s->prefix);
                if (table_name)
                        return schema_error(s, line, column, "unknown key '%s' in [%s]; valid keys: %s", key,
                                            table_name, valid);
                return schema_error(s, line, column, "unknown top-level key '%s'; valid keys: %s", key, valid);
        }
        return 0;
}

int schema_get(const SchemaReader *s, const TomlValue *table, const char *key, const char *name,
               TomlType type, bool required, const TomlValue **ret) {
        const TomlValue *v;

        v = toml_table_get(table, key);
        if (!v) {
                if (required)
                        return schema_error(s, 0, 0, "missing required key '%s'", name);
                return 0;
        }

        if (toml_value_type(v) != type)
                return type_error(s, v, name, type);

        *ret = v;
        return 1;
}

int schema_string_copy(const SchemaReader *s, const TomlValue *value, const char *name, char **ret) {
        const char *text;
        size_t len = 0;
        char *copy;

        if (toml_value_type(value) != TOML_STRING)
                return type_error(s, value, name, TOML_STRING);

        text = toml_value_string(value, &len);
        if (memchr(text, '\0', len))
                return schema_error(s, toml_value_line(value), toml_value_column(value),
                                    "'%s' must not contain NUL characters", name);

        copy = strndup(text, len);
        if (!copy)
                return kp_error_set_kind(s->err, s->kind, -ENOMEM, "%s: out of memory", s->prefix);

        *ret = copy;
        return 0;
}

int schema_get_string(const SchemaReader *s, const TomlValue *table, const char *key, const char *name,
                      bool required, char **ret) {
        const TomlValue *v = NULL;
        int r;

        r = schema_get(s, table, key, name, TOML_STRING, required, &v);
        if (r <= 0)
                return r;

        return schema_string_copy(s, v, name, ret);
}

int schema_get_bool(const SchemaReader *s, const TomlValue *table, const char *key, const char *name,
                    bool required, bool *ret) {
        const TomlValue *v = NULL;
        int r;

        r = schema_get(s, table, key, name, TOML_BOOLEAN, required, &v);
        if (r <= 0)
                return r;

        *ret = toml_value_boolean(v);
        return 0;
}

int schema_get_unsigned(const SchemaReader *s, const TomlValue *table, const char *key,
                        const char *name, uint64_t max, bool required, uint64_t *ret) {
        const TomlValue *v = NULL;
        int64_t i;
        int r;

        r = schema_get(s, table, key, name, TOML_INTEGER, required, &v);
        if (r <= 0)
                return r;

        i = toml_value_integer(v);
        if (i < 0 || (uint64_t) i > max)
                return schema_error(s, toml_value_line(v), toml_value_column(v),
                                    "'%s' is out of range: %" PRId64 " (expected 0 to %" PRIu64 ")", name, i,
                                    max);

        *ret = (uint64_t) i;
        return 1;
}

int schema_get_string_array(const SchemaReader *s, const TomlValue *table, const char *key,
                            const char *name, bool required, char ***ret, size_t *ret_count) {
        _cleanup_strv_free_ char **strings = NULL;
        const TomlValue *array = NULL;
        size_t n = 0, size;
        int r;

        r = schema_get(s, table, key, name, TOML_ARRAY, required, &array);
        if (r <= 0)
                return r;

        size = toml_array_size(array);
        for (size_t i = 0; i < size; i++) {
                _cleanup_free_ char *element_name = NULL;
                char *copy = NULL;

                if (asprintf(&element_name, "%s[%zu]", name, i) < 0)
                        return kp_error_set_kind(s->err, s->kind, -ENOMEM, "%s: out of memory", s->prefix);

                r = schema_string_copy(s, toml_array_get(array, i), element_name, &copy);
                if (r < 0)
                        return r;

                r = kp_strv_push(&strings, &n, copy);
                if (r < 0)
                        return kp_error_set_kind(s->err, s->kind, r, "%s: out of memory", s->prefix);
        }

        *ret = TAKE_PTR(strings);
        *ret_count = n;
        return 0;
}

int schema_table_set(TomlValue *table, const char *key, TomlValue *value) {
        if (!value)
                return -ENOMEM;
        return toml_table_set(table, key, value);
}

int schema_table_set_string(TomlValue *table, const char *key, const char *value) {
        return schema_table_set(table, key, toml_string_new(value));
}

int schema_table_set_bool(TomlValue *table, const char *key, bool value) {
        return schema_table_set(table, key, toml_boolean_new(value));
}

int schema_table_set_unsigned(TomlValue *table, const char *key, uint64_t value) {
        if (value > INT64_MAX)
                return -ERANGE;
        return schema_table_set(table, key, toml_integer_new((int64_t) value));
}

int schema_table_set_strings(TomlValue *table, const char *key, char *const *strings, size_t n) {
        _cleanup_schema_toml_ TomlValue *array = NULL;
        int r;

        array = toml_array_new();
        if (!array)
                return -ENOMEM;

        for (size_t i = 0; i < n; i++) {
                TomlValue *element = toml_string_new(strings[i]);

                if (!element)
                        return -ENOMEM;

                r = toml_array_append(array, element);
                if (r < 0)
                        return r;
        }

        return toml_table_set(table, key, TAKE_PTR(array));
}

int schema_table_add_table(TomlValue *parent, const char *key, TomlValue **ret) {
        TomlValue *table;
        int r;

        table = toml_table_new();
        if (!table)
                return -ENOMEM;

        r = toml_table_set(parent, key, table);
        if (r < 0)
                return r;

        *ret = table;
        return 0;
}
