/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/fs-util.h"
#include "runtime/sandbox.h"
#include "schema/mount-policy.h"

void sandbox_config_done(SandboxConfig *c) {
        for (size_t i = 0; i < c->n_binds; i++) {
                free(c->binds[i].label);
                free(c->binds[i].host_path);
                free(c->binds[i].container_path);
        }
        free(c->binds);
        free(c->env_dir);
        free(c->rootfs);
        free(c->hostname);
        free(c->home);
        free(c->xdg_runtime_dir);
        free(c->wayland_display);
        *c = (SandboxConfig) {};
}

static unsigned linger_from_env(void) {
        const char *v = getenv("KARAPACE_SANDBOX_LINGER_MS");
        char *end = NULL;
        unsigned long ms;

        if (isempty(v))
                return SANDBOX_LINGER_MS_DEFAULT;
        errno = 0;
        ms = strtoul(v, &end, 10);
        /* One hour at most: the holder must not turn into a service. */
        if (errno != 0 || *end != '\0' || ms > 3600000)
                return SANDBOX_LINGER_MS_DEFAULT;
        return (unsigned) ms;
}

static char *absolute_dir_from_env(const char *name) {
        const char *v = getenv(name);
        struct stat st;

        if (isempty(v) || v[0] != '/' || stat(v, &st) < 0 || !S_ISDIR(st.st_mode))
                return NULL;
        return strdup(v);
}

/* A Wayland socket name as compositors create it: "wayland-<n>", no '/'. */
static char *wayland_display_from_env(void) {
        const char *v = getenv("WAYLAND_DISPLAY");

        if (isempty(v) || !strneq(v, "wayland-", 8) || strchr(v, '/'))
                return NULL;
        return strdup(v);
}

static int bind_resolve(const MountSpec *spec, const char *home, const char *cwd, SandboxBind *ret, KpError *err) {
        _cleanup_free_ char *lexical = NULL, *real = NULL, *target = NULL;
        int r;

        r = mount_policy_resolve_host_path(spec->host_path, home ? home : "/nonexistent", cwd, &lexical);
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, r, "mount '%s' failed: invalid host path '%s'",
                                         spec->label, spec->host_path);

        real = realpath(lexical, NULL);
        if (!real)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, -errno,
                                         "mount '%s' failed: host path '%s' (resolved: %s): %m", spec->label,
                                         spec->host_path, lexical);
        if (!mount_policy_path_is_allowed(real))
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, -EPERM,
                                         "mount not allowed by policy: mount '%s' with host path '%s' resolves to "
                                         "'%s', which is not under any allowed prefix: [\"/home\", \"/tmp\"]",
                                         spec->label, spec->host_path, real);

        r = kp_path_join_in_root("/", spec->container_path, &target);
        if (r < 0 || !target)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, r < 0 ? r : -ENOMEM,
                                         "mount '%s' failed: invalid container path '%s'", spec->label,
                                         spec->container_path);
        if (streq(target, "/") || isempty(target))
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, -EINVAL,
                                         "mount '%s' failed: the container path must not be '/'", spec->label);

        *ret = (SandboxBind) {
                .label = strdup(spec->label),
                .host_path = TAKE_PTR(real),
                .container_path = TAKE_PTR(target),
        };
        if (!ret->label)
                return kp_error_set(err, -ENOMEM, "out of memory");
        return 0;
}

static int compare_binds(const void *a, const void *b) {
        return strcmp(((const SandboxBind *) a)->container_path, ((const SandboxBind *) b)->container_path);
}

static int config_add_binds(SandboxConfig *c, const NormalizedManifest *m, KpError *err) {
        _cleanup_free_ char *cwd = getcwd(NULL, 0);
        int r;

        if (m->n_mounts == 0)
                return 0;
        if (!cwd)
                return kp_error_set(err, -errno, "cannot get the current directory: %m");

        c->binds = calloc(m->n_mounts, sizeof(SandboxBind));
        if (!c->binds)
                return kp_error_set(err, -ENOMEM, "out of memory");

        /* NOTE: relative host paths resolve against the current directory,
         * as in the original tool: the engine does not record the
         * manifest's directory. The policy is checked again on the real
         * path here, so this never widens what may be mounted. */
        for (size_t i = 0; i < m->n_mounts; i++) {
                r = bind_resolve(&m->mounts[i], c->home ? c->home : getenv("HOME"), cwd, &c->binds[i], err);
                if (r < 0)
                        return r;
                c->n_binds++;
        }

        /* Parents before children, so a nested mount lands on top. */
        qsort(c->binds, c->n_binds, sizeof(SandboxBind), compare_binds);
        return 0;
}

int sandbox_config_init(SandboxConfig *c, const char *env_dir, const char *rootfs, const char *env_id,
                        const NormalizedManifest *m, bool host_integration, KpError *err) {
        *c = (SandboxConfig) {
                .env_dir = strdup(env_dir),
                .rootfs = strdup(rootfs),
                .network_isolation = m->network_isolation,
                .host_integration = host_integration,
                .gui = m->n_gui_apps > 0 || m->hardware_gpu,
                .gpu = m->hardware_gpu,
                .audio = m->hardware_audio,
                .linger_ms = linger_from_env(),
        };
        if (!c->env_dir || !c->rootfs || asprintf(&c->hostname, "karapace-%.12s", env_id) < 0) {
                c->hostname = NULL;
                return kp_error_set(err, -ENOMEM, "out of memory");
        }
        if (!host_integration)
                return 0;

        c->home = absolute_dir_from_env("HOME");
        if (c->gui || c->audio)
                c->xdg_runtime_dir = absolute_dir_from_env("XDG_RUNTIME_DIR");
        if (c->gui)
                c->wayland_display = wayland_display_from_env();

        return config_add_binds(c, m, err);
}

static void hash_field(KpHasher *h, const char *name, const char *value) {
        kp_hasher_update_str(h, name);
        kp_hasher_update(h, "=", 1);
        kp_hasher_update_str(h, value ? value : "");
        kp_hasher_update(h, "\n", 1);
}

int sandbox_config_digest(const SandboxConfig *c, char ret[KP_HASH_HEX_SIZE]) {
        _cleanup_free_ char *upper = kp_path_join(c->env_dir, "upper");
        char buf[128];
        struct stat st = {};
        KpHasher h;

        if (!upper)
                return -ENOMEM;
        /* A restore replaces upper/ by another directory: a holder still
         * showing the old one must not be joined. */
        (void) stat(upper, &st);

        kp_hasher_init(&h);
        hash_field(&h, "env_dir", c->env_dir);
        hash_field(&h, "rootfs", c->rootfs);
        hash_field(&h, "hostname", c->hostname);
        snprintf(buf, sizeof buf, "%d %d %d %d %d %u %u %llu %llu", c->network_isolation, c->host_integration, c->gui,
                 c->gpu, c->audio, (unsigned) getuid(), (unsigned) getgid(), (unsigned long long) st.st_dev,
                 (unsigned long long) st.st_ino);
        hash_field(&h, "flags", buf);
        hash_field(&h, "home", c->home);
        hash_field(&h, "xdg_runtime_dir", c->xdg_runtime_dir);
        hash_field(&h, "wayland_display", c->wayland_display);
        for (size_t i = 0; i < c->n_binds; i++) {
                hash_field(&h, "bind", c->binds[i].label);
                hash_field(&h, "host", c->binds[i].host_path);
                hash_field(&h, "container", c->binds[i].container_path);
                hash_field(&h, "ro", c->binds[i].read_only ? "1" : "0");
        }
        kp_hasher_final_hex(&h, ret);
        return 0;
}
