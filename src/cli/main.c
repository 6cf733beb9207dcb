/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/log.h"
#include "cli/cli.h"
#include "cli/output.h"

#define DEFAULT_STORE_SUFFIX "/.local/share/karapace"

/* Set by the first SIGINT or SIGTERM. The engine checks it between steps. */
static volatile sig_atomic_t cancel_requested;
static volatile sig_atomic_t signals_passthrough;
static volatile sig_atomic_t signals_prompting;
static volatile sig_atomic_t sigpipe_seen;

static void signal_handler(int sig) {
        static const char message[] = "\nshutdown requested, finishing current operation...\n";

        if (signals_prompting) {
                (void) !write(STDERR_FILENO, "\n", 1);
                _exit(CLI_EXIT_INTERRUPTED);
        }
        /* The command in the environment got the terminal's signal itself. */
        if (signals_passthrough && sig != SIGTERM)
                return;
        if (cancel_requested)
                _exit(CLI_EXIT_INTERRUPTED);

        cancel_requested = 1;
        (void) !write(STDERR_FILENO, message, sizeof(message) - 1);
}

static void sigquit_handler(int sig) {
        if (signals_passthrough)
                return;
        signal(SIGQUIT, SIG_DFL);
        raise(SIGQUIT);
}

/* Writes to a closed pipe then fail with EPIPE, and the exit path stays
 * quiet about it. A handler is used rather than SIG_IGN because ignored
 * signals stay ignored across execve() in commands run in environments. */
static void sigpipe_handler(int sig) {
        sigpipe_seen = 1;
}

static void signals_install(void) {
        struct sigaction sa = { .sa_handler = signal_handler, .sa_flags = SA_RESTART };

        sigemptyset(&sa.sa_mask);
        (void) sigaction(SIGINT, &sa, NULL);
        (void) sigaction(SIGTERM, &sa, NULL);

        sa.sa_handler = sigquit_handler;
        (void) sigaction(SIGQUIT, &sa, NULL);

        sa.sa_handler = sigpipe_handler;
        (void) sigaction(SIGPIPE, &sa, NULL);
}

void cli_signals_set_passthrough(bool on) {
        signals_passthrough = on;
}

void cli_signals_set_prompting(bool on) {
        signals_prompting = on;

        /* A request that came before the question would otherwise wait for
         * an answer first. */
        if (on && cancel_requested)
                exit(CLI_EXIT_INTERRUPTED);
}

static int store_root_expand(const char *arg, char **ret, KpError *err) {
        const char *home = getenv("HOME");
        int r;

        if (arg && !strneq(arg, "~/", 2)) {
                *ret = strdup(arg);
                return *ret ? 0 : kp_error_set(err, -ENOMEM, "out of memory");
        }

        if (isempty(home))
                return kp_error_set_kind(err, KP_ERROR_USAGE, -EINVAL,
                                         "HOME is not set, so the store path cannot be found; pass --store PATH");

        /* Only a leading "~/" is expanded, as shells do for the current user. */
        r = arg ? asprintf(ret, "%s/%s", home, arg + 2) : asprintf(ret, "%s" DEFAULT_STORE_SUFFIX, home);
        return r < 0 ? kp_error_set(err, -ENOMEM, "out of memory") : 0;
}

static int context_open(CliContext *ctx, const CliInvocation *inv, KpError *err) {
        const char *no_color = getenv("NO_COLOR");
        int r;

        ctx->program = inv->program;
        ctx->json = cli_global_flag(inv, "json");
        ctx->color = isempty(no_color) && isatty(STDOUT_FILENO);

        r = store_root_expand(cli_global_value(inv, "store"), &ctx->store_root, err);
        if (r < 0)
                return r;

        if (inv->command->flags & CLI_COMMAND_NO_ENGINE)
                return 0;

        r = engine_open(ctx->store_root, &ctx->engine, err);
        if (r < 0)
                return r;

        engine_set_cancel_flag(ctx->engine, &cancel_requested);
        engine_set_progress(ctx->engine, cli_progress_report, ctx);
        return 0;
}

static void context_close(CliContext *ctx) {
        if (ctx->engine)
                (void) engine_free(ctx->engine);
        free(ctx->store_root);
}

/* Run the command and turn an error into its exit code. */
static int command_run(const CliInvocation *inv) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        CliContext ctx = {};
        int r;

        r = context_open(&ctx, inv, &err);
        if (r >= 0)
                r = inv->command->handler(&ctx, inv, &err);
        context_close(&ctx);
        if (r >= 0)
                return r;

        cli_print_error(&err);
        if (r == -ECANCELED && cancel_requested)
                return CLI_EXIT_INTERRUPTED;
        return cli_exit_code_for_error(&err);
}

static int print_help(const CliInvocation *inv) {
        _cleanup_free_ char *text = cli_help_render(inv->program, inv->command);

        if (!text) {
                fputs("error: out of memory\n", stderr);
                return CLI_EXIT_FAILURE;
        }
        fputs(text, stdout);
        return 0;
}

/* Flush stdout. A reader that went away is not an error worth reporting;
 * other write errors (a full disk) are. */
static int stdout_finish(int code) {
        if (fflush(stdout) == 0 && !ferror(stdout))
                return code;
        if (errno == EPIPE || sigpipe_seen)
                return code;

        fprintf(stderr, "error: failed to write to stdout: %s\n", strerror(errno));
        return code == 0 ? CLI_EXIT_FAILURE : code;
}

int main(int argc, char *argv[]) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        CliInvocation inv;
        int r;

        r = cli_parse(&cli_program, argc, argv, &inv, &err);
        kp_log_setup(cli_global_flag(&inv, "verbose"), cli_global_flag(&inv, "trace"));
        if (r < 0) {
                cli_print_error(&err);
                return CLI_EXIT_USAGE;
        }

        signals_install();

        if (cli_global_flag(&inv, "version")) {
                printf("%s %s\n", cli_program.name, cli_program.version);
                return stdout_finish(0);
        }
        if (cli_global_flag(&inv, "help") || inv.help_command)
                return stdout_finish(print_help(&inv));

        return stdout_finish(command_run(&inv));
}
