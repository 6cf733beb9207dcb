/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>

#include "basic/error.h"

/*
 * User namespaces with the caller's subordinate id range.
 *
 * Inside, the caller is root (uid/gid 0 = the caller's own ids) and ids
 * 1..N map to the caller's ranges from /etc/subuid and /etc/subgid (set up
 * with newuidmap/newgidmap). Without a range only root is mapped, with one
 * warning per process saying what breaks and how to add a range. When the
 * caller is real root no namespace is needed and FUNC runs in a plain child.
 */

typedef int (*UsernsFunc)(void *userdata);

/* Run FUNC(USERDATA) in a child process inside such a namespace (also a new
 * mount namespace) and wait for it. Returns FUNC's return value (0 or a
 * negative errno); ERR describes a failure to set the namespace up. */
int userns_run(UsernsFunc func, void *userdata, KpError *err);

/* Called by FUNC inside userns_run(): passes ERR's message and kind to the
 * ERR of the userns_run() caller, which otherwise only gets the errno.
 * Returns ERR's code. Outside userns_run() it only returns the code. */
int userns_report_error(const KpError *err);

/* Like userns_run(), for a FUNC that produces a result: it writes it to
 * OUT_FD (a memory file), and the caller gets those bytes in *RET (NUL-
 * terminated, at most 64 MiB) and *RET_LEN. The store uses this to pack or
 * unpack an upper directory whose files belong to subordinate ids: inside
 * the namespace they are readable, and their owners come out as the ids
 * used inside the sandbox (0 for the user), as when running as real root. */
typedef int (*UsernsOutputFunc)(void *userdata, int out_fd);
int userns_run_output(UsernsOutputFunc func, void *userdata, char **ret, size_t *ret_len, KpError *err);

/* Returns true when the caller has subordinate uid and gid ranges that
 * newuidmap/newgidmap can map (or is root). */
bool userns_has_full_range(void);

/* Remove PATH recursively, including files owned by subordinate ids that the
 * caller cannot delete directly (it retries inside the namespace). */
int userns_remove_tree(const char *path, KpError *err);
