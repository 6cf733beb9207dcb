/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "basic/macro.h"
#include "runtime/sandbox-protocol.h"

static void test_payload_round_trip(void **state) {
        char *argv[] = { (char *) "sh", (char *) "-c", (char *) "echo 'a b'", (char *) "", NULL };
        char *envp[] = { (char *) "A=1", (char *) "EMPTY=", NULL };
        char *payload = NULL, **out_argv = NULL, **out_envp = NULL;
        const char *cwd = NULL;
        size_t len = 0;

        assert_int_equal(sandbox_run_payload_encode("/home/me", argv, envp, &payload, &len), 0);
        assert_int_equal(sandbox_run_payload_decode(payload, len, &cwd, &out_argv, &out_envp), 0);
        assert_string_equal(cwd, "/home/me");
        for (size_t i = 0; i < 4; i++)
                assert_string_equal(out_argv[i], argv[i]);
        assert_null(out_argv[4]);
        assert_string_equal(out_envp[0], "A=1");
        assert_string_equal(out_envp[1], "EMPTY=");
        assert_null(out_envp[2]);

        free(out_argv);
        free(out_envp);
        free(payload);
}

static void test_payload_rejects_garbage(void **state) {
        char *argv[] = { (char *) "true", NULL };
        char *payload = NULL, **out_argv = NULL, **out_envp = NULL;
        const char *cwd = NULL;
        uint32_t huge[2] = { 1000000, 0 };
        char bad[sizeof huge + 4];
        size_t len = 0;

        /* No command at all. */
        assert_int_equal(sandbox_run_payload_encode("/", (char *[]) { NULL }, NULL, &payload, &len), -EINVAL);

        /* Truncated: the last string lost its NUL. */
        assert_int_equal(sandbox_run_payload_encode("/", argv, NULL, &payload, &len), 0);
        assert_int_equal(sandbox_run_payload_decode(payload, len - 1, &cwd, &out_argv, &out_envp), -EBADMSG);
        /* Trailing bytes. */
        payload = realloc(payload, len + 1);
        payload[len] = 'x';
        assert_int_equal(sandbox_run_payload_decode(payload, len + 1, &cwd, &out_argv, &out_envp), -EBADMSG);
        free(payload);

        /* Counts larger than the payload can hold. */
        memcpy(bad, huge, sizeof huge);
        memcpy(bad + sizeof huge, "/\0x\0", 4);
        assert_int_equal(sandbox_run_payload_decode(bad, sizeof bad, &cwd, &out_argv, &out_envp), -EBADMSG);
        assert_int_equal(sandbox_run_payload_decode(bad, 3, &cwd, &out_argv, &out_envp), -EBADMSG);
}

static void test_message_with_fds(void **state) {
        int pair[2], fds[SANDBOX_FDS_MAX], pipefd[2];
        SandboxMessage m = { .type = SANDBOX_MSG_RUN, .value = 7, .payload_len = 5 }, got;
        char *payload = NULL, buf[8] = {};
        size_t n_fds = 0;

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
        assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
        snprintf(m.digest, sizeof m.digest, "abc");

        assert_int_equal(sandbox_message_send(pair[0], &m, "hello", &pipefd[1], 1), 0);
        assert_int_equal(sandbox_message_recv(pair[1], &got, &payload, fds, &n_fds), 0);
        assert_int_equal(got.type, SANDBOX_MSG_RUN);
        assert_int_equal(got.value, 7);
        assert_string_equal(got.digest, "abc");
        assert_string_equal(payload, "hello");
        assert_int_equal(n_fds, 1);

        /* The received descriptor is the pipe's write end. */
        assert_int_equal(write(fds[0], "ok", 2), 2);
        assert_int_equal(read(pipefd[0], buf, sizeof buf), 2);
        assert_string_equal(buf, "ok");
        assert_true(fcntl(fds[0], F_GETFD) & FD_CLOEXEC);

        close(fds[0]);
        free(payload);

        /* A closed peer reads as the end of the stream. */
        close(pair[0]);
        assert_int_equal(sandbox_message_recv(pair[1], &got, NULL, NULL, NULL), -ECONNRESET);
        close(pair[1]);
        close(pipefd[0]);
        close(pipefd[1]);
}

static void test_message_rejects_bad_magic(void **state) {
        SandboxMessage m = { .magic = 0x12345678, .type = SANDBOX_MSG_OK }, got;
        int pair[2];

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
        assert_int_equal(write(pair[0], &m, sizeof m), (ssize_t) sizeof m);
        assert_int_equal(sandbox_message_recv(pair[1], &got, NULL, NULL, NULL), -EBADMSG);
        close(pair[0]);
        close(pair[1]);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_payload_round_trip),
                cmocka_unit_test(test_payload_rejects_garbage),
                cmocka_unit_test(test_message_with_fds),
                cmocka_unit_test(test_message_rejects_bad_magic),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
