/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdarg.h>

#include "basic/macro.h"

/*
 * The one error model of Karapace.
 *
 * A function that can fail returns a negative errno-style code and, when it
 * takes a KpError, fills it with a message. Callers on the way up add
 * context with kp_error_prefix(), so the final text reads "outer: inner".
 * Only the front end prints the error, once.
 *
 * The kind selects the category prefix and the CLI exit code (manifest
 * errors exit 2, store errors exit 3).
 */
typedef enum KpErrorKind {
        KP_ERROR_GENERIC = 0,
        KP_ERROR_MANIFEST,
        KP_ERROR_LOCK,
        KP_ERROR_STORE,
        KP_ERROR_RUNTIME,
        KP_ERROR_STATE,
        KP_ERROR_NOT_FOUND,
        KP_ERROR_IO,
        KP_ERROR_REMOTE,
        KP_ERROR_USAGE,
        _KP_ERROR_KIND_MAX,
} KpErrorKind;

typedef struct KpError {
        int code;               /* negative errno, 0 when unset */
        KpErrorKind kind;
        char *message;          /* owned, NULL when unset */
} KpError;

#define KP_ERROR_INIT { 0, KP_ERROR_GENERIC, NULL }

/* Record an error and return CODE (which must be negative). ERR may be NULL.
 * If ERR already holds an error it is replaced. */
int kp_error_set(KpError *err, int code, const char *fmt, ...) _printf_(3, 4);
int kp_error_setv(KpError *err, int code, const char *fmt, va_list ap) _printf_(3, 0);

/* Like kp_error_set() and also set the kind. */
int kp_error_set_kind(KpError *err, KpErrorKind kind, int code, const char *fmt, ...) _printf_(4, 5);

/* Prepend context: "<context>: <existing message>". Keeps code and kind and
 * returns the code. If no error is recorded yet, record one with -EIO. */
int kp_error_prefix(KpError *err, const char *fmt, ...) _printf_(2, 3);

/* Set the kind of a recorded error unless it already has a non-generic one. */
void kp_error_set_default_kind(KpError *err, KpErrorKind kind);

void kp_error_clear(KpError *err);

/* Move the error from SRC to DST, leaving SRC empty; returns the code. */
int kp_error_move(KpError *dst, KpError *src);

const char *kp_error_kind_to_string(KpErrorKind kind);

/* The message with its category prefix, as users see it, e.g.
 * "store error: object not found: ...". Returned string is owned by the
 * caller; NULL only on allocation failure. */
char *kp_error_format(const KpError *err);

static inline void kp_error_clearp(KpError *err) {
        kp_error_clear(err);
}
#define _cleanup_error_ _cleanup_(kp_error_clearp)
