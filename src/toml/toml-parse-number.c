/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "toml/toml-parser.h"

/* A token of a number or date-time value, with the bytes of its text. */
typedef struct Token {
        const char *s;
        size_t len;
} Token;

static bool is_digit(int c) {
        return c >= '0' && c <= '9';
}

static bool is_token_char(int c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                c == '_' || c == '+' || c == '-' || c == '.' || c == ':';
}

static bool token_is(const Token *t, size_t offset, const char *text) {
        size_t n = strlen(text);

        return t->len - offset == n && memcmp(t->s + offset, text, n) == 0;
}

/* Read N decimal digits from S into *RET. Returns false if any of them is not a digit. */
static bool read_digits(const char *s, size_t n, unsigned *ret) {
        unsigned v = 0;

        for (size_t i = 0; i < n; i++) {
                if (!is_digit(s[i]))
                        return false;
                v = v * 10 + (unsigned) (s[i] - '0');
        }
        *ret = v;
        return true;
}

static bool is_leap_year(unsigned year) {
        return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static unsigned days_in_month(unsigned year, unsigned month) {
        static const unsigned days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

        if (month == 2 && is_leap_year(year))
                return 29;
        return days[month - 1];
}

/* Check "YYYY-MM-DD" at the start of T. Returns 0, or -EINVAL with *REASON set. */
static int check_date(const Token *t, const char **reason) {
        unsigned year, month, day;

        if (t->len < 10 || !read_digits(t->s, 4, &year) || t->s[4] != '-' ||
            !read_digits(t->s + 5, 2, &month) || t->s[7] != '-' || !read_digits(t->s + 8, 2, &day)) {
                *reason = "expected a date as YYYY-MM-DD";
                return -EINVAL;
        }
        if (month < 1 || month > 12) {
                *reason = "month must be between 01 and 12";
                return -EINVAL;
        }
        if (day < 1 || day > days_in_month(year, month)) {
                *reason = "day is out of range for the month";
                return -EINVAL;
        }
        return 0;
}

/* Check "HH:MM:SS[.fraction]" at OFFSET in T. Returns the offset after it. */
static long check_time(const Token *t, size_t offset, const char **reason) {
        const char *s = t->s + offset;
        size_t left = t->len - offset;
        unsigned hour, minute, second;
        size_t i = 8;

        if (left < 8 || !read_digits(s, 2, &hour) || s[2] != ':' || !read_digits(s + 3, 2, &minute) ||
            s[5] != ':' || !read_digits(s + 6, 2, &second)) {
                *reason = "expected a time as HH:MM:SS";
                return -EINVAL;
        }
        /* RFC 3339 allows second 60 for leap seconds. */
        if (hour > 23 || minute > 59 || second > 60) {
                *reason = hour > 23 ? "hour must be between 00 and 23" :
                        minute > 59 ? "minute must be between 00 and 59" :
                        "second must be between 00 and 60";
                return -EINVAL;
        }
        if (i < left && s[i] == '.') {
                i++;
                if (i >= left || !is_digit(s[i])) {
                        *reason = "expected digits after the decimal point of the seconds";
                        return -EINVAL;
                }
                while (i < left && is_digit(s[i]))
                        i++;
        }
        return (long) (offset + i);
}

/* Check "Z" or "+HH:MM" / "-HH:MM" at OFFSET, which must end the token. */
static int check_offset(const Token *t, size_t offset, const char **reason) {
        const char *s = t->s + offset;
        size_t left = t->len - offset;
        unsigned hour, minute;

        if (left == 1 && (s[0] == 'Z' || s[0] == 'z'))
                return 0;
        if (left != 6 || (s[0] != '+' && s[0] != '-') || !read_digits(s + 1, 2, &hour) || s[3] != ':' ||
            !read_digits(s + 4, 2, &minute)) {
                *reason = "expected 'Z' or a time offset as +HH:MM or -HH:MM";
                return -EINVAL;
        }
        if (hour > 23 || minute > 59) {
                *reason = "time offset out of range";
                return -EINVAL;
        }
        return 0;
}

/* Classify and validate a date-time token; returns its type or -EINVAL. */
static int check_datetime(const Token *t, const char **reason) {
        long end;
        int r;

        if (t->len >= 3 && t->s[2] == ':') {
                end = check_time(t, 0, reason);
                if (end < 0)
                        return (int) end;
                if ((size_t) end != t->len) {
                        *reason = "unexpected text after the local time";
                        return -EINVAL;
                }
                return TOML_LOCAL_TIME;
        }

        r = check_date(t, reason);
        if (r < 0)
                return r;
        if (t->len == 10)
                return TOML_LOCAL_DATE;
        if (t->s[10] != 'T' && t->s[10] != 't' && t->s[10] != ' ') {
                *reason = "expected 'T' or a space between date and time";
                return -EINVAL;
        }

        end = check_time(t, 11, reason);
        if (end < 0)
                return (int) end;
        if ((size_t) end == t->len)
                return TOML_LOCAL_DATETIME;

        r = check_offset(t, (size_t) end, reason);
        if (r < 0)
                return r;
        return TOML_OFFSET_DATETIME;
}

static int make_datetime(TomlParser *p, const Token *t, TomlPosition start, TomlValue **ret) {
        const char *reason = NULL;
        TomlValue *v;
        int type;

        type = check_datetime(t, &reason);
        if (type < 0)
                return parser_error_at(p, start, "invalid date-time '%.*s': %s", (int) t->len, t->s, reason);

        v = toml_datetime_new_internal((TomlType) type, t->s, t->len);
        if (!v)
                return parser_oom(p);

        /* Store the canonical spelling: 'T' separator, uppercase 'Z'. */
        if (v->string.len > 10 && type != TOML_LOCAL_TIME)
                v->string.data[10] = 'T';
        if (v->string.data[v->string.len - 1] == 'z')
                v->string.data[v->string.len - 1] = 'Z';

        *ret = v;
        return 0;
}

/*
 * Read a run of digits of BASE where single underscores may separate digits.
 * Stores the digits (without underscores) in OUT when not NULL. Returns the
 * number of bytes consumed, or -EINVAL if there is no digit or an underscore
 * is not between two digits.
 */
static long read_digit_run(const Token *t, size_t offset, unsigned base, TomlBuffer *out) {
        size_t i = offset;
        bool need_digit = true;

        for (; i < t->len; i++) {
                char c = t->s[i];
                int d = c >= '0' && c <= '9' ? c - '0' :
                        c >= 'a' && c <= 'f' ? c - 'a' + 10 :
                        c >= 'A' && c <= 'F' ? c - 'A' + 10 : 99;

                if (c == '_') {
                        if (need_digit)
                                return -EINVAL;
                        need_digit = true;
                        continue;
                }
                if (d >= (int) base)
                        break;
                if (out)
                        toml_buffer_putc(out, c);
                need_digit = false;
        }
        if (need_digit)
                return -EINVAL;
        return (long) (i - offset);
}

static int accumulate(uint64_t *acc, unsigned base, int digit, uint64_t limit) {
        if (*acc > (limit - (uint64_t) digit) / base)
                return -ERANGE;
        *acc = *acc * base + (uint64_t) digit;
        return 0;
}

static int digits_to_integer(const char *digits, unsigned base, bool negative, int64_t *ret) {
        uint64_t limit = negative ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX;
        uint64_t acc = 0;

        for (const char *c = digits; *c; c++) {
                int d = *c <= '9' ? *c - '0' : (*c | 0x20) - 'a' + 10;

                if (accumulate(&acc, base, d, limit) < 0)
                        return -ERANGE;
        }

        if (negative)
                *ret = acc == (uint64_t) INT64_MAX + 1 ? INT64_MIN : -(int64_t) acc;
        else
                *ret = (int64_t) acc;
        return 0;
}

static void buffer_donep(TomlBuffer *b) {
        toml_buffer_done(b);
}

static int make_integer(TomlParser *p, const char *digits, unsigned base, bool negative,
                        const Token *t, TomlPosition start, TomlValue **ret) {
        int64_t value;
        TomlValue *v;

        if (digits_to_integer(digits, base, negative, &value) < 0)
                return parser_error_at(p, start, "integer '%.*s' is out of range for a 64-bit signed integer",
                                       (int) t->len, t->s);

        v = toml_integer_new(value);
        if (!v)
                return parser_oom(p);
        *ret = v;
        return 0;
}

static int make_float(TomlParser *p, const char *text, TomlValue **ret) {
        locale_t c_locale = toml_c_locale();
        TomlValue *v;

        if (!c_locale)
                return parser_oom(p);

        /* The text was checked against the TOML float grammar, which strtod
         * also accepts. Values beyond the double range become +-inf. */
        v = toml_float_new(strtod_l(text, NULL, c_locale));
        if (!v)
                return parser_oom(p);
        *ret = v;
        return 0;
}

static int parse_prefixed_integer(TomlParser *p, const Token *t, TomlPosition start, TomlValue **ret) {
        _cleanup_(buffer_donep) TomlBuffer digits = {};
        unsigned base = 2;
        const char *base_name = "binary";
        long n;

        if (t->s[1] == 'x') {
                base = 16;
                base_name = "hexadecimal";
        } else if (t->s[1] == 'o') {
                base = 8;
                base_name = "octal";
        }

        n = read_digit_run(t, 2, base, &digits);
        if (n < 0 || (size_t) n + 2 != t->len)
                return parser_error_at(p, start, "invalid %s integer '%.*s'", base_name, (int) t->len, t->s);
        if (digits.failed)
                return parser_oom(p);

        return make_integer(p, digits.data, base, false, t, start, ret);
}

/* Decimal integers and floats: [+-] int [. digits] [e [+-] digits]. */
static int parse_decimal(TomlParser *p, const Token *t, TomlPosition start, TomlValue **ret) {
        _cleanup_(buffer_donep) TomlBuffer text = {};
        size_t i = 0;
        bool is_float = false;
        long n;

        if (t->s[0] == '+' || t->s[0] == '-') {
                toml_buffer_putc(&text, t->s[0]);
                i++;
        }

        n = read_digit_run(t, i, 10, &text);
        if (n < 0)
                goto invalid;
        if (t->s[i] == '0' && n > 1)
                return parser_error_at(p, start, "invalid number '%.*s': leading zeros are not allowed",
                                       (int) t->len, t->s);
        i += (size_t) n;

        if (i < t->len && t->s[i] == '.') {
                toml_buffer_putc(&text, '.');
                n = read_digit_run(t, i + 1, 10, &text);
                if (n < 0)
                        goto invalid;
                i += (size_t) n + 1;
                is_float = true;
        }

        if (i < t->len && (t->s[i] == 'e' || t->s[i] == 'E')) {
                toml_buffer_putc(&text, 'e');
                i++;
                if (i < t->len && (t->s[i] == '+' || t->s[i] == '-'))
                        toml_buffer_putc(&text, t->s[i++]);
                n = read_digit_run(t, i, 10, &text);
                if (n < 0)
                        goto invalid;
                i += (size_t) n;
                is_float = true;
        }

        if (i != t->len)
                goto invalid;
        if (text.failed)
                return parser_oom(p);

        if (is_float)
                return make_float(p, text.data, ret);

        return make_integer(p, text.data + (t->s[0] == '+' || t->s[0] == '-'), 10, t->s[0] == '-',
                            t, start, ret);

invalid:
        return parser_error_at(p, start, "invalid number '%.*s'", (int) t->len, t->s);
}

static int parse_number(TomlParser *p, const Token *t, TomlPosition start, TomlValue **ret) {
        size_t sign = t->s[0] == '+' || t->s[0] == '-';

        if (token_is(t, sign, "inf") || token_is(t, sign, "nan"))
                return make_float(p, t->s, ret);

        if (t->len > 1 && t->s[0] == '0' && (t->s[1] == 'x' || t->s[1] == 'o' || t->s[1] == 'b'))
                return parse_prefixed_integer(p, t, start, ret);
        if (sign && t->len > 2 && t->s[1] == '0' && (t->s[2] == 'x' || t->s[2] == 'o' || t->s[2] == 'b'))
                return parser_error_at(p, start, "invalid number '%.*s': hexadecimal, octal and binary integers cannot have a sign",
                                       (int) t->len, t->s);

        return parse_decimal(p, t, start, ret);
}

static bool looks_like_datetime(const Token *t) {
        if (t->len >= 3 && is_digit(t->s[0]) && is_digit(t->s[1]) && t->s[2] == ':')
                return true;
        return t->len >= 5 && is_digit(t->s[0]) && is_digit(t->s[1]) && is_digit(t->s[2]) &&
                is_digit(t->s[3]) && t->s[4] == '-';
}

static size_t scan_token(const TomlParser *p, size_t pos) {
        while (pos < p->len && is_token_char((unsigned char) p->data[pos]))
                pos++;
        return pos;
}

int parser_parse_number_or_datetime(TomlParser *p, TomlValue **ret) {
        TomlPosition start = parser_position(p);
        size_t end = scan_token(p, p->pos);
        Token t = { p->data + p->pos, end - p->pos };

        /* A date and a time may be separated by a space, which ends the token:
         * take the time as well when one follows. */
        if (t.len == 10 && looks_like_datetime(&t) && end + 3 < p->len && p->data[end] == ' ' &&
            is_digit(p->data[end + 1]) && is_digit(p->data[end + 2]) && p->data[end + 3] == ':') {
                end = scan_token(p, end + 1);
                t.len = end - p->pos;
        }

        p->pos = end;
        if (looks_like_datetime(&t))
                return make_datetime(p, &t, start, ret);
        return parse_number(p, &t, start, ret);
}
