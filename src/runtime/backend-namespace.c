/* SPDX-License-Identifier: MIT */
/*
 * The rootless namespace backend: environments run in the sandbox of
 * sandbox.h over the image rootfs that image_ensure() provides.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/fs-util.h"
#include "basic/log.h"
#include "runtime/backend.h"
#include "runtime/image.h"
#include "runtime/sandbox-env.h"
#include "runtime/sandbox-packages.h"
#include "runtime/sandbox.h"
#include "runtime/userns.h"

extern char **environ;

/* Symlink in the environment directory to the rootfs it was built on, so
 * that enter and exec use that tree even after the image is updated. */
#define LOWER_LINK "lower"

/* How much of a failed package command's output goes into the error. */
#define PACKAGE_OUTPUT_TAIL 8192

/* /etc/passwd of an image; 1 MiB is far beyond any real one. */
#define PASSWD_MAX (1024 * 1024)

static bool sysctl_equals(const char *path, const char *value) {
        _cleanup_free_ char *text = NULL;

        if (kp_read_file_at(AT_FDCWD, path, 64, &text, NULL) < 0)
                return false;
        text[strcspn(text, "\n")] = '\0';
        return streq(text, value);
}

static const char *namespace_unavailable_reason(void) {
        if (geteuid() == 0)
                return NULL;
        if (sysctl_equals("/proc/sys/kernel/unprivileged_userns_clone", "0"))
                return "unprivileged user namespaces are disabled; enable them with "
                       "'sysctl -w kernel.unprivileged_userns_clone=1'";
        if (sysctl_equals("/proc/sys/user/max_user_namespaces", "0"))
                return "user namespaces are disabled; enable them with 'sysctl -w user.max_user_namespaces=15000'";
        if (sysctl_equals("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", "1"))
                return "AppArmor blocks unprivileged user namespaces; allow them with "
                       "'sysctl -w kernel.apparmor_restrict_unprivileged_userns=0' or an AppArmor profile";
        return NULL;
}

/* ---- Package commands in a build sandbox --------------------------------- */

static char *const package_env[] = {
        (char *) "PATH=" SANDBOX_DEFAULT_PATH,
        (char *) "HOME=/root",
        (char *) "LC_ALL=C",
        (char *) "DEBIAN_FRONTEND=noninteractive",
        (char *) "TERM=dumb",
        NULL,
};

static char *output_tail(int fd) {
        off_t size = lseek(fd, 0, SEEK_END);
        off_t start = size > PACKAGE_OUTPUT_TAIL ? size - PACKAGE_OUTPUT_TAIL : 0;
        char *text = NULL;

        if (size < 0 || lseek(fd, start, SEEK_SET) < 0 || kp_read_fd(fd, PACKAGE_OUTPUT_TAIL, &text, NULL) < 0)
                return NULL;
        return text;
}

/* Run ARGV as root in S with its output in OUT_FD; a non-zero exit is an
 * error that shows the end of the output. */
static int package_command_run(Sandbox *s, char **argv, int out_fd, KpError *err) {
        _cleanup_close_ int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        _cleanup_free_ char *tail = NULL;
        SandboxCommand cmd = {
                .argv = argv,
                .envp = package_env,
                .cwd = "/",
                .stdin_fd = null_fd,
                .stdout_fd = out_fd,
                .stderr_fd = out_fd,
        };
        int code = 0, r;

        log_debug("running '%s' in the build sandbox", argv[0]);
        r = sandbox_run(s, &cmd, &code, err);
        if (r < 0)
                return r;
        if (code == 0)
                return 0;

        tail = output_tail(out_fd);
        return kp_error_set_kind(err, KP_ERROR_RUNTIME, -EIO, "package installation failed: '%s %s' exited with code %d:\n%s",
                                 argv[0], argv[1] ? argv[1] : "", code, tail ? tail : "");
}

static int detect_package_manager(const char *rootfs, KpError *err) {
        _cleanup_close_ int root_fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        int pm;

        if (root_fd < 0)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, -errno, "cannot open the image rootfs '%s': %m", rootfs);
        pm = package_manager_detect(root_fd);
        if (pm < 0)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, -ENOENT,
                                         "no supported package manager found in the image. Supported: apt, dnf, zypper, pacman");
        return pm;
}

/* The installed versions of the manifest's packages. The query's exit
 * status is ignored: a missing package shows up as "unresolved". */
static int query_versions(Sandbox *s, PackageManager pm, const NormalizedManifest *m, char ***ret, KpError *err) {
        _cleanup_close_ int out_fd = memfd_create("package-versions", MFD_CLOEXEC);
        _cleanup_close_ int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_free_ char *output = NULL;
        int code = 0, r;

        if (out_fd < 0 || null_fd < 0)
                return kp_error_set(err, -errno, "cannot create a buffer for the version query: %m");
        r = package_query_command(pm, m->system_packages, m->n_system_packages, &argv);
        if (r < 0)
                return kp_error_set(err, r, "out of memory");

        SandboxCommand cmd = {
                .argv = argv, .envp = package_env, .cwd = "/",
                .stdin_fd = null_fd, .stdout_fd = out_fd, .stderr_fd = null_fd,
        };
        r = sandbox_run(s, &cmd, &code, err);
        if (r < 0)
                return r;

        if (lseek(out_fd, 0, SEEK_SET) < 0 || kp_read_fd(out_fd, PASSWD_MAX, &output, NULL) < 0)
                return kp_error_set(err, -EIO, "cannot read the version query output");
        r = package_versions_parse(pm, output, m->system_packages, m->n_system_packages, ret);
        if (r < 0)
                return kp_error_set(err, r, "out of memory");
        return 0;
}

/* Install the manifest's packages into ENV_DIR's upper directory, as root
 * with the full id range. With RET_VERSIONS, also return their versions. */
static int install_packages(const BackendSpec *spec, const char *env_dir, const char *rootfs, char ***ret_versions,
                            KpError *err) {
        const NormalizedManifest *m = spec->manifest;
        _cleanup_(sandbox_config_done) SandboxConfig c = {};
        _cleanup_close_ int out_fd = memfd_create("package-output", MFD_CLOEXEC);
        char ***cmds = NULL;
        Sandbox *s = NULL;
        int pm, r;

        if (out_fd < 0)
                return kp_error_set(err, -errno, "cannot create a buffer for the package manager output: %m");
        _cleanup_strv_free_ char **specs = NULL;

        pm = detect_package_manager(rootfs, err);
        if (pm < 0)
                return pm;
        /* build --locked installs the versions the lock file names. */
        r = package_locked_specs(pm, m->system_packages, m->n_system_packages, spec->locked, &specs, err);
        if (r < 0)
                return r;
        r = package_install_commands(pm, specs, m->n_system_packages, !userns_has_full_range(), &cmds);
        if (r < 0)
                return kp_error_set(err, r, "out of memory");

        /* Packages need the network even when the environment is isolated
         * at run time; only offline builds (which have no packages) lack it. */
        r = sandbox_config_init(&c, env_dir, rootfs, spec->env_id, m, /* host_integration= */ false, err);
        if (r < 0)
                goto out;
        c.network_isolation = false;
        c.linger_ms = 0;

        r = sandbox_open(&c, &s, err);
        if (r < 0)
                goto out;

        log_debug("installing %zu packages via %s", m->n_system_packages, package_manager_to_string(pm));
        for (size_t i = 0; cmds[i] && r >= 0; i++)
                r = package_command_run(s, cmds[i], out_fd, err);

        if (r >= 0 && ret_versions)
                r = query_versions(s, pm, m, ret_versions, err);

out:
        if (s)
                sandbox_close(s, /* shutdown= */ true);
        package_commands_free(cmds);
        return r;
}

/* ---- resolve and build --------------------------------------------------- */

static int ensure_image(const BackendSpec *spec, ImageInfo *ret, KpError *err) {
        ImageOptions opts = { .offline = spec->offline };

        return image_ensure(spec->store_root, spec->manifest->base_image, &opts, ret, err);
}

static char *resolve_scratch_path(const char *store_root, const char *id) {
        char *path = NULL;

        if (asprintf(&path, "%s/env/.resolve-%s", store_root, id) < 0)
                return NULL;
        return path;
}

/* Move the upper directory that the resolution for spec->resolve_id filled
 * into UPPER. Returns 1 when it did, 0 when there is none to take. */
static int take_resolved_upper(const BackendSpec *spec, const char *upper, KpError *err) {
        _cleanup_free_ char *scratch = NULL, *scratch_upper = NULL;
        int r = 0;

        if (!spec->resolve_id)
                return 0;
        scratch = resolve_scratch_path(spec->store_root, spec->resolve_id);
        if (!scratch || !(scratch_upper = kp_path_join(scratch, "upper")))
                return kp_error_set(err, -ENOMEM, "out of memory");
        if (kp_is_dir_at(AT_FDCWD, scratch_upper)) {
                if (rename(scratch_upper, upper) < 0)
                        return kp_error_set_kind(err, KP_ERROR_RUNTIME, -errno, "cannot move '%s' to '%s': %m",
                                                 scratch_upper, upper);
                log_debug("reusing the packages installed while resolving");
                r = 1;
        }
        {
                _cleanup_error_ KpError rm_err = KP_ERROR_INIT;

                if (userns_remove_tree(scratch, &rm_err) < 0)
                        log_warn("cannot remove '%s': %s", scratch, rm_err.message);
        }
        return r;
}

static int namespace_resolve(const BackendSpec *spec, ResolutionResult **ret, KpError *err) {
        const NormalizedManifest *m = spec->manifest;
        _cleanup_(image_info_done) ImageInfo image = {};
        _cleanup_resolution_result_free_ ResolutionResult *result = NULL;
        _cleanup_strv_free_ char **versions = NULL;
        _cleanup_free_ char *scratch = NULL;
        int r;

        r = ensure_image(spec, &image, err);
        if (r < 0)
                return r;
        if (spec->offline && m->n_system_packages > 0)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, -ENONET, "offline mode: cannot resolve system packages");

        r = resolution_result_new(image.digest, &result);
        if (r < 0)
                return kp_error_set(err, r, "out of memory");

        if (m->n_system_packages > 0) {
                /* A scratch overlay next to the environments. The build that
                 * follows moves its upper directory into the environment
                 * instead of installing the same packages again. The engine
                 * removes scratch directories that no build took. */
                scratch = resolve_scratch_path(spec->store_root, spec->env_id);
                if (!scratch)
                        return kp_error_set(err, -ENOMEM, "out of memory");
                r = userns_remove_tree(scratch, err);
                if (r < 0)
                        return r;
                if (mkdir(scratch, 0700) < 0)
                        return kp_error_set_kind(err, KP_ERROR_RUNTIME, -errno, "cannot create '%s': %m", scratch);

                r = install_packages(spec, scratch, image.rootfs, &versions, err);
                if (r < 0) {
                        _cleanup_error_ KpError rm_err = KP_ERROR_INIT;

                        if (userns_remove_tree(scratch, &rm_err) < 0)
                                log_warn("cannot remove '%s': %s", scratch, rm_err.message);
                        return r;
                }
        }

        for (size_t i = 0; i < m->n_system_packages; i++) {
                r = resolution_result_add_package(result, m->system_packages[i], versions[i]);
                if (r < 0)
                        return kp_error_set(err, r, "out of memory");
        }
        *ret = TAKE_PTR(result);
        return 0;
}

static int write_lower_link(const char *env_dir, const char *rootfs, KpError *err) {
        _cleanup_free_ char *link = kp_path_join(env_dir, LOWER_LINK);

        if (!link)
                return kp_error_set(err, -ENOMEM, "out of memory");
        if (unlink(link) < 0 && errno != ENOENT)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, -errno, "cannot replace '%s': %m", link);
        if (symlink(rootfs, link) < 0)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, -errno, "cannot create '%s': %m", link);
        return 0;
}

static int namespace_build(const BackendSpec *spec, KpError *err) {
        _cleanup_(image_info_done) ImageInfo image = {};
        _cleanup_free_ char *upper = kp_path_join(spec->env_dir, "upper");
        int r;

        if (!upper)
                return kp_error_set(err, -ENOMEM, "out of memory");
        r = ensure_image(spec, &image, err);
        if (r < 0)
                return r;

        r = kp_mkdir_p(spec->env_dir, 0755);
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, r, "cannot create '%s': %s", spec->env_dir,
                                         strerror(-r));
        r = write_lower_link(spec->env_dir, image.rootfs, err);
        if (r < 0)
                return r;

        /* The resolution installed exactly these packages on this image. */
        if (spec->manifest->n_system_packages > 0 && !kp_path_exists_at(AT_FDCWD, upper)) {
                r = take_resolved_upper(spec, upper, err);
                if (r != 0)
                        return r < 0 ? r : 0;
        }

        r = kp_mkdir_p(upper, 0755);
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, r, "cannot create '%s': %s", upper, strerror(-r));

        if (spec->manifest->n_system_packages == 0)
                return 0;
        if (spec->offline)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, -ENONET, "offline mode: cannot install system packages");
        return install_packages(spec, spec->env_dir, image.rootfs, NULL, err);
}

/* ---- enter and exec --------------------------------------------------------- */

/* The rootfs the environment was built on, or the cached image. */
static int find_rootfs(const BackendSpec *spec, char **ret, KpError *err) {
        _cleanup_free_ char *link = kp_path_join(spec->env_dir, LOWER_LINK);
        _cleanup_(image_info_done) ImageInfo image = {};
        ImageOptions opts = { .offline = true };
        char *target;
        int r;

        if (!link)
                return kp_error_set(err, -ENOMEM, "out of memory");
        target = realpath(link, NULL);
        if (target && kp_is_dir_at(AT_FDCWD, target)) {
                *ret = target;
                return 0;
        }
        free(target);

        r = image_ensure(spec->store_root, spec->manifest->base_image, &opts, &image, err);
        if (r < 0)
                return kp_error_prefix(err, "base image rootfs is missing or corrupted; run 'karapace rebuild'");
        *ret = TAKE_PTR(image.rootfs);
        return 0;
}

/* The login shell of root in the environment's /etc/passwd (the upper
 * directory's copy first), when that program exists; else /bin/sh. */
static char *find_shell(const char *env_dir, const char *rootfs) {
        _cleanup_free_ char *upper = kp_path_join(env_dir, "upper");
        const char *roots[] = { upper, rootfs };
        _cleanup_free_ char *passwd = NULL, *shell = NULL;
        char *save = NULL;

        for (size_t i = 0; i < ELEMENTSOF(roots) && !passwd && roots[i]; i++) {
                _cleanup_close_ int root_fd = open(roots[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
                _cleanup_close_ int fd = root_fd >= 0 ? kp_open_in_root(root_fd, "etc/passwd", O_RDONLY, 0) : -1;

                if (fd >= 0)
                        (void) kp_read_fd(fd, PASSWD_MAX, &passwd, NULL);
        }

        for (char *line = passwd ? strtok_r(passwd, "\n", &save) : NULL; line && !shell;
             line = strtok_r(NULL, "\n", &save)) {
                char *fields[7] = {};
                size_t n = 0;

                for (char *p = line; n < 7; n++) {
                        fields[n] = p;
                        p = strchr(p, ':');
                        if (!p)
                                break;
                        *p++ = '\0';
                }
                if (n == 6 && streq(fields[2], "0") && fields[6][0] == '/')
                        shell = strdup(fields[6]);
        }

        for (size_t i = 0; shell && i < ELEMENTSOF(roots); i++) {
                _cleanup_close_ int root_fd = roots[i] ? open(roots[i], O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
                _cleanup_close_ int fd = root_fd >= 0 ? kp_open_in_root(root_fd, shell + 1, O_PATH, 0) : -1;

                if (fd >= 0)
                        return TAKE_PTR(shell);
        }
        return strdup("/bin/sh");
}

/* The host's working directory when the home mount shows it at the same
 * path, else home for a shell or / for a command. */
static char *session_cwd(const SandboxConfig *c, bool shell) {
        _cleanup_free_ char *cwd = getcwd(NULL, 0);
        size_t n = c->home ? strlen(c->home) : 0;

        if (cwd && c->home && strneq(cwd, c->home, n) && (cwd[n] == '\0' || cwd[n] == '/'))
                return TAKE_PTR(cwd);
        return strdup(shell && c->home ? c->home : "/");
}

static int namespace_run(const BackendSpec *spec, char *const *argv, bool interactive, int *ret_status,
                         KpError *err) {
        _cleanup_(sandbox_config_done) SandboxConfig c = {};
        _cleanup_free_ char *rootfs = NULL, *upper = kp_path_join(spec->env_dir, "upper"), *shell = NULL, *cwd = NULL;
        _cleanup_strv_free_ char **envp = NULL;
        bool want_shell = !argv || !argv[0];
        bool pty = want_shell && interactive && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
        char *shell_argv[3] = {};
        Sandbox *s = NULL;
        int r;

        if (!upper || !kp_is_dir_at(AT_FDCWD, upper))
                return kp_error_set_kind(err, KP_ERROR_STATE, -ENOENT,
                                         "environment %.12s has not been built yet. Run 'karapace build' first.",
                                         spec->env_id);
        r = find_rootfs(spec, &rootfs, err);
        if (r < 0)
                return r;
        r = sandbox_config_init(&c, spec->env_dir, rootfs, spec->env_id, spec->manifest, /* host_integration= */ true,
                                err);
        if (r < 0)
                return r;

        if (want_shell) {
                shell = find_shell(spec->env_dir, rootfs);
                if (!shell)
                        return kp_error_set(err, -ENOMEM, "out of memory");
                shell_argv[0] = shell;
                shell_argv[1] = pty ? (char *) "-l" : NULL;
        }

        SandboxEnvOptions env_opts = {
                .hostname = c.hostname,
                .home = c.home ? NULL : "/root",
                .shell = shell,
                .gui = c.gui || c.audio,
                .pty = pty,
        };
        r = sandbox_env_build(environ, &env_opts, &envp);
        cwd = session_cwd(&c, want_shell);
        if (r < 0 || !cwd)
                return kp_error_set(err, -ENOMEM, "out of memory");

        SandboxCommand cmd = {
                .argv = want_shell ? shell_argv : argv,
                .envp = envp,
                .cwd = cwd,
                .pty = pty,
                .stdin_fd = -1,
                .stdout_fd = -1,
                .stderr_fd = -1,
        };
        r = sandbox_open(&c, &s, err);
        if (r < 0)
                return r;
        r = sandbox_run(s, &cmd, ret_status, err);
        sandbox_close(s, /* shutdown= */ false);
        return r;
}

static int namespace_destroy(const BackendSpec *spec, KpError *err) {
        /* The engine removes the directory itself, with userns_remove_tree()
         * for files of subordinate ids. Here only the holder must go, so that
         * nothing is mounted from the directory any more. */
        return sandbox_stop(spec->env_dir, err);
}

const Backend backend_namespace = {
        .name = "namespace",
        .unavailable_reason = namespace_unavailable_reason,
        .resolve = namespace_resolve,
        .build = namespace_build,
        .run = namespace_run,
        .destroy = namespace_destroy,
};
