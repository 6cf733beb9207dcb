/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>

/* Load SONAME and resolve the N symbol NAMES into SLOTS (in order). Exits
 * the process with a message naming PACKAGE when the library or a symbol is
 * missing: callers use this for libraries the package depends on. */
void kp_dlopen_required(const char *soname, const char *package, const char *const *names, void **slots,
                        size_t n);
