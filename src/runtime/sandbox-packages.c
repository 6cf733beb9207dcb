/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "basic/fs-util.h"
#include "runtime/sandbox-packages.h"

static const char *const manager_names[_PACKAGE_MANAGER_MAX] = {
        [PACKAGE_MANAGER_APT] = "apt",
        [PACKAGE_MANAGER_DNF] = "dnf",
        [PACKAGE_MANAGER_ZYPPER] = "zypper",
        [PACKAGE_MANAGER_PACMAN] = "pacman",
};

const char *package_manager_to_string(PackageManager pm) {
        if (pm < 0 || pm >= _PACKAGE_MANAGER_MAX)
                return NULL;
        return manager_names[pm];
}

static bool exists_in_root(int root_fd, const char *path) {
        int fd = kp_open_in_root(root_fd, path, O_PATH | O_CLOEXEC, 0);

        if (fd < 0)
                return false;
        (void) close(fd);
        return true;
}

int package_manager_detect(int root_fd) {
        static const struct {
                const char *path;
                PackageManager pm;
        } programs[] = {
                { "usr/bin/apt-get", PACKAGE_MANAGER_APT },  { "usr/bin/apt", PACKAGE_MANAGER_APT },
                { "usr/bin/dnf", PACKAGE_MANAGER_DNF },      { "usr/bin/dnf5", PACKAGE_MANAGER_DNF },
                { "usr/bin/zypper", PACKAGE_MANAGER_ZYPPER }, { "usr/bin/pacman", PACKAGE_MANAGER_PACMAN },
        };

        for (size_t i = 0; i < ELEMENTSOF(programs); i++)
                if (exists_in_root(root_fd, programs[i].path))
                        return programs[i].pm;
        return -ENOENT;
}

/* A NULL-terminated argv: the words of PREFIX (NULL-terminated), then PACKAGES. */
static char **argv_new(const char *const *prefix, char *const *packages, size_t n) {
        size_t n_prefix = 0, o = 0;
        char **argv;

        while (prefix[n_prefix])
                n_prefix++;
        argv = calloc(n_prefix + n + 1, sizeof(char *));
        if (!argv)
                return NULL;
        for (size_t i = 0; i < n_prefix; i++)
                if (!(argv[o++] = strdup(prefix[i])))
                        goto fail;
        for (size_t i = 0; i < n; i++)
                if (!(argv[o++] = strdup(packages[i])))
                        goto fail;
        return argv;

fail:
        kp_strv_free(argv);
        return NULL;
}

void package_commands_free(char ***cmds) {
        for (size_t i = 0; cmds && cmds[i]; i++)
                kp_strv_free(cmds[i]);
        free(cmds);
}

int package_install_commands(PackageManager pm, char *const *packages, size_t n, bool single_id, char ****ret) {
        static const char *const apt_update[] = { "apt-get", "update", NULL };
        static const char *const apt_update_root[] = { "apt-get", "-o", "APT::Sandbox::User=root", "update", NULL };
        static const char *const apt_install[] = { "apt-get", "install", "-y", "--no-install-recommends", NULL };
        static const char *const apt_install_root[] = { "apt-get", "-o", "APT::Sandbox::User=root", "install",
                                                        "-y", "--no-install-recommends", NULL };
        static const char *const dnf[] = { "dnf", "install", "-y", "--setopt=install_weak_deps=False", NULL };
        static const char *const zypper[] = { "zypper", "--non-interactive", "install", "--no-recommends", NULL };
        /* -y refreshes the package lists, which fresh images lack. */
        static const char *const pacman[] = { "pacman", "-Sy", "--noconfirm", "--needed", NULL };
        char ***cmds = calloc(3, sizeof(char **));
        size_t c = 0;

        if (!cmds)
                return -ENOMEM;

        switch (pm) {
        case PACKAGE_MANAGER_APT:
                cmds[c++] = argv_new(single_id ? apt_update_root : apt_update, NULL, 0);
                cmds[c++] = argv_new(single_id ? apt_install_root : apt_install, packages, n);
                break;
        case PACKAGE_MANAGER_DNF:
                cmds[c++] = argv_new(dnf, packages, n);
                break;
        case PACKAGE_MANAGER_ZYPPER:
                cmds[c++] = argv_new(zypper, packages, n);
                break;
        case PACKAGE_MANAGER_PACMAN:
                cmds[c++] = argv_new(pacman, packages, n);
                break;
        case _PACKAGE_MANAGER_MAX:
        case _PACKAGE_MANAGER_INVALID:
        default:
                free(cmds);
                return -EINVAL;
        }

        for (size_t i = 0; i < c; i++)
                if (!cmds[i]) {
                        package_commands_free(cmds);
                        return -ENOMEM;
                }
        *ret = cmds;
        return 0;
}

int package_query_command(PackageManager pm, char *const *packages, size_t n, char ***ret) {
        static const char *const dpkg[] = { "dpkg-query", "-W", "-f", "${Package}\\t${Version}\\n", NULL };
        static const char *const rpm[] = { "rpm", "-q", "--qf", "%{NAME}\\t%{VERSION}-%{RELEASE}\\n", NULL };
        static const char *const pacman[] = { "pacman", "-Q", NULL };
        const char *const *prefix;

        switch (pm) {
        case PACKAGE_MANAGER_APT:
                prefix = dpkg;
                break;
        case PACKAGE_MANAGER_DNF:
        case PACKAGE_MANAGER_ZYPPER:
                prefix = rpm;
                break;
        case PACKAGE_MANAGER_PACMAN:
                prefix = pacman;
                break;
        case _PACKAGE_MANAGER_MAX:
        case _PACKAGE_MANAGER_INVALID:
        default:
                return -EINVAL;
        }

        *ret = argv_new(prefix, packages, n);
        return *ret ? 0 : -ENOMEM;
}

static char *trim(char *s) {
        char *end;

        while (*s == ' ' || *s == '\t' || *s == '\r')
                s++;
        end = s + strlen(s);
        while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
                *--end = '\0';
        return s;
}

/* The version of NAME in the "name<SEP>version" lines of OUTPUT, or NULL. */
static char *version_lookup(const char *output, char sep, const char *name) {
        _cleanup_free_ char *copy = strdup(output);
        char *save = NULL;

        if (!copy)
                return NULL;
        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *t = trim(line), *split = strchr(t, sep), *version;

                if (!split)
                        continue;
                *split = '\0';
                version = trim(split + 1);
                if (isempty(version))
                        continue;
                if (streq(trim(t), name))
                        return strdup(version);
        }
        return NULL;
}

int package_versions_parse(PackageManager pm, const char *output, char *const *packages, size_t n, char ***ret) {
        _cleanup_strv_free_ char **versions = NULL;
        char sep = pm == PACKAGE_MANAGER_PACMAN ? ' ' : '\t';
        size_t count = 0;
        int r;

        if (pm < 0 || pm >= _PACKAGE_MANAGER_MAX)
                return -EINVAL;

        for (size_t i = 0; i < n; i++) {
                char *v = version_lookup(output ? output : "", sep, packages[i]);

                r = kp_strv_push(&versions, &count, v ? v : strdup("unresolved"));
                if (r < 0)
                        return r;
        }
        if (!versions && !(versions = calloc(1, sizeof(char *))))
                return -ENOMEM;
        *ret = TAKE_PTR(versions);
        return 0;
}

int package_locked_specs(PackageManager pm, char *const *packages, size_t n, const Lock *locked, char ***ret,
                         KpError *err) {
        _cleanup_strv_free_ char **specs = calloc(n + 1, sizeof(char *));

        if (!specs)
                return kp_error_set(err, -ENOMEM, "out of memory");

        for (size_t i = 0; i < n; i++) {
                const char *version = NULL;
                int q;

                if (!locked) {
                        specs[i] = strdup(packages[i]);
                        if (!specs[i])
                                return kp_error_set(err, -ENOMEM, "out of memory");
                        continue;
                }

                for (size_t j = 0; j < locked->n_packages && !version; j++)
                        if (streq(locked->packages[j].name, packages[i]))
                                version = locked->packages[j].version;
                if (!version || streq(version, "unresolved"))
                        return kp_error_set_kind(err, KP_ERROR_LOCK, -ENOENT,
                                                 "lock file has no version of package '%s'; run 'karapace build' without --locked to re-resolve",
                                                 packages[i]);

                switch (pm) {
                case PACKAGE_MANAGER_APT:
                case PACKAGE_MANAGER_ZYPPER:
                        q = asprintf(&specs[i], "%s=%s", packages[i], version);
                        break;
                case PACKAGE_MANAGER_DNF:
                        q = asprintf(&specs[i], "%s-%s", packages[i], version);
                        break;
                case PACKAGE_MANAGER_PACMAN:
                        return kp_error_set_kind(err, KP_ERROR_RUNTIME, -EOPNOTSUPP,
                                                 "pacman cannot install the locked version %s of '%s' from its repositories; "
                                                 "build without --locked", version, packages[i]);
                case _PACKAGE_MANAGER_MAX:
                case _PACKAGE_MANAGER_INVALID:
                default:
                        return kp_error_set(err, -EINVAL, "unknown package manager");
                }
                if (q < 0) {
                        specs[i] = NULL;
                        return kp_error_set(err, -ENOMEM, "out of memory");
                }
        }
        *ret = TAKE_PTR(specs);
        return 0;
}
