/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>

#include "basic/error.h"
#include "schema/normalize.h"

/*
 * Which host directories a manifest may bind-mount: /home and /tmp and
 * everything below them. The check is lexical: symlinks are resolved later,
 * when the sandbox opens the path.
 */

/* Resolve HOST_PATH lexically: "~" and "~/..." against HOME_DIR, other
 * relative paths against BASE_DIR (normally the manifest's directory),
 * then drop ".", empty components and ".." (which stops at "/"). Both
 * directories must be absolute. Returns 0, -EINVAL or -ENOMEM. */
int mount_policy_resolve_host_path(const char *host_path, const char *home_dir, const char *base_dir,
                                   char **ret);

/* Returns true when the normalized absolute PATH is /home or /tmp or lies
 * below one of them. "/homework" and "/tmpfoo" are not below /home and /tmp. */
bool mount_policy_path_is_allowed(const char *path);

/*
 * Check one mount. Rejection (KP_ERROR_RUNTIME, -EPERM):
 *   mount not allowed by policy: mount '<label>' with host path '<host>'
 *   (resolved: <path>) is not under any allowed prefix: ["/home", "/tmp"]
 * HOME_DIR may be NULL, and a "~" path then fails with -EINVAL.
 */
int mount_policy_check(const MountSpec *mount, const char *home_dir, const char *base_dir, KpError *err);

/* Check every mount of M, stopping at the first rejected one. */
int mount_policy_check_manifest(const NormalizedManifest *m, const char *home_dir, const char *base_dir,
                                KpError *err);
