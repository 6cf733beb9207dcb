/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>

#include "basic/error.h"
#include "runtime/sandbox.h"

/*
 * Mounts of the sandbox, done by the holder inside its new mount namespace.
 *
 * Host paths are opened before pivot_root as detached mount trees
 * (open_tree with OPEN_TREE_CLONE), so a symlink in the image can never
 * redirect them; targets are created and attached after pivot_root, where
 * every path, symlinks included, resolves inside the sandbox.
 */

typedef enum SandboxStep {
        SANDBOX_STEP_USERNS,
        SANDBOX_STEP_NAMESPACES,
        SANDBOX_STEP_HOST_PATHS,
        SANDBOX_STEP_OVERLAY,
        SANDBOX_STEP_PIVOT,
        SANDBOX_STEP_PROC,
        SANDBOX_STEP_DEV,
        SANDBOX_STEP_SYS,
        SANDBOX_STEP_TMPFS,
        SANDBOX_STEP_HOST_ETC,
        SANDBOX_STEP_HOME,
        SANDBOX_STEP_MOUNTS,
        SANDBOX_STEP_HOSTNAME,
        SANDBOX_STEP_NETWORK,
        SANDBOX_STEP_SOCKET,
        _SANDBOX_STEP_MAX,
} SandboxStep;

const char *sandbox_step_to_string(SandboxStep step);

/* Record in ERR that STEP failed with CODE on PATH (may be NULL). */
int sandbox_step_fail(KpError *err, SandboxStep step, int code, const char *path);

typedef enum OverlayDriver {
        OVERLAY_DRIVER_KERNEL,
        OVERLAY_DRIVER_FUSE,
        _OVERLAY_DRIVER_MAX,
} OverlayDriver;

/* "overlay" or "fuse-overlayfs", as written to <env dir>/.overlay-driver. */
const char *overlay_driver_to_string(OverlayDriver d);

/* Escape PATH for a comma-separated mount option value: '\', ',' and ':'
 * get a backslash, which overlayfs and libfuse both strip again. */
int sandbox_mount_escape(const char *path, char **ret);

/* "lowerdir=...,upperdir=...,workdir=..." with escaped paths, plus
 * ",userxattr" when USERXATTR is set. */
int sandbox_overlay_options(const char *lower, const char *upper, const char *work, bool userxattr, char **ret);

/* Mount the overlay of C on MERGED: kernel overlayfs with userxattr, or
 * fuse-overlayfs when the kernel rejects it (or KARAPACE_OVERLAY=fuse). */
int sandbox_overlay_mount(const SandboxConfig *c, const char *merged, OverlayDriver *ret_driver, KpError *err);

/* A host path to attach inside, opened before pivot_root. */
typedef struct SandboxSource {
        int tree_fd;            /* detached mount tree */
        char *target;           /* absolute path inside */
        bool is_dir;
        const char *label;      /* manifest mount label, or NULL */
} SandboxSource;

typedef struct SandboxSources {
        SandboxSource *items;
        size_t n_items;
        char *hosts_file;       /* the host's /etc/hosts content */
        char *resolv_link;      /* symlink targets for /etc/resolv.conf and /etc/localtime, or NULL */
        char *localtime_link;
} SandboxSources;

void sandbox_sources_done(SandboxSources *s);

/* Open every host path C needs: devices, /sys, /etc, terminfo, the home
 * directory and the manifest mounts. */
int sandbox_sources_open(const SandboxConfig *c, SandboxSources *s, KpError *err);

/* Make MERGED the root: pivot_root() and detach the old root, or with
 * fuse-overlayfs move the overlay onto / and chroot(). */
int sandbox_pivot(const char *merged, OverlayDriver driver, KpError *err);

/* After pivot_root: /proc, /dev, /sys, /tmp, /run, /run/host, the /etc links,
 * home and manifest mounts, hostname and loopback. */
int sandbox_rootfs_setup(const SandboxConfig *c, SandboxSources *s, KpError *err);
