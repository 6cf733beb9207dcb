/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "basic/fs-util.h"
#include "runtime/sandbox-protocol.h"

int sandbox_message_send(int sock, SandboxMessage *m, const void *payload, const int *fds, size_t n_fds) {
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(int) * SANDBOX_FDS_MAX)];
        } control = {};
        struct iovec iov = { .iov_base = m, .iov_len = sizeof *m };
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
        ssize_t n;
        int r;

        if (n_fds > SANDBOX_FDS_MAX)
                return -EINVAL;
        m->magic = SANDBOX_MAGIC;

        if (n_fds > 0) {
                struct cmsghdr *cmsg;

                msg.msg_control = control.buf;
                msg.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
                cmsg = CMSG_FIRSTHDR(&msg);
                cmsg->cmsg_level = SOL_SOCKET;
                cmsg->cmsg_type = SCM_RIGHTS;
                cmsg->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
                memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * n_fds);
        }

        do
                n = sendmsg(sock, &msg, MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        if ((size_t) n != sizeof *m) {
                /* The descriptors went with the first bytes; send the rest. */
                r = kp_write_all(sock, (const char *) m + n, sizeof *m - (size_t) n);
                if (r < 0)
                        return r;
        }

        if (m->payload_len > 0)
                return kp_write_all(sock, payload, m->payload_len);
        return 0;
}

static int read_exact(int sock, void *buf, size_t len) {
        size_t done = 0;

        while (done < len) {
                ssize_t n = recv(sock, (char *) buf + done, len - done, 0);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return -ECONNRESET;
                done += (size_t) n;
        }
        return 0;
}

static void collect_fds(struct msghdr *msg, int fds[SANDBOX_FDS_MAX], size_t *n_fds) {
        for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
                size_t n;

                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                        continue;
                n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < n; i++) {
                        int fd;

                        memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                        if (*n_fds < SANDBOX_FDS_MAX)
                                fds[(*n_fds)++] = fd;
                        else
                                (void) close(fd);
                }
        }
}

static void close_fds(int fds[SANDBOX_FDS_MAX], size_t *n_fds) {
        for (size_t i = 0; i < *n_fds; i++)
                (void) close(fds[i]);
        *n_fds = 0;
}

int sandbox_message_recv(int sock, SandboxMessage *m, char **ret_payload, int fds[SANDBOX_FDS_MAX],
                         size_t *ret_n_fds) {
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(int) * SANDBOX_FDS_MAX)];
        } control;
        struct iovec iov = { .iov_base = m, .iov_len = sizeof *m };
        struct msghdr msg = {
                .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof control.buf,
        };
        _cleanup_free_ char *payload = NULL;
        size_t n_fds = 0;
        ssize_t n;
        int r;

        do
                n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        if (n == 0)
                return -ECONNRESET;

        if (fds)
                collect_fds(&msg, fds, &n_fds);
        else {
                int ignored[SANDBOX_FDS_MAX];

                collect_fds(&msg, ignored, &n_fds);
                close_fds(ignored, &n_fds);
        }

        r = (size_t) n < sizeof *m ? read_exact(sock, (char *) m + n, sizeof *m - (size_t) n) : 0;
        if (r >= 0 && (m->magic != SANDBOX_MAGIC || m->payload_len > SANDBOX_PAYLOAD_MAX ||
                       memchr(m->digest, '\0', sizeof m->digest) == NULL))
                r = -EBADMSG;
        if (r >= 0 && m->payload_len > 0) {
                payload = malloc(m->payload_len + 1);
                r = payload ? read_exact(sock, payload, m->payload_len) : -ENOMEM;
                if (r >= 0)
                        payload[m->payload_len] = '\0';
        }
        if (r < 0) {
                if (fds)
                        close_fds(fds, &n_fds);
                return r;
        }

        if (ret_payload)
                *ret_payload = TAKE_PTR(payload);
        if (ret_n_fds)
                *ret_n_fds = n_fds;
        return 0;
}

static size_t strv_bytes(char *const *v, uint32_t *ret_count) {
        size_t bytes = 0;
        uint32_t n = 0;

        for (; v && v[n]; n++)
                bytes += strlen(v[n]) + 1;
        *ret_count = n;
        return bytes;
}

int sandbox_run_payload_encode(const char *cwd, char *const *argv, char *const *envp, char **ret, size_t *ret_len) {
        uint32_t argc, envc;
        size_t len = 2 * sizeof(uint32_t) + strlen(cwd) + 1;
        char *buf, *p;

        len += strv_bytes(argv, &argc);
        len += strv_bytes(envp, &envc);
        if (argc == 0)
                return -EINVAL;
        if (len > SANDBOX_PAYLOAD_MAX)
                return -E2BIG;

        buf = malloc(len);
        if (!buf)
                return -ENOMEM;
        memcpy(buf, &argc, sizeof argc);
        memcpy(buf + sizeof argc, &envc, sizeof envc);
        p = stpcpy(buf + 2 * sizeof(uint32_t), cwd) + 1;
        for (uint32_t i = 0; i < argc; i++)
                p = stpcpy(p, argv[i]) + 1;
        for (uint32_t i = 0; i < envc; i++)
                p = stpcpy(p, envp[i]) + 1;

        *ret = buf;
        *ret_len = len;
        return 0;
}

/* Point V[0..COUNT-1] at the next COUNT strings of [*P, END). */
static int decode_strings(char **p, const char *end, char **v, uint32_t count) {
        for (uint32_t i = 0; i < count; i++) {
                char *nul = memchr(*p, '\0', (size_t) (end - *p));

                if (!nul)
                        return -EBADMSG;
                v[i] = *p;
                *p = nul + 1;
        }
        v[count] = NULL;
        return 0;
}

int sandbox_run_payload_decode(char *payload, size_t len, const char **ret_cwd, char ***ret_argv, char ***ret_envp) {
        _cleanup_free_ char **argv = NULL, **envp = NULL;
        const char *end = payload + len;
        uint32_t argc, envc;
        char *p, *cwd[2];
        int r;

        if (len < 2 * sizeof(uint32_t))
                return -EBADMSG;
        memcpy(&argc, payload, sizeof argc);
        memcpy(&envc, payload + sizeof argc, sizeof envc);
        /* Each string takes at least its NUL, which bounds both counts. */
        if (argc == 0 || argc > len || envc > len)
                return -EBADMSG;

        argv = calloc((size_t) argc + 1, sizeof(char *));
        envp = calloc((size_t) envc + 1, sizeof(char *));
        if (!argv || !envp)
                return -ENOMEM;

        p = payload + 2 * sizeof(uint32_t);
        r = decode_strings(&p, end, cwd, 1);
        if (r >= 0)
                r = decode_strings(&p, end, argv, argc);
        if (r >= 0)
                r = decode_strings(&p, end, envp, envc);
        if (r < 0)
                return r;
        if (p != end)
                return -EBADMSG;

        *ret_cwd = cwd[0];
        *ret_argv = TAKE_PTR(argv);
        *ret_envp = TAKE_PTR(envp);
        return 0;
}
