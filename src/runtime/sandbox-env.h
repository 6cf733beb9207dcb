/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>

/*
 * The environment variables a sandboxed command gets.
 *
 * Only an allowlist passes from the host: TERM, COLORTERM, LANG, LANGUAGE,
 * LC_*, TZ, HOME, USER, LOGNAME, SHELL, EDITOR, VISUAL, and with gui also
 * DISPLAY, WAYLAND_DISPLAY and XDG_RUNTIME_DIR. A denylist of credential
 * carriers (SSH_AUTH_SOCK, GPG_AGENT_INFO, DOCKER_HOST, AWS_*, *_TOKEN,
 * *SECRET*, *PASSWORD*, ...) is applied on top, so no future allowlist entry
 * can leak them. PATH is reset, and TERMINFO_DIRS lets the image's own
 * terminfo come first, then the host's (bound read-only under /run/host).
 */

/* PATH inside the sandbox. */
#define SANDBOX_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Search path for terminal descriptions: the image's, then the host's. */
#define SANDBOX_TERMINFO_DIRS \
        "/etc/terminfo:/lib/terminfo:/usr/share/terminfo:/run/host/usr/share/terminfo:/run/host/lib/terminfo"

typedef struct SandboxEnvOptions {
        const char *hostname;   /* HOSTNAME inside */
        const char *home;       /* overrides the host's HOME when set */
        const char *shell;      /* overrides the host's SHELL when set */
        bool gui;               /* pass the display variables */
        bool pty;               /* the command gets a terminal: TERM defaults to xterm-256color */
} SandboxEnvOptions;

/* True when NAME (without "=value") must never reach the sandbox. */
bool sandbox_env_is_denied(const char *name);

/* True when NAME may pass from the host with OPTS. */
bool sandbox_env_is_allowed(const char *name, const SandboxEnvOptions *opts);

/* Build the environment from HOST_ENV ("NAME=value" strings, NULL-terminated).
 * Returns a NULL-terminated array to free with kp_strv_free(). */
int sandbox_env_build(char *const *host_env, const SandboxEnvOptions *opts, char ***ret);

/* True when the locale named VALUE (e.g. "de_DE.UTF-8") is installed below
 * ROOT_FD, or is C/POSIX which always works. Looks for the compiled locale
 * directory and in the glibc locale archive. */
bool sandbox_locale_is_available(int root_fd, const char *value);

/* Replace LANG, LANGUAGE and LC_* in ENV (as built by sandbox_env_build())
 * by LANG=C.UTF-8 and LC_ALL=C.UTF-8 when one of the requested locales is
 * missing, so programs start without locale warnings. IS_AVAILABLE decides
 * per locale name. Returns 1 when it replaced them, 0 or -ENOMEM. */
int sandbox_env_fix_locale(char ***env, bool (*is_available)(const char *value, void *userdata),
                           void *userdata);
