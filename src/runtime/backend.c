/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "runtime/backend.h"

static const Backend *const backends[] = {
        &backend_namespace,
        &backend_mock,
};

const Backend *backend_find(const char *name, KpError *err) {
        for (size_t i = 0; i < ELEMENTSOF(backends); i++)
                if (streq(backends[i]->name, name))
                        return backends[i];

        kp_error_set_kind(err, KP_ERROR_RUNTIME, -EOPNOTSUPP,
                          "backend '%s' is not available on this system", name);
        return NULL;
}

const Backend *backend_get_usable(const char *name, KpError *err) {
        const Backend *b = backend_find(name, err);
        const char *reason;

        if (!b)
                return NULL;
        reason = b->unavailable_reason();
        if (reason) {
                kp_error_set_kind(err, KP_ERROR_RUNTIME, -EOPNOTSUPP,
                                  "backend '%s' is not available yet: %s", name, reason);
                return NULL;
        }
        return b;
}
