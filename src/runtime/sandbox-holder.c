/* SPDX-License-Identifier: MIT */
/*
 * The holder: pid 1 of a sandbox. It keeps the namespaces and the overlay
 * alive, forks every session's command, forwards signals to it, reaps all
 * processes and exits after its idle time.
 */
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "basic/fs-util.h"
#include "basic/log.h"
#include "runtime/sandbox-env.h"
#include "runtime/sandbox-holder.h"
#include "runtime/sandbox-ids.h"
#include "runtime/sandbox-mount.h"
#include "runtime/sandbox-proc.h"
#include "runtime/sandbox-protocol.h"

extern char **environ;

/* Distinct locale names whose availability the holder remembers. */
#define LOCALE_CACHE_MAX 16

/* How long the holder waits for its processes after SIGTERM before it
 * exits, which kills the rest. */
#define HOLDER_TERM_GRACE_MS 2000

/* A connection sends its whole request at once; a stalled one must not
 * block the holder for long. */
#define HOLDER_RECV_TIMEOUT_MS 2000

typedef struct HolderClient {
        int fd;
        pid_t child;            /* the running command, 0 when none */
        bool greeted;           /* HELLO accepted */
} HolderClient;

typedef struct LocaleCacheEntry {
        char *name;
        bool available;
} LocaleCacheEntry;

typedef struct Holder {
        const SandboxConfig *config;
        const char *digest;
        int listen_fd;
        int signal_fd;
        int env_dir_fd;
        int lock_fd;
        int root_fd;
        HolderClient clients[SANDBOX_CLIENTS_MAX];
        size_t n_clients;
        bool shutdown_requested;
        long long idle_since;
        LocaleCacheEntry locales[LOCALE_CACHE_MAX];
        size_t n_locales;
} Holder;

/* ---- Status records to the starting session ------------------------------ */

static void status_write(int fd, const char *fmt, ...) _printf_(2, 3);
static void status_write(int fd, const char *fmt, ...) {
        char buf[PIPE_BUF];
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
        va_end(ap);
        if (n < 0)
                return;
        if (n > (int) sizeof buf - 2)
                n = sizeof buf - 2;
        buf[n] = '\0';
        (void) write(fd, buf, (size_t) n + 1);
}

static _noreturn_ void status_fail(int fd, const KpError *err) {
        status_write(fd, "E%d %d %s", (int) err->kind, -err->code, err->message ? err->message : "unknown error");
        _exit(EXIT_FAILURE);
}

/* ---- Descriptor hygiene --------------------------------------------------- */

/* Renumber FDS[0..N-1] to 3..3+N-1 and close every other descriptor
 * above 2, so that nothing of the session (the store lock, pipes of its
 * caller) stays open in the long-lived holder. */
static int fds_keep_only(int *fds, size_t n) {
        for (size_t i = 0; i < n; i++) {
                int moved = fcntl(fds[i], F_DUPFD_CLOEXEC, 100);

                if (moved < 0)
                        return -errno;
                fds[i] = moved;
        }
        for (size_t i = 0; i < n; i++) {
                if (dup3(fds[i], 3 + (int) i, O_CLOEXEC) < 0)
                        return -errno;
                fds[i] = 3 + (int) i;
        }
        if (close_range(3 + (unsigned) n, ~0u, 0) < 0)
                return -errno;
        return 0;
}

static int stdio_to_null(void) {
        int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

        if (fd < 0)
                return -errno;
        for (int i = 0; i < 3; i++)
                if (dup2(fd, i) < 0)
                        return -errno;
        if (fd > 2)
                (void) close(fd);
        return 0;
}

/* ---- Commands ------------------------------------------------------------- */

static bool holder_locale_available(const char *value, void *userdata) {
        Holder *h = userdata;
        bool available;

        for (size_t i = 0; i < h->n_locales; i++)
                if (streq(h->locales[i].name, value))
                        return h->locales[i].available;

        available = sandbox_locale_is_available(h->root_fd, value);
        if (h->n_locales < LOCALE_CACHE_MAX) {
                h->locales[h->n_locales].name = strdup(value);
                if (h->locales[h->n_locales].name) {
                        h->locales[h->n_locales].available = available;
                        h->n_locales++;
                }
        }
        return available;
}

static void close_all(int *fds, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (fds[i] >= 0)
                        (void) close(fds[i]);
}

/* In the forked command: become the leader of a new session (so signals
 * can go to its whole process group), attach stdio, exec. */
static _noreturn_ void command_exec(const SandboxMessage *m, const int *stdio, int pty_slave, const char *cwd,
                                    char **argv, char **envp) {
        sigset_t none;

        sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);
        (void) setsid();

        if (pty_slave >= 0) {
                (void) ioctl(pty_slave, TIOCSCTTY, 0);
                for (int i = 0; i < 3; i++)
                        (void) dup2(pty_slave, i);
        } else
                for (int i = 0; i < 3; i++)
                        (void) dup2(stdio[i], i);

        umask((mode_t) m->umask);
        if (isempty(cwd) || chdir(cwd) < 0)
                (void) chdir("/");

        environ = envp;
        execvp(argv[0], argv);
        dprintf(STDERR_FILENO, "karapace: cannot run '%s': %s\n", argv[0], strerror(errno));
        _exit(errno == ENOENT ? 127 : 126);
}

static int pty_open(const struct winsize *ws, int *ret_master, int *ret_slave) {
        _cleanup_close_ int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        char name[64];
        int slave;

        if (master < 0)
                return -errno;
        if (grantpt(master) < 0 || unlockpt(master) < 0 || ptsname_r(master, name, sizeof name) != 0)
                return -errno;
        if (ws->ws_row > 0 && ws->ws_col > 0)
                (void) ioctl(master, TIOCSWINSZ, ws);

        slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (slave < 0)
                return -errno;
        *ret_master = TAKE_FD(master);
        *ret_slave = slave;
        return 0;
}

static void client_send_error(HolderClient *cl, int code, const char *message) {
        SandboxMessage reply = { .type = SANDBOX_MSG_ERROR, .value = -code, .payload_len = (uint32_t) strlen(message) };

        (void) sandbox_message_send(cl->fd, &reply, message, NULL, 0);
}

static int holder_run(Holder *h, HolderClient *cl, const SandboxMessage *m, char *payload, int *fds, size_t n_fds) {
        _cleanup_free_ char **argv = NULL, **envp_view = NULL;
        _cleanup_strv_free_ char **envp = NULL;
        _cleanup_close_ int master = -1, slave = -1;
        bool pty = m->flags & SANDBOX_RUN_PTY;
        SandboxMessage reply = { .type = SANDBOX_MSG_STARTED };
        const char *cwd;
        size_t n_env = 0;
        pid_t pid;
        int r;

        if (cl->child > 0)
                return -EBUSY;
        if (!pty && n_fds != 3)
                return -EBADMSG;
        r = sandbox_run_payload_decode(payload, m->payload_len, &cwd, &argv, &envp_view);
        if (r < 0)
                return r;

        for (size_t i = 0; envp_view[i]; i++) {
                r = kp_strv_push(&envp, &n_env, strdup(envp_view[i]));
                if (r < 0)
                        return r;
        }
        if (!envp && !(envp = calloc(1, sizeof(char *))))
                return -ENOMEM;
        r = sandbox_env_fix_locale(&envp, holder_locale_available, h);
        if (r < 0)
                return r;

        if (pty) {
                r = pty_open(&m->winsize, &master, &slave);
                if (r < 0)
                        return r;
        }

        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0)
                command_exec(m, fds, slave, cwd, argv, envp);

        cl->child = pid;
        return sandbox_message_send(cl->fd, &reply, NULL, pty ? &master : NULL, pty ? 1 : 0);
}

/* ---- Connections ------------------------------------------------------- */

static void holder_exit_now(Holder *h) _noreturn_;

static void client_drop(Holder *h, size_t i) {
        HolderClient *cl = &h->clients[i];

        /* The session is gone (its karapace process was killed, say):
         * its command goes too. */
        if (cl->child > 0) {
                (void) kill(-cl->child, SIGKILL);
                (void) kill(cl->child, SIGKILL);
        }
        (void) close(cl->fd);
        h->clients[i] = h->clients[--h->n_clients];
        if (h->n_clients == 0)
                h->idle_since = sandbox_now_ms();
}

static void holder_forward_signal(HolderClient *cl, int sig) {
        if (cl->child <= 0 || sig <= 0 || sig >= NSIG)
                return;
        if (kill(-cl->child, sig) < 0)
                (void) kill(cl->child, sig);
}

static void holder_hello(Holder *h, HolderClient *cl, const SandboxMessage *m) {
        SandboxMessage reply = { .type = SANDBOX_MSG_OK };

        if (streq(m->digest, h->digest)) {
                cl->greeted = true;
                (void) sandbox_message_send(cl->fd, &reply, NULL, NULL, 0);
                return;
        }

        if (h->n_clients > 1) {
                client_send_error(cl, -EBUSY,
                                  "the environment is in use by a session with a different setup (other mounts, "
                                  "or its upper directory was replaced); end that session first");
                return;
        }

        /* Idle and set up differently: make way for a new holder. The
         * session asking holds the sandbox lock, so no other session connects. */
        reply.type = SANDBOX_MSG_STALE;
        (void) unlinkat(h->env_dir_fd, SANDBOX_SOCKET_NAME, 0);
        (void) sandbox_message_send(cl->fd, &reply, NULL, NULL, 0);
        holder_exit_now(h);
}

/* Handle one message; false when the connection is to be dropped. */
static bool holder_client_message(Holder *h, size_t i) {
        HolderClient *cl = &h->clients[i];
        _cleanup_free_ char *payload = NULL;
        int fds[SANDBOX_FDS_MAX];
        size_t n_fds = 0;
        SandboxMessage m;
        int r;

        r = sandbox_message_recv(cl->fd, &m, &payload, fds, &n_fds);
        if (r < 0)
                return false;

        switch ((SandboxMessageType) m.type) {
        case SANDBOX_MSG_HELLO:
                holder_hello(h, cl, &m);
                break;
        case SANDBOX_MSG_RUN:
                r = cl->greeted ? holder_run(h, cl, &m, payload, fds, n_fds) : -EPROTO;
                if (r < 0)
                        client_send_error(cl, r, strerror(-r));
                break;
        case SANDBOX_MSG_SIGNAL:
                holder_forward_signal(cl, m.value);
                break;
        case SANDBOX_MSG_SHUTDOWN:
                h->shutdown_requested = true;
                break;
        case SANDBOX_MSG_KILL:
                (void) unlinkat(h->env_dir_fd, SANDBOX_SOCKET_NAME, 0);
                holder_exit_now(h);
        case SANDBOX_MSG_OK:
        case SANDBOX_MSG_STALE:
        case SANDBOX_MSG_ERROR:
        case SANDBOX_MSG_STARTED:
        case SANDBOX_MSG_EXITED:
        default:
                close_all(fds, n_fds);
                return false;
        }

        close_all(fds, n_fds);
        return true;
}

static int peer_is_owner(int fd) {
        struct ucred cred;
        socklen_t len = sizeof cred;

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return false;
        /* The user that started the holder is uid 0 in its namespace. */
        return cred.uid == 0;
}

static void holder_accept(Holder *h) {
        struct timeval tv = { .tv_sec = HOLDER_RECV_TIMEOUT_MS / 1000 };
        int fd = accept4(h->listen_fd, NULL, NULL, SOCK_CLOEXEC);

        if (fd < 0)
                return;
        if (!peer_is_owner(fd) || h->n_clients >= SANDBOX_CLIENTS_MAX) {
                (void) close(fd);
                return;
        }
        (void) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        h->clients[h->n_clients++] = (HolderClient) { .fd = fd };
        h->idle_since = -1;
}

/* ---- Processes ---------------------------------------------------------- */

static void holder_reap(Holder *h) {
        int status;
        pid_t pid;

        while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
                for (size_t i = 0; i < h->n_clients; i++) {
                        HolderClient *cl = &h->clients[i];
                        SandboxMessage reply = { .type = SANDBOX_MSG_EXITED, .value = status };

                        if (cl->child != pid)
                                continue;
                        cl->child = 0;
                        (void) sandbox_message_send(cl->fd, &reply, NULL, NULL, 0);
                }
}

/* Exiting as pid 1 makes the kernel kill every process left in the pid
 * namespace; the mount namespace, and with it the overlay, goes away with
 * the last of them. */
static void holder_exit_now(Holder *h) {
        (void) kill(-1, SIGKILL);
        _exit(EXIT_SUCCESS);
}

static void holder_terminate(Holder *h) {
        long long deadline = sandbox_now_ms() + HOLDER_TERM_GRACE_MS;

        (void) unlinkat(h->env_dir_fd, SANDBOX_SOCKET_NAME, 0);
        (void) kill(-1, SIGTERM);
        while (sandbox_now_ms() < deadline) {
                if (waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD)
                        break;
                usleep(10000);
        }
        holder_exit_now(h);
}

static void holder_signal(Holder *h) {
        struct signalfd_siginfo si;

        while (read(h->signal_fd, &si, sizeof si) == (ssize_t) sizeof si) {
                if (si.ssi_signo == SIGCHLD)
                        holder_reap(h);
                else
                        holder_terminate(h);
        }
}

/* Idle long enough: exit unless a session is about to join. Sessions hold
 * the sandbox lock from connecting until their HELLO is answered, so
 * taking it here means no session is joining. The socket is removed before
 * the lock is released by the exit. */
static bool holder_try_exit_idle(Holder *h) {
        if (flock(h->lock_fd, LOCK_EX | LOCK_NB) < 0)
                return false;
        (void) unlinkat(h->env_dir_fd, SANDBOX_SOCKET_NAME, 0);
        holder_exit_now(h);
}

static int holder_poll_timeout(const Holder *h) {
        long long linger = h->shutdown_requested ? 0 : h->config->linger_ms;
        long long left;

        if (h->n_clients > 0)
                return -1;
        left = h->idle_since + linger - sandbox_now_ms();
        return left < 0 ? 0 : (int) left;
}

static _noreturn_ void holder_loop(Holder *h) {
        struct pollfd pfds[2 + SANDBOX_CLIENTS_MAX];

        h->idle_since = sandbox_now_ms();
        for (;;) {
                size_t n_clients = h->n_clients;
                int timeout = holder_poll_timeout(h);
                int n;

                pfds[0] = (struct pollfd) { .fd = h->signal_fd, .events = POLLIN };
                pfds[1] = (struct pollfd) { .fd = h->listen_fd, .events = POLLIN };
                for (size_t i = 0; i < n_clients; i++)
                        pfds[2 + i] = (struct pollfd) { .fd = h->clients[i].fd, .events = POLLIN };

                n = poll(pfds, 2 + n_clients, timeout);
                if (n < 0 && errno != EINTR)
                        holder_terminate(h);
                if (n == 0 && h->n_clients == 0 && !holder_try_exit_idle(h))
                        usleep(20000);
                if (n <= 0)
                        continue;

                if (pfds[0].revents)
                        holder_signal(h);
                /* Walk backwards: dropping a client moves the last one into its slot. */
                for (size_t i = n_clients; i-- > 0;)
                        if (pfds[2 + i].revents && !holder_client_message(h, i))
                                client_drop(h, i);
                if (pfds[1].revents)
                        holder_accept(h);
        }
}

/* ---- Setup ----------------------------------------------------------------- */

static int holder_listen(Holder *h, KpError *err) {
        struct sockaddr_un addr = { .sun_family = AF_UNIX };
        int fd;

        /* Bound through the directory's descriptor: the store path may be
         * longer than sun_path allows. */
        snprintf(addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/%s", h->env_dir_fd, SANDBOX_SOCKET_NAME);
        (void) unlinkat(h->env_dir_fd, SANDBOX_SOCKET_NAME, 0);

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return sandbox_step_fail(err, SANDBOX_STEP_SOCKET, -errno, NULL);
        umask(0077);
        if (bind(fd, (struct sockaddr *) &addr, sizeof addr) < 0 || listen(fd, SANDBOX_CLIENTS_MAX) < 0) {
                int r = -errno;

                (void) close(fd);
                return sandbox_step_fail(err, SANDBOX_STEP_SOCKET, r, SANDBOX_SOCKET_NAME);
        }
        umask(0022);
        h->listen_fd = fd;
        return 0;
}

static int holder_signals(Holder *h, KpError *err) {
        sigset_t mask;

        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGQUIT);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return kp_error_set(err, -errno, "cannot block signals: %m");
        h->signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (h->signal_fd < 0)
                return kp_error_set(err, -errno, "cannot create a signalfd: %m");
        return 0;
}

static int holder_mount(Holder *h, OverlayDriver *ret_driver, KpError *err) {
        _cleanup_(sandbox_sources_done) SandboxSources sources = {};
        _cleanup_free_ char *merged = kp_path_join(h->config->env_dir, "merged");
        const char *driver;
        int r;

        if (!merged)
                return kp_error_set(err, -ENOMEM, "out of memory");
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return sandbox_step_fail(err, SANDBOX_STEP_NAMESPACES, -errno, "/");

        r = sandbox_sources_open(h->config, &sources, err);
        if (r < 0)
                return r;
        r = sandbox_overlay_mount(h->config, merged, ret_driver, err);
        if (r < 0)
                return r;

        driver = overlay_driver_to_string(*ret_driver);
        r = kp_write_file_atomic_at(h->env_dir_fd, SANDBOX_DRIVER_NAME, driver, strlen(driver), 0644, 0);
        if (r < 0)
                return sandbox_step_fail(err, SANDBOX_STEP_OVERLAY, r, SANDBOX_DRIVER_NAME);

        r = sandbox_pivot(merged, *ret_driver, err);
        if (r < 0)
                return r;
        return sandbox_rootfs_setup(h->config, &sources, err);
}

static _noreturn_ void holder_main(const SandboxConfig *c, const char *digest, int status_fd, int env_dir_fd,
                                   int lock_fd) {
        Holder h = {
                .config = c,
                .digest = digest,
                .env_dir_fd = env_dir_fd,
                .lock_fd = lock_fd,
                .listen_fd = -1,
                .signal_fd = -1,
                .root_fd = -1,
        };
        KpError err = KP_ERROR_INIT;
        OverlayDriver driver;

        (void) setsid();
        (void) prctl(PR_SET_NAME, "karapace-holder");

        if (holder_signals(&h, &err) < 0 || holder_mount(&h, &driver, &err) < 0 || holder_listen(&h, &err) < 0)
                status_fail(status_fd, &err);

        h.root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        status_write(status_fd, "O%s", overlay_driver_to_string(driver));
        (void) close(status_fd);

        holder_loop(&h);
}

/* ---- Creation: the intermediate child ------------------------------------ */

static _noreturn_ void holder_intermediate(const SandboxConfig *c, const char *digest, const SandboxIds *ids,
                                           int fds[5]) {
        int ready_fd, go_fd, status_fd, env_dir_fd, lock_fd;
        bool root = getuid() == 0;
        KpError err = KP_ERROR_INIT;
        int flags, r;
        pid_t pid;
        char c0 = 0;

        r = fds_keep_only(fds, 5);
        ready_fd = fds[0], go_fd = fds[1], status_fd = fds[2], env_dir_fd = fds[3], lock_fd = fds[4];
        if (r < 0 || stdio_to_null() < 0)
                _exit(EXIT_FAILURE);

        if (!root) {
                if (unshare(CLONE_NEWUSER) < 0) {
                        sandbox_step_fail(&err, SANDBOX_STEP_USERNS, -errno, NULL);
                        status_fail(status_fd, &err);
                }
                if (write(ready_fd, &c0, 1) != 1 || read(go_fd, &c0, 1) != 1)
                        _exit(EXIT_FAILURE);
                r = sandbox_ids_become_root(ids);
                if (r < 0) {
                        sandbox_step_fail(&err, SANDBOX_STEP_USERNS, r, NULL);
                        status_fail(status_fd, &err);
                }
        }
        (void) close(ready_fd);
        (void) close(go_fd);

        flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | (c->network_isolation ? CLONE_NEWNET : 0);
        if (unshare(flags) < 0) {
                sandbox_step_fail(&err, SANDBOX_STEP_NAMESPACES, -errno, NULL);
                status_fail(status_fd, &err);
        }

        pid = fork();
        if (pid < 0) {
                kp_error_set_kind(&err, KP_ERROR_RUNTIME, -errno, "cannot fork the sandbox holder: %m");
                status_fail(status_fd, &err);
        }
        if (pid == 0)
                holder_main(c, digest, status_fd, env_dir_fd, lock_fd);

        status_write(status_fd, "P%d", (int) pid);
        _exit(EXIT_SUCCESS);
}

/* ---- Creation: the session's side ------------------------------------------ */

typedef struct StartStatus {
        pid_t pid;
        bool ready;
        char driver[32];
} StartStatus;

static int status_parse_record(const char *rec, StartStatus *st, KpError *err) {
        int kind, code, off = 0;

        switch (rec[0]) {
        case 'P':
                st->pid = (pid_t) atoi(rec + 1);
                return 0;
        case 'O':
                st->ready = true;
                snprintf(st->driver, sizeof st->driver, "%s", rec + 1);
                return 0;
        case 'E':
                if (sscanf(rec + 1, "%d %d %n", &kind, &code, &off) < 2 || kind < 0 || kind >= _KP_ERROR_KIND_MAX ||
                    code <= 0)
                        return kp_error_set_kind(err, KP_ERROR_RUNTIME, -EIO, "the sandbox setup failed: %s", rec + 1);
                return kp_error_set_kind(err, (KpErrorKind) kind, -code, "%s", rec + 1 + off);
        default:
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, -EBADMSG, "unexpected sandbox setup status");
        }
}

/* Read status records until every writer closed the pipe. */
static int status_read_all(int fd, StartStatus *st, KpError *err) {
        long long deadline = sandbox_now_ms() + SANDBOX_SETUP_TIMEOUT_MS;
        char buf[4 * PIPE_BUF];
        size_t len = 0;
        int r = 0;

        for (;;) {
                struct pollfd pfd = { .fd = fd, .events = POLLIN };
                long long left = deadline - sandbox_now_ms();
                ssize_t n;

                if (left <= 0)
                        return kp_error_set_kind(err, KP_ERROR_RUNTIME, -ETIMEDOUT,
                                                 "the sandbox setup did not finish within %d s",
                                                 SANDBOX_SETUP_TIMEOUT_MS / 1000);
                r = poll(&pfd, 1, (int) left);
                if (r < 0 && errno != EINTR)
                        return kp_error_set(err, -errno, "cannot wait for the sandbox setup: %m");
                if (r <= 0)
                        continue;
                n = read(fd, buf + len, sizeof buf - 1 - len);
                if (n < 0 && (errno == EINTR || errno == EAGAIN))
                        continue;
                if (n <= 0)
                        break;
                len += (size_t) n;
                if (len >= sizeof buf - 1)
                        break;
        }
        buf[len] = '\0';

        r = 0;
        for (size_t off = 0; off < len && r >= 0;) {
                size_t rec_len = strnlen(buf + off, len - off);

                r = status_parse_record(buf + off, st, err);
                off += rec_len + 1;
        }
        return r;
}

static void close_pair(int p[2]) {
        (void) close_and_reset(&p[0]);
        (void) close_and_reset(&p[1]);
}

int sandbox_holder_start(const SandboxConfig *c, const char *digest, pid_t *ret_pid, KpError *err) {
        int ready[2] = { -1, -1 }, go[2] = { -1, -1 }, status[2] = { -1, -1 };
        _cleanup_close_ int env_dir_fd = -1, lock_fd = -1;
        _cleanup_free_ char *lock_path = kp_path_join(c->env_dir, SANDBOX_LOCK_NAME);
        StartStatus st = {};
        SandboxIds ids;
        int wstatus, r;
        pid_t pid;
        char c0 = 0;

        (void) sandbox_ids_load(&ids);
        env_dir_fd = open(c->env_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (env_dir_fd < 0)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, -errno, "cannot open '%s': %m", c->env_dir);
        lock_fd = lock_path ? open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600) : -1;
        if (lock_fd < 0)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, lock_path ? -errno : -ENOMEM, "cannot open '%s': %m",
                                         lock_path ? lock_path : SANDBOX_LOCK_NAME);

        if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0 || pipe2(status, O_CLOEXEC) < 0) {
                r = kp_error_set(err, -errno, "cannot create pipes: %m");
                goto out;
        }

        fflush(NULL);
        pid = fork();
        if (pid < 0) {
                r = kp_error_set(err, -errno, "cannot fork: %m");
                goto out;
        }
        if (pid == 0) {
                int fds[5] = { ready[1], go[0], status[1], env_dir_fd, lock_fd };

                holder_intermediate(c, digest, &ids, fds);
        }

        (void) close_and_reset(&ready[1]);
        (void) close_and_reset(&go[0]);
        (void) close_and_reset(&status[1]);

        r = 0;
        if (getuid() != 0 && read(ready[0], &c0, 1) == 1) {
                r = sandbox_ids_map_pid(&ids, pid, err);
                if (r < 0)
                        (void) kill(pid, SIGKILL);
                else
                        (void) write(go[1], &c0, 1);
        }
        (void) close_and_reset(&go[1]);
        while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
                ;
        if (r < 0)
                goto out;

        r = status_read_all(status[0], &st, err);
        if (r >= 0 && (!st.ready || st.pid <= 0))
                r = kp_error_set_kind(err, KP_ERROR_RUNTIME, -EIO, "the sandbox holder exited during its setup");
        if (r < 0) {
                if (st.pid > 0)
                        (void) kill(st.pid, SIGKILL);
                goto out;
        }

        log_debug("sandbox holder %d started for '%s' with %s", (int) st.pid, c->env_dir, st.driver);
        *ret_pid = st.pid;
out:
        close_pair(ready);
        close_pair(go);
        close_pair(status);
        return r;
}
