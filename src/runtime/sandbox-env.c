/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "basic/fs-util.h"
#include "runtime/sandbox-env.h"

static const char *const allowed_names[] = {
        "TERM", "COLORTERM", "LANG", "LANGUAGE", "TZ", "HOME", "USER", "LOGNAME", "SHELL", "EDITOR", "VISUAL",
};

static const char *const gui_names[] = {
        "DISPLAY", "WAYLAND_DISPLAY", "XDG_RUNTIME_DIR",
};

static const char *const denied_names[] = {
        "SSH_AUTH_SOCK", "SSH_AGENT_PID", "GPG_AGENT_INFO", "DOCKER_HOST", "DOCKER_CONFIG", "DOCKER_CERT_PATH",
        "KUBECONFIG", "NETRC", "GOOGLE_APPLICATION_CREDENTIALS", "DBUS_SESSION_BUS_ADDRESS",
};

static const char *const denied_prefixes[] = {
        "AWS_", "AZURE_", "GCP_", "GITHUB_", "GH_", "GITLAB_", "VAULT_", "OP_SESSION_",
};

static const char *const denied_suffixes[] = {
        "_TOKEN", "_KEY", "_CREDENTIALS",
};

static const char *const denied_substrings[] = {
        "SECRET", "PASSWORD", "PASSWD",
};

static bool name_has_suffix(const char *name, const char *suffix) {
        size_t n = strlen(name), s = strlen(suffix);

        return n >= s && streq(name + n - s, suffix);
}

bool sandbox_env_is_denied(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(denied_names); i++)
                if (streq(name, denied_names[i]))
                        return true;
        for (size_t i = 0; i < ELEMENTSOF(denied_prefixes); i++)
                if (strneq(name, denied_prefixes[i], strlen(denied_prefixes[i])))
                        return true;
        for (size_t i = 0; i < ELEMENTSOF(denied_suffixes); i++)
                if (name_has_suffix(name, denied_suffixes[i]))
                        return true;
        for (size_t i = 0; i < ELEMENTSOF(denied_substrings); i++)
                if (strstr(name, denied_substrings[i]))
                        return true;
        return false;
}

bool sandbox_env_is_allowed(const char *name, const SandboxEnvOptions *opts) {
        if (sandbox_env_is_denied(name))
                return false;
        if (strneq(name, "LC_", 3) && name[3] != '\0')
                return true;
        for (size_t i = 0; i < ELEMENTSOF(allowed_names); i++)
                if (streq(name, allowed_names[i]))
                        return true;
        if (opts->gui)
                for (size_t i = 0; i < ELEMENTSOF(gui_names); i++)
                        if (streq(name, gui_names[i]))
                                return true;
        return false;
}

/* Length of the name part of "NAME=value", or 0 when there is no valid name. */
static size_t env_name_length(const char *entry) {
        const char *eq = strchr(entry, '=');

        if (!eq || eq == entry)
                return 0;
        for (const char *p = entry; p < eq; p++)
                if (!isalnum((unsigned char) *p) && *p != '_')
                        return 0;
        return (size_t) (eq - entry);
}

static int env_push(char ***v, size_t *n, const char *name, const char *value) {
        char *entry = NULL;

        if (asprintf(&entry, "%s=%s", name, value) < 0)
                return -ENOMEM;
        return kp_strv_push(v, n, entry);
}

static int env_push_host(char ***v, size_t *n, char *const *host_env, const SandboxEnvOptions *opts) {
        int r;

        for (size_t i = 0; host_env && host_env[i]; i++) {
                size_t len = env_name_length(host_env[i]);
                char name[256];

                if (len == 0 || len >= sizeof name)
                        continue;
                memcpy(name, host_env[i], len);
                name[len] = '\0';

                if (!sandbox_env_is_allowed(name, opts))
                        continue;
                if ((opts->home && streq(name, "HOME")) || (opts->shell && streq(name, "SHELL")))
                        continue;

                r = kp_strv_push(v, n, strdup(host_env[i]));
                if (r < 0)
                        return r;
        }
        return 0;
}

static bool env_has(char *const *v, const char *name) {
        size_t len = strlen(name);

        for (size_t i = 0; v && v[i]; i++)
                if (strneq(v[i], name, len) && v[i][len] == '=')
                        return true;
        return false;
}

int sandbox_env_build(char *const *host_env, const SandboxEnvOptions *opts, char ***ret) {
        _cleanup_strv_free_ char **v = NULL;
        size_t n = 0;
        int r;

        r = env_push_host(&v, &n, host_env, opts);
        if (r >= 0)
                r = env_push(&v, &n, "PATH", SANDBOX_DEFAULT_PATH);
        if (r >= 0)
                r = env_push(&v, &n, "TERMINFO_DIRS", SANDBOX_TERMINFO_DIRS);
        if (r >= 0 && opts->home)
                r = env_push(&v, &n, "HOME", opts->home);
        if (r >= 0 && opts->shell)
                r = env_push(&v, &n, "SHELL", opts->shell);
        if (r >= 0 && opts->hostname)
                r = env_push(&v, &n, "HOSTNAME", opts->hostname);
        if (r >= 0 && opts->pty && !env_has(v, "TERM"))
                r = env_push(&v, &n, "TERM", "xterm-256color");
        if (r >= 0)
                r = env_push(&v, &n, "KARAPACE_ENV", "1");
        if (r < 0)
                return r;

        if (!v) {
                v = calloc(1, sizeof(char *));
                if (!v)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(v);
        return 0;
}

/* ---- Locales ------------------------------------------------------------ */

/* glibc's form of a codeset: letters lowercased, digits kept, the rest
 * dropped ("UTF-8" -> "utf8"); all digits get an "iso" prefix. */
static void codeset_normalize(const char *codeset, size_t len, char *out, size_t out_size) {
        size_t o = 0;
        bool letters = false;

        for (size_t i = 0; i < len; i++)
                if (isalpha((unsigned char) codeset[i]))
                        letters = true;
        if (!letters && out_size > 4)
                o = (size_t) snprintf(out, out_size, "iso");
        for (size_t i = 0; i < len && o + 1 < out_size; i++) {
                unsigned char c = (unsigned char) codeset[i];

                if (isalnum(c))
                        out[o++] = (char) tolower(c);
        }
        out[o] = '\0';
}

/* VALUE with its codeset normalized: "de_DE.UTF-8@euro" -> "de_DE.utf8@euro". */
static void locale_normalize(const char *value, char *out, size_t out_size) {
        const char *dot = strchr(value, '.');
        const char *at = strchr(value, '@');
        char codeset[64];

        if (!dot || (at && at < dot)) {
                snprintf(out, out_size, "%s", value);
                return;
        }
        codeset_normalize(dot + 1, at ? (size_t) (at - dot - 1) : strlen(dot + 1), codeset, sizeof codeset);
        snprintf(out, out_size, "%.*s.%s%s", (int) (dot - value), value, codeset, at ? at : "");
}

/* The glibc locale archive starts with this header (locarchive.h); names
 * are NUL-terminated strings in the string table it points at. */
#define LOCALE_ARCHIVE_MAGIC 0xde020109u
/* The string table holds only names; 16 MiB is far above any real one. */
#define LOCALE_ARCHIVE_STRINGS_MAX (16u * 1024 * 1024)

typedef struct LocaleArchiveHeader {
        uint32_t magic;
        uint32_t serial;
        uint32_t namehash_offset;
        uint32_t namehash_used;
        uint32_t namehash_size;
        uint32_t string_offset;
        uint32_t string_used;
        uint32_t string_size;
} LocaleArchiveHeader;

static bool locale_archive_contains(int root_fd, const char *name) {
        _cleanup_close_ int fd = kp_open_in_root(root_fd, "usr/lib/locale/locale-archive", O_RDONLY | O_CLOEXEC, 0);
        _cleanup_free_ char *strings = NULL;
        LocaleArchiveHeader h;
        size_t len = strlen(name);

        if (fd < 0)
                return false;
        if (pread(fd, &h, sizeof h, 0) != (ssize_t) sizeof h || h.magic != LOCALE_ARCHIVE_MAGIC ||
            h.string_used == 0 || h.string_used > LOCALE_ARCHIVE_STRINGS_MAX)
                return false;

        strings = malloc(h.string_used + 1);
        if (!strings || pread(fd, strings, h.string_used, h.string_offset) != (ssize_t) h.string_used)
                return false;
        strings[h.string_used] = '\0';

        for (size_t off = 0; off < h.string_used;) {
                const char *s = strings + off;
                size_t slen = strnlen(s, h.string_used - off);

                if (slen == len && memcmp(s, name, len) == 0)
                        return true;
                off += slen + 1;
        }
        return false;
}

static bool locale_dir_exists(int root_fd, const char *name) {
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -1;

        if (strchr(name, '/') || streq(name, ".") || streq(name, ".."))
                return false;
        if (asprintf(&path, "usr/lib/locale/%s", name) < 0)
                return false;
        fd = kp_open_in_root(root_fd, path, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
        return fd >= 0;
}

bool sandbox_locale_is_available(int root_fd, const char *value) {
        _cleanup_close_ int dir_fd = -1;
        char normalized[256];

        if (isempty(value) || streq(value, "C") || streq(value, "POSIX") || strneq(value, "C.", 2))
                return true;

        /* An image without compiled locales (musl, busybox) accepts any
         * name without complaint. */
        dir_fd = kp_open_in_root(root_fd, "usr/lib/locale", O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
        if (dir_fd < 0)
                return true;

        locale_normalize(value, normalized, sizeof normalized);
        return locale_dir_exists(root_fd, value) || locale_dir_exists(root_fd, normalized) ||
               locale_archive_contains(root_fd, normalized) || locale_archive_contains(root_fd, value);
}

static bool is_locale_variable(const char *entry) {
        return strneq(entry, "LANG=", 5) || (strneq(entry, "LC_", 3) && strchr(entry, '='));
}

int sandbox_env_fix_locale(char ***env, bool (*is_available)(const char *value, void *userdata),
                           void *userdata) {
        char **v = *env;
        size_t n = kp_strv_length(v), o = 0;
        bool missing = false;
        int r;

        for (size_t i = 0; i < n && !missing; i++)
                if (is_locale_variable(v[i]) && !is_available(strchr(v[i], '=') + 1, userdata))
                        missing = true;
        if (!missing)
                return 0;

        for (size_t i = 0; i < n; i++) {
                if (is_locale_variable(v[i]))
                        free(v[i]);
                else
                        v[o++] = v[i];
        }
        v[o] = NULL;
        n = o;

        r = env_push(env, &n, "LANG", "C.UTF-8");
        if (r >= 0)
                r = env_push(env, &n, "LC_ALL", "C.UTF-8");
        return r < 0 ? r : 1;
}
