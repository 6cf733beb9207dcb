/* SPDX-License-Identifier: MIT */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#include "basic/dl-util.h"
#include "basic/log.h"

void kp_dlopen_required(const char *soname, const char *package, const char *const *names, void **slots,
                        size_t n) {
        void *handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL);

        if (!handle) {
                log_error("cannot load %s: %s; install the Debian package %s", soname, dlerror(), package);
                exit(EXIT_FAILURE);
        }
        for (size_t i = 0; i < n; i++) {
                slots[i] = dlsym(handle, names[i]);
                if (!slots[i]) {
                        log_error("%s is missing the symbol %s; update the Debian package %s", soname, names[i], package);
                        exit(EXIT_FAILURE);
                }
        }
}
