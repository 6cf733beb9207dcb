/* SPDX-License-Identifier: MIT */
/*
 * "bootstrap:<distro>/<suite>" images: a minimal Debian or Ubuntu base
 * built by mmdebstrap from an apt mirror, written as a tarball that is then
 * extracted like any other image.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/fs-util.h"
#include "basic/log.h"
#include "runtime/image-internal.h"

/* How much of mmdebstrap's output an error message quotes (its end). */
#define BOOTSTRAP_LOG_TAIL 2000

/* The keyring mmdebstrap needs to verify an Ubuntu mirror; Debian's
 * ubuntu-keyring package installs it. */
#define UBUNTU_KEYRING "/usr/share/keyrings/ubuntu-archive-keyring.gpg"

int image_bootstrap_mirror(const ImageConfig *config, const ImageSpec *spec, const char *apt_dir, char **ret,
                           KpError *err) {
        const char *configured = streq(spec->distro, "ubuntu") ? config->ubuntu_mirror : config->debian_mirror;
        int r;

        if (configured) {
                *ret = strdup(configured);
                return *ret ? 0 : kp_error_set(err, -ENOMEM, "out of memory");
        }

        if (streq(spec->distro, "ubuntu"))
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, -ENOENT,
                                         "cannot bootstrap '%s': no Ubuntu mirror is configured; add a line such as "
                                         "ubuntu_mirror = \"http://archive.ubuntu.com/ubuntu\" to %s",
                                         spec->name, config->path ? config->path : "~/.config/karapace/config.toml");

        r = image_apt_debian_mirror(apt_dir, ret);
        if (r == -ENOENT)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, r,
                                         "cannot bootstrap '%s': no Debian mirror found in the apt sources below %s; "
                                         "set debian_mirror = \"<url>\" in %s",
                                         spec->name, apt_dir,
                                         config->path ? config->path : "~/.config/karapace/config.toml");
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, r, "failed to read the apt sources below %s: %s",
                                         apt_dir, strerror(-r));
        return 0;
}

static char *read_log_tail(int fd) {
        char buf[BOOTSTRAP_LOG_TAIL + 1];
        off_t size = lseek(fd, 0, SEEK_END);
        off_t start = size > BOOTSTRAP_LOG_TAIL ? size - BOOTSTRAP_LOG_TAIL : 0;
        ssize_t n;

        n = pread(fd, buf, BOOTSTRAP_LOG_TAIL, start);
        if (n <= 0)
                return strdup("(no output)");
        buf[n] = '\0';
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
                buf[--n] = '\0';
        return strdup(buf);
}

static _noreturn_ void bootstrap_exec(char **argv, int log_fd) {
        int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

        if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0 || dup2(log_fd, STDOUT_FILENO) < 0 ||
            dup2(log_fd, STDERR_FILENO) < 0)
                _exit(127);
        (void) signal(SIGPIPE, SIG_DFL);
        execvp(argv[0], argv);
        dprintf(STDERR_FILENO, "failed to run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
}

static int bootstrap_wait(pid_t pid, int *ret_status) {
        while (waitpid(pid, ret_status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        return 0;
}

int image_bootstrap_run(const ImageSpec *spec, const char *mirror, const char *tar_path, int log_dir_fd,
                        KpError *err) {
        _cleanup_close_ int log_fd = -1;
        _cleanup_free_ char *tail = NULL;
        char *argv[] = {
                (char *) "mmdebstrap",
                (char *) "--variant=minbase",
                (char *) (geteuid() == 0 ? "--mode=root" : "--mode=unshare"),
                (char *) "--format=tar",
                spec->suite,
                (char *) tar_path,
                (char *) mirror,
                NULL,
        };
        int status, r;
        pid_t pid;

        if (streq(spec->distro, "ubuntu") && access(UBUNTU_KEYRING, R_OK) < 0)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, -ENOENT,
                                         "cannot bootstrap '%s': %s is missing; install the ubuntu-keyring package",
                                         spec->name, UBUNTU_KEYRING);

        /* mmdebstrap's output goes to an unnamed file and is quoted only
         * when it fails. */
        log_fd = image_open_unnamed_tmpfile(log_dir_fd);
        if (log_fd < 0)
                return kp_error_set(err, log_fd, "failed to create a temporary file: %s", strerror(-log_fd));

        log_debug("running mmdebstrap --variant=minbase %s --format=tar %s %s %s", argv[2], spec->suite, tar_path,
                  mirror);
        fflush(NULL);
        pid = fork();
        if (pid < 0)
                return kp_error_set(err, -errno, "failed to start mmdebstrap: %s", strerror(errno));
        if (pid == 0)
                bootstrap_exec(argv, log_fd);

        r = bootstrap_wait(pid, &status);
        if (r < 0)
                return kp_error_set(err, r, "failed to wait for mmdebstrap: %s", strerror(-r));
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;

        tail = read_log_tail(log_fd);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, -ENOENT,
                                         "cannot bootstrap '%s': mmdebstrap is not installed (install the mmdebstrap "
                                         "package): %s",
                                         spec->name, tail ? tail : "");
        return kp_error_set_kind(err, KP_ERROR_RUNTIME, -EIO, "mmdebstrap failed to build '%s' from %s:\n%s",
                                 spec->name, mirror, tail ? tail : "(no output)");
}
