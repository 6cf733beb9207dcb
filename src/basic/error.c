/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/error.h"

int kp_error_setv(KpError *err, int code, const char *fmt, va_list ap) {
        char *message = NULL;

        if (code >= 0)
                code = -EIO;
        if (!err)
                return code;

        if (vasprintf(&message, fmt, ap) < 0)
                message = NULL;

        free(err->message);
        err->message = message;
        err->code = code;
        err->kind = KP_ERROR_GENERIC;
        return code;
}

int kp_error_set(KpError *err, int code, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        code = kp_error_setv(err, code, fmt, ap);
        va_end(ap);
        return code;
}

int kp_error_set_kind(KpError *err, KpErrorKind kind, int code, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        code = kp_error_setv(err, code, fmt, ap);
        va_end(ap);
        if (err)
                err->kind = kind;
        return code;
}

int kp_error_prefix(KpError *err, const char *fmt, ...) {
        _cleanup_free_ char *context = NULL;
        char *joined = NULL;
        va_list ap;

        if (!err)
                return -EIO;
        if (err->code >= 0)
                err->code = -EIO;

        va_start(ap, fmt);
        if (vasprintf(&context, fmt, ap) < 0)
                context = NULL;
        va_end(ap);
        if (!context)
                return err->code;

        if (err->message) {
                if (asprintf(&joined, "%s: %s", context, err->message) < 0)
                        return err->code;
                free(err->message);
                err->message = joined;
        } else
                err->message = TAKE_PTR(context);

        return err->code;
}

void kp_error_set_default_kind(KpError *err, KpErrorKind kind) {
        if (err && err->kind == KP_ERROR_GENERIC)
                err->kind = kind;
}

void kp_error_clear(KpError *err) {
        if (!err)
                return;
        free(err->message);
        err->message = NULL;
        err->code = 0;
        err->kind = KP_ERROR_GENERIC;
}

int kp_error_move(KpError *dst, KpError *src) {
        int code = src->code;

        if (dst) {
                kp_error_clear(dst);
                *dst = *src;
        } else
                free(src->message);
        src->message = NULL;
        src->code = 0;
        src->kind = KP_ERROR_GENERIC;
        return code;
}

const char *kp_error_kind_to_string(KpErrorKind kind) {
        static const char *const table[_KP_ERROR_KIND_MAX] = {
                [KP_ERROR_GENERIC] = NULL,
                [KP_ERROR_MANIFEST] = "manifest error",
                [KP_ERROR_LOCK] = "lock error",
                [KP_ERROR_STORE] = "store error",
                [KP_ERROR_RUNTIME] = "runtime error",
                [KP_ERROR_STATE] = NULL,
                [KP_ERROR_NOT_FOUND] = NULL,
                [KP_ERROR_IO] = "I/O error",
                [KP_ERROR_REMOTE] = "remote error",
                [KP_ERROR_USAGE] = NULL,
        };

        if ((unsigned) kind >= _KP_ERROR_KIND_MAX)
                return NULL;
        return table[kind];
}

char *kp_error_format(const KpError *err) {
        const char *prefix = kp_error_kind_to_string(err->kind);
        const char *message = err->message ? err->message : strerror(-err->code);
        char *text = NULL;

        if (prefix && !strneq(message, prefix, strlen(prefix))) {
                if (asprintf(&text, "%s: %s", prefix, message) < 0)
                        return NULL;
                return text;
        }
        return strdup(message);
}
