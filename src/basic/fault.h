/* SPDX-License-Identifier: MIT */
#pragma once

#include "config.h"

/*
 * Fault points for crash tests. Store code calls kp_fault_point() at every
 * step of a write (before and after each rename, around WAL updates, before
 * each deletion). Builds configured with -Dfault_injection=true compile the
 * hook in; other builds compile the calls to nothing.
 *
 * With the hook compiled in:
 *   KARAPACE_FAULT_LOG=<path>   appends each point name and a newline to PATH,
 *                               so a test can count the steps of an operation;
 *   KARAPACE_FAULT_KILL_AT=<n>  raises SIGKILL on the process at the n-th point
 *                               (counting from 1, per process).
 */
#if KP_FAULT_INJECTION
void kp_fault_point(const char *name);
/* Forget the counter and the environment read so far (for tests). */
void kp_fault_reset(void);
#else
static inline void kp_fault_point(const char *name) {
        (void) name;
}
static inline void kp_fault_reset(void) {
}
#endif
