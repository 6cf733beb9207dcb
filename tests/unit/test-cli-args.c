/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cli/args.h"

/* A small program with the argument shapes of the real table. */

static const char *const shells[] = { "bash", "zsh", "fish", NULL };

static const CliOption globals[] = {
        { "store", 0, "PATH", CLI_VALUE_DIR, NULL, NULL, "Store directory" },
        { "json", 0, NULL, CLI_VALUE_TEXT, NULL, NULL, "JSON output" },
        { "verbose", 'v', NULL, CLI_VALUE_TEXT, NULL, NULL, "Debug logging" },
        { "trace", 0, NULL, CLI_VALUE_TEXT, NULL, NULL, "Trace logging" },
        { "help", 'h', NULL, CLI_VALUE_TEXT, NULL, NULL, "Help" },
        { "version", 0, NULL, CLI_VALUE_TEXT, NULL, NULL, "Version" },
        {}
};

static const CliCommand commands[] = {
        {
                .name = "build",
                .summary = "Build it",
                .arguments = { { "MANIFEST", CLI_ARGUMENT_OPTIONAL, CLI_VALUE_FILE, NULL, "Manifest" } },
                .options = {
                        { "name", 0, "NAME", CLI_VALUE_TEXT, NULL, NULL, "Name" },
                        { "locked", 0, NULL, CLI_VALUE_TEXT, NULL, NULL, "Locked" },
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
                .name = "enter",
                .summary = "Enter",
                .arguments = {
                        { "ENV", CLI_ARGUMENT_REQUIRED, CLI_VALUE_ENV, NULL, "Environment" },
                        { "COMMAND", CLI_ARGUMENT_TRAILING_OPTIONAL, CLI_VALUE_COMMAND, NULL, "Command" },
                },
        },
        {
                .name = "restore",
                .summary = "Restore",
                .arguments = {
                        { "ENV", CLI_ARGUMENT_REQUIRED, CLI_VALUE_ENV, NULL, "Environment" },
                        { "SNAPSHOT", CLI_ARGUMENT_REQUIRED, CLI_VALUE_TEXT, NULL, "Snapshot" },
                },
        },
        {
                .name = "completions",
                .summary = "Completions",
                .arguments = { { "SHELL", CLI_ARGUMENT_REQUIRED, CLI_VALUE_CHOICE, shells, "Shell" } },
        },
        {
                .name = "list",
                .summary = "List",
        },
};

static const CliProgram program = {
        .name = "prog",
        .version = "1.2.3",
        .summary = "A test program",
        .global_options = globals,
        .commands = commands,
        .n_commands = ELEMENTSOF(commands),
};

/* Parse a NULL-terminated word list that starts after the program name. */
#define PARSE(inv, err, ...) parse_words((inv), (err), (const char *const[]) { "prog", __VA_ARGS__, NULL })

static int parse_words(CliInvocation *inv, KpError *err, const char *const *words) {
        int argc = 0;

        while (words[argc])
                argc++;
        kp_error_clear(err);
        /* cli_parse() never writes through argv; main() passes a mutable one. */
        return cli_parse(&program, argc, (char *const *) words, inv, err);
}

static void assert_usage_error(int r, const KpError *err, const char *fragment) {
        assert_int_equal(r, -EINVAL);
        assert_int_equal(err->kind, KP_ERROR_USAGE);
        assert_non_null(err->message);
        if (!strstr(err->message, fragment))
                fail_msg("message '%s' does not contain '%s'", err->message, fragment);
}

static void test_globals_before_command(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        CliInvocation inv;

        assert_int_equal(PARSE(&inv, &err, "--json", "--store", "/s", "-v", "build", "x.toml"), 0);
        assert_non_null(inv.command);
        assert_string_equal(inv.command->name, "build");
        assert_true(cli_global_flag(&inv, "json"));
        assert_true(cli_global_flag(&inv, "verbose"));
        assert_false(cli_global_flag(&inv, "trace"));
        assert_string_equal(cli_global_value(&inv, "store"), "/s");
        assert_string_equal(cli_argument(&inv, "MANIFEST"), "x.toml");
}

static void test_globals_after_command(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        CliInvocation inv;

        assert_int_equal(PARSE(&inv, &err, "build", "--store=/t", "--trace", "--json", "--name", "demo"), 0);
        assert_string_equal(inv.command->name, "build");
        assert_string_equal(cli_global_value(&inv, "store"), "/t");
        assert_true(cli_global_flag(&inv, "trace"));
        assert_true(cli_global_flag(&inv, "json"));
        assert_string_equal(cli_option_value(&inv, "name"), "demo");
        assert_false(cli_option_flag(&inv, "locked"));
        assert_null(cli_argument(&inv, "MANIFEST"));
}

static void test_options_between_positionals(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        CliInvocation inv;

        assert_int_equal(PARSE(&inv, &err, "restore", "env1", "--json", "snap1"), 0);
        assert_string_equal(cli_argument(&inv, "ENV"), "env1");
        assert_string_equal(cli_argument(&inv, "SNAPSHOT"), "snap1");
        assert_true(cli_global_flag(&inv, "json"));
}

static void test_trailing_after_dashdash(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        CliInvocation inv;

        assert_int_equal(PARSE(&inv, &err, "exec", "dev", "--json", "--", "ls", "-la", "--json", "--"), 0);
        assert_string_equal(cli_argument(&inv, "ENV"), "dev");
        assert_true(cli_global_flag(&inv, "json"));
        assert_int_equal(inv.n_trailing, 4);
        assert_string_equal(inv.trailing[0], "ls");
        assert_string_equal(inv.trailing[1], "-la");
        assert_string_equal(inv.trailing[2], "--json");
        assert_string_equal(inv.trailing[3], "--");
        assert_null(inv.trailing[4]);
}

static void test_trailing_only_json_after_dashdash(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        CliInvocation inv;

        /* Words after "--" belong to the command, not to karapace. */
        assert_int_equal(PARSE(&inv, &err, "exec", "dev", "--", "env", "--json"), 0);
        assert_false(cli_global_flag(&inv, "json"));
        assert_int_equal(inv.n_trailing, 2);
}

static void test_exec_requires_command(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        CliInvocation inv;

        assert_usage_error(PARSE(&inv, &err, "exec", "dev"), &err, "missing <COMMAND> after '--' for 'exec'");
        assert_usage_error(PARSE(&inv, &err, "exec", "dev", "--"), &err, "missing <COMMAND>");
        assert_usage_error(PARSE(&inv, &err, "exec", "dev", "ls"), &err, "unexpected argument 'ls'");
        assert_usage_error(PARSE(&inv, &err, "exec", "dev", "ls"), &err, "after '--'");
}

static void test_enter_trailing_optional(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        CliInvocation inv;

        assert_int_equal(PARSE(&inv, &err, "enter", "dev"), 0);
        assert_null(inv.trailing);
        assert_int_equal(inv.n_trailing, 0);

        assert_int_equal(PARSE(&inv, &err, "enter", "dev", "--", "true"), 0);
        assert_int_equal(inv.n_trailing, 1);
        assert_string_equal(inv.trailing[0], "true");
}

static void test_dashdash_without_trailing_argument(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        CliInvocation inv;

        /* Without a trailing argument, "--" only ends option parsing. */
        assert_int_equal(PARSE(&inv, &err, "build", "--", "-odd.toml"), 0);
        assert_string_equal(cli_argument(&inv, "MANIFEST"), "-odd.toml");
        assert_null(inv.trailing);
}

static void test_missing_argument(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        CliInvocation inv;

        assert_usage_error(PARSE(&inv, &err, "restore", "env1"), &err, "missing argument <SNAPSHOT> for 'restore'");
        assert_usage_error(PARSE(&inv, &err, "restore"), &err, "missing argument <ENV>");
        assert_usage_error(PARSE(&inv, &err, "restore"), &err, "Run 'prog restore --help' for usage.");
}

static void test_extra_argument(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        CliInvocation inv;

        assert_usage_error(PARSE(&inv, &err, "build", "a.toml", "b.toml"), &err, "unexpected argument 'b.toml'");
        assert_usage_error(PARSE(&inv, &err, "list", "extra"), &err, "unexpected argument 'extra'");
}

static void test_unknown_option(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        CliInvocation inv;

        assert_usage_error(PARSE(&inv, &err, "build", "--frobnicate"), &err, "unknown option '--frobnicate' for 'build'");
        assert_usage_error(PARSE(&inv, &err, "build", "--frobnicate"), &err, "Run 'prog build --help' for usage.");
        assert_non_null(inv.command);
        assert_string_equal(inv.command->name, "build");

        assert_usage_error(PARSE(&inv, &err, "build", "--frob=1"), &err, "unknown option '--frob'");
        assert_usage_error(PARSE(&inv, &err, "list", "-x"), &err, "unknown option '-x' for 'list'");
        assert_usage_error(PARSE(&inv, &err, "--frob", "list"), &err, "unknown option '--frob'");
        assert_usage_error(PARSE(&inv, &err, "--frob", "list"), &err, "Run 'prog --help' for usage.");
}

static void test_command_option_before_command(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        CliInvocation inv;

        assert_usage_error(PARSE(&inv, &err, "--name", "demo", "build"), &err,
                           "option '--name' must come after the command");
}

static void test_option_values(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        CliInvocation inv;

        assert_usage_error(PARSE(&inv, &err, "build", "--name"), &err, "option '--name' requires a value");
        assert_usage_error(PARSE(&inv, &err, "build", "--name", "--locked"), &err, "option '--name' requires a value");
        assert_usage_error(PARSE(&inv, &err, "build", "--locked=yes"), &err, "option '--locked' does not take a value");

        assert_int_equal(PARSE(&inv, &err, "build", "--name=-dash"), 0);
        assert_string_equal(cli_option_value(&inv, "name"), "-dash");

        assert_int_equal(PARSE(&inv, &err, "build", "--name=a", "--name", "b"), 0);
        assert_string_equal(cli_option_value(&inv, "name"), "b");

        assert_int_equal(PARSE(&inv, &err, "build", "--name="), 0);
        assert_string_equal(cli_option_value(&inv, "name"), "");
}

static void test_choices(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        CliInvocation inv;

        assert_int_equal(PARSE(&inv, &err, "completions", "zsh"), 0);
        assert_string_equal(cli_argument(&inv, "SHELL"), "zsh");
        assert_usage_error(PARSE(&inv, &err, "completions", "tcsh"), &err,
                           "invalid value 'tcsh' for <SHELL> (expected: bash, zsh, fish)");
}

static void test_unknown_and_missing_command(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        CliInvocation inv;

        assert_usage_error(PARSE(&inv, &err, "frobnicate"), &err, "unknown command 'frobnicate'");
        assert_null(inv.command);
        assert_usage_error(parse_words(&inv, &err, (const char *const[]) { "prog", NULL }), &err, "missing command");
        assert_usage_error(PARSE(&inv, &err, "--json"), &err, "missing command");
}

static void test_help_forms(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        CliInvocation inv;

        assert_int_equal(PARSE(&inv, &err, "--help"), 0);
        assert_true(cli_global_flag(&inv, "help"));
        assert_null(inv.command);

        /* Required arguments are not required for --help. */
        assert_int_equal(PARSE(&inv, &err, "restore", "--help"), 0);
        assert_true(cli_global_flag(&inv, "help"));
        assert_string_equal(inv.command->name, "restore");

        assert_int_equal(PARSE(&inv, &err, "help", "restore"), 0);
        assert_true(inv.help_command);
        assert_string_equal(inv.command->name, "restore");

        assert_int_equal(PARSE(&inv, &err, "help"), 0);
        assert_true(inv.help_command);
        assert_null(inv.command);

        assert_usage_error(PARSE(&inv, &err, "help", "nope"), &err, "unknown command 'nope'");
        assert_usage_error(PARSE(&inv, &err, "help", "build", "extra"), &err, "unexpected argument 'extra'");

        assert_int_equal(PARSE(&inv, &err, "--version"), 0);
        assert_true(cli_global_flag(&inv, "version"));
}

static void test_short_option_cluster(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        CliInvocation inv;

        assert_int_equal(PARSE(&inv, &err, "-vh"), 0);
        assert_true(cli_global_flag(&inv, "verbose"));
        assert_true(cli_global_flag(&inv, "help"));
}

static void test_single_dash_is_positional(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        CliInvocation inv;

        assert_int_equal(PARSE(&inv, &err, "build", "-"), 0);
        assert_string_equal(cli_argument(&inv, "MANIFEST"), "-");
}

static void test_command_usage(void **state) {
        _cleanup_free_ char *exec_usage = cli_command_usage(&program, cli_program_find_command(&program, "exec"));
        _cleanup_free_ char *enter_usage = cli_command_usage(&program, cli_program_find_command(&program, "enter"));
        _cleanup_free_ char *build_usage = cli_command_usage(&program, cli_program_find_command(&program, "build"));

        assert_string_equal(exec_usage, "prog exec [OPTIONS] <ENV> -- <COMMAND>...");
        assert_string_equal(enter_usage, "prog enter [OPTIONS] <ENV> [-- <COMMAND>...]");
        assert_string_equal(build_usage, "prog build [OPTIONS] [MANIFEST]");
}

static void test_help_render_program(void **state) {
        _cleanup_free_ char *text = cli_help_render(&program, NULL);

        assert_non_null(text);
        assert_non_null(strstr(text, "prog 1.2.3\n"));
        assert_non_null(strstr(text, "Usage: prog [OPTIONS] <COMMAND> [ARGS]..."));
        for (size_t i = 0; i < program.n_commands; i++) {
                _cleanup_free_ char *line = NULL;

                assert_true(asprintf(&line, "  %-11s  %s\n", commands[i].name, commands[i].summary) > 0);
                if (!strstr(text, line))
                        fail_msg("command line '%s' missing from:\n%s", line, text);
        }
        assert_non_null(strstr(text, "\n      --store <PATH>  Store directory\n"));
        assert_non_null(strstr(text, "\n  -v, --verbose       Debug logging\n"));
}

static void test_help_render_command(void **state) {
        const CliCommand *c = cli_program_find_command(&program, "build");
        _cleanup_free_ char *text = cli_help_render(&program, c);

        assert_non_null(text);
        assert_non_null(strstr(text, "Usage: prog build [OPTIONS] [MANIFEST]\n"));
        assert_non_null(strstr(text, "Arguments:\n  [MANIFEST]  Manifest\n"));
        assert_non_null(strstr(text, "Options:\n      --name <NAME>  Name\n      --locked       Locked\n"));
        assert_non_null(strstr(text, "Global options:\n"));

        c = cli_program_find_command(&program, "completions");
        free(text);
        text = cli_help_render(&program, c);
        assert_non_null(strstr(text, "<SHELL>  Shell (one of: bash, zsh, fish)"));
}

static void test_option_spelling(void **state) {
        _cleanup_free_ char *verbose = cli_option_spelling(&globals[2]);
        _cleanup_free_ char *store = cli_option_spelling(&globals[0]);

        assert_string_equal(verbose, "-v, --verbose");
        assert_string_equal(store, "    --store <PATH>");
}

static const char *const *list_colours(void) {
        static const char *const colours[] = { "red", "green", NULL };

        return colours;
}

static void test_option_choices(void **state) {
        const CliOption fixed = { "shell", 0, "SHELL", CLI_VALUE_CHOICE, shells, list_colours, "Shell" };
        const CliOption listed = { "colour", 0, "COLOUR", CLI_VALUE_CHOICE, NULL, list_colours, "Colour" };
        const CliOption plain = { "name", 0, "NAME", CLI_VALUE_TEXT, NULL, NULL, "Name" };

        assert_ptr_equal(cli_option_choices(&fixed), shells);
        assert_string_equal(cli_option_choices(&listed)[1], "green");
        assert_null(cli_option_choices(&plain));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_globals_before_command),
                cmocka_unit_test(test_globals_after_command),
                cmocka_unit_test(test_options_between_positionals),
                cmocka_unit_test(test_trailing_after_dashdash),
                cmocka_unit_test(test_trailing_only_json_after_dashdash),
                cmocka_unit_test(test_exec_requires_command),
                cmocka_unit_test(test_enter_trailing_optional),
                cmocka_unit_test(test_dashdash_without_trailing_argument),
                cmocka_unit_test(test_missing_argument),
                cmocka_unit_test(test_extra_argument),
                cmocka_unit_test(test_unknown_option),
                cmocka_unit_test(test_command_option_before_command),
                cmocka_unit_test(test_option_values),
                cmocka_unit_test(test_choices),
                cmocka_unit_test(test_unknown_and_missing_command),
                cmocka_unit_test(test_help_forms),
                cmocka_unit_test(test_short_option_cluster),
                cmocka_unit_test(test_single_dash_is_positional),
                cmocka_unit_test(test_command_usage),
                cmocka_unit_test(test_help_render_program),
                cmocka_unit_test(test_help_render_command),
                cmocka_unit_test(test_option_spelling),
                cmocka_unit_test(test_option_choices),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
