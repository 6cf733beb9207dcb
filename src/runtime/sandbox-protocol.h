/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>

#include "basic/hash.h"

/*
 * Messages between a session (the karapace process) and the holder, over
 * the stream socket <env dir>/.sandbox.sock. Every message is a fixed
 * header, optionally followed by PAYLOAD_LEN bytes; file descriptors travel
 * with the header as SCM_RIGHTS.
 *
 *   session                          holder
 *   HELLO(digest)            ->
 *                            <-      OK | STALE | ERROR(errno, message)
 *   RUN(flags, payload, fds) ->      forks the command
 *                            <-      STARTED (+ pty master) | ERROR
 *   SIGNAL(n), SHUTDOWN      ->      (any time while running)
 *                            <-      EXITED(wait status)
 *
 * The connection stays open for the whole session; the holder counts open
 * connections to know when it is idle. A closed connection kills the
 * process group of its running command.
 */

#define SANDBOX_SOCKET_NAME ".sandbox.sock"
#define SANDBOX_LOCK_NAME ".sandbox.lock"
#define SANDBOX_HOLDER_NAME ".sandbox.holder"
#define SANDBOX_DRIVER_NAME ".overlay-driver"

#define SANDBOX_MAGIC 0x4b534231u       /* "KSB1" */

/* RUN payloads carry argv and the environment, which the kernel limits to
 * about 2 MiB for execve(); twice that leaves room for the cwd. */
#define SANDBOX_PAYLOAD_MAX (4u * 1024 * 1024)

/* Descriptors per message: stdin, stdout, stderr. */
#define SANDBOX_FDS_MAX 3

typedef enum SandboxMessageType {
        SANDBOX_MSG_HELLO = 1,
        SANDBOX_MSG_RUN,
        SANDBOX_MSG_SIGNAL,     /* value: signal number */
        SANDBOX_MSG_SHUTDOWN,   /* exit after the last session, without lingering */
        SANDBOX_MSG_KILL,       /* exit now, killing every process */
        SANDBOX_MSG_OK,
        SANDBOX_MSG_STALE,      /* set up differently: the holder exits; start a new one */
        SANDBOX_MSG_ERROR,      /* value: errno; payload: message */
        SANDBOX_MSG_STARTED,
        SANDBOX_MSG_EXITED,     /* value: wait status */
} SandboxMessageType;

typedef enum SandboxRunFlags {
        SANDBOX_RUN_PTY = 1 << 0,
} SandboxRunFlags;

typedef struct SandboxMessage {
        uint32_t magic;
        uint32_t type;
        int32_t value;
        uint32_t flags;
        uint32_t payload_len;
        uint32_t umask;
        struct winsize winsize;
        char digest[KP_HASH_HEX_SIZE];
} SandboxMessage;

/* Send M (its magic is set here) with PAYLOAD and N_FDS descriptors. */
int sandbox_message_send(int sock, SandboxMessage *m, const void *payload, const int *fds, size_t n_fds);

/* Receive a message. *RET_PAYLOAD (NUL-terminated, may be NULL when the
 * caller expects none) and up to SANDBOX_FDS_MAX descriptors (O_CLOEXEC)
 * are returned; -ECONNRESET at end of stream, -EBADMSG for garbage. */
int sandbox_message_recv(int sock, SandboxMessage *m, char **ret_payload, int fds[SANDBOX_FDS_MAX],
                         size_t *ret_n_fds);

/* RUN payload: u32 argc, u32 envc, then NUL-terminated cwd, argv, envp. */
int sandbox_run_payload_encode(const char *cwd, char *const *argv, char *const *envp, char **ret, size_t *ret_len);

/* Decode in place: the returned arrays point into PAYLOAD and are
 * NULL-terminated; free only the arrays. */
int sandbox_run_payload_decode(char *payload, size_t len, const char **ret_cwd, char ***ret_argv, char ***ret_envp);
