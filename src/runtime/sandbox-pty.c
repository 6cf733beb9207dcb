/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "basic/fs-util.h"
#include "runtime/sandbox-pty.h"

int pty_raw_mode_enter(int fd, struct termios *saved) {
        struct termios raw;

        if (tcgetattr(fd, saved) < 0)
                return -errno;
        raw = *saved;
        cfmakeraw(&raw);
        if (tcsetattr(fd, TCSANOW, &raw) < 0)
                return -errno;
        return 0;
}

void pty_raw_mode_leave(int fd, const struct termios *saved) {
        (void) tcsetattr(fd, TCSANOW, saved);
}

void pty_copy_winsize(int from, int master) {
        struct winsize ws;

        if (ioctl(from, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
                (void) ioctl(master, TIOCSWINSZ, &ws);
}

/* Append what FD has to B; false at end of input or on an error. */
static bool buffer_fill(PtyBuffer *b, int fd) {
        size_t end = (b->start + b->len) % PTY_BUFFER_SIZE;
        size_t room = b->start + b->len < PTY_BUFFER_SIZE ? PTY_BUFFER_SIZE - end : b->start - end;
        ssize_t n;

        if (b->len == PTY_BUFFER_SIZE)
                return true;
        n = read(fd, b->data + end, room);
        if (n < 0)
                return errno == EAGAIN || errno == EINTR;
        if (n == 0)
                return false;
        b->len += (size_t) n;
        return true;
}

/* Write from B to FD; a negative errno on a hard error. */
static int buffer_flush(PtyBuffer *b, int fd) {
        size_t chunk = b->start + b->len <= PTY_BUFFER_SIZE ? b->len : PTY_BUFFER_SIZE - b->start;
        ssize_t n;

        if (b->len == 0)
                return 0;
        n = write(fd, b->data + b->start, chunk);
        if (n < 0)
                return errno == EAGAIN || errno == EINTR ? 0 : -errno;
        b->start = (b->start + (size_t) n) % PTY_BUFFER_SIZE;
        b->len -= (size_t) n;
        if (b->len == 0)
                b->start = 0;
        return 0;
}

size_t pty_relay_poll_fds(PtyRelay *relay, struct pollfd *pfds) {
        size_t n = 0;

        relay->pfds = pfds;
        pfds[n++] = (struct pollfd) {
                .fd = relay->in_eof || relay->to_master.len == PTY_BUFFER_SIZE ? -1 : relay->in_fd,
                .events = POLLIN,
        };
        pfds[n++] = (struct pollfd) {
                .fd = relay->master_eof ? -1 : relay->master,
                .events = (short) ((relay->to_out.len < PTY_BUFFER_SIZE ? POLLIN : 0) |
                                   (relay->to_master.len > 0 ? POLLOUT : 0)),
        };
        pfds[n++] = (struct pollfd) {
                .fd = relay->to_out.len > 0 ? relay->out_fd : -1,
                .events = POLLOUT,
        };
        return n;
}

int pty_relay_process(PtyRelay *relay) {
        struct pollfd *in = &relay->pfds[0], *master = &relay->pfds[1], *out = &relay->pfds[2];
        int r;

        if (in->revents & (POLLIN | POLLHUP | POLLERR))
                relay->in_eof = !buffer_fill(&relay->to_master, relay->in_fd);

        if (master->revents & POLLIN)
                relay->master_eof = !buffer_fill(&relay->to_out, relay->master);
        else if (master->revents & (POLLHUP | POLLERR))
                relay->master_eof = true;
        if (master->revents & POLLOUT)
                (void) buffer_flush(&relay->to_master, relay->master);

        if (out->revents & (POLLOUT | POLLERR | POLLHUP)) {
                r = buffer_flush(&relay->to_out, relay->out_fd);
                if (r < 0)
                        return r;
        }
        return 0;
}

void pty_relay_drain(PtyRelay *relay) {
        int flags = fcntl(relay->master, F_GETFL);

        (void) fcntl(relay->master, F_SETFL, flags | O_NONBLOCK);
        for (;;) {
                while (relay->to_out.len > 0) {
                        size_t before = relay->to_out.len;

                        if (buffer_flush(&relay->to_out, relay->out_fd) < 0 || relay->to_out.len == before)
                                return;
                }
                if (relay->master_eof || !buffer_fill(&relay->to_out, relay->master) || relay->to_out.len == 0)
                        return;
        }
}
