/* SPDX-License-Identifier: MIT */
/*
 * The rootless namespace sandbox.
 *
 * TODO: not implemented yet. Every operation fails with "not available
 * yet"; the user namespace, overlay and image code replaces this file.
 */
#include "runtime/backend.h"

static const char *namespace_unavailable_reason(void) {
        return "the rootless namespace sandbox is not implemented in this version; "
               "use [runtime] backend = \"mock\" to try the other commands";
}

static int namespace_not_available(KpError *err) {
        return kp_error_set_kind(err, KP_ERROR_RUNTIME, -EOPNOTSUPP, "backend 'namespace' is not available yet: %s",
                                 namespace_unavailable_reason());
}

static int namespace_resolve(const BackendSpec *spec, ResolutionResult **ret, KpError *err) {
        return namespace_not_available(err);
}

static int namespace_build(const BackendSpec *spec, KpError *err) {
        return namespace_not_available(err);
}

static int namespace_run(const BackendSpec *spec, char *const *argv, bool interactive, int *ret_status,
                         KpError *err) {
        return namespace_not_available(err);
}

static int namespace_destroy(const BackendSpec *spec, KpError *err) {
        /* Nothing was ever built by this backend; the engine removes the
         * environment directory itself. */
        return 0;
}

const Backend backend_namespace = {
        .name = "namespace",
        .unavailable_reason = namespace_unavailable_reason,
        .resolve = namespace_resolve,
        .build = namespace_build,
        .run = namespace_run,
        .destroy = namespace_destroy,
};
