/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "basic/fs-util.h"
#include "schema/mount-policy.h"

static const char *const allowed_prefixes[] = { "/home", "/tmp" };

static bool is_home_relative(const char *path) {
        return streq(path, "~") || strneq(path, "~/", 2);
}

/* Returns the joined path before normalization, or NULL with *RET_ERROR set. */
static char *host_path_absolute(const char *host_path, const char *home_dir, const char *base_dir,
                                int *ret_error) {
        const char *rest;
        char *path;

        *ret_error = -EINVAL;
        if (host_path[0] == '/')
                path = strdup(host_path);
        else if (is_home_relative(host_path)) {
                if (!home_dir || home_dir[0] != '/')
                        return NULL;
                rest = host_path + 1;
                path = kp_path_join(home_dir, rest[0] ? rest : ".");
        } else {
                /* "~user/..." is not expanded: the runtime takes it as a
                 * relative path, so it is checked as one. */
                if (!base_dir || base_dir[0] != '/')
                        return NULL;
                path = kp_path_join(base_dir, host_path);
        }

        if (!path)
                *ret_error = -ENOMEM;
        return path;
}

int mount_policy_resolve_host_path(const char *host_path, const char *home_dir, const char *base_dir,
                                   char **ret) {
        _cleanup_free_ char *path = NULL;
        int r;

        path = host_path_absolute(host_path, home_dir, base_dir, &r);
        if (!path)
                return r;

        return kp_path_normalize(path, ret);
}

bool mount_policy_path_is_allowed(const char *path) {
        for (size_t i = 0; i < ELEMENTSOF(allowed_prefixes); i++) {
                size_t n = strlen(allowed_prefixes[i]);

                if (strneq(path, allowed_prefixes[i], n) && (path[n] == '\0' || path[n] == '/'))
                        return true;
        }
        return false;
}

int mount_policy_check(const MountSpec *mount, const char *home_dir, const char *base_dir, KpError *err) {
        _cleanup_free_ char *resolved = NULL;
        int r;

        r = mount_policy_resolve_host_path(mount->host_path, home_dir, base_dir, &resolved);
        if (r == -ENOMEM)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, r, "mount not allowed by policy: out of memory");
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, r,
                                         "mount not allowed by policy: mount '%s' with host path '%s' cannot be resolved: %s",
                                         mount->label, mount->host_path,
                                         is_home_relative(mount->host_path) ? "the home directory is unknown"
                                                                     : "the base directory is not absolute");

        if (!mount_policy_path_is_allowed(resolved))
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, -EPERM,
                                         "mount not allowed by policy: mount '%s' with host path '%s' (resolved: %s) "
                                         "is not under any allowed prefix: [\"/home\", \"/tmp\"]",
                                         mount->label, mount->host_path, resolved);

        return 0;
}

int mount_policy_check_manifest(const NormalizedManifest *m, const char *home_dir, const char *base_dir,
                                KpError *err) {
        int r;

        for (size_t i = 0; i < m->n_mounts; i++) {
                r = mount_policy_check(&m->mounts[i], home_dir, base_dir, err);
                if (r < 0)
                        return r;
        }
        return 0;
}
