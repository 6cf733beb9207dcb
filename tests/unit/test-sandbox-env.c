/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "basic/fs-util.h"
#include "runtime/sandbox-env.h"

static const char *env_get(char *const *env, const char *name) {
        size_t len = strlen(name);

        for (size_t i = 0; env && env[i]; i++)
                if (strneq(env[i], name, len) && env[i][len] == '=')
                        return env[i] + len + 1;
        return NULL;
}

static void test_denylist(void **state) {
        const char *denied[] = {
                "SSH_AUTH_SOCK", "GPG_AGENT_INFO", "DOCKER_HOST", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE",
                "GITHUB_TOKEN", "NPM_TOKEN", "MY_SECRET", "CLIENT_SECRET_ID", "DB_PASSWORD", "OPENAI_API_KEY",
                "LC_SECRET_THING",
        };
        const char *fine[] = { "TERM", "LANG", "EDITOR", "TOKENIZER", "PATH", "KEYBOARD" };

        for (size_t i = 0; i < ELEMENTSOF(denied); i++)
                assert_true(sandbox_env_is_denied(denied[i]));
        for (size_t i = 0; i < ELEMENTSOF(fine); i++)
                assert_false(sandbox_env_is_denied(fine[i]));
}

static void test_allowlist(void **state) {
        SandboxEnvOptions plain = {}, gui = { .gui = true };

        assert_true(sandbox_env_is_allowed("TERM", &plain));
        assert_true(sandbox_env_is_allowed("LC_TIME", &plain));
        assert_true(sandbox_env_is_allowed("COLORTERM", &plain));
        assert_false(sandbox_env_is_allowed("LC_", &plain));
        assert_false(sandbox_env_is_allowed("PATH", &plain));
        assert_false(sandbox_env_is_allowed("LD_PRELOAD", &plain));
        assert_false(sandbox_env_is_allowed("DISPLAY", &plain));
        assert_true(sandbox_env_is_allowed("DISPLAY", &gui));
        assert_true(sandbox_env_is_allowed("WAYLAND_DISPLAY", &gui));
        /* The denylist wins over the allowlist. */
        assert_false(sandbox_env_is_allowed("LC_SECRET_THING", &gui));
}

static void test_build_filters_and_resets(void **state) {
        char *host[] = {
                (char *) "TERM=xterm-kitty",      (char *) "PATH=/opt/evil:/usr/bin",
                (char *) "SSH_AUTH_SOCK=/tmp/a",  (char *) "AWS_ACCESS_KEY_ID=x",
                (char *) "HOME=/home/me",         (char *) "SHELL=/usr/bin/zsh",
                (char *) "LC_ALL=de_DE.UTF-8",    (char *) "NOEQUALS",
                (char *) "BAD-NAME=1",            (char *) "DISPLAY=:0",
                NULL,
        };
        SandboxEnvOptions opts = { .hostname = "karapace-abc", .shell = "/bin/sh" };
        _cleanup_strv_free_ char **env = NULL;

        assert_int_equal(sandbox_env_build(host, &opts, &env), 0);
        assert_string_equal(env_get(env, "TERM"), "xterm-kitty");
        assert_string_equal(env_get(env, "PATH"), SANDBOX_DEFAULT_PATH);
        assert_string_equal(env_get(env, "HOME"), "/home/me");
        assert_string_equal(env_get(env, "SHELL"), "/bin/sh");
        assert_string_equal(env_get(env, "LC_ALL"), "de_DE.UTF-8");
        assert_string_equal(env_get(env, "HOSTNAME"), "karapace-abc");
        assert_string_equal(env_get(env, "TERMINFO_DIRS"), SANDBOX_TERMINFO_DIRS);
        assert_string_equal(env_get(env, "KARAPACE_ENV"), "1");
        assert_null(env_get(env, "SSH_AUTH_SOCK"));
        assert_null(env_get(env, "AWS_ACCESS_KEY_ID"));
        assert_null(env_get(env, "DISPLAY"));
        assert_null(env_get(env, "BAD-NAME"));
        assert_null(env_get(env, "NOEQUALS"));
}

static void test_build_pty_default_term(void **state) {
        char *host[] = { (char *) "USER=me", NULL };
        SandboxEnvOptions opts = { .pty = true, .home = "/root" };
        _cleanup_strv_free_ char **env = NULL, **empty = NULL;

        assert_int_equal(sandbox_env_build(host, &opts, &env), 0);
        assert_string_equal(env_get(env, "TERM"), "xterm-256color");
        assert_string_equal(env_get(env, "HOME"), "/root");
        assert_string_equal(env_get(env, "USER"), "me");

        opts.pty = false;
        assert_int_equal(sandbox_env_build(NULL, &opts, &empty), 0);
        assert_null(env_get(empty, "TERM"));
        assert_non_null(env_get(empty, "PATH"));
}

static bool only_c_available(const char *value, void *userdata) {
        return strneq(value, "C", 1) || streq(value, "POSIX");
}

static bool everything_available(const char *value, void *userdata) {
        return true;
}

static void test_fix_locale(void **state) {
        char *host[] = { (char *) "LANG=de_DE.UTF-8", (char *) "LC_TIME=fr_FR.UTF-8", (char *) "TERM=vt100", NULL };
        SandboxEnvOptions opts = {};
        _cleanup_strv_free_ char **env = NULL, **kept = NULL;

        assert_int_equal(sandbox_env_build(host, &opts, &kept), 0);
        assert_int_equal(sandbox_env_fix_locale(&kept, everything_available, NULL), 0);
        assert_string_equal(env_get(kept, "LANG"), "de_DE.UTF-8");

        assert_int_equal(sandbox_env_build(host, &opts, &env), 0);
        assert_int_equal(sandbox_env_fix_locale(&env, only_c_available, NULL), 1);
        assert_string_equal(env_get(env, "LANG"), "C.UTF-8");
        assert_string_equal(env_get(env, "LC_ALL"), "C.UTF-8");
        assert_null(env_get(env, "LC_TIME"));
        assert_string_equal(env_get(env, "TERM"), "vt100");
}

/* A fake image tree with a glibc locale archive naming "de_DE.utf8". */
static int make_locale_tree(char *dir) {
        _cleanup_free_ char *locale_dir = NULL, *archive = NULL;
        const char names[] = "de_DE.utf8\0en_US.utf8\0";
        uint32_t header[8] = { 0xde020109u, 0, 0, 0, 0, 64, sizeof names, sizeof names };
        FILE *f;

        if (!mkdtemp(dir) || asprintf(&locale_dir, "%s/usr/lib/locale/C.utf8", dir) < 0 ||
            kp_mkdir_p(locale_dir, 0755) < 0 || asprintf(&archive, "%s/usr/lib/locale/locale-archive", dir) < 0)
                return -1;
        f = fopen(archive, "we");
        if (!f)
                return -1;
        fwrite(header, sizeof header, 1, f);
        fseek(f, 64, SEEK_SET);
        fwrite(names, sizeof names, 1, f);
        fclose(f);
        return 0;
}

static void test_locale_availability(void **state) {
        char dir[] = "/tmp/kp-locale-XXXXXX", bare[] = "/tmp/kp-bare-XXXXXX";
        int fd, bare_fd;

        assert_int_equal(make_locale_tree(dir), 0);
        fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);

        assert_true(sandbox_locale_is_available(fd, "C"));
        assert_true(sandbox_locale_is_available(fd, "C.UTF-8"));
        assert_true(sandbox_locale_is_available(fd, "POSIX"));
        assert_true(sandbox_locale_is_available(fd, "de_DE.UTF-8"));
        assert_true(sandbox_locale_is_available(fd, "en_US.utf8"));
        assert_false(sandbox_locale_is_available(fd, "fr_FR.UTF-8"));
        assert_false(sandbox_locale_is_available(fd, "../../etc"));

        /* No compiled locales at all (musl, busybox): any name works. */
        assert_non_null(mkdtemp(bare));
        bare_fd = open(bare, O_PATH | O_DIRECTORY | O_CLOEXEC);
        assert_true(bare_fd >= 0);
        assert_true(sandbox_locale_is_available(bare_fd, "fr_FR.UTF-8"));

        close(fd);
        close(bare_fd);
        assert_int_equal(kp_rm_rf(dir), 0);
        assert_int_equal(kp_rm_rf(bare), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_denylist),
                cmocka_unit_test(test_allowlist),
                cmocka_unit_test(test_build_filters_and_resets),
                cmocka_unit_test(test_build_pty_default_term),
                cmocka_unit_test(test_fix_locale),
                cmocka_unit_test(test_locale_availability),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
