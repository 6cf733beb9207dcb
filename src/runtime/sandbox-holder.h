/* SPDX-License-Identifier: MIT */
#pragma once

#include <sys/types.h>

#include "basic/error.h"
#include "runtime/sandbox.h"

/* Sessions of one holder at once; each is one connection. */
#define SANDBOX_CLIENTS_MAX 64

/* How long setting up a new holder may take, including fuse-overlayfs. */
#define SANDBOX_SETUP_TIMEOUT_MS 60000

/*
 * Start the holder for C, whose configuration digest is DIGEST. The caller
 * holds the sandbox lock of C->env_dir. The steps:
 *
 *   1. fork a child; it unshares a user namespace (not as real root) and
 *      waits on a pipe;
 *   2. the caller writes the id maps (newuidmap/newgidmap concurrently, or a
 *      single-id map) and releases the child;
 *   3. the child unshares the mount, pid, uts, ipc (and network) namespaces,
 *      forks the holder, which is pid 1 there, and exits;
 *   4. the holder mounts everything, listens on the socket and reports
 *      "ready" with the overlay driver, or an error, on a status pipe.
 *
 * Returns the holder's pid in the caller's pid namespace.
 */
int sandbox_holder_start(const SandboxConfig *c, const char *digest, pid_t *ret_pid, KpError *err);
