/* SPDX-License-Identifier: MIT */
#pragma once

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <termios.h>

/*
 * The session's end of an interactive pseudo-terminal. The holder creates
 * the terminal inside the sandbox and passes its master here. The relay
 * copies the user's terminal input to it and its output to the user's
 * terminal, without blocking either direction.
 */

/* Bytes buffered per direction. */
#define PTY_BUFFER_SIZE 65536

typedef struct PtyBuffer {
        char data[PTY_BUFFER_SIZE];
        size_t start;
        size_t len;
} PtyBuffer;

typedef struct PtyRelay {
        int in_fd;              /* the user's terminal input (stdin) */
        int out_fd;             /* the user's terminal output (stdout) */
        int master;
        bool in_eof;
        bool master_eof;
        PtyBuffer to_master;
        PtyBuffer to_out;
        struct pollfd *pfds;    /* the entries added by pty_relay_poll_fds() */
} PtyRelay;

/* Put the terminal FD in raw mode, saving its settings in SAVED. */
int pty_raw_mode_enter(int fd, struct termios *saved);
void pty_raw_mode_leave(int fd, const struct termios *saved);

/* Copy the window size of the terminal FROM to the pseudo-terminal MASTER. */
void pty_copy_winsize(int from, int master);

/* Add the relay's descriptors to PFDS (4 entries at most); returns how many. */
size_t pty_relay_poll_fds(PtyRelay *relay, struct pollfd *pfds);

/* Move data after poll(). Returns 0, or a negative errno on a write error
 * to the user's terminal. */
int pty_relay_process(PtyRelay *relay);

/* Copy what the command wrote before it exited, until the master is empty. */
void pty_relay_drain(PtyRelay *relay);
