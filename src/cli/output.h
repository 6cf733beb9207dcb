/* SPDX-License-Identifier: MIT */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "basic/error.h"
#include "basic/json-util.h"
#include "cli/cli.h"
#include "store/store-metadata.h"

/* Exit codes that are not a command's own status. */
#define CLI_EXIT_FAILURE 1
#define CLI_EXIT_USAGE 2        /* also manifest errors */
#define CLI_EXIT_STORE 3
#define CLI_EXIT_INTERRUPTED 130

/* The exit code for an error: manifest and usage errors 2, store errors 3,
 * anything else 1. */
int cli_exit_code_for_error(const KpError *err);

/* Print "error: <message>" on stderr, once per failed invocation. */
void cli_print_error(const KpError *err);

/* Print V (a reference is stolen, so json_pack() results can be passed
 * directly, and NULL means allocation failed) as pretty JSON with sorted keys. */
int cli_print_json(json_t *v, KpError *err);
/* Same, with explicit flags, for objects whose member order is fixed. */
int cli_print_json_flags(json_t *v, KpJsonFlags flags, KpError *err);

json_t *cli_json_strv(char *const *v, size_t n);

/* ANSI colour of a state in list and inspect, "" for unknown states. */
const char *cli_state_color(EnvState state);
/* Print the lowercase state, padded to WIDTH columns before it is
 * coloured so that escape sequences do not shift later columns. */
void cli_print_state(FILE *f, EnvState state, int width, bool color);

/* Spinner on stderr for long engine operations. It is drawn only when
 * stderr is a terminal, --json is off and the log level is below info.
 * Otherwise the engine's progress lines are logged at info level. */
void cli_progress_begin(CliContext *ctx, const char *message);
/* Stop the spinner and print "✓ DONE_MESSAGE" or "✗ FAILED_MESSAGE". */
void cli_progress_end(CliContext *ctx, bool ok, const char *done_message, const char *failed_message);
/* Progress callback for engine_set_progress(). */
void cli_progress_report(const char *message, void *userdata);
