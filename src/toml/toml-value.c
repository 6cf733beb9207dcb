/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "basic/macro.h"
#include "toml/toml-internal.h"

/* Tables with fewer entries are searched linearly. */
#define TABLE_INDEX_MIN 8

static const char *const type_names[] = {
        [TOML_STRING] = "string",
        [TOML_INTEGER] = "integer",
        [TOML_FLOAT] = "float",
        [TOML_BOOLEAN] = "boolean",
        [TOML_OFFSET_DATETIME] = "offset date-time",
        [TOML_LOCAL_DATETIME] = "local date-time",
        [TOML_LOCAL_DATE] = "local date",
        [TOML_LOCAL_TIME] = "local time",
        [TOML_ARRAY] = "array",
        [TOML_TABLE] = "table",
};

const char *toml_type_to_string(TomlType type) {
        if ((size_t) type >= ELEMENTSOF(type_names))
                return NULL;
        return type_names[type];
}

static bool type_is_datetime(TomlType type) {
        return type == TOML_OFFSET_DATETIME || type == TOML_LOCAL_DATETIME ||
                type == TOML_LOCAL_DATE || type == TOML_LOCAL_TIME;
}

TomlValue *toml_value_new(TomlType type) {
        TomlValue *v = calloc(1, sizeof(TomlValue));

        if (!v)
                return NULL;
        v->type = type;
        return v;
}

void toml_value_free(TomlValue *v) {
        if (!v)
                return;

        switch (v->type) {
        case TOML_STRING:
        case TOML_OFFSET_DATETIME:
        case TOML_LOCAL_DATETIME:
        case TOML_LOCAL_DATE:
        case TOML_LOCAL_TIME:
                free(v->string.data);
                break;
        case TOML_ARRAY:
                for (size_t i = 0; i < v->array.n; i++)
                        toml_value_free(v->array.items[i]);
                free(v->array.items);
                break;
        case TOML_TABLE:
                for (size_t i = 0; i < v->table.n; i++) {
                        free(v->table.entries[i].key);
                        toml_value_free(v->table.entries[i].value);
                }
                free(v->table.entries);
                free(v->table.slots);
                break;
        case TOML_INTEGER:
        case TOML_FLOAT:
        case TOML_BOOLEAN:
                break;
        }
        free(v);
}

TomlType toml_value_type(const TomlValue *v) {
        return v->type;
}

unsigned toml_value_line(const TomlValue *v) {
        return v ? v->line : 0;
}

unsigned toml_value_column(const TomlValue *v) {
        return v ? v->column : 0;
}

const char *toml_value_string(const TomlValue *v, size_t *ret_len) {
        if (!v || v->type != TOML_STRING)
                return NULL;
        if (ret_len)
                *ret_len = v->string.len;
        return v->string.data;
}

int64_t toml_value_integer(const TomlValue *v) {
        return v && v->type == TOML_INTEGER ? v->integer : 0;
}

double toml_value_float(const TomlValue *v) {
        return v && v->type == TOML_FLOAT ? v->fp : 0.0;
}

bool toml_value_boolean(const TomlValue *v) {
        return v && v->type == TOML_BOOLEAN ? v->boolean : false;
}

const char *toml_value_datetime(const TomlValue *v) {
        if (!v || !type_is_datetime(v->type))
                return NULL;
        return v->string.data;
}

size_t toml_array_size(const TomlValue *array) {
        return array && array->type == TOML_ARRAY ? array->array.n : 0;
}

TomlValue *toml_array_get(const TomlValue *array, size_t index) {
        if (!array || array->type != TOML_ARRAY || index >= array->array.n)
                return NULL;
        return array->array.items[index];
}

static const TomlEntry *table_entry(const TomlValue *table, size_t index) {
        if (!table || table->type != TOML_TABLE || index >= table->table.n)
                return NULL;
        return &table->table.entries[index];
}

size_t toml_table_size(const TomlValue *table) {
        return table && table->type == TOML_TABLE ? table->table.n : 0;
}

const char *toml_table_key(const TomlValue *table, size_t index) {
        const TomlEntry *e = table_entry(table, index);

        return e ? e->key : NULL;
}

const char *toml_table_key_bytes(const TomlValue *table, size_t index, size_t *ret_len) {
        const TomlEntry *e = table_entry(table, index);

        if (!e)
                return NULL;
        if (ret_len)
                *ret_len = e->key_len;
        return e->key;
}

TomlValue *toml_table_value(const TomlValue *table, size_t index) {
        const TomlEntry *e = table_entry(table, index);

        return e ? e->value : NULL;
}

unsigned toml_table_key_line(const TomlValue *table, size_t index) {
        const TomlEntry *e = table_entry(table, index);

        return e ? e->line : 0;
}

unsigned toml_table_key_column(const TomlValue *table, size_t index) {
        const TomlEntry *e = table_entry(table, index);

        return e ? e->column : 0;
}

/* FNV-1a over the key bytes. */
static size_t key_hash(const char *key, size_t len) {
        uint64_t h = UINT64_C(14695981039346656037);

        for (size_t i = 0; i < len; i++) {
                h ^= (unsigned char) key[i];
                h *= UINT64_C(1099511628211);
        }
        return (size_t) h;
}

static bool entry_matches(const TomlEntry *e, const char *key, size_t len) {
        return e->key_len == len && memcmp(e->key, key, len) == 0;
}

static void index_insert(TomlValue *table, size_t entry_index) {
        const TomlEntry *e = &table->table.entries[entry_index];
        size_t mask = table->table.n_slots - 1;
        size_t i = key_hash(e->key, e->key_len) & mask;

        while (table->table.slots[i] != 0)
                i = (i + 1) & mask;
        table->table.slots[i] = entry_index + 1;
}

/* Keep the index at most half full; returns -ENOMEM if it cannot grow. */
static int index_reserve(TomlValue *table, size_t n_entries) {
        size_t n_slots = table->table.n_slots ? table->table.n_slots : 16;
        size_t *slots;

        if (n_entries < TABLE_INDEX_MIN)
                return 0;
        while (n_slots < n_entries * 2)
                n_slots *= 2;
        if (n_slots == table->table.n_slots)
                return 0;

        slots = calloc(n_slots, sizeof(size_t));
        if (!slots)
                return -ENOMEM;
        free(table->table.slots);
        table->table.slots = slots;
        table->table.n_slots = n_slots;
        for (size_t i = 0; i < table->table.n; i++)
                index_insert(table, i);
        return 0;
}

long toml_table_find_internal(const TomlValue *table, const char *key, size_t len) {
        size_t mask, i;

        if (!table || table->type != TOML_TABLE)
                return -1;

        if (!table->table.slots) {
                for (size_t j = 0; j < table->table.n; j++)
                        if (entry_matches(&table->table.entries[j], key, len))
                                return (long) j;
                return -1;
        }

        mask = table->table.n_slots - 1;
        for (i = key_hash(key, len) & mask; table->table.slots[i] != 0; i = (i + 1) & mask) {
                size_t j = table->table.slots[i] - 1;

                if (entry_matches(&table->table.entries[j], key, len))
                        return (long) j;
        }
        return -1;
}

long toml_table_find(const TomlValue *table, const char *key) {
        return toml_table_find_internal(table, key, strlen(key));
}

TomlValue *toml_table_get(const TomlValue *table, const char *key) {
        long i = toml_table_find(table, key);

        return i < 0 ? NULL : table->table.entries[i].value;
}

int toml_table_append_internal(TomlValue *table, const char *key, size_t len, TomlValue *value,
                               unsigned line, unsigned column) {
        TomlEntry *e;
        char *copy;
        int r;

        if (table->table.n == table->table.allocated) {
                size_t n = table->table.allocated ? table->table.allocated * 2 : 4;
                TomlEntry *entries = reallocarray(table->table.entries, n, sizeof(TomlEntry));

                if (!entries) {
                        toml_value_free(value);
                        return -ENOMEM;
                }
                table->table.entries = entries;
                table->table.allocated = n;
        }

        r = index_reserve(table, table->table.n + 1);
        if (r < 0) {
                toml_value_free(value);
                return r;
        }

        copy = malloc(len + 1);
        if (!copy) {
                toml_value_free(value);
                return -ENOMEM;
        }
        memcpy(copy, key, len);
        copy[len] = '\0';

        e = &table->table.entries[table->table.n];
        *e = (TomlEntry) {
                .key = copy,
                .key_len = len,
                .value = value,
                .line = line,
                .column = column,
        };
        table->table.n++;
        if (table->table.slots)
                index_insert(table, table->table.n - 1);
        return 0;
}

TomlValue *toml_table_new(void) {
        return toml_value_new(TOML_TABLE);
}

TomlValue *toml_array_new(void) {
        return toml_value_new(TOML_ARRAY);
}

TomlValue *toml_string_new_len(const char *s, size_t len) {
        TomlValue *v = toml_value_new(TOML_STRING);

        if (!v)
                return NULL;
        v->string.data = malloc(len + 1);
        if (!v->string.data) {
                free(v);
                return NULL;
        }
        memcpy(v->string.data, s, len);
        v->string.data[len] = '\0';
        v->string.len = len;
        return v;
}

TomlValue *toml_string_new(const char *s) {
        return toml_string_new_len(s, strlen(s));
}

TomlValue *toml_datetime_new_internal(TomlType type, const char *text, size_t len) {
        TomlValue *v = toml_string_new_len(text, len);

        if (v)
                v->type = type;
        return v;
}

TomlValue *toml_integer_new(int64_t i) {
        TomlValue *v = toml_value_new(TOML_INTEGER);

        if (v)
                v->integer = i;
        return v;
}

TomlValue *toml_float_new(double d) {
        TomlValue *v = toml_value_new(TOML_FLOAT);

        if (v)
                v->fp = d;
        return v;
}

TomlValue *toml_boolean_new(bool b) {
        TomlValue *v = toml_value_new(TOML_BOOLEAN);

        if (v)
                v->boolean = b;
        return v;
}

int toml_table_set(TomlValue *table, const char *key, TomlValue *value) {
        size_t len = strlen(key);
        long i;

        if (!value)
                return -ENOMEM;
        if (!table || table->type != TOML_TABLE) {
                toml_value_free(value);
                return -EINVAL;
        }

        i = toml_table_find_internal(table, key, len);
        if (i >= 0) {
                toml_value_free(table->table.entries[i].value);
                table->table.entries[i].value = value;
                return 0;
        }
        return toml_table_append_internal(table, key, len, value, 0, 0);
}

int toml_array_append(TomlValue *array, TomlValue *value) {
        if (!value)
                return -ENOMEM;
        if (!array || array->type != TOML_ARRAY) {
                toml_value_free(value);
                return -EINVAL;
        }

        if (array->array.n == array->array.allocated) {
                size_t n = array->array.allocated ? array->array.allocated * 2 : 4;
                TomlValue **items = reallocarray(array->array.items, n, sizeof(TomlValue *));

                if (!items) {
                        toml_value_free(value);
                        return -ENOMEM;
                }
                array->array.items = items;
                array->array.allocated = n;
        }
        array->array.items[array->array.n++] = value;
        return 0;
}

static bool float_equal(double a, double b) {
        if (isnan(a) || isnan(b))
                return isnan(a) && isnan(b);
        return a == b && signbit(a) == signbit(b);
}

static bool table_equal(const TomlValue *a, const TomlValue *b) {
        if (a->table.n != b->table.n)
                return false;

        for (size_t i = 0; i < a->table.n; i++) {
                const TomlEntry *e = &a->table.entries[i];
                long j = toml_table_find_internal(b, e->key, e->key_len);

                if (j < 0 || !toml_value_equal(e->value, b->table.entries[j].value))
                        return false;
        }
        return true;
}

bool toml_value_equal(const TomlValue *a, const TomlValue *b) {
        if (!a || !b)
                return a == b;
        if (a->type != b->type)
                return false;

        switch (a->type) {
        case TOML_STRING:
        case TOML_OFFSET_DATETIME:
        case TOML_LOCAL_DATETIME:
        case TOML_LOCAL_DATE:
        case TOML_LOCAL_TIME:
                return a->string.len == b->string.len &&
                        memcmp(a->string.data, b->string.data, a->string.len) == 0;
        case TOML_INTEGER:
                return a->integer == b->integer;
        case TOML_FLOAT:
                return float_equal(a->fp, b->fp);
        case TOML_BOOLEAN:
                return a->boolean == b->boolean;
        case TOML_ARRAY:
                if (a->array.n != b->array.n)
                        return false;
                for (size_t i = 0; i < a->array.n; i++)
                        if (!toml_value_equal(a->array.items[i], b->array.items[i]))
                                return false;
                return true;
        case TOML_TABLE:
                return table_equal(a, b);
        }
        return false;
}

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void c_locale_init(void) {
        c_locale = newlocale(LC_ALL_MASK, "C", (locale_t) 0);
}

locale_t toml_c_locale(void) {
        (void) pthread_once(&c_locale_once, c_locale_init);
        return c_locale;
}
