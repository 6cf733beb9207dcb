/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "basic/error.h"

/*
 * The command table and its parser. One table describes every command with
 * its arguments and options. The parser, --help, the shell completion
 * scripts and the man pages are all generated from it.
 */

/* Fixed capacities of one table entry. The table is static, so these only
 * need to fit the largest command. */
#define CLI_ARGUMENTS_MAX 4
#define CLI_OPTIONS_MAX 8

/* What a value is, so that completion scripts can offer candidates. */
typedef enum CliValueKind {
        CLI_VALUE_TEXT,         /* free text: nothing to offer */
        CLI_VALUE_ENV,          /* environment reference: names and short ids */
        CLI_VALUE_FILE,
        CLI_VALUE_DIR,
        CLI_VALUE_COMMAND,      /* a program and its arguments */
        CLI_VALUE_CHOICE,       /* one of `choices` or of `list_choices()` */
} CliValueKind;

typedef const char *const *(*CliChoicesFunc)(void);

typedef struct CliOption {
        const char *long_name;          /* without the leading "--" */
        char short_name;                /* 0 when there is none */
        const char *value_name;         /* NULL for a flag, else e.g. "NAME" */
        CliValueKind value_kind;
        const char *const *choices;     /* NULL-terminated, and the parser rejects other values */
        CliChoicesFunc list_choices;    /* offered by completions only, and the handler checks them */
        const char *help;
} CliOption;

typedef enum CliArgumentKind {
        CLI_ARGUMENT_REQUIRED,
        CLI_ARGUMENT_OPTIONAL,
        CLI_ARGUMENT_TRAILING,          /* everything after "--", at least one word */
        CLI_ARGUMENT_TRAILING_OPTIONAL, /* everything after "--", may be absent */
} CliArgumentKind;

typedef struct CliArgument {
        const char *name;               /* e.g. "ENV", and NULL ends the list */
        CliArgumentKind kind;
        CliValueKind value_kind;
        const char *const *choices;     /* NULL-terminated, and the parser rejects other values */
        const char *help;
} CliArgument;

struct CliContext;
typedef struct CliInvocation CliInvocation;

/* Returns the exit code (>= 0), or a negative errno with ERR filled. */
typedef int (*CliHandler)(struct CliContext *ctx, const CliInvocation *inv, KpError *err);

typedef enum CliCommandFlags {
        CLI_COMMAND_NO_ENGINE = 1 << 0, /* runs without opening the store */
} CliCommandFlags;

typedef struct CliCommand {
        const char *name;
        const char *summary;            /* one line for the command list and NAME */
        const char *description;        /* paragraphs for --help and the man page, or NULL */
        CliArgument arguments[CLI_ARGUMENTS_MAX];       /* ends at the first NULL name */
        CliOption options[CLI_OPTIONS_MAX];             /* ends at the first NULL long_name */
        CliHandler handler;
        CliCommandFlags flags;
} CliCommand;

typedef struct CliProgram {
        const char *name;               /* "karapace" */
        const char *version;
        const char *summary;
        const char *description;
        const CliOption *global_options;        /* ends at a NULL long_name */
        const CliCommand *commands;
        size_t n_commands;
} CliProgram;

typedef struct CliValue {
        bool given;
        const char *value;      /* the option's value, NULL for flags */
} CliValue;

struct CliInvocation {
        const CliProgram *program;
        const CliCommand *command;      /* NULL when no command was given */
        CliValue globals[CLI_OPTIONS_MAX];      /* by index in program->global_options */
        CliValue options[CLI_OPTIONS_MAX];      /* by index in command->options */
        const char *arguments[CLI_ARGUMENTS_MAX]; /* positional values, NULL when absent */
        char *const *trailing;          /* words after "--" (NULL-terminated), NULL when none */
        size_t n_trailing;
        bool help_command;              /* "karapace help [COMMAND]" */
};

/*
 * Parse ARGV (ARGC words, ARGV[ARGC] == NULL) against PROGRAM into RET.
 * Global options are accepted before and after the command name. A "--"
 * ends option parsing. For a command with a trailing argument the words
 * after it are passed through untouched in RET->trailing. On a usage error
 * returns -EINVAL and fills ERR (kind KP_ERROR_USAGE) with a message that
 * names the offending word and ends with a line pointing at --help. RET
 * then still names the command if one was recognized.
 */
int cli_parse(const CliProgram *program, int argc, char *const *argv, CliInvocation *ret, KpError *err);

const CliCommand *cli_program_find_command(const CliProgram *program, const char *name);

/* Look up a parsed option by its long name. Unknown names are a programming
 * error and abort. */
bool cli_global_flag(const CliInvocation *inv, const char *long_name);
const char *cli_global_value(const CliInvocation *inv, const char *long_name);
bool cli_option_flag(const CliInvocation *inv, const char *long_name);
const char *cli_option_value(const CliInvocation *inv, const char *long_name);

/* The positional argument named NAME, or NULL when it was not given. */
const char *cli_argument(const CliInvocation *inv, const char *name);

/* Usage line of COMMAND without "Usage: ", e.g.
 * "karapace exec [OPTIONS] <ENV> -- <COMMAND>...". Caller frees. */
char *cli_command_usage(const CliProgram *program, const CliCommand *command);

/* Help text for the program (COMMAND NULL) or for one command. Caller frees. */
char *cli_help_render(const CliProgram *program, const CliCommand *command);

/* The values of O to list in help, man pages and completions: its fixed
 * choices, else those that list_choices() returns, else NULL. */
const char *const *cli_option_choices(const CliOption *o);

/* Option spelling for help and man pages: "-v, --verbose", "--name <NAME>". */
char *cli_option_spelling(const CliOption *o);
