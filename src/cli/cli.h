/* SPDX-License-Identifier: MIT */
#pragma once

#include <signal.h>
#include <stdbool.h>

#include "cli/args.h"
#include "engine/engine.h"

/* State shared by the command handlers of one invocation. */
typedef struct CliContext {
        const CliProgram *program;
        Engine *engine;                 /* NULL for commands flagged CLI_COMMAND_NO_ENGINE */
        char *store_root;
        bool json;                      /* --json: only JSON on stdout */
        bool color;                     /* stdout is a terminal and NO_COLOR is unset */
} CliContext;

extern const CliProgram cli_program;

/* Resolve an environment reference typed by the user. Without --json, and
 * always when ALWAYS_PRETTY is set, errors list candidates and a hint. */
int cli_resolve_env(CliContext *ctx, const char *input, bool always_pretty, char ret_env_id[KP_HASH_HEX_SIZE],
                    KpError *err);

/* Signal handling (main.c). While passthrough is on, SIGINT and SIGQUIT
 * reach only the command running in the environment, which shares the
 * terminal, but the first SIGTERM still requests cancellation. */
void cli_signals_set_passthrough(bool on);
/* While prompting, SIGINT and SIGTERM end the program with 130. Turning
 * prompting on after one of them arrived does the same. */
void cli_signals_set_prompting(bool on);

/* Handlers, one per command, listed in the table in commands.c. */
int cmd_new(CliContext *ctx, const CliInvocation *inv, KpError *err);
int cmd_build(CliContext *ctx, const CliInvocation *inv, KpError *err);
int cmd_rebuild(CliContext *ctx, const CliInvocation *inv, KpError *err);
int cmd_pin(CliContext *ctx, const CliInvocation *inv, KpError *err);
int cmd_enter(CliContext *ctx, const CliInvocation *inv, KpError *err);
int cmd_exec(CliContext *ctx, const CliInvocation *inv, KpError *err);
int cmd_destroy(CliContext *ctx, const CliInvocation *inv, KpError *err);
int cmd_stop(CliContext *ctx, const CliInvocation *inv, KpError *err);
int cmd_freeze(CliContext *ctx, const CliInvocation *inv, KpError *err);
int cmd_archive(CliContext *ctx, const CliInvocation *inv, KpError *err);
int cmd_list(CliContext *ctx, const CliInvocation *inv, KpError *err);
int cmd_inspect(CliContext *ctx, const CliInvocation *inv, KpError *err);
int cmd_diff(CliContext *ctx, const CliInvocation *inv, KpError *err);
int cmd_snapshots(CliContext *ctx, const CliInvocation *inv, KpError *err);
int cmd_commit(CliContext *ctx, const CliInvocation *inv, KpError *err);
int cmd_restore(CliContext *ctx, const CliInvocation *inv, KpError *err);
int cmd_gc(CliContext *ctx, const CliInvocation *inv, KpError *err);
int cmd_verify_store(CliContext *ctx, const CliInvocation *inv, KpError *err);
int cmd_push(CliContext *ctx, const CliInvocation *inv, KpError *err);
int cmd_pull(CliContext *ctx, const CliInvocation *inv, KpError *err);
int cmd_rename(CliContext *ctx, const CliInvocation *inv, KpError *err);
int cmd_completions(CliContext *ctx, const CliInvocation *inv, KpError *err);
int cmd_man_pages(CliContext *ctx, const CliInvocation *inv, KpError *err);
int cmd_tui(CliContext *ctx, const CliInvocation *inv, KpError *err);
int cmd_doctor(CliContext *ctx, const CliInvocation *inv, KpError *err);
int cmd_migrate(CliContext *ctx, const CliInvocation *inv, KpError *err);
