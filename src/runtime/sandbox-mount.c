/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <net/if.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/fs-util.h"
#include "basic/log.h"
#include "runtime/sandbox-mount.h"
#include "schema/mount-policy.h"

extern char **environ;

/* The host's /etc/hosts is copied into the sandbox's; 1 MiB bounds it. */
#define HOSTS_FILE_MAX (1024 * 1024)

static const char *const step_names[_SANDBOX_STEP_MAX] = {
        [SANDBOX_STEP_USERNS] = "user namespace",
        [SANDBOX_STEP_NAMESPACES] = "namespaces",
        [SANDBOX_STEP_HOST_PATHS] = "host paths",
        [SANDBOX_STEP_OVERLAY] = "overlay",
        [SANDBOX_STEP_PIVOT] = "pivot_root",
        [SANDBOX_STEP_PROC] = "/proc",
        [SANDBOX_STEP_DEV] = "/dev",
        [SANDBOX_STEP_SYS] = "/sys",
        [SANDBOX_STEP_TMPFS] = "tmpfs",
        [SANDBOX_STEP_HOST_ETC] = "host /etc",
        [SANDBOX_STEP_HOME] = "home",
        [SANDBOX_STEP_MOUNTS] = "mounts",
        [SANDBOX_STEP_HOSTNAME] = "hostname",
        [SANDBOX_STEP_NETWORK] = "network",
        [SANDBOX_STEP_SOCKET] = "socket",
};

const char *sandbox_step_to_string(SandboxStep step) {
        if (step < 0 || step >= _SANDBOX_STEP_MAX)
                return NULL;
        return step_names[step];
}

int sandbox_step_fail(KpError *err, SandboxStep step, int code, const char *path) {
        if (path)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, code, "sandbox setup failed at step '%s' for '%s': %s",
                                         sandbox_step_to_string(step), path, strerror(-code));
        return kp_error_set_kind(err, KP_ERROR_RUNTIME, code, "sandbox setup failed at step '%s': %s",
                                 sandbox_step_to_string(step), strerror(-code));
}

const char *overlay_driver_to_string(OverlayDriver d) {
        switch (d) {
        case OVERLAY_DRIVER_KERNEL:
                return "overlay";
        case OVERLAY_DRIVER_FUSE:
                return "fuse-overlayfs";
        case _OVERLAY_DRIVER_MAX:
                break;
        }
        return NULL;
}

int sandbox_mount_escape(const char *path, char **ret) {
        size_t n = strlen(path);
        char *out = malloc(2 * n + 1), *o = out;

        if (!out)
                return -ENOMEM;
        for (const char *p = path; *p; p++) {
                if (*p == '\\' || *p == ',' || *p == ':')
                        *o++ = '\\';
                *o++ = *p;
        }
        *o = '\0';
        *ret = out;
        return 0;
}

int sandbox_overlay_options(const char *lower, const char *upper, const char *work, bool userxattr, char **ret) {
        _cleanup_free_ char *l = NULL, *u = NULL, *w = NULL;

        if (sandbox_mount_escape(lower, &l) < 0 || sandbox_mount_escape(upper, &u) < 0 ||
            sandbox_mount_escape(work, &w) < 0)
                return -ENOMEM;
        if (asprintf(ret, "lowerdir=%s,upperdir=%s,workdir=%s%s", l, u, w, userxattr ? ",userxattr" : "") < 0)
                return -ENOMEM;
        return 0;
}

/* ---- Overlay ------------------------------------------------------------ */

static int overlay_mount_kernel(const char *lower, const char *upper, const char *work, const char *merged) {
        _cleanup_free_ char *options = NULL;

        if (sandbox_overlay_options(lower, upper, work, true, &options) < 0)
                return -ENOMEM;
        if (mount("overlay", merged, "overlay", 0, options) < 0)
                return -errno;
        return 0;
}

/* Run fuse-overlayfs, which mounts and then leaves a daemon serving the
 * mount; that daemon lives in the sandbox's pid namespace and dies with it.
 * Its error output goes to *RET_OUTPUT. */
static int overlay_mount_fuse(const char *lower, const char *upper, const char *work, const char *merged,
                              char **ret_output) {
        _cleanup_free_ char *options = NULL;
        _cleanup_close_ int out_fd = memfd_create("fuse-overlayfs-output", MFD_CLOEXEC);
        posix_spawn_file_actions_t actions;
        char *argv[] = { (char *) "fuse-overlayfs", (char *) "-o", NULL, (char *) merged, NULL };
        pid_t pid;
        int status, r;

        if (out_fd < 0 || sandbox_overlay_options(lower, upper, work, false, &options) < 0)
                return -ENOMEM;
        argv[2] = options;

        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, out_fd, STDERR_FILENO);
        r = posix_spawnp(&pid, "fuse-overlayfs", &actions, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&actions);
        if (r != 0)
                return -r;

        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;

        lseek(out_fd, 0, SEEK_SET);
        (void) kp_read_fd(out_fd, 4096, ret_output, NULL);
        return -EIO;
}

static bool overlay_fuse_forced(void) {
        const char *v = getenv("KARAPACE_OVERLAY");

        return v && streq(v, "fuse");
}

int sandbox_overlay_mount(const SandboxConfig *c, const char *merged, OverlayDriver *ret_driver, KpError *err) {
        _cleanup_free_ char *upper = kp_path_join(c->env_dir, "upper");
        _cleanup_free_ char *work = kp_path_join(c->env_dir, "work");
        _cleanup_free_ char *fuse_output = NULL;
        int r, kernel_r = 0;

        if (!upper || !work)
                return kp_error_set(err, -ENOMEM, "out of memory");
        r = kp_mkdir_p(upper, 0755);
        if (r >= 0)
                r = kp_mkdir_p(work, 0700);
        if (r >= 0)
                r = kp_mkdir_p(merged, 0755);
        if (r < 0)
                return sandbox_step_fail(err, SANDBOX_STEP_OVERLAY, r, c->env_dir);

        if (!overlay_fuse_forced()) {
                kernel_r = overlay_mount_kernel(c->rootfs, upper, work, merged);
                if (kernel_r >= 0) {
                        *ret_driver = OVERLAY_DRIVER_KERNEL;
                        return 0;
                }
        }

        r = overlay_mount_fuse(c->rootfs, upper, work, merged, &fuse_output);
        if (r >= 0) {
                *ret_driver = OVERLAY_DRIVER_FUSE;
                return 0;
        }

        return kp_error_set_kind(err, KP_ERROR_RUNTIME, kernel_r < 0 ? kernel_r : r,
                                 "cannot mount the overlay on '%s': kernel overlayfs: %s; fuse-overlayfs: %s%s%s",
                                 merged, kernel_r < 0 ? strerror(-kernel_r) : "not tried (KARAPACE_OVERLAY=fuse)",
                                 strerror(-r), fuse_output ? ": " : "", fuse_output ? fuse_output : "");
}

/* ---- Host paths, opened before pivot_root ------------------------------ */

void sandbox_sources_done(SandboxSources *s) {
        for (size_t i = 0; i < s->n_items; i++) {
                if (s->items[i].tree_fd >= 0)
                        (void) close(s->items[i].tree_fd);
                free(s->items[i].target);
        }
        free(s->items);
        free(s->hosts_file);
        free(s->resolv_link);
        free(s->localtime_link);
        *s = (SandboxSources) {};
}

typedef enum SourceFlags {
        SOURCE_RECURSIVE = 1 << 0,
        SOURCE_READ_ONLY = 1 << 1,
        SOURCE_OPTIONAL = 1 << 2,       /* a missing host path is skipped */
} SourceFlags;

/* Clone the mount tree at HOST (or at FD when HOST is NULL) for TARGET. */
static int source_add_at(SandboxSources *s, int fd, const char *host, const char *target, SourceFlags flags,
                         const char *label) {
        unsigned tree_flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | ((flags & SOURCE_RECURSIVE) ? AT_RECURSIVE : 0);
        _cleanup_close_ int tree_fd = -1;
        SandboxSource *grown;
        struct stat st;

        tree_fd = host ? open_tree(AT_FDCWD, host, tree_flags) : open_tree(fd, "", tree_flags | AT_EMPTY_PATH);
        if (tree_fd < 0)
                return ((flags & SOURCE_OPTIONAL) && errno == ENOENT) ? 0 : -errno;

        if (flags & SOURCE_READ_ONLY) {
                struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };

                if (mount_setattr(tree_fd, "", AT_EMPTY_PATH | ((flags & SOURCE_RECURSIVE) ? AT_RECURSIVE : 0),
                                  &attr, sizeof attr) < 0)
                        return -errno;
        }
        if (fstat(tree_fd, &st) < 0)
                return -errno;

        grown = realloc(s->items, (s->n_items + 1) * sizeof(SandboxSource));
        if (!grown)
                return -ENOMEM;
        s->items = grown;
        s->items[s->n_items] = (SandboxSource) {
                .tree_fd = tree_fd,
                .target = strdup(target),
                .is_dir = S_ISDIR(st.st_mode),
                .label = label,
        };
        if (!s->items[s->n_items].target)
                return -ENOMEM;
        TAKE_FD(tree_fd);
        s->n_items++;
        return 0;
}

static int source_add(SandboxSources *s, const char *host, const char *target, SourceFlags flags) {
        return source_add_at(s, -1, host, target, flags, NULL);
}

static int sources_add_devices(const SandboxConfig *c, SandboxSources *s, KpError *err) {
        static const char *const devices[] = { "null", "zero", "full", "random", "urandom", "tty" };
        char host[32];
        int r;

        for (size_t i = 0; i < ELEMENTSOF(devices); i++) {
                snprintf(host, sizeof host, "/dev/%s", devices[i]);
                r = source_add(s, host, host, 0);
                if (r < 0)
                        return sandbox_step_fail(err, SANDBOX_STEP_DEV, r, host);
        }

        r = c->gpu ? source_add(s, "/dev/dri", "/dev/dri", SOURCE_RECURSIVE | SOURCE_OPTIONAL) : 0;
        if (r >= 0 && c->audio)
                r = source_add(s, "/dev/snd", "/dev/snd", SOURCE_RECURSIVE | SOURCE_OPTIONAL);
        if (r < 0)
                return sandbox_step_fail(err, SANDBOX_STEP_DEV, r, c->gpu ? "/dev/dri" : "/dev/snd");
        return 0;
}

/* Return where the sandbox's /etc/NAME should point: into the read-only host /etc
 * at /run/host/etc, or, for a host symlink leading out of /etc (resolv.conf
 * -> /run/systemd/resolve/stub-resolv.conf), into a bind of the real
 * target's directory below /run/host. Binding the directory, not the file,
 * keeps it current when the host replaces the file. *RET is NULL when the
 * host has no such file. */
static int host_link_prepare(SandboxSources *s, const char *name, char **ret) {
        _cleanup_free_ char *path = NULL, *real = NULL, *dir = NULL, *target = NULL;
        struct stat st;
        int r;

        *ret = NULL;
        if (asprintf(&path, "/etc/%s", name) < 0)
                return -ENOMEM;
        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISLNK(st.st_mode))
                return asprintf(ret, "/run/host/etc/%s", name) < 0 ? -ENOMEM : 0;

        real = realpath(path, NULL);
        if (!real)
                return 0;       /* dangling on the host too */
        if (strneq(real, "/etc/", 5))
                return asprintf(ret, "/run/host%s", real) < 0 ? -ENOMEM : 0;

        dir = strdup(real);
        if (!dir)
                return -ENOMEM;
        if (asprintf(&target, "/run/host%s", dirname(dir)) < 0)
                return -ENOMEM;
        r = source_add(s, dir, target, SOURCE_RECURSIVE | SOURCE_READ_ONLY);
        if (r < 0)
                return r;
        return asprintf(ret, "/run/host%s", real) < 0 ? -ENOMEM : 0;
}

static int sources_add_host_etc(SandboxSources *s, KpError *err) {
        int r;

        r = source_add(s, "/etc", "/run/host/etc", SOURCE_RECURSIVE | SOURCE_READ_ONLY);
        if (r < 0)
                return sandbox_step_fail(err, SANDBOX_STEP_HOST_ETC, r, "/etc");

        r = source_add(s, "/usr/share/terminfo", "/run/host/usr/share/terminfo",
                       SOURCE_RECURSIVE | SOURCE_READ_ONLY | SOURCE_OPTIONAL);
        if (r >= 0)
                r = source_add(s, "/lib/terminfo", "/run/host/lib/terminfo",
                               SOURCE_RECURSIVE | SOURCE_READ_ONLY | SOURCE_OPTIONAL);
        if (r < 0)
                return sandbox_step_fail(err, SANDBOX_STEP_HOST_ETC, r, "terminfo");

        r = host_link_prepare(s, "resolv.conf", &s->resolv_link);
        if (r < 0)
                return sandbox_step_fail(err, SANDBOX_STEP_HOST_ETC, r, "/etc/resolv.conf");
        r = host_link_prepare(s, "localtime", &s->localtime_link);
        if (r < 0)
                return sandbox_step_fail(err, SANDBOX_STEP_HOST_ETC, r, "/etc/localtime");

        r = kp_read_file_at(AT_FDCWD, "/etc/hosts", HOSTS_FILE_MAX, &s->hosts_file, NULL);
        if (r < 0 && r != -ENOENT)
                return sandbox_step_fail(err, SANDBOX_STEP_HOST_ETC, r, "/etc/hosts");
        return 0;
}

static int sources_add_gui(const SandboxConfig *c, SandboxSources *s, KpError *err) {
        static const char *const audio_sockets[] = { "pulse/native", "pipewire-0" };
        _cleanup_free_ char *path = NULL;
        int r;

        if (c->gui) {
                r = source_add(s, "/tmp/.X11-unix", "/tmp/.X11-unix", SOURCE_READ_ONLY | SOURCE_OPTIONAL);
                if (r < 0)
                        return sandbox_step_fail(err, SANDBOX_STEP_HOST_PATHS, r, "/tmp/.X11-unix");
        }
        if (!c->xdg_runtime_dir)
                return 0;

        if (c->gui && c->wayland_display) {
                path = kp_path_join(c->xdg_runtime_dir, c->wayland_display);
                if (!path)
                        return kp_error_set(err, -ENOMEM, "out of memory");
                r = source_add(s, path, path, SOURCE_OPTIONAL);
                if (r < 0)
                        return sandbox_step_fail(err, SANDBOX_STEP_HOST_PATHS, r, path);
        }
        for (size_t i = 0; c->audio && i < ELEMENTSOF(audio_sockets); i++) {
                free(path);
                path = kp_path_join(c->xdg_runtime_dir, audio_sockets[i]);
                if (!path)
                        return kp_error_set(err, -ENOMEM, "out of memory");
                r = source_add(s, path, path, SOURCE_OPTIONAL);
                if (r < 0)
                        return sandbox_step_fail(err, SANDBOX_STEP_HOST_PATHS, r, path);
        }
        return 0;
}

/* Open a manifest mount's host path again and check that it still is the
 * resolved, allowed path: a symlink swapped in since the check would show
 * up as a different path of the opened file. */
static int source_add_bind(SandboxSources *s, const SandboxBind *b, KpError *err) {
        _cleanup_close_ int fd = open(b->host_path, O_PATH | O_CLOEXEC);
        char proc[64], actual[PATH_MAX];
        ssize_t n;
        int r;

        if (fd < 0)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, -errno, "mount '%s' failed: cannot open '%s': %m",
                                         b->label, b->host_path);

        snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
        n = readlink(proc, actual, sizeof actual - 1);
        if (n < 0)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, -errno, "mount '%s' failed: cannot check '%s': %m",
                                         b->label, b->host_path);
        actual[n] = '\0';
        if (!streq(actual, b->host_path) || !mount_policy_path_is_allowed(actual))
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, -EPERM,
                                         "mount '%s' failed: '%s' now resolves to '%s', which is not allowed",
                                         b->label, b->host_path, actual);

        r = source_add_at(s, fd, NULL, b->container_path,
                          SOURCE_RECURSIVE | (b->read_only ? SOURCE_READ_ONLY : 0), b->label);
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, r, "mount '%s' failed: cannot bind '%s': %s",
                                         b->label, b->host_path, strerror(-r));
        return 0;
}

/* A new proc instance for the sandbox's pid namespace. It is created here,
 * before pivot_root, because the kernel lets a user namespace mount proc
 * only while a fully visible proc is mounted in its mount namespace, and
 * the host's goes away with the old root. */
static int source_add_proc(SandboxSources *s, KpError *err) {
        _cleanup_close_ int fs_fd = fsopen("proc", FSOPEN_CLOEXEC);
        _cleanup_close_ int mount_fd = -1;
        SandboxSource *grown;

        if (fs_fd < 0 || fsconfig(fs_fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                return sandbox_step_fail(err, SANDBOX_STEP_PROC, -errno, "/proc");
        mount_fd = fsmount(fs_fd, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
        if (mount_fd < 0)
                return sandbox_step_fail(err, SANDBOX_STEP_PROC, -errno, "/proc");

        grown = realloc(s->items, (s->n_items + 1) * sizeof(SandboxSource));
        if (!grown)
                return kp_error_set(err, -ENOMEM, "out of memory");
        s->items = grown;
        s->items[s->n_items] = (SandboxSource) { .tree_fd = mount_fd, .target = strdup("/proc"), .is_dir = true };
        if (!s->items[s->n_items].target)
                return kp_error_set(err, -ENOMEM, "out of memory");
        TAKE_FD(mount_fd);
        s->n_items++;
        return 0;
}

int sandbox_sources_open(const SandboxConfig *c, SandboxSources *s, KpError *err) {
        int r;

        *s = (SandboxSources) {};

        r = source_add_proc(s, err);
        if (r < 0)
                return r;
        r = sources_add_devices(c, s, err);
        if (r < 0)
                return r;

        r = source_add(s, "/sys", "/sys", SOURCE_RECURSIVE | SOURCE_READ_ONLY);
        if (r < 0)
                return sandbox_step_fail(err, SANDBOX_STEP_SYS, r, "/sys");

        r = sources_add_host_etc(s, err);
        if (r < 0)
                return r;

        if (!c->host_integration)
                return 0;

        r = sources_add_gui(c, s, err);
        if (r < 0)
                return r;

        if (c->home) {
                r = source_add(s, c->home, c->home, SOURCE_RECURSIVE | SOURCE_OPTIONAL);
                if (r < 0)
                        return sandbox_step_fail(err, SANDBOX_STEP_HOME, r, c->home);
        }

        for (size_t i = 0; i < c->n_binds; i++) {
                r = source_add_bind(s, &c->binds[i], err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- pivot_root ---------------------------------------------------------- */

int sandbox_pivot(const char *merged, OverlayDriver driver, KpError *err) {
        if (chdir(merged) < 0)
                return sandbox_step_fail(err, SANDBOX_STEP_PIVOT, -errno, merged);

        /* pivot_root() moves the root of every process whose root is the old
         * one, the fuse-overlayfs daemon included, whose lookups would then
         * go through its own mount and hang. With that driver the overlay is
         * moved onto / and only the holder changes root.
         * NOTE: chroot() leaves the old root reachable for root inside (as
         * the user's own files), unlike pivot_root(). */
        if (driver == OVERLAY_DRIVER_FUSE) {
                if (mount(merged, "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0)
                        return sandbox_step_fail(err, SANDBOX_STEP_PIVOT, -errno, merged);
        } else {
                /* pivot_root(".", ".") stacks the old root on top of the new
                 * one. Detaching "." then removes the old root, so the image
                 * needs no directory for it. */
                if (syscall(SYS_pivot_root, ".", ".") < 0)
                        return sandbox_step_fail(err, SANDBOX_STEP_PIVOT, -errno, merged);
                if (umount2(".", MNT_DETACH) < 0)
                        return sandbox_step_fail(err, SANDBOX_STEP_PIVOT, -errno, "old root");
        }

        if (chdir("/") < 0)
                return sandbox_step_fail(err, SANDBOX_STEP_PIVOT, -errno, "/");
        return 0;
}

/* ---- The tree after pivot_root ------------------------------------------ */

static int mkdir_inside(const char *path, SandboxStep step, KpError *err) {
        int r = kp_mkdir_p(path, 0755);

        if (r < 0)
                return sandbox_step_fail(err, step, r, path);
        return 0;
}

static int mount_fs(const char *source, const char *target, const char *type, unsigned long flags,
                    const char *options, SandboxStep step, KpError *err) {
        int r;

        r = mkdir_inside(target, step, err);
        if (r < 0)
                return r;
        if (mount(source, target, type, flags, options) < 0)
                return sandbox_step_fail(err, step, -errno, target);
        return 0;
}

/* Create the mount point for SRC: a directory, or an empty file for a file. */
static int source_create_target(const SandboxSource *src) {
        _cleanup_free_ char *parent = NULL;
        _cleanup_close_ int fd = -1;
        int r;

        if (src->is_dir)
                return kp_mkdir_p(src->target, 0755);

        parent = strdup(src->target);
        if (!parent)
                return -ENOMEM;
        r = kp_mkdir_p(dirname(parent), 0755);
        if (r < 0)
                return r;
        fd = open(src->target, O_WRONLY | O_CREAT | O_NOCTTY | O_CLOEXEC, 0644);
        if (fd < 0 && errno != EISDIR)
                return -errno;
        return 0;
}

static int source_attach(SandboxSource *src, SandboxStep step, KpError *err) {
        int r;

        r = source_create_target(src);
        if (r >= 0 && move_mount(src->tree_fd, "", AT_FDCWD, src->target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
                r = -errno;
        if (r < 0) {
                if (src->label)
                        return kp_error_set_kind(err, KP_ERROR_RUNTIME, r, "mount '%s' failed: cannot attach it at '%s': %s",
                                                 src->label, src->target, strerror(-r));
                return sandbox_step_fail(err, step, r, src->target);
        }
        (void) close_and_reset(&src->tree_fd);
        return 0;
}

/* Attach the sources whose target starts with PREFIX (all when NULL). */
static int sources_attach(SandboxSources *s, const char *prefix, SandboxStep step, KpError *err) {
        int r;

        for (size_t i = 0; i < s->n_items; i++) {
                SandboxSource *src = &s->items[i];

                if (src->tree_fd < 0 || (prefix && !strneq(src->target, prefix, strlen(prefix))))
                        continue;
                r = source_attach(src, src->label ? SANDBOX_STEP_MOUNTS : step, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int symlink_replace(const char *target, const char *path) {
        char current[PATH_MAX];
        ssize_t n = readlink(path, current, sizeof current - 1);

        if (n >= 0) {
                current[n] = '\0';
                if (streq(current, target))
                        return 0;
        }
        if (unlink(path) < 0 && errno != ENOENT)
                return -errno;
        if (symlink(target, path) < 0)
                return -errno;
        return 0;
}

static int setup_dev(const SandboxConfig *c, SandboxSources *s, KpError *err) {
        static const char *const links[][2] = {
                { "/proc/self/fd", "/dev/fd" },     { "/proc/self/fd/0", "/dev/stdin" },
                { "/proc/self/fd/1", "/dev/stdout" }, { "/proc/self/fd/2", "/dev/stderr" },
                { "pts/ptmx", "/dev/ptmx" },
        };
        int r;

        r = mount_fs("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=0755,size=65536k", SANDBOX_STEP_DEV,
                     err);
        if (r < 0)
                return r;

        for (size_t i = 0; i < ELEMENTSOF(links); i++)
                if (symlink(links[i][0], links[i][1]) < 0)
                        return sandbox_step_fail(err, SANDBOX_STEP_DEV, -errno, links[i][1]);

        r = sources_attach(s, "/dev/", SANDBOX_STEP_DEV, err);
        if (r < 0)
                return r;

        /* gid 5 is "tty" on Debian, Fedora and Arch. It is mapped only with
         * a subordinate range or as real root. Without one the kernel
         * rejects the option, so the terminals belong to gid 0. */
        r = mkdir_inside("/dev/pts", SANDBOX_STEP_DEV, err);
        if (r < 0)
                return r;
        if (mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5") < 0 &&
            mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620") < 0)
                return sandbox_step_fail(err, SANDBOX_STEP_DEV, -errno, "/dev/pts");

        return mount_fs("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", SANDBOX_STEP_DEV, err);
}

/* The sandbox's /etc/hosts: the host's entries plus the sandbox hostname. */
static int write_hosts(const SandboxConfig *c, const SandboxSources *s, KpError *err) {
        _cleanup_free_ char *text = NULL;
        const char *host = s->hosts_file ? s->hosts_file : "127.0.0.1\tlocalhost\n::1\tlocalhost\n";
        size_t len = strlen(host);
        int r;

        if (asprintf(&text, "%s%s127.0.1.1\t%s\n", host, len > 0 && host[len - 1] != '\n' ? "\n" : "",
                     c->hostname) < 0)
                return kp_error_set(err, -ENOMEM, "out of memory");

        r = kp_mkdir_p("/run/karapace", 0755);
        if (r >= 0)
                r = kp_write_file_atomic_at(AT_FDCWD, "/run/karapace/hosts", text, strlen(text), 0644, 0);
        if (r < 0)
                return sandbox_step_fail(err, SANDBOX_STEP_HOST_ETC, r, "/run/karapace/hosts");
        return 0;
}

/* resolv.conf, hosts and localtime become symlinks into the host's files.
 * They are written through the overlay, so the upper directory keeps them;
 * an unchanged link is not rewritten. */
static int setup_etc_links(const SandboxConfig *c, const SandboxSources *s, KpError *err) {
        const char *links[][2] = {
                { s->resolv_link, "/etc/resolv.conf" },
                { s->localtime_link, "/etc/localtime" },
                { "/run/karapace/hosts", "/etc/hosts" },
        };
        int r;

        r = write_hosts(c, s, err);
        if (r < 0)
                return r;
        r = mkdir_inside("/etc", SANDBOX_STEP_HOST_ETC, err);
        if (r < 0)
                return r;

        for (size_t i = 0; i < ELEMENTSOF(links); i++) {
                if (!links[i][0])
                        continue;
                r = symlink_replace(links[i][0], links[i][1]);
                if (r < 0)
                        return sandbox_step_fail(err, SANDBOX_STEP_HOST_ETC, r, links[i][1]);
        }
        return 0;
}

static int loopback_up(KpError *err) {
        _cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct ifreq ifr = {};

        if (fd < 0)
                return sandbox_step_fail(err, SANDBOX_STEP_NETWORK, -errno, "lo");
        snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
        if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
                return sandbox_step_fail(err, SANDBOX_STEP_NETWORK, -errno, "lo");
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
                return sandbox_step_fail(err, SANDBOX_STEP_NETWORK, -errno, "lo");
        return 0;
}

int sandbox_rootfs_setup(const SandboxConfig *c, SandboxSources *s, KpError *err) {
        int r;

        r = sources_attach(s, "/proc", SANDBOX_STEP_PROC, err);
        if (r >= 0)
                r = setup_dev(c, s, err);
        if (r >= 0)
                r = sources_attach(s, "/sys", SANDBOX_STEP_SYS, err);
        if (r >= 0)
                r = mount_fs("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", SANDBOX_STEP_TMPFS, err);
        if (r >= 0)
                r = mount_fs("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755", SANDBOX_STEP_TMPFS, err);
        if (r >= 0)
                r = sources_attach(s, "/run/host/", SANDBOX_STEP_HOST_ETC, err);
        if (r >= 0)
                r = setup_etc_links(c, s, err);
        if (r >= 0)
                r = sources_attach(s, NULL, SANDBOX_STEP_HOME, err);
        if (r < 0)
                return r;

        if (sethostname(c->hostname, strlen(c->hostname)) < 0)
                return sandbox_step_fail(err, SANDBOX_STEP_HOSTNAME, -errno, c->hostname);
        if (c->network_isolation)
                return loopback_up(err);
        return 0;
}
