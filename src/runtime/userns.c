/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "basic/fs-util.h"
#include "basic/log.h"
#include "runtime/sandbox-ids.h"
#include "runtime/userns.h"

/* Error messages passed from FUNC back to the caller; one pipe write of at
 * most PIPE_BUF bytes stays atomic and never blocks the child. */
#define USERNS_ERROR_MAX PIPE_BUF

/* Exit status of a child whose setup failed before FUNC ran. */
#define USERNS_EXIT_SETUP 255

/* Write end of the error pipe, valid only in the child of userns_run(). */
static int userns_error_fd = -1;

int userns_report_error(const KpError *err) {
        char buf[USERNS_ERROR_MAX];
        int n;

        if (!err || err->code >= 0)
                return 0;
        if (userns_error_fd < 0)
                return err->code;

        n = snprintf(buf, sizeof buf, "%d %d %s", (int) err->kind, -err->code,
                     err->message ? err->message : "");
        if (n >= (int) sizeof buf)
                n = sizeof buf - 1;
        (void) write(userns_error_fd, buf, (size_t) n);
        return err->code;
}

static int exit_code_from_result(int r) {
        if (r >= 0)
                return 0;
        if (-r < USERNS_EXIT_SETUP)
                return -r;
        return EIO;
}

static void read_child_error(int fd, int code, KpError *err) {
        char buf[USERNS_ERROR_MAX + 1];
        int kind = KP_ERROR_GENERIC, errnum = 0, off = 0;
        ssize_t n;

        n = read(fd, buf, sizeof buf - 1);
        if (n <= 0) {
                kp_error_set(err, code, "operation in the user namespace failed: %s", strerror(-code));
                return;
        }

        buf[n] = '\0';
        if (sscanf(buf, "%d %d %n", &kind, &errnum, &off) < 2 || kind < 0 || kind >= _KP_ERROR_KIND_MAX) {
                kp_error_set(err, code, "operation in the user namespace failed: %s", strerror(-code));
                return;
        }
        kp_error_set_kind(err, (KpErrorKind) kind, code, "%s", buf + off);
}

/* Make every mount private so that nothing FUNC mounts reaches the host. */
static int make_mounts_private(void) {
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return -errno;
        return 0;
}

static _noreturn_ void child_run(const SandboxIds *ids, int sync_ready, int sync_go, int error_fd,
                                 UsernsFunc func, void *userdata) {
        bool root = getuid() == 0;
        char c = 0;
        int r;

        userns_error_fd = error_fd;
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);

        /* Step 1: create the namespaces. Real root needs no user namespace. */
        if (unshare(root ? CLONE_NEWNS : CLONE_NEWUSER | CLONE_NEWNS) < 0) {
                r = -errno;
                dprintf(error_fd, "%d %d failed to create a user namespace: %s", KP_ERROR_RUNTIME, -r, strerror(-r));
                _exit(USERNS_EXIT_SETUP);
        }

        /* Step 2: tell the parent, then wait until it has written the maps. */
        if (write(sync_ready, &c, 1) != 1 || read(sync_go, &c, 1) != 1)
                _exit(USERNS_EXIT_SETUP);

        if (!root) {
                r = sandbox_ids_become_root(ids);
                if (r < 0) {
                        dprintf(error_fd, "%d %d failed to become root in the user namespace: %s",
                                KP_ERROR_RUNTIME, -r, strerror(-r));
                        _exit(USERNS_EXIT_SETUP);
                }
        }

        r = make_mounts_private();
        if (r < 0) {
                dprintf(error_fd, "%d %d failed to make mounts private: %s", KP_ERROR_RUNTIME, -r, strerror(-r));
                _exit(USERNS_EXIT_SETUP);
        }

        /* Step 3: run the function. */
        r = func(userdata);
        _exit(exit_code_from_result(r));
}

static int wait_child(pid_t pid, int *ret_status) {
        while (waitpid(pid, ret_status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        return 0;
}

static int result_from_status(int status) {
        if (WIFSIGNALED(status))
                return -EINTR;
        if (!WIFEXITED(status))
                return -EIO;
        if (WEXITSTATUS(status) == 0)
                return 0;
        if (WEXITSTATUS(status) == USERNS_EXIT_SETUP)
                return -EPERM;
        return -WEXITSTATUS(status);
}

static void close_pair(int fds[2]) {
        (void) close_and_reset(&fds[0]);
        (void) close_and_reset(&fds[1]);
}

int userns_run(UsernsFunc func, void *userdata, KpError *err) {
        int ready[2] = { -1, -1 }, go[2] = { -1, -1 }, errpipe[2] = { -1, -1 };
        SandboxIds ids;
        int status, r;
        pid_t pid;
        char c = 0;

        (void) sandbox_ids_load(&ids);

        if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0 || pipe2(errpipe, O_CLOEXEC) < 0) {
                r = -errno;
                goto fail_pipes;
        }

        /* Flush stdio so that buffered output is not written twice. */
        fflush(NULL);
        pid = fork();
        if (pid < 0) {
                r = -errno;
                goto fail_pipes;
        }
        if (pid == 0) {
                (void) close(ready[0]);
                (void) close(go[1]);
                (void) close(errpipe[0]);
                child_run(&ids, ready[1], go[0], errpipe[1], func, userdata);
        }

        (void) close_and_reset(&ready[1]);
        (void) close_and_reset(&go[0]);
        (void) close_and_reset(&errpipe[1]);

        /* Parent side of the handshake: wait for the namespace, map ids, release. */
        if (read(ready[0], &c, 1) == 1) {
                r = getuid() == 0 ? 0 : sandbox_ids_map_pid(&ids, pid, err);
                if (r < 0) {
                        (void) kill(pid, SIGKILL);
                        (void) wait_child(pid, &status);
                        goto fail_mapped;
                }
                (void) write(go[1], &c, 1);
        }
        (void) close_and_reset(&go[1]);

        r = wait_child(pid, &status);
        if (r < 0) {
                kp_error_set_kind(err, KP_ERROR_RUNTIME, r, "waiting for the user namespace child failed: %s",
                                  strerror(-r));
                goto fail_mapped;
        }

        r = result_from_status(status);
        if (r < 0)
                read_child_error(errpipe[0], r, err);

fail_mapped:
        close_pair(ready);
        close_pair(go);
        close_pair(errpipe);
        return r;

fail_pipes:
        close_pair(ready);
        close_pair(go);
        close_pair(errpipe);
        return kp_error_set_kind(err, KP_ERROR_RUNTIME, r, "failed to start a user namespace child: %s",
                                 strerror(-r));
}

/* A result larger than this is a bug in FUNC, not data worth keeping. */
#define USERNS_OUTPUT_MAX (64u * 1024 * 1024)

typedef struct OutputCall {
        UsernsOutputFunc func;
        void *userdata;
        int out_fd;
} OutputCall;

static int output_call(void *userdata) {
        OutputCall *call = userdata;

        return call->func(call->userdata, call->out_fd);
}

int userns_run_output(UsernsOutputFunc func, void *userdata, char **ret, size_t *ret_len, KpError *err) {
        _cleanup_close_ int fd = memfd_create("userns-output", MFD_CLOEXEC);
        OutputCall call = { .func = func, .userdata = userdata, .out_fd = fd };
        int r;

        if (fd < 0)
                return kp_error_set(err, -errno, "cannot create a memory file: %m");

        r = userns_run(output_call, &call, err);
        if (r < 0)
                return r;

        if (lseek(fd, 0, SEEK_SET) < 0)
                return kp_error_set(err, -errno, "cannot read the result: %m");
        r = kp_read_fd(fd, USERNS_OUTPUT_MAX, ret, ret_len);
        if (r < 0)
                return kp_error_set(err, r, "cannot read the result: %s", strerror(-r));
        return 0;
}

bool userns_has_full_range(void) {
        SandboxIds ids;

        if (geteuid() == 0)
                return true;

        (void) sandbox_ids_load(&ids);
        return sandbox_ids_have_range(&ids);
}

static int remove_tree_in_namespace(void *userdata) {
        const char *path = userdata;
        KpError err = KP_ERROR_INIT;
        int r;

        r = kp_rm_rf(path);
        if (r < 0) {
                kp_error_set(&err, r, "failed to remove '%s': %s", path, strerror(-r));
                userns_report_error(&err);
                kp_error_clear(&err);
        }
        return r;
}

int userns_remove_tree(const char *path, KpError *err) {
        int r;

        r = kp_rm_rf(path);
        if (r >= 0)
                return 0;
        if ((r != -EACCES && r != -EPERM) || geteuid() == 0)
                return kp_error_set_kind(err, KP_ERROR_IO, r, "failed to remove '%s': %s", path, strerror(-r));

        /* Files owned by subordinate ids belong to root of our namespace:
         * remove what is left from inside it. */
        log_debug("removing the rest of '%s' inside the user namespace", path);
        return userns_run(remove_tree_in_namespace, (void *) path, err);
}
