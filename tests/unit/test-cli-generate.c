/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "basic/fs-util.h"
#include "cli/completions.h"
#include "cli/manpages.h"

static const char *const shells[] = { "bash", "zsh", "fish", NULL };
static const char *const flavours[] = { "plain", "fancy", NULL };

static const char *const *list_flavours(void) {
        return flavours;
}

static const CliOption globals[] = {
        { "store", 0, "PATH", CLI_VALUE_DIR, NULL, NULL, "Store directory" },
        { "json", 0, NULL, CLI_VALUE_TEXT, NULL, NULL, "JSON output" },
        { "verbose", 'v', NULL, CLI_VALUE_TEXT, NULL, NULL, "Debug logging" },
        {}
};

static const CliCommand commands[] = {
        {
                .name = "new",
                .summary = "Write a file: it's new",
                .description = ".dot at line start\nback\\slash and [brackets]\n\nsecond paragraph",
                .arguments = { { "NAME", CLI_ARGUMENT_REQUIRED, CLI_VALUE_TEXT, NULL, "Name" } },
                .options = {
                        { "template", 0, "TEMPLATE", CLI_VALUE_CHOICE, NULL, list_flavours, "Template to use" },
                        { "force", 0, NULL, CLI_VALUE_TEXT, NULL, NULL, "Replace the file" },
                },
        },
        {
                .name = "exec",
                .summary = "Run a command",
                .arguments = {
                        { "ENV", CLI_ARGUMENT_REQUIRED, CLI_VALUE_ENV, NULL, "Environment" },
                        { "COMMAND", CLI_ARGUMENT_TRAILING, CLI_VALUE_COMMAND, NULL, "Command" },
                },
        },
        {
                .name = "build",
                .summary = "Build",
                .arguments = { { "MANIFEST", CLI_ARGUMENT_OPTIONAL, CLI_VALUE_FILE, NULL, "Manifest" } },
                .options = { { "name", 0, "NAME", CLI_VALUE_TEXT, NULL, NULL, "Name" } },
        },
        {
                .name = "completions",
                .summary = "Completions",
                .arguments = { { "SHELL", CLI_ARGUMENT_REQUIRED, CLI_VALUE_CHOICE, shells, "Shell" } },
        },
        {
                .name = "verify-store",
                .summary = "Verify",
        },
};

static const CliProgram program = {
        .name = "karapace",
        .version = "0.1.0",
        .summary = "A test program",
        .description = "Top-level description.",
        .global_options = globals,
        .commands = commands,
        .n_commands = ELEMENTSOF(commands),
};

static void assert_contains(const char *text, const char *fragment) {
        if (!strstr(text, fragment))
                fail_msg("'%s' not found in:\n%s", fragment, text);
}

/* Run "SHELL -n" on SCRIPT. Returns the exit status, or -1 when SHELL is
 * not installed. */
static int shell_syntax_check(const char *shell, const char *script) {
        char path[] = "/tmp/test-cli-generate-XXXXXX";
        _cleanup_free_ char *command = NULL;
        int fd, status;

        if (access(shell, X_OK) < 0)
                return -1;

        fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(kp_write_all(fd, script, strlen(script)), 0);
        close(fd);

        assert_true(asprintf(&command, "%s -n %s", shell, path) > 0);
        status = system(command);
        unlink(path);
        assert_true(WIFEXITED(status));
        return WEXITSTATUS(status);
}

static void test_completions_bash(void **state) {
        _cleanup_free_ char *script = NULL;
        int status;

        assert_int_equal(cli_completions_render(&program, "bash", &script), 0);
        assert_contains(script, "complete -F _karapace karapace\n");
        assert_contains(script, "\"help new exec build completions verify-store\"");
        assert_contains(script, "--store --json -v --verbose");
        assert_contains(script, "--template) COMPREPLY=($(compgen -W \"plain fancy\" -- \"$cur\")); return ;;");
        assert_contains(script, "0) COMPREPLY=($(compgen -W \"bash zsh fish\" -- \"$cur\")) ;;");
        assert_contains(script, "0) COMPREPLY=($(compgen -W \"$(_karapace_envs \"$store\")\" -- \"$cur\")) ;;");
        assert_contains(script, "--store|--template|--name)");
        assert_contains(script, "karapace \"${store_args[@]}\" --json list");

        status = shell_syntax_check("/bin/bash", script);
        if (status >= 0)
                assert_int_equal(status, 0);
}

static void test_completions_zsh(void **state) {
        _cleanup_free_ char *script = NULL;
        int status;

        assert_int_equal(cli_completions_render(&program, "zsh", &script), 0);
        assert_true(strncmp(script, "#compdef karapace\n", 18) == 0);
        /* A '\'' in a description closes the quotes and opens them again. */
        assert_contains(script, "'new:Write a file: it'\\''s new'");
        assert_contains(script, "'--template=[Template to use]:TEMPLATE:(plain fancy)'");
        assert_contains(script, "'(-v --verbose)'{-v,--verbose}'[Debug logging]'");
        assert_contains(script, "'1:ENV:_karapace_envs'");
        assert_contains(script, "'1::MANIFEST:_files'");
        assert_contains(script, "'*::COMMAND:_normal'");

        status = shell_syntax_check("/usr/bin/zsh", script);
        if (status >= 0)
                assert_int_equal(status, 0);
}

static void test_completions_fish(void **state) {
        _cleanup_free_ char *script = NULL;
        int status;

        assert_int_equal(cli_completions_render(&program, "fish", &script), 0);
        assert_contains(script, "complete -c karapace -n __fish_use_subcommand -a new -d 'Write a file: it\\'s new'\n");
        assert_contains(script, "complete -c karapace -n '__fish_seen_subcommand_from new' -l template -x -a 'plain fancy'");
        assert_contains(script, "complete -c karapace -s v -l verbose -d 'Debug logging'\n");
        assert_contains(script, "complete -c karapace -n '__fish_seen_subcommand_from exec' -a '(__karapace_envs)'\n");
        assert_contains(script, "complete -c karapace -l store -r -F -d 'Store directory'\n");

        status = shell_syntax_check("/usr/bin/fish", script);
        if (status >= 0)
                assert_int_equal(status, 0);
}

static void test_completions_unknown_shell(void **state) {
        char *script = NULL;

        assert_int_equal(cli_completions_render(&program, "tcsh", &script), -EINVAL);
        assert_null(script);
}

static void test_man_page_program(void **state) {
        _cleanup_free_ char *page = cli_man_page_render(&program, NULL);

        assert_non_null(page);
        assert_true(strncmp(page, ".TH KARAPACE 1 \"\" \"karapace 0.1.0\" \"User Commands\"\n", 51) == 0);
        assert_contains(page, ".SH NAME\nkarapace \\- A test program\n");
        assert_contains(page, ".SH COMMANDS\n");
        assert_contains(page, ".TP\n\\fBverify\\-store\\fR\nVerify\nSee \\fBkarapace\\-verify\\-store\\fR(1).\n");
        assert_contains(page, ".TP\n\\fB\\-v\\fR, \\fB\\-\\-verbose\\fR\nDebug logging\n");
        assert_contains(page, ".TP\n\\fB\\-\\-store\\fR \\fIPATH\\fR\nStore directory\n");
}

static void test_man_page_command(void **state) {
        _cleanup_free_ char *page = cli_man_page_render(&program, &commands[0]);

        assert_non_null(page);
        assert_true(strncmp(page, ".TH KARAPACE\\-NEW 1 ", 20) == 0);
        assert_contains(page, ".SH NAME\nkarapace\\-new \\- Write a file: it's new\n");
        assert_contains(page, ".SH SYNOPSIS\n\\fBkarapace new\\fR [\\fIOPTIONS\\fR] \\fINAME\\fR\n");
        /* A leading '.' is protected, backslashes escaped, a blank line is a paragraph. */
        assert_contains(page, "\\&.dot at line start\nback\\eslash and [brackets]\n.PP\nsecond paragraph\n");
        assert_contains(page, ".SH OPTIONS\n.TP\n\\fB\\-\\-template\\fR \\fITEMPLATE\\fR\nTemplate to use\n"
                              "One of: plain, fancy.\n");
        assert_contains(page, ".SH GLOBAL OPTIONS\n");
        assert_contains(page, ".SH SEE ALSO\n\\fBkarapace\\fR(1)\n");

        free(page);
        page = cli_man_page_render(&program, &commands[1]);
        assert_contains(page, "\\fBkarapace exec\\fR [\\fIOPTIONS\\fR] \\fIENV\\fR \\-\\- \\fICOMMAND\\fR...\n");
}

static void test_man_pages_write(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        char root[] = "/tmp/test-cli-man-XXXXXX";
        _cleanup_free_ char *dir = NULL;
        size_t count = 0;

        assert_non_null(mkdtemp(root));
        dir = kp_path_join(root, "sub/man");

        assert_int_equal(cli_man_pages_write(&program, dir, &count, &err), 0);
        assert_int_equal(count, 1 + program.n_commands);
        for (size_t i = 0; i < program.n_commands; i++) {
                _cleanup_free_ char *path = NULL;

                assert_true(asprintf(&path, "%s/karapace-%s.1", dir, commands[i].name) > 0);
                assert_int_equal(access(path, R_OK), 0);
        }
        assert_true(kp_path_exists_at(AT_FDCWD, dir));

        assert_int_equal(kp_rm_rf(root), 0);
}

static void test_man_pages_write_error(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;

        assert_true(cli_man_pages_write(&program, "/proc/self/cannot-create", NULL, &err) < 0);
        assert_non_null(strstr(err.message, "failed to create dir: /proc/self/cannot-create"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_completions_bash),
                cmocka_unit_test(test_completions_zsh),
                cmocka_unit_test(test_completions_fish),
                cmocka_unit_test(test_completions_unknown_shell),
                cmocka_unit_test(test_man_page_program),
                cmocka_unit_test(test_man_page_command),
                cmocka_unit_test(test_man_pages_write),
                cmocka_unit_test(test_man_pages_write_error),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
