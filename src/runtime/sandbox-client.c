/* SPDX-License-Identifier: MIT */
/* The session's side: joining a holder, running a command, forwarding signals. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "basic/fs-util.h"
#include "basic/log.h"
#include "runtime/sandbox-holder.h"
#include "runtime/sandbox-proc.h"
#include "runtime/sandbox-protocol.h"
#include "runtime/sandbox-pty.h"
#include "runtime/sandbox.h"

/* How long to wait for an exiting holder before killing it. */
#define HOLDER_EXIT_WAIT_MS 5000

/* The holder info file: "<pid> <start time>\n"; a few numbers. */
#define HOLDER_INFO_MAX 128

struct Sandbox {
        int env_dir_fd;
        int sock;
        bool terminated;
};

static const int forwarded_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH };

/* Written by the signal handlers, read by the wait loop. */
static int signal_pipe[2] = { -1, -1 };

/* ---- The holder info file ------------------------------------------------ */

static int holder_info_write(int env_dir_fd, pid_t pid) {
        char text[HOLDER_INFO_MAX];
        ProcStat st;
        int r;

        r = sandbox_proc_stat_read(pid, &st);
        if (r < 0)
                return r;
        snprintf(text, sizeof text, "%d %llu\n", (int) pid, st.start_time);
        return kp_write_file_atomic_at(env_dir_fd, SANDBOX_HOLDER_NAME, text, strlen(text), 0644, 0);
}

/* A pidfd for the holder recorded in ENV_DIR_FD, or a negative errno when
 * it is not running. */
static int holder_info_pidfd(int env_dir_fd, pid_t *ret_pid) {
        _cleanup_free_ char *text = NULL;
        unsigned long long start;
        int pid, r;

        r = kp_read_file_at(env_dir_fd, SANDBOX_HOLDER_NAME, HOLDER_INFO_MAX, &text, NULL);
        if (r < 0)
                return r;
        if (sscanf(text, "%d %llu", &pid, &start) != 2)
                return -EBADMSG;
        if (ret_pid)
                *ret_pid = pid;
        return sandbox_pidfd_open_checked(pid, start);
}

/* Wait until the recorded holder is gone; it is killed after a while. Its
 * exit notification comes after its mounts are released. */
static void holder_wait_gone(int env_dir_fd) {
        _cleanup_close_ int pidfd = holder_info_pidfd(env_dir_fd, NULL);

        if (pidfd < 0)
                return;
        if (sandbox_pidfd_wait(pidfd, HOLDER_EXIT_WAIT_MS) == 0)
                return;
        log_debug("sandbox holder did not exit in time, killing it");
        (void) sandbox_pidfd_signal(pidfd, SIGKILL);
        (void) sandbox_pidfd_wait(pidfd, HOLDER_EXIT_WAIT_MS);
}

/* ---- Connecting ------------------------------------------------------------ */

static int holder_connect(int env_dir_fd) {
        struct sockaddr_un addr = { .sun_family = AF_UNIX };
        int fd;

        snprintf(addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/%s", env_dir_fd, SANDBOX_SOCKET_NAME);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &addr, sizeof addr) < 0) {
                int r = -errno;

                (void) close(fd);
                return r;
        }
        return fd;
}

static int reply_to_error(const SandboxMessage *m, const char *payload, KpError *err) {
        int code = m->value < 0 ? m->value : -EIO;

        return kp_error_set_kind(err, KP_ERROR_RUNTIME, code, "%s", payload ? payload : strerror(-code));
}

/* Connect and send HELLO. Returns the reply type, or a negative errno; a
 * connection error leaves ERR alone, so the caller can start a holder. */
static int holder_greet(Sandbox *s, const char *digest, KpError *err) {
        _cleanup_free_ char *payload = NULL;
        SandboxMessage m = { .type = SANDBOX_MSG_HELLO };
        int r;

        s->sock = holder_connect(s->env_dir_fd);
        if (s->sock < 0)
                return s->sock;

        snprintf(m.digest, sizeof m.digest, "%s", digest);
        r = sandbox_message_send(s->sock, &m, NULL, NULL, 0);
        if (r >= 0)
                r = sandbox_message_recv(s->sock, &m, &payload, NULL, NULL);
        if (r < 0) {
                (void) close_and_reset(&s->sock);
                return r;
        }
        if (m.type == SANDBOX_MSG_ERROR) {
                reply_to_error(&m, payload, err);
                (void) close_and_reset(&s->sock);
        } else if (m.type != SANDBOX_MSG_OK)
                (void) close_and_reset(&s->sock);
        return (int) m.type;
}

static int sandbox_lock(int env_dir_fd, KpError *err) {
        int fd = openat(env_dir_fd, SANDBOX_LOCK_NAME, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

        if (fd < 0)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, -errno, "cannot open the sandbox lock: %m");
        while (flock(fd, LOCK_EX) < 0)
                if (errno != EINTR) {
                        int r = -errno;

                        (void) close(fd);
                        return kp_error_set_kind(err, KP_ERROR_RUNTIME, r, "cannot lock the sandbox: %s", strerror(-r));
                }
        return fd;
}

static int sandbox_join(Sandbox *s, const SandboxConfig *c, const char *digest, KpError *err) {
        pid_t pid;
        int r;

        /* Join a running holder, or replace one that is stale or gone.
         * Twice is enough: the second attempt talks to the holder that
         * this call started. */
        for (int attempt = 0; attempt < 2; attempt++) {
                r = holder_greet(s, digest, err);
                if (r == SANDBOX_MSG_OK)
                        return 0;
                if (r == SANDBOX_MSG_ERROR)
                        return -EBUSY;

                holder_wait_gone(s->env_dir_fd);
                r = sandbox_holder_start(c, digest, &pid, err);
                if (r < 0)
                        return r;
                r = holder_info_write(s->env_dir_fd, pid);
                if (r < 0)
                        return kp_error_set_kind(err, KP_ERROR_RUNTIME, r, "cannot record the sandbox holder: %s",
                                                 strerror(-r));
        }
        return kp_error_set_kind(err, KP_ERROR_RUNTIME, -EIO, "cannot connect to the sandbox of '%s'", c->env_dir);
}

int sandbox_open(const SandboxConfig *c, Sandbox **ret, KpError *err) {
        _cleanup_free_ Sandbox *s = NULL;
        _cleanup_close_ int lock_fd = -1;
        char digest[KP_HASH_HEX_SIZE];
        int r;

        if (sandbox_config_digest(c, digest) < 0)
                return kp_error_set(err, -ENOMEM, "out of memory");
        s = calloc(1, sizeof *s);
        if (!s)
                return kp_error_set(err, -ENOMEM, "out of memory");
        s->sock = -1;
        s->env_dir_fd = open(c->env_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->env_dir_fd < 0)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, -errno, "cannot open '%s': %m", c->env_dir);

        lock_fd = sandbox_lock(s->env_dir_fd, err);
        if (lock_fd < 0) {
                (void) close(s->env_dir_fd);
                return lock_fd;
        }

        r = sandbox_join(s, c, digest, err);
        if (r < 0) {
                (void) close(s->env_dir_fd);
                return r;
        }
        *ret = TAKE_PTR(s);
        return 0;
}

/* ---- Running ------------------------------------------------------------- */

static void signal_forward_handler(int sig) {
        int saved = errno;
        unsigned char c = (unsigned char) sig;

        (void) write(signal_pipe[1], &c, 1);
        errno = saved;
}

static int signals_install(struct sigaction saved[]) {
        struct sigaction sa = { .sa_handler = signal_forward_handler, .sa_flags = SA_RESTART };

        if (signal_pipe[0] < 0 && pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
                return -errno;
        sigemptyset(&sa.sa_mask);
        for (size_t i = 0; i < ELEMENTSOF(forwarded_signals); i++)
                if (sigaction(forwarded_signals[i], &sa, &saved[i]) < 0)
                        return -errno;
        return 0;
}

static void signals_restore(const struct sigaction saved[]) {
        for (size_t i = 0; i < ELEMENTSOF(forwarded_signals); i++)
                (void) sigaction(forwarded_signals[i], &saved[i], NULL);
}

/* Descriptor N of the caller, or /dev/null when it is closed. */
static int stdio_fd(int fd, int n, int *null_fd) {
        if (fd >= 0)
                return fd;
        if (fcntl(n, F_GETFD) >= 0)
                return n;
        if (*null_fd < 0)
                *null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        return *null_fd;
}

static int run_send(Sandbox *s, const SandboxCommand *cmd, KpError *err) {
        _cleanup_free_ char *payload = NULL;
        _cleanup_close_ int null_fd = -1;
        SandboxMessage m = { .type = SANDBOX_MSG_RUN, .flags = cmd->pty ? SANDBOX_RUN_PTY : 0 };
        int fds[3];
        size_t len = 0;
        mode_t mask;
        int r;

        r = sandbox_run_payload_encode(cmd->cwd ? cmd->cwd : "/", cmd->argv, cmd->envp, &payload, &len);
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, r, "cannot pass the command to the sandbox: %s",
                                         strerror(-r));

        mask = umask(0022);
        umask(mask);
        m.umask = (uint32_t) mask;
        m.payload_len = (uint32_t) len;
        if (cmd->pty)
                (void) ioctl(STDIN_FILENO, TIOCGWINSZ, &m.winsize);

        fds[0] = stdio_fd(cmd->stdin_fd, STDIN_FILENO, &null_fd);
        fds[1] = stdio_fd(cmd->stdout_fd, STDOUT_FILENO, &null_fd);
        fds[2] = stdio_fd(cmd->stderr_fd, STDERR_FILENO, &null_fd);
        if (fds[0] < 0 || fds[1] < 0 || fds[2] < 0)
                return kp_error_set(err, -errno, "cannot open /dev/null: %m");

        r = sandbox_message_send(s->sock, &m, payload, cmd->pty ? NULL : fds, cmd->pty ? 0 : 3);
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, r, "cannot talk to the sandbox: %s", strerror(-r));
        return 0;
}

static void send_simple(Sandbox *s, SandboxMessageType type, int value) {
        SandboxMessage m = { .type = type, .value = value };

        (void) sandbox_message_send(s->sock, &m, NULL, NULL, 0);
}

static void handle_signals(Sandbox *s, PtyRelay *relay) {
        unsigned char sigs[64];
        ssize_t n;

        while ((n = read(signal_pipe[0], sigs, sizeof sigs)) > 0)
                for (ssize_t i = 0; i < n; i++) {
                        if (sigs[i] == SIGWINCH && relay) {
                                pty_copy_winsize(relay->in_fd, relay->master);
                                continue;
                        }
                        if (sigs[i] == SIGTERM || sigs[i] == SIGHUP)
                                s->terminated = true;
                        send_simple(s, SANDBOX_MSG_SIGNAL, sigs[i]);
                }
}

/* Wait for EXITED, relaying the terminal meanwhile when RELAY is set. */
static int run_wait(Sandbox *s, PtyRelay *relay, int *ret_exit_code, KpError *err) {
        for (;;) {
                struct pollfd pfds[6];
                size_t n = 0, relay_at = 0;

                pfds[n++] = (struct pollfd) { .fd = s->sock, .events = POLLIN };
                pfds[n++] = (struct pollfd) { .fd = signal_pipe[0], .events = POLLIN };
                if (relay) {
                        relay_at = n;
                        n += pty_relay_poll_fds(relay, pfds + relay_at);
                }

                if (poll(pfds, n, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return kp_error_set(err, -errno, "cannot wait for the command: %m");
                }

                if (pfds[1].revents)
                        handle_signals(s, relay);
                if (relay && pty_relay_process(relay) < 0)
                        relay->out_fd = -1;
                if (pfds[0].revents) {
                        _cleanup_free_ char *payload = NULL;
                        SandboxMessage m;
                        int r = sandbox_message_recv(s->sock, &m, &payload, NULL, NULL);

                        if (r == -ECONNRESET) {
                                /* The holder was killed: so was the command. */
                                log_debug("the sandbox ended while the command was running");
                                *ret_exit_code = 128 + SIGKILL;
                                return 0;
                        }
                        if (r < 0)
                                return kp_error_set_kind(err, KP_ERROR_RUNTIME, r, "lost the sandbox: %s", strerror(-r));
                        if (m.type == SANDBOX_MSG_ERROR)
                                return reply_to_error(&m, payload, err);
                        if (m.type == SANDBOX_MSG_EXITED) {
                                if (relay)
                                        pty_relay_drain(relay);
                                *ret_exit_code = sandbox_exit_code_from_status(m.value);
                                return 0;
                        }
                }
        }
}

/* STARTED, or the holder's error. *RET_MASTER gets the pty master, if any. */
static int run_started(Sandbox *s, int *ret_master, KpError *err) {
        _cleanup_free_ char *payload = NULL;
        int fds[SANDBOX_FDS_MAX];
        size_t n_fds = 0;
        SandboxMessage m;
        int r;

        r = sandbox_message_recv(s->sock, &m, &payload, fds, &n_fds);
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, r, "the sandbox did not start the command: %s",
                                         strerror(-r));
        for (size_t i = 1; i < n_fds; i++)
                (void) close(fds[i]);
        *ret_master = n_fds > 0 ? fds[0] : -1;

        if (m.type == SANDBOX_MSG_ERROR) {
                (void) close_and_reset(ret_master);
                return reply_to_error(&m, payload, err);
        }
        if (m.type != SANDBOX_MSG_STARTED) {
                (void) close_and_reset(ret_master);
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, -EBADMSG, "unexpected reply from the sandbox");
        }
        return 0;
}

static int run_pty(Sandbox *s, int master, int *ret_exit_code, KpError *err) {
        _cleanup_free_ PtyRelay *relay = calloc(1, sizeof(PtyRelay));
        struct termios saved;
        bool raw;
        int r;

        if (!relay)
                return kp_error_set(err, -ENOMEM, "out of memory");
        *relay = (PtyRelay) { .in_fd = STDIN_FILENO, .out_fd = STDOUT_FILENO, .master = master };
        (void) fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);

        raw = pty_raw_mode_enter(STDIN_FILENO, &saved) >= 0;
        r = run_wait(s, relay, ret_exit_code, err);
        if (raw)
                pty_raw_mode_leave(STDIN_FILENO, &saved);
        return r;
}

int sandbox_run(Sandbox *s, const SandboxCommand *cmd, int *ret_exit_code, KpError *err) {
        struct sigaction saved[ELEMENTSOF(forwarded_signals)];
        _cleanup_close_ int master = -1;
        int r;

        r = signals_install(saved);
        if (r < 0)
                return kp_error_set(err, r, "cannot install signal handlers: %s", strerror(-r));

        r = run_send(s, cmd, err);
        if (r >= 0)
                r = run_started(s, &master, err);
        if (r >= 0 && cmd->pty && master >= 0)
                r = run_pty(s, master, ret_exit_code, err);
        else if (r >= 0)
                r = run_wait(s, NULL, ret_exit_code, err);

        signals_restore(saved);
        return r;
}

bool sandbox_was_terminated(const Sandbox *s) {
        return s->terminated;
}

/* ---- Leaving and stopping ---------------------------------------------------- */

void sandbox_close(Sandbox *s, bool shutdown) {
        if (!s)
                return;
        if (s->sock >= 0 && (shutdown || s->terminated))
                send_simple(s, SANDBOX_MSG_SHUTDOWN, 0);
        (void) close_and_reset(&s->sock);
        if (shutdown)
                holder_wait_gone(s->env_dir_fd);
        (void) close(s->env_dir_fd);
        free(s);
}

int sandbox_stop(const char *env_dir, KpError *err) {
        _cleanup_close_ int env_dir_fd = open(env_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_close_ int lock_fd = -1, sock = -1;

        if (env_dir_fd < 0)
                return errno == ENOENT ? 0 : kp_error_set_kind(err, KP_ERROR_RUNTIME, -errno, "cannot open '%s': %m", env_dir);

        lock_fd = sandbox_lock(env_dir_fd, err);
        if (lock_fd < 0)
                return lock_fd;

        sock = holder_connect(env_dir_fd);
        if (sock >= 0) {
                SandboxMessage m = { .type = SANDBOX_MSG_KILL };

                (void) sandbox_message_send(sock, &m, NULL, NULL, 0);
        }
        holder_wait_gone(env_dir_fd);
        (void) unlinkat(env_dir_fd, SANDBOX_SOCKET_NAME, 0);
        (void) unlinkat(env_dir_fd, SANDBOX_HOLDER_NAME, 0);
        return 0;
}

bool sandbox_holder_alive(const char *env_dir, pid_t *ret_pid) {
        _cleanup_close_ int env_dir_fd = open(env_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_close_ int pidfd = -1;

        if (env_dir_fd < 0)
                return false;
        pidfd = holder_info_pidfd(env_dir_fd, ret_pid);
        return pidfd >= 0;
}
