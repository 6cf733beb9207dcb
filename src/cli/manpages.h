/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>

#include "basic/error.h"
#include "cli/args.h"

/* Render the roff man page of PROGRAM (COMMAND NULL: "<program>.1") or of
 * one command ("<program>-<command>.1"). The caller frees the result, which
 * is NULL on allocation failure. */
char *cli_man_page_render(const CliProgram *program, const CliCommand *command);

/* Create DIR if needed and write "<program>.1" and one
 * "<program>-<command>.1" per command into it. *RET_COUNT gets the number of
 * pages written. */
int cli_man_pages_write(const CliProgram *program, const char *dir, size_t *ret_count, KpError *err);
