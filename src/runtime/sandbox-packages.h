/* SPDX-License-Identifier: MIT */
#pragma once

#include "basic/error.h"
#include "schema/lock.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * System package managers inside an image: detection, the commands that
 * install packages and the queries that report their exact versions.
 */

typedef enum PackageManager {
        PACKAGE_MANAGER_APT,
        PACKAGE_MANAGER_DNF,
        PACKAGE_MANAGER_ZYPPER,
        PACKAGE_MANAGER_PACMAN,
        _PACKAGE_MANAGER_MAX,
        _PACKAGE_MANAGER_INVALID = -EINVAL,
} PackageManager;

const char *package_manager_to_string(PackageManager pm);

/* The first manager whose program exists in the tree at ROOT_FD: apt
 * (usr/bin/apt-get or usr/bin/apt), dnf (dnf or dnf5), zypper, pacman.
 * Paths resolve inside the tree, so an absolute symlink in the image never
 * points at the host. -ENOENT when there is none. */
int package_manager_detect(int root_fd);

/* The commands that install PACKAGES, in order, as a NULL-terminated list
 * of NULL-terminated argv arrays (free with package_commands_free()). apt
 * refreshes its lists first; with SINGLE_ID (only root mapped) apt gets
 * APT::Sandbox::User=root, so it does not switch to its _apt user, which
 * needs more ids. */
int package_install_commands(PackageManager pm, char *const *packages, size_t n, bool single_id, char ****ret);

void package_commands_free(char ***cmds);

/* The command that prints the installed version of each of PACKAGES. */
/* The package arguments for installing PACKAGES: the names themselves, or
 * with LOCKED the exact locked versions in the package manager's syntax
 * (apt and zypper "name=version", dnf "name-version"). pacman cannot
 * install an old version from its repositories, so a locked pacman build
 * fails with an error saying so, as does a package missing from the lock. */
int package_locked_specs(PackageManager pm, char *const *packages, size_t n, const Lock *locked, char ***ret,
                         KpError *err);

int package_query_command(PackageManager pm, char *const *packages, size_t n, char ***ret);

/* Parse OUTPUT of the query command: the version of each requested package
 * (in PACKAGES order), or "unresolved" when it is not listed. Lines that do
 * not split into name and version are ignored (rpm's "package x is not
 * installed"). Returns a NULL-terminated array to free with kp_strv_free(). */
int package_versions_parse(PackageManager pm, const char *output, char *const *packages, size_t n, char ***ret);
