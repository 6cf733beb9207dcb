/* SPDX-License-Identifier: MIT */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "basic/macro.h"
#include "toml/toml.h"

#define _cleanup_toml_ _cleanup_(toml_value_freep)

static TomlValue *parse_ok(const char *text) {
        TomlParseError err;
        TomlValue *root = NULL;
        int r;

        r = toml_parse(text, strlen(text), &root, &err);
        if (r < 0)
                fail_msg("parse failed at %u:%u: %s\n--- input:\n%s", err.line, err.column, err.message, text);
        assert_non_null(root);
        return root;
}

typedef struct ErrorCase {
        const char *input;
        unsigned line;
        unsigned column;
        const char *message;    /* expected substring */
} ErrorCase;

static void expect_error_len(const char *input, size_t len, unsigned line, unsigned column, const char *message) {
        TomlParseError err;
        TomlValue *root = NULL;
        int r;

        r = toml_parse(input, len, &root, &err);
        if (r != -EINVAL)
                fail_msg("expected -EINVAL, got %d for input:\n%s", r, input);
        assert_null(root);
        if (err.line != line || err.column != column || !strstr(err.message, message))
                fail_msg("input:\n%s\nexpected %u:%u '%s'\n     got %u:%u '%s'", input, line, column, message,
                         err.line, err.column, err.message);
}

static void expect_error(const char *input, unsigned line, unsigned column, const char *message) {
        expect_error_len(input, strlen(input), line, column, message);
}

/* ---- scalars and accessors ---- */

static void test_parse_scalar_types(void **state) {
        _cleanup_toml_ TomlValue *root = parse_ok(
                "s = \"text\"\n"
                "i = -42\n"
                "f = 2.5\n"
                "b = true\n"
                "odt = 1979-05-27T07:32:00-07:00\n"
                "ldt = 1979-05-27T07:32:00.999\n"
                "ld = 1979-05-27\n"
                "lt = 07:32:00\n");
        size_t len = 0;

        assert_int_equal(toml_value_type(root), TOML_TABLE);
        assert_int_equal(toml_table_size(root), 8);

        assert_string_equal(toml_value_string(toml_table_get(root, "s"), &len), "text");
        assert_int_equal(len, 4);
        assert_int_equal(toml_value_integer(toml_table_get(root, "i")), -42);
        assert_true(toml_value_float(toml_table_get(root, "f")) == 2.5);
        assert_true(toml_value_boolean(toml_table_get(root, "b")));

        assert_int_equal(toml_value_type(toml_table_get(root, "odt")), TOML_OFFSET_DATETIME);
        assert_string_equal(toml_value_datetime(toml_table_get(root, "odt")), "1979-05-27T07:32:00-07:00");
        assert_int_equal(toml_value_type(toml_table_get(root, "ldt")), TOML_LOCAL_DATETIME);
        assert_string_equal(toml_value_datetime(toml_table_get(root, "ldt")), "1979-05-27T07:32:00.999");
        assert_int_equal(toml_value_type(toml_table_get(root, "ld")), TOML_LOCAL_DATE);
        assert_string_equal(toml_value_datetime(toml_table_get(root, "ld")), "1979-05-27");
        assert_int_equal(toml_value_type(toml_table_get(root, "lt")), TOML_LOCAL_TIME);
        assert_string_equal(toml_value_datetime(toml_table_get(root, "lt")), "07:32:00");
}

static void test_accessors_wrong_type(void **state) {
        _cleanup_toml_ TomlValue *root = parse_ok("s = \"x\"\ni = 7\na = [1]\n");
        TomlValue *s = toml_table_get(root, "s"), *i = toml_table_get(root, "i");

        assert_int_equal(toml_value_integer(s), 0);
        assert_true(toml_value_float(i) == 0.0);
        assert_false(toml_value_boolean(i));
        assert_null(toml_value_string(i, NULL));
        assert_null(toml_value_datetime(s));
        assert_int_equal(toml_array_size(s), 0);
        assert_null(toml_array_get(s, 0));
        assert_null(toml_array_get(toml_table_get(root, "a"), 1));
        assert_int_equal(toml_table_size(i), 0);
        assert_null(toml_table_get(i, "x"));
        assert_null(toml_table_get(root, "missing"));
        assert_int_equal(toml_table_find(root, "missing"), -1);
        assert_int_equal(toml_table_find(root, "i"), 1);
        assert_null(toml_table_key(root, 3));
        assert_int_equal(toml_table_key_line(root, 3), 0);
}

static void test_type_names(void **state) {
        assert_string_equal(toml_type_to_string(TOML_STRING), "string");
        assert_string_equal(toml_type_to_string(TOML_INTEGER), "integer");
        assert_string_equal(toml_type_to_string(TOML_BOOLEAN), "boolean");
        assert_string_equal(toml_type_to_string(TOML_TABLE), "table");
        assert_string_equal(toml_type_to_string(TOML_ARRAY), "array");
        assert_string_equal(toml_type_to_string(TOML_LOCAL_DATE), "local date");
}

static void test_parse_strings(void **state) {
        _cleanup_toml_ TomlValue *root = parse_ok(
                "esc = \"q\\\" b\\\\ \\b\\t\\n\\f\\r \\u00e9 \\U0001F600\"\n"
                "lit = 'C:\\path\\n'\n"
                "ml = \"\"\"\nline1\nline2\\\n     still line2\"\"\"\n"
                "ml_quotes = \"\"\"two \"\" and one \"\"\"\"\n"
                "mll = '''\nraw \\n ''x'' '''\n"
                "mll_end = '''ends with two quotes'''''\n"
                "nul = \"a\\u0000b\"\n"
                "crlf = \"\"\"a\r\nb\"\"\"\n");
        size_t len = 0;
        const char *s;

        assert_string_equal(toml_value_string(toml_table_get(root, "esc"), NULL),
                            "q\" b\\ \b\t\n\f\r \xc3\xa9 \xf0\x9f\x98\x80");
        assert_string_equal(toml_value_string(toml_table_get(root, "lit"), NULL), "C:\\path\\n");
        assert_string_equal(toml_value_string(toml_table_get(root, "ml"), NULL), "line1\nline2still line2");
        assert_string_equal(toml_value_string(toml_table_get(root, "ml_quotes"), NULL), "two \"\" and one \"");
        assert_string_equal(toml_value_string(toml_table_get(root, "mll"), NULL), "raw \\n ''x'' ");
        assert_string_equal(toml_value_string(toml_table_get(root, "mll_end"), NULL), "ends with two quotes''");

        s = toml_value_string(toml_table_get(root, "nul"), &len);
        assert_int_equal(len, 3);
        assert_memory_equal(s, "a\0b", 3);

        /* CRLF inside a multi-line string is stored as LF. */
        assert_string_equal(toml_value_string(toml_table_get(root, "crlf"), NULL), "a\nb");
}

static void test_parse_integers(void **state) {
        _cleanup_toml_ TomlValue *root = parse_ok(
                "a = 1_000_000\n"
                "b = +17\n"
                "c = 0xDEAD_beef\n"
                "d = 0o755\n"
                "e = 0b1101\n"
                "max = 9223372036854775807\n"
                "min = -9223372036854775808\n"
                "zero = -0\n");

        assert_int_equal(toml_value_integer(toml_table_get(root, "a")), 1000000);
        assert_int_equal(toml_value_integer(toml_table_get(root, "b")), 17);
        assert_int_equal(toml_value_integer(toml_table_get(root, "c")), 0xDEADBEEF);
        assert_int_equal(toml_value_integer(toml_table_get(root, "d")), 0755);
        assert_int_equal(toml_value_integer(toml_table_get(root, "e")), 13);
        assert_true(toml_value_integer(toml_table_get(root, "max")) == INT64_MAX);
        assert_true(toml_value_integer(toml_table_get(root, "min")) == INT64_MIN);
        assert_int_equal(toml_value_integer(toml_table_get(root, "zero")), 0);
}

static void test_parse_floats(void **state) {
        _cleanup_toml_ TomlValue *root = parse_ok(
                "a = 6.626e-34\n"
                "b = 1e1_0\n"
                "c = -0.0\n"
                "d = inf\n"
                "e = -inf\n"
                "f = nan\n"
                "g = 224_617.445_991\n");

        assert_true(toml_value_float(toml_table_get(root, "a")) == 6.626e-34);
        assert_true(toml_value_float(toml_table_get(root, "b")) == 1e10);
        assert_true(toml_value_float(toml_table_get(root, "c")) == 0.0);
        assert_true(signbit(toml_value_float(toml_table_get(root, "c"))));
        assert_true(isinf(toml_value_float(toml_table_get(root, "d"))));
        assert_true(toml_value_float(toml_table_get(root, "e")) < 0);
        assert_true(isnan(toml_value_float(toml_table_get(root, "f"))));
        assert_true(toml_value_float(toml_table_get(root, "g")) == 224617.445991);
}

static void test_parse_datetimes_normalized(void **state) {
        _cleanup_toml_ TomlValue *root = parse_ok(
                "space = 1987-07-05 17:45:00z\n"
                "lower = 1987-07-05t17:45:00.5+13:00\n"
                "leap = 2000-02-29\n"
                "leap_second = 1990-12-31T23:59:60Z\n");

        assert_string_equal(toml_value_datetime(toml_table_get(root, "space")), "1987-07-05T17:45:00Z");
        assert_string_equal(toml_value_datetime(toml_table_get(root, "lower")), "1987-07-05T17:45:00.5+13:00");
        assert_string_equal(toml_value_datetime(toml_table_get(root, "leap")), "2000-02-29");
        assert_string_equal(toml_value_datetime(toml_table_get(root, "leap_second")), "1990-12-31T23:59:60Z");
}

/* ---- structure ---- */

static void test_parse_tables_and_arrays(void **state) {
        _cleanup_toml_ TomlValue *root = parse_ok(
                "title = \"x\"\n"
                "[server.http]\n"
                "port = 80\n"
                "[server]\n"
                "name = \"main\"\n"
                "[[pkg]]\n"
                "name = \"a\"\n"
                "[pkg.meta]\n"
                "k = 1\n"
                "[[pkg]]\n"
                "name = \"b\"\n"
                "[inline]\n"
                "point = { x = 1, y.z = 2 }\n"
                "mixed = [1, \"two\", [3], { four = 4 }]\n");
        TomlValue *server, *pkg, *point, *mixed;

        assert_int_equal(toml_table_size(root), 4);
        assert_string_equal(toml_table_key(root, 0), "title");
        assert_string_equal(toml_table_key(root, 1), "server");
        assert_string_equal(toml_table_key(root, 2), "pkg");
        assert_string_equal(toml_table_key(root, 3), "inline");

        server = toml_table_get(root, "server");
        assert_int_equal(toml_value_integer(toml_table_get(toml_table_get(server, "http"), "port")), 80);
        assert_string_equal(toml_value_string(toml_table_get(server, "name"), NULL), "main");

        pkg = toml_table_get(root, "pkg");
        assert_int_equal(toml_value_type(pkg), TOML_ARRAY);
        assert_int_equal(toml_array_size(pkg), 2);
        assert_int_equal(toml_value_integer(toml_table_get(toml_table_get(toml_array_get(pkg, 0), "meta"), "k")), 1);
        assert_string_equal(toml_value_string(toml_table_get(toml_array_get(pkg, 1), "name"), NULL), "b");
        assert_null(toml_table_get(toml_array_get(pkg, 1), "meta"));

        point = toml_table_get(toml_table_get(root, "inline"), "point");
        assert_int_equal(toml_value_integer(toml_table_get(toml_table_get(point, "y"), "z")), 2);

        mixed = toml_table_get(toml_table_get(root, "inline"), "mixed");
        assert_int_equal(toml_array_size(mixed), 4);
        assert_int_equal(toml_value_type(toml_array_get(mixed, 1)), TOML_STRING);
        assert_int_equal(toml_value_type(toml_array_get(mixed, 2)), TOML_ARRAY);
        assert_int_equal(toml_value_type(toml_array_get(mixed, 3)), TOML_TABLE);
}

static void test_parse_valid_redefinitions(void **state) {
        /* Each of these is valid TOML 1.0 even though it touches a table twice. */
        static const char *const inputs[] = {
                "[a.b]\nx = 1\n[a]\ny = 2\n",                   /* super-table after sub-table */
                "[fruit]\napple.color = 'red'\n[fruit.apple.texture]\nsmooth = true\n",
                "a.b.c = 1\na.b.d = 2\na.e = 3\n",              /* dotted keys extend their own tables */
                "[[a]]\n[a.b]\n[[a]]\n[a.b]\n",                 /* each element gets its own sub-table */
                "[a.b.c]\n[a]\nb.d = 1\n",                       /* implicit table extended by dotted key */
                "x = { a.b = 1, a.c = 2 }\n",
                "\xEF\xBB\xBFkey = 1\n",                        /* byte order mark */
                "a = 1\r\n[t]\r\nb = 2 # comment\r\n",
                "",
        };

        for (size_t i = 0; i < ELEMENTSOF(inputs); i++) {
                _cleanup_toml_ TomlValue *root = parse_ok(inputs[i]);

                assert_int_equal(toml_value_type(root), TOML_TABLE);
        }
}

static void test_key_and_value_locations(void **state) {
        _cleanup_toml_ TomlValue *root = parse_ok(
                "manifest_version = 1\n"
                "\n"
                "[base]\n"
                "  image = \"rolling\"\n"
                "[runtime]\n"
                "\tbackend.x = 'é'  # after\n"
                "\"é\" = 'é'\n"
                "name = [\n"
                "   1,\n"
                "   2 ]\n");
        TomlValue *base, *runtime, *name;

        assert_int_equal(toml_table_key_line(root, 0), 1);
        assert_int_equal(toml_table_key_column(root, 0), 1);
        assert_int_equal(toml_value_line(toml_table_value(root, 0)), 1);
        assert_int_equal(toml_value_column(toml_table_value(root, 0)), 20);

        base = toml_table_get(root, "base");
        assert_int_equal(toml_table_key_line(root, 1), 3);
        assert_int_equal(toml_table_key_column(root, 1), 2);
        assert_int_equal(toml_value_line(base), 3);
        assert_int_equal(toml_value_column(base), 1);
        assert_int_equal(toml_table_key_line(base, 0), 4);
        assert_int_equal(toml_table_key_column(base, 0), 3);
        assert_int_equal(toml_value_column(toml_table_value(base, 0)), 11);

        runtime = toml_table_get(root, "runtime");
        assert_int_equal(toml_table_key_line(runtime, 0), 6);
        assert_int_equal(toml_table_key_column(runtime, 0), 2);
        assert_int_equal(toml_table_key_column(toml_table_get(runtime, "backend"), 0), 10);
        assert_int_equal(toml_value_column(toml_table_get(toml_table_get(runtime, "backend"), "x")), 14);

        /* Columns count characters: 'é' is two bytes but one column. */
        assert_int_equal(toml_table_key_line(runtime, 1), 7);
        assert_int_equal(toml_value_column(toml_table_value(runtime, 1)), 7);

        name = toml_table_get(runtime, "name");
        assert_int_equal(toml_value_line(name), 8);
        assert_int_equal(toml_value_line(toml_array_get(name, 1)), 10);
        assert_int_equal(toml_value_column(toml_array_get(name, 1)), 4);
}

static void test_key_with_nul_byte(void **state) {
        _cleanup_toml_ TomlValue *root = parse_ok("\"a\\u0000b\" = 1\n'a' = 2\n");
        size_t len = 0;
        const char *key = toml_table_key_bytes(root, 0, &len);

        assert_int_equal(toml_table_size(root), 2);
        assert_int_equal(len, 3);
        assert_memory_equal(key, "a\0b", 3);
        /* Lookup by C string stops at the NUL, so it finds only "a". */
        assert_int_equal(toml_table_find(root, "a"), 1);
}

static void test_many_keys_indexed(void **state) {
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        assert_non_null(f);
        for (int i = 0; i < 2000; i++)
                fprintf(f, "key%d = %d\n", i, i);
        assert_int_equal(fclose(f), 0);

        {
                _cleanup_toml_ TomlValue *root = parse_ok(text);
                char key[32];

                assert_int_equal(toml_table_size(root), 2000);
                for (int i = 0; i < 2000; i += 37) {
                        snprintf(key, sizeof(key), "key%d", i);
                        assert_int_equal(toml_table_find(root, key), i);
                        assert_int_equal(toml_value_integer(toml_table_get(root, key)), i);
                }
        }

        /* The duplicate check goes through the index as well. */
        {
                _cleanup_free_ char *dup = NULL;

                assert_true(asprintf(&dup, "%skey1999 = 0\n", text) > 0);
                expect_error(dup, 2001, 1, "duplicate key 'key1999' (first defined at line 2000)");
        }
}

/* ---- errors ---- */

static const ErrorCase error_cases[] = {
        /* syntax */
        { "image \"rolling\"\n", 1, 7, "expected '=' after key 'image', found '\"'" },
        { "a.b c = 1\n", 1, 5, "expected '=' after key 'a.b', found 'c'" },
        { "a =\n", 1, 4, "expected a value after '=' for key 'a', found end of line" },
        { "a = 1 2\n", 1, 7, "expected a newline after the value, found '2'" },
        { "= 1\n", 1, 1, "expected a key, found '='" },
        { "[a\nb = 1\n", 1, 3, "expected ']' to close the table header, found end of line" },
        { "[[a]\n", 1, 4, "expected ']]' to close the array of tables header" },
        { "[a] x\n", 1, 5, "expected a newline after the table header, found 'x'" },
        { "a = [1 2]\n", 1, 8, "expected ',' or ']' after array element, found '2'" },
        { "a = [1,,2]\n", 1, 8, "expected a value or ']' in array, found ','" },
        { "a = { b = 1 c = 2 }\n", 1, 13, "expected ',' or '}' after value in inline table, found 'c'" },
        { "a = { b = 1, }\n", 1, 14, "trailing comma is not allowed in an inline table" },
        { "a = { b = 1,\n c = 2 }\n", 1, 13, "expected a key, found end of line" },
        { "a = { b = 1\n}\n", 1, 12, "expected ',' or '}' after value in inline table, found end of line" },
        { "\"\"\"k\"\"\" = 1\n", 1, 1, "a multi-line string cannot be used as a key" },
        /* redefinitions */
        { "name = 1\n\nname = 2\n", 3, 1, "duplicate key 'name' (first defined at line 1)" },
        { "[a]\nx = 1\n[b]\n[a]\n", 4, 1, "table 'a' is defined twice (first defined at line 1)" },
        { "[a.b]\n[a]\n[a]\n", 3, 1, "table 'a' is defined twice (first defined at line 2)" },
        { "a = { b = 1 }\na.c = 2\n", 2, 1, "cannot add keys to inline table 'a' (defined at line 1)" },
        { "a = { b = 1 }\n[a.c]\n", 2, 2, "cannot define a table under key 'a': it is already an inline table" },
        { "a = {}\n[a]\n", 2, 1, "cannot define table 'a': it is already an inline table (line 1)" },
        { "a = [1]\n[[a]]\n", 2, 1, "cannot define array of tables 'a': it is already an array (line 1)" },
        { "[[a]]\n[a]\n", 2, 1, "cannot define table 'a': it is already an array of tables (line 1)" },
        { "[a]\n[[a]]\n", 2, 1, "cannot define array of tables 'a': it is already a table (line 1)" },
        { "[a.b.c]\nz = 9\n[a]\nb.c.t = 1\n", 4, 3,
          "cannot add keys to table 'b.c' with dotted keys: it is defined by a header at line 1" },
        { "[t]\nx.y = 1\n[t.x]\n", 3, 1,
          "cannot define table 't.x': it is already a table defined by dotted keys (line 2)" },
        { "a = false\na.b = true\n", 2, 1, "cannot use key 'a' as a table: it is already a boolean (line 1)" },
        { "[a]\nb = 1\n[a.b.c]\n", 3, 4, "cannot define a table under key 'a.b': it is already an integer (line 2)" },
        { "x = { a = 1, a = 2 }\n", 1, 14, "duplicate key 'a' (first defined at line 1)" },
        /* strings */
        { "s = \"abc\n", 1, 9, "unterminated string: expected '\"' before the end of the line" },
        { "s = 'abc", 1, 9, "unterminated string: expected \"'\" before the end of the line" },
        { "s = \"\"\"abc\n", 2, 1, "unterminated multi-line string: expected '\"\"\"'" },
        { "s = \"a\\qb\"\n", 1, 7, "invalid escape sequence: '\\' followed by 'q'" },
        { "s = \"\\u12\"\n", 1, 8, "expected 4 hex digits in Unicode escape" },
        { "s = \"\\uD800\"\n", 1, 8, "U+D800 is not a Unicode scalar value" },
        { "s = \"\\U00110000\"\n", 1, 8, "U+110000 is not a Unicode scalar value" },
        { "s = \"a\tb\x01\"\n", 1, 9, "control character U+0001 must be escaped in a string" },
        { "s = '''a''''''\n", 1, 9, "too many quotes at the end of a multi-line string" },
        { "s = \"\"\"a\\  b\"\"\"\n", 1, 9, "a '\\' followed by whitespace must end the line" },
        { "# a\x7f comment\n", 1, 4, "control character U+007F is not allowed in a comment" },
        { "a = 1\rb = 2\n", 1, 6, "carriage return must be followed by a line feed" },
        /* numbers */
        { "n = 9223372036854775808\n", 1, 5, "out of range for a 64-bit signed integer" },
        { "n = -9223372036854775809\n", 1, 5, "out of range for a 64-bit signed integer" },
        { "n = 0x1_0000_0000_0000_0000\n", 1, 5, "out of range" },
        { "n = 012\n", 1, 5, "leading zeros are not allowed" },
        { "n = 1__2\n", 1, 5, "invalid number '1__2'" },
        { "n = 1.\n", 1, 5, "invalid number '1.'" },
        { "n = -0x1\n", 1, 5, "cannot have a sign" },
        { "n = 0b102\n", 1, 5, "invalid binary integer '0b102'" },
        /* date-times */
        { "d = 2023-02-29\n", 1, 5, "day is out of range for the month" },
        { "d = 1900-02-29T00:00:00\n", 1, 5, "day is out of range for the month" },
        { "d = 2023-13-01\n", 1, 5, "month must be between 01 and 12" },
        { "d = 24:00:00\n", 1, 5, "hour must be between 00 and 23" },
        { "d = 12:60:00\n", 1, 5, "minute must be between 00 and 59" },
        { "d = 12:00:61\n", 1, 5, "second must be between 00 and 60" },
        { "d = 2023-01-01T12:00\n", 1, 5, "expected a time as HH:MM:SS" },
        { "d = 2023-01-01T12:00:00+24:00\n", 1, 5, "time offset out of range" },
        { "d = 12:00:00Z\n", 1, 5, "unexpected text after the local time" },
        /* encoding: column in characters */
        { "é = \"\xff\"\n", 1, 6, "invalid UTF-8 byte 0xFF" },
        { "a = 1\nb = \"\xed\xa0\x80\"\n", 2, 6, "invalid UTF-8 byte 0xED" },
        { "a = \"\xc0\xaf\"\n", 1, 6, "invalid UTF-8 byte 0xC0" },
};

static void test_parse_errors(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(error_cases); i++)
                expect_error(error_cases[i].input, error_cases[i].line, error_cases[i].column,
                             error_cases[i].message);
}

static void test_error_nul_byte_in_document(void **state) {
        expect_error_len("a = 1\0\n", 7, 1, 6, "expected a newline after the value, found control character U+0000");
}

static void test_nesting_limit(void **state) {
        _cleanup_free_ char *deep = NULL, *ok = NULL, *dotted = NULL, *headers = NULL;
        size_t n = 200;

        /* 128 nested arrays are accepted, 129 are not. */
        ok = malloc(4 + 128 * 2 + 2);
        assert_non_null(ok);
        strcpy(ok, "a = ");
        memset(ok + 4, '[', 128);
        memset(ok + 4 + 128, ']', 128);
        strcpy(ok + 4 + 256, "\n");
        {
                _cleanup_toml_ TomlValue *root = parse_ok(ok);
        }

        deep = malloc(4 + n * 2 + 2);
        assert_non_null(deep);
        strcpy(deep, "a = ");
        memset(deep + 4, '[', n);
        memset(deep + 4 + n, ']', n);
        strcpy(deep + 4 + 2 * n, "\n");
        expect_error(deep, 1, 4 + 129, "nested more than 128 levels deep");

        /* Inline tables count as well. */
        {
                _cleanup_free_ char *inl = NULL;
                size_t size = 0;
                FILE *f = open_memstream(&inl, &size);

                assert_non_null(f);
                fputs("a = ", f);
                for (size_t i = 0; i < n; i++)
                        fputs("{b=", f);
                fputs("1", f);
                for (size_t i = 0; i < n; i++)
                        fputs("}", f);
                fputs("\n", f);
                assert_int_equal(fclose(f), 0);
                expect_error(inl, 1, 5 + 3 * 128, "nested more than 128 levels deep");
        }

        /* A dotted key deeper than the limit. */
        {
                size_t size = 0;
                FILE *f = open_memstream(&dotted, &size);

                assert_non_null(f);
                for (size_t i = 0; i < 130; i++)
                        fputs("k.", f);
                fputs("k = 1\n", f);
                assert_int_equal(fclose(f), 0);
                expect_error(dotted, 1, 1 + 2 * 128, "key has more than 128 dotted parts");
        }

        /* A dotted key that goes past the limit below a deep table header. */
        {
                size_t size = 0;
                FILE *f = open_memstream(&headers, &size);

                assert_non_null(f);
                fputs("[b", f);
                for (size_t i = 1; i < 127; i++)
                        fputs(".b", f);
                fputs("]\nc.d.e = 1\n", f);
                assert_int_equal(fclose(f), 0);
                expect_error(headers, 2, 3, "nested more than 128 levels deep");
        }
}

/* ---- building trees ---- */

static void test_build_and_set(void **state) {
        _cleanup_toml_ TomlValue *t = toml_table_new();
        _cleanup_toml_ TomlValue *not_table = toml_integer_new(1);

        assert_non_null(t);
        assert_int_equal(toml_table_set(t, "a", toml_integer_new(1)), 0);
        assert_int_equal(toml_table_set(t, "b", toml_string_new("x")), 0);
        assert_int_equal(toml_table_set(t, "a", toml_boolean_new(true)), 0);

        assert_int_equal(toml_table_size(t), 2);
        assert_string_equal(toml_table_key(t, 0), "a");
        assert_int_equal(toml_value_type(toml_table_get(t, "a")), TOML_BOOLEAN);

        assert_int_equal(toml_table_set(t, "n", NULL), -ENOMEM);
        assert_int_equal(toml_table_set(not_table, "x", toml_integer_new(2)), -EINVAL);
        assert_int_equal(toml_array_append(not_table, toml_integer_new(2)), -EINVAL);
}

/* ---- writer ---- */

static void expect_written(const TomlValue *root, const char *expected) {
        _cleanup_free_ char *text = NULL;
        size_t len = 0;

        assert_int_equal(toml_write(root, &text, &len), 0);
        assert_string_equal(text, expected);
        assert_int_equal(len, strlen(expected));

        /* Whatever the writer emits must parse back to the same tree. */
        {
                _cleanup_toml_ TomlValue *again = parse_ok(text);

                assert_true(toml_value_equal(root, again));
        }
}

static TomlValue *string_array(const char *const *items, size_t n) {
        TomlValue *a = toml_array_new();

        assert_non_null(a);
        for (size_t i = 0; i < n; i++)
                assert_int_equal(toml_array_append(a, toml_string_new(items[i])), 0);
        return a;
}

static void set(TomlValue *t, const char *key, TomlValue *v) {
        assert_int_equal(toml_table_set(t, key, v), 0);
}

static TomlValue *manifest_tree(const char *const *packages, size_t n_packages, const char *mount) {
        TomlValue *root = toml_table_new(), *base = toml_table_new(), *system = toml_table_new();
        TomlValue *gui = toml_table_new(), *hardware = toml_table_new(), *mounts = toml_table_new();
        TomlValue *runtime = toml_table_new();

        set(root, "manifest_version", toml_integer_new(1));
        set(base, "image", toml_string_new("rolling"));
        set(root, "base", base);
        set(system, "packages", string_array(packages, n_packages));
        set(root, "system", system);
        set(gui, "apps", toml_array_new());
        set(root, "gui", gui);
        set(hardware, "gpu", toml_boolean_new(false));
        set(hardware, "audio", toml_boolean_new(false));
        set(root, "hardware", hardware);
        if (mount)
                set(mounts, "workspace", toml_string_new(mount));
        set(root, "mounts", mounts);
        set(runtime, "backend", toml_string_new("namespace"));
        set(runtime, "network_isolation", toml_boolean_new(false));
        set(runtime, "resource_limits", toml_table_new());
        set(root, "runtime", runtime);
        return root;
}

static void test_write_manifest_minimal(void **state) {
        _cleanup_toml_ TomlValue *root = manifest_tree(NULL, 0, NULL);

        expect_written(root,
                       "manifest_version = 1\n"
                       "\n"
                       "[base]\n"
                       "image = \"rolling\"\n"
                       "\n"
                       "[system]\n"
                       "packages = []\n"
                       "\n"
                       "[gui]\n"
                       "apps = []\n"
                       "\n"
                       "[hardware]\n"
                       "gpu = false\n"
                       "audio = false\n"
                       "\n"
                       "[mounts]\n"
                       "\n"
                       "[runtime]\n"
                       "backend = \"namespace\"\n"
                       "network_isolation = false\n"
                       "\n"
                       "[runtime.resource_limits]\n");
}

static void test_write_manifest_packages(void **state) {
        static const char *const packages[] = { "git", "curl" };
        static const char *const one[] = { "git" };
        _cleanup_toml_ TomlValue *root = manifest_tree(packages, 2, "~/projects:/workspace");
        _cleanup_toml_ TomlValue *single = manifest_tree(one, 1, NULL);
        _cleanup_free_ char *text = NULL;

        expect_written(root,
                       "manifest_version = 1\n"
                       "\n"
                       "[base]\n"
                       "image = \"rolling\"\n"
                       "\n"
                       "[system]\n"
                       "packages = [\n"
                       "    \"git\",\n"
                       "    \"curl\",\n"
                       "]\n"
                       "\n"
                       "[gui]\n"
                       "apps = []\n"
                       "\n"
                       "[hardware]\n"
                       "gpu = false\n"
                       "audio = false\n"
                       "\n"
                       "[mounts]\n"
                       "workspace = \"~/projects:/workspace\"\n"
                       "\n"
                       "[runtime]\n"
                       "backend = \"namespace\"\n"
                       "network_isolation = false\n"
                       "\n"
                       "[runtime.resource_limits]\n");

        assert_int_equal(toml_write(single, &text, NULL), 0);
        assert_non_null(strstr(text, "\n[system]\npackages = [\"git\"]\n"));
}

#define ENV_ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define DIGEST "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

static TomlValue *package(const char *name, const char *version) {
        TomlValue *t = toml_table_new();

        set(t, "name", toml_string_new(name));
        set(t, "version", toml_string_new(version));
        return t;
}

static TomlValue *lock_tree(TomlValue *packages) {
        TomlValue *root = toml_table_new();

        set(root, "lock_version", toml_integer_new(2));
        set(root, "env_id", toml_string_new(ENV_ID));
        set(root, "short_id", toml_string_new("0123456789ab"));
        set(root, "base_image", toml_string_new("rolling"));
        set(root, "base_image_digest", toml_string_new(DIGEST));
        set(root, "resolved_packages", packages);
        set(root, "resolved_apps", toml_array_new());
        set(root, "runtime_backend", toml_string_new("namespace"));
        set(root, "hardware_gpu", toml_boolean_new(false));
        set(root, "hardware_audio", toml_boolean_new(false));
        set(root, "network_isolation", toml_boolean_new(false));
        set(root, "mounts", toml_array_new());
        return root;
}

static void test_write_lock_two_packages(void **state) {
        TomlValue *packages = toml_array_new();
        _cleanup_toml_ TomlValue *root = NULL;

        assert_int_equal(toml_array_append(packages, package("clang", "17.0.6-1")), 0);
        assert_int_equal(toml_array_append(packages, package("git", "2.44.0-1")), 0);
        root = lock_tree(packages);

        expect_written(root,
                       "lock_version = 2\n"
                       "env_id = \"" ENV_ID "\"\n"
                       "short_id = \"0123456789ab\"\n"
                       "base_image = \"rolling\"\n"
                       "base_image_digest = \"" DIGEST "\"\n"
                       "resolved_apps = []\n"
                       "runtime_backend = \"namespace\"\n"
                       "hardware_gpu = false\n"
                       "hardware_audio = false\n"
                       "network_isolation = false\n"
                       "mounts = []\n"
                       "\n"
                       "[[resolved_packages]]\n"
                       "name = \"clang\"\n"
                       "version = \"17.0.6-1\"\n"
                       "\n"
                       "[[resolved_packages]]\n"
                       "name = \"git\"\n"
                       "version = \"2.44.0-1\"\n");
}

static void test_write_lock_no_packages(void **state) {
        _cleanup_toml_ TomlValue *root = lock_tree(toml_array_new());

        expect_written(root,
                       "lock_version = 2\n"
                       "env_id = \"" ENV_ID "\"\n"
                       "short_id = \"0123456789ab\"\n"
                       "base_image = \"rolling\"\n"
                       "base_image_digest = \"" DIGEST "\"\n"
                       "resolved_packages = []\n"
                       "resolved_apps = []\n"
                       "runtime_backend = \"namespace\"\n"
                       "hardware_gpu = false\n"
                       "hardware_audio = false\n"
                       "network_isolation = false\n"
                       "mounts = []\n");
}

static void test_write_lock_mounts_after_packages(void **state) {
        TomlValue *packages = toml_array_new(), *mount = toml_table_new();
        _cleanup_toml_ TomlValue *root = NULL;
        TomlValue *mounts;

        assert_int_equal(toml_array_append(packages, package("git", "1")), 0);
        root = lock_tree(packages);
        set(mount, "label", toml_string_new("workspace"));
        set(mount, "host_path", toml_string_new("~/projects"));
        set(mount, "container_path", toml_string_new("/workspace"));
        mounts = toml_array_new();
        assert_int_equal(toml_array_append(mounts, mount), 0);
        set(root, "mounts", mounts);
        set(root, "cpu_shares", toml_integer_new(512));

        expect_written(root,
                       "lock_version = 2\n"
                       "env_id = \"" ENV_ID "\"\n"
                       "short_id = \"0123456789ab\"\n"
                       "base_image = \"rolling\"\n"
                       "base_image_digest = \"" DIGEST "\"\n"
                       "resolved_apps = []\n"
                       "runtime_backend = \"namespace\"\n"
                       "hardware_gpu = false\n"
                       "hardware_audio = false\n"
                       "network_isolation = false\n"
                       "cpu_shares = 512\n"
                       "\n"
                       "[[resolved_packages]]\n"
                       "name = \"git\"\n"
                       "version = \"1\"\n"
                       "\n"
                       "[[mounts]]\n"
                       "label = \"workspace\"\n"
                       "host_path = \"~/projects\"\n"
                       "container_path = \"/workspace\"\n");
}

static void test_write_escapes_and_keys(void **state) {
        _cleanup_toml_ TomlValue *root = toml_table_new();

        set(root, "plain-key_1", toml_string_new("q\" b\\ \b\t\n\f\r \x01\x1f\x7f é"));
        set(root, "needs quotes", toml_integer_new(-5));
        set(root, "", toml_boolean_new(true));
        set(root, "dot.ted", toml_float_new(0.1));
        set(root, "whole", toml_float_new(3.0));
        set(root, "neg_zero", toml_float_new(-0.0));
        set(root, "big", toml_float_new(1e300));
        set(root, "ninf", toml_float_new(-INFINITY));
        set(root, "nan", toml_float_new(NAN));
        set(root, "nul", toml_string_new_len("a\0b", 3));

        expect_written(root,
                       "plain-key_1 = \"q\\\" b\\\\ \\b\\t\\n\\f\\r \\u0001\\u001F\\u007F é\"\n"
                       "\"needs quotes\" = -5\n"
                       "\"\" = true\n"
                       "\"dot.ted\" = 0.1\n"
                       "whole = 3.0\n"
                       "neg_zero = -0.0\n"
                       "big = 1e+300\n"
                       "ninf = -inf\n"
                       "nan = nan\n"
                       "nul = \"a\\u0000b\"\n");
}

static void test_write_nested_values(void **state) {
        _cleanup_toml_ TomlValue *root = parse_ok(
                "mixed = [1, { a = [2, 3] }, [[], ['x']]]\n"
                "tables_in_array_of_arrays = [[{ k = 1 }], [{ k = 2 }]]\n"
                "[outer]\n"
                "[outer.\"in ner\".deep]\n"
                "v = 1\n"
                "[[outer.list]]\n"
                "[[outer.list]]\n"
                "x.y = 2\n"
                "[[outer.list.sub]]\n"
                "z = 3\n");

        expect_written(root,
                       "mixed = [\n"
                       "    1,\n"
                       "    { a = [2, 3] },\n"
                       "    [[], [\"x\"]],\n"
                       "]\n"
                       "tables_in_array_of_arrays = [\n"
                       "    [{ k = 1 }],\n"
                       "    [{ k = 2 }],\n"
                       "]\n"
                       "\n"
                       "[outer]\n"
                       "\n"
                       "[outer.\"in ner\"]\n"
                       "\n"
                       "[outer.\"in ner\".deep]\n"
                       "v = 1\n"
                       "\n"
                       "[[outer.list]]\n"
                       "\n"
                       "[[outer.list]]\n"
                       "\n"
                       "[outer.list.x]\n"
                       "y = 2\n"
                       "\n"
                       "[[outer.list.sub]]\n"
                       "z = 3\n");
}

static void test_write_rejects_non_table(void **state) {
        _cleanup_toml_ TomlValue *v = toml_integer_new(1);
        char *text = NULL;

        assert_int_equal(toml_write(v, &text, NULL), -EINVAL);
        assert_null(text);
}

/* Documents whose trees must survive write + parse unchanged. */
static const char *const round_trip_inputs[] = {
        "",
        "a = 1\n",
        "top.key = 1\nother = 'x'\n[t]\nk = 2\n",
        "s = \"\"\"multi\nline \\\"quoted\\\" \\t tab\"\"\"\nlit = '''raw \\ ''quoted'' '''\n",
        "ints = [0, -1, 9223372036854775807, -9223372036854775808, 0xff, 0o7, 0b1]\n",
        "floats = [0.1, -0.0, 1e-300, 1.7976931348623157e308, 5e-324, inf, -inf, nan, 123456789.125]\n",
        "dates = [1979-05-27T07:32:00Z, 1979-05-27 07:32:00.123456789+05:30, 1979-05-27T00:00:00, "
        "1979-05-27, 23:59:60.5]\n",
        "\"quoted key\" = 1\n\"\\u0000\" = 2\n'with.dot' = 3\n\"é\" = 4\n\"\" = 5\n",
        "[[a]]\nx = 1\n[[a]]\n[[a.b]]\n[a.c]\nd = 1\n[[a]]\ny = [{}]\n",
        "empty_table = {}\nempty_array = []\n[empty_section]\n[another.nested.empty]\n",
        "mixed = [1, 'a', [2], {b = 3}, 2.5, true, 1979-05-27]\n",
        "inline = { a = { b = { c = [1, { d = 2 }] } }, e.f = 3 }\n",
        "arr_of_arrays_of_tables = [[{a = 1}, {b = 2}], []]\n",
        "[x.y.z]\n[x]\nw = 1\n[x.y]\nv = 2\n",
        "ctrl = \"\\u0001\\u001f\\u007f\\b\\f\"\nuni = \"\\U0001F600 \\u00e9\"\n",
};

static void test_round_trip_property(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(round_trip_inputs); i++) {
                _cleanup_toml_ TomlValue *first = parse_ok(round_trip_inputs[i]);
                _cleanup_toml_ TomlValue *second = NULL;
                _cleanup_free_ char *text = NULL, *text2 = NULL;

                assert_int_equal(toml_write(first, &text, NULL), 0);
                second = parse_ok(text);
                if (!toml_value_equal(first, second))
                        fail_msg("round trip changed the tree of:\n%s\nwritten as:\n%s", round_trip_inputs[i], text);

                /* Writing is stable: the second write gives the same text. */
                assert_int_equal(toml_write(second, &text2, NULL), 0);
                assert_string_equal(text, text2);
        }
}

static void test_value_equal(void **state) {
        _cleanup_toml_ TomlValue *a = parse_ok("x = 1\ny = [nan, 'a']\n");
        _cleanup_toml_ TomlValue *b = parse_ok("y = [nan, 'a']\nx = 1\n");
        _cleanup_toml_ TomlValue *c = parse_ok("x = 1\ny = [nan, 'b']\n");
        _cleanup_toml_ TomlValue *d = parse_ok("x = 1.0\ny = [nan, 'a']\n");
        _cleanup_toml_ TomlValue *z1 = parse_ok("z = 0.0\n");
        _cleanup_toml_ TomlValue *z2 = parse_ok("z = -0.0\n");

        assert_true(toml_value_equal(a, b));
        assert_false(toml_value_equal(a, c));
        assert_false(toml_value_equal(a, d));
        assert_false(toml_value_equal(z1, z2));
        assert_false(toml_value_equal(a, NULL));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_scalar_types),
                cmocka_unit_test(test_accessors_wrong_type),
                cmocka_unit_test(test_type_names),
                cmocka_unit_test(test_parse_strings),
                cmocka_unit_test(test_parse_integers),
                cmocka_unit_test(test_parse_floats),
                cmocka_unit_test(test_parse_datetimes_normalized),
                cmocka_unit_test(test_parse_tables_and_arrays),
                cmocka_unit_test(test_parse_valid_redefinitions),
                cmocka_unit_test(test_key_and_value_locations),
                cmocka_unit_test(test_key_with_nul_byte),
                cmocka_unit_test(test_many_keys_indexed),
                cmocka_unit_test(test_parse_errors),
                cmocka_unit_test(test_error_nul_byte_in_document),
                cmocka_unit_test(test_nesting_limit),
                cmocka_unit_test(test_build_and_set),
                cmocka_unit_test(test_write_manifest_minimal),
                cmocka_unit_test(test_write_manifest_packages),
                cmocka_unit_test(test_write_lock_two_packages),
                cmocka_unit_test(test_write_lock_no_packages),
                cmocka_unit_test(test_write_lock_mounts_after_packages),
                cmocka_unit_test(test_write_escapes_and_keys),
                cmocka_unit_test(test_write_nested_values),
                cmocka_unit_test(test_write_rejects_non_table),
                cmocka_unit_test(test_round_trip_property),
                cmocka_unit_test(test_value_equal),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
