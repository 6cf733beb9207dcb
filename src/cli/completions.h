/* SPDX-License-Identifier: MIT */
#pragma once

#include "cli/args.h"

/* Shells that cli_completions_render() supports, NULL-terminated. */
extern const char *const cli_completion_shells[];

/*
 * Render the completion script of PROGRAM for SHELL ("bash", "zsh" or
 * "fish"). The scripts complete command names, options and fixed choices.
 * For environment arguments they run "<program> [--store DIR] --json list"
 * at completion time and offer the names and short ids it prints (nothing
 * when that fails). Returns -EINVAL for another shell.
 */
int cli_completions_render(const CliProgram *program, const char *shell, char **ret);
