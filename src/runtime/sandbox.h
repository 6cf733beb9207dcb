/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "basic/error.h"
#include "basic/hash.h"
#include "schema/normalize.h"

/*
 * The rootless namespace sandbox.
 *
 * Each environment directory D that is in use has one holder process: pid 1
 * of the sandbox's pid namespace, created together with its user, mount,
 * uts, ipc and (with network isolation) network namespaces. The holder
 * mounts the overlay (lower = the image rootfs, upper = D/upper, work =
 * D/work), pivots into it and prepares /proc, /dev, /sys, /run, /tmp and the
 * host integration mounts. It then listens on D/.sandbox.sock. Every session
 * (exec, enter, a build step) connects to it; the holder forks the command
 * inside the namespaces, passes the caller's stdio or a pseudo-terminal to
 * it, forwards signals, reaps every process and reports the exit status.
 * Sessions of one environment thus share one overlay mount, which overlayfs
 * requires, and only the first session pays for the namespace and mount
 * setup (including newuidmap and newgidmap).
 *
 * After its last session the holder lingers for a short time (see
 * SANDBOX_LINGER_MS_DEFAULT) so that the next command starts quickly, then
 * exits by itself; its exit kills whatever the sessions left running and
 * releases the overlay. It never outlives that idle time and is never a
 * system service.
 *
 * Identity inside: root (uid and gid 0) is the calling user. With a
 * subordinate id range, ids 1..N map to that range (see sandbox-ids.h).
 * Files created in the home mount therefore belong to the user on the host.
 */

/* How long an idle holder waits for the next session, in milliseconds. The
 * environment variable KARAPACE_SANDBOX_LINGER_MS overrides it (0: exit
 * right after the last session). */
#define SANDBOX_LINGER_MS_DEFAULT 3000

/* A host directory or file bind-mounted into the sandbox. */
typedef struct SandboxBind {
        char *label;            /* the manifest's mount label, for messages */
        char *host_path;        /* absolute, symlinks resolved */
        char *container_path;   /* absolute path inside */
        bool read_only;
} SandboxBind;

typedef struct SandboxConfig {
        char *env_dir;          /* holds upper/, work/, merged/ and the holder's socket */
        char *rootfs;           /* the lower layer */
        char *hostname;
        bool network_isolation; /* a network namespace with only loopback */
        bool host_integration;  /* home, manifest mounts, gui sockets: for enter and exec */
        bool gui;               /* pass display variables and sockets */
        bool gpu;
        bool audio;
        char *home;             /* host home directory to bind, or NULL */
        char *xdg_runtime_dir;  /* with gui or audio: the host's, for its sockets */
        char *wayland_display;  /* with gui: socket name below xdg_runtime_dir */
        SandboxBind *binds;
        size_t n_binds;
        unsigned linger_ms;
} SandboxConfig;

void sandbox_config_done(SandboxConfig *c);

/* Fill C for the environment in ENV_DIR with image ROOTFS. With
 * HOST_INTEGRATION, the manifest's mounts are resolved on the host (a
 * leading "~" against $HOME, other relative paths against the current
 * directory), symlinks included, and each must lie in /home or /tmp; a
 * mount that fails this is an error naming its label. */
int sandbox_config_init(SandboxConfig *c, const char *env_dir, const char *rootfs, const char *env_id,
                        const NormalizedManifest *m, bool host_integration, KpError *err);

/* Digest over everything that shapes the holder's mounts, plus the identity
 * of the upper directory: a session only joins a holder with the same one. */
int sandbox_config_digest(const SandboxConfig *c, char ret[KP_HASH_HEX_SIZE]);

typedef struct SandboxCommand {
        char *const *argv;      /* argv[0] is looked up in the sandbox's PATH */
        char *const *envp;      /* the complete environment (see sandbox-env.h) */
        const char *cwd;        /* inside; "/" when NULL or missing */
        bool pty;               /* run on a new pseudo-terminal relayed to stdin/stdout */
        int stdin_fd;           /* -1: the caller's 0, 1, 2 */
        int stdout_fd;
        int stderr_fd;
} SandboxCommand;

typedef struct Sandbox Sandbox;

/* Join the holder of C->env_dir, starting it when none runs (or when the
 * running one was set up differently and is idle). */
int sandbox_open(const SandboxConfig *c, Sandbox **ret, KpError *err);

/* Run CMD and wait for it. While it runs, SIGINT, SIGTERM, SIGHUP, SIGQUIT
 * and SIGWINCH sent to the caller are forwarded to the command's process
 * group. *RET_EXIT_CODE is the exit code, or 128+N after signal N. */
int sandbox_run(Sandbox *s, const SandboxCommand *cmd, int *ret_exit_code, KpError *err);

/* True when sandbox_run() forwarded SIGTERM or SIGHUP: the caller is being
 * stopped, and sandbox_close() then shuts the holder down. */
bool sandbox_was_terminated(const Sandbox *s);

/* Leave the sandbox. With SHUTDOWN the holder exits as soon as no other
 * session uses it (without lingering), and this waits until it is gone and
 * the overlay is unmounted. */
void sandbox_close(Sandbox *s, bool shutdown);

static inline void sandbox_closep(Sandbox **s) {
        if (*s)
                sandbox_close(*s, false);
}
#define _cleanup_sandbox_close_ _cleanup_(sandbox_closep)

/* Stop the holder of ENV_DIR, if any, killing its sessions, and wait until
 * it is gone. */
int sandbox_stop(const char *env_dir, KpError *err);

/* Whether a holder for ENV_DIR is alive, and its pid on the host. */
bool sandbox_holder_alive(const char *env_dir, pid_t *ret_pid);
