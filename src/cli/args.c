/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"

typedef struct Parser {
        const CliProgram *program;
        CliInvocation *inv;
        int argc;
        char *const *argv;
        int index;                      /* word being parsed */
        size_t n_positionals;           /* positionals after the command name */
        bool ended_options;             /* a "--" was seen */
        KpError *err;
} Parser;

const CliCommand *cli_program_find_command(const CliProgram *program, const char *name) {
        for (size_t i = 0; i < program->n_commands; i++)
                if (streq(program->commands[i].name, name))
                        return &program->commands[i];
        return NULL;
}

/* Fill ERR with a usage error that ends with a pointer at the right --help. */
_printf_(2, 3)
static int parser_error(Parser *p, const char *fmt, ...) {
        _cleanup_free_ char *message = NULL;
        const CliCommand *c = p->inv->command;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&message, fmt, ap);
        va_end(ap);
        if (r < 0)
                return kp_error_set_kind(p->err, KP_ERROR_USAGE, -ENOMEM, "out of memory");

        return kp_error_set_kind(p->err, KP_ERROR_USAGE, -EINVAL, "%s\nRun '%s%s%s --help' for usage.",
                                 message, p->program->name, c ? " " : "", c ? c->name : "");
}

static bool choice_is_valid(const char *const *choices, const char *value) {
        if (!choices)
                return true;
        for (size_t i = 0; choices[i]; i++)
                if (streq(choices[i], value))
                        return true;
        return false;
}

static char *choices_join(const char *const *choices) {
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        if (!f)
                return NULL;
        for (size_t i = 0; choices[i]; i++)
                fprintf(f, "%s%s", i > 0 ? ", " : "", choices[i]);
        if (fclose(f) != 0) {
                free(text);
                return NULL;
        }
        return text;
}

static int parser_check_choice(Parser *p, const char *label, const char *const *choices, const char *value) {
        _cleanup_free_ char *expected = NULL;

        if (choice_is_valid(choices, value))
                return 0;

        expected = choices_join(choices);
        return parser_error(p, "invalid value '%s' for %s (expected: %s)", value, label,
                            expected ? expected : "?");
}

/* Find an option of the current command, then a global one. *RET_SLOT gets
 * where its value goes. */
static const CliOption *parser_find_option(Parser *p, const char *long_name, size_t long_len, char short_name,
                                           CliValue **ret_slot) {
        const CliCommand *c = p->inv->command;
        const CliOption *lists[2] = { c ? c->options : NULL, p->program->global_options };
        CliValue *slots[2] = { p->inv->options, p->inv->globals };

        for (size_t l = 0; l < ELEMENTSOF(lists); l++) {
                if (!lists[l])
                        continue;
                for (size_t i = 0; lists[l][i].long_name; i++) {
                        const CliOption *o = &lists[l][i];
                        bool match = long_name ? strlen(o->long_name) == long_len &&
                                                 strneq(o->long_name, long_name, long_len)
                                               : o->short_name != 0 && o->short_name == short_name;
                        if (match) {
                                *ret_slot = &slots[l][i];
                                return o;
                        }
                }
        }
        return NULL;
}

static bool program_has_command_option(const CliProgram *program, const char *long_name, size_t long_len) {
        for (size_t i = 0; i < program->n_commands; i++)
                for (const CliOption *o = program->commands[i].options; o->long_name; o++)
                        if (strlen(o->long_name) == long_len && strneq(o->long_name, long_name, long_len))
                                return true;
        return false;
}

static int parser_unknown_long(Parser *p, const char *word, size_t name_len) {
        if (!p->inv->command && program_has_command_option(p->program, word + 2, name_len))
                return parser_error(p, "option '%.*s' must come after the command it belongs to",
                                    (int) name_len + 2, word);
        if (p->inv->command)
                return parser_error(p, "unknown option '%.*s' for '%s'", (int) name_len + 2, word,
                                    p->inv->command->name);
        return parser_error(p, "unknown option '%.*s'", (int) name_len + 2, word);
}

/* Take the value of option O from the next word. */
static int parser_take_next_value(Parser *p, const char *spelling, const char **ret) {
        const char *next = p->index + 1 < p->argc ? p->argv[p->index + 1] : NULL;

        /* A following option is more likely a forgotten value than a value
         * that starts with '-'. Such values can be given as --opt=VALUE. */
        if (!next || (next[0] == '-' && next[1] != '\0'))
                return parser_error(p, "option '%s' requires a value", spelling);

        p->index++;
        *ret = next;
        return 0;
}

static int parser_store_value(Parser *p, const CliOption *o, CliValue *slot, const char *spelling,
                              const char *value) {
        int r;

        if (o->choices) {
                r = parser_check_choice(p, spelling, o->choices, value);
                if (r < 0)
                        return r;
        }

        slot->given = true;
        slot->value = value;
        return 0;
}

static int parser_long_option(Parser *p, const char *word) {
        const char *eq = strchr(word, '=');
        size_t name_len = eq ? (size_t) (eq - word) - 2 : strlen(word) - 2;
        _cleanup_free_ char *spelling = NULL;
        const char *value = NULL;
        const CliOption *o;
        CliValue *slot;
        int r;

        o = parser_find_option(p, word + 2, name_len, 0, &slot);
        if (!o)
                return parser_unknown_long(p, word, name_len);

        if (asprintf(&spelling, "--%s", o->long_name) < 0)
                return kp_error_set(p->err, -ENOMEM, "out of memory");

        if (!o->value_name) {
                if (eq)
                        return parser_error(p, "option '%s' does not take a value", spelling);
                slot->given = true;
                return 0;
        }

        if (eq)
                value = eq + 1;
        else {
                r = parser_take_next_value(p, spelling, &value);
                if (r < 0)
                        return r;
        }

        return parser_store_value(p, o, slot, spelling, value);
}

/* "-v", or a cluster of short flags such as "-vh". A short option that takes
 * a value takes the rest of the word or the next word. */
static int parser_short_options(Parser *p, const char *word) {
        for (const char *c = word + 1; *c; c++) {
                char spelling[3] = { '-', *c, '\0' };
                const char *value = NULL;
                const CliOption *o;
                CliValue *slot;
                int r;

                o = parser_find_option(p, NULL, 0, *c, &slot);
                if (!o) {
                        if (p->inv->command)
                                return parser_error(p, "unknown option '%s' for '%s'", spelling,
                                                    p->inv->command->name);
                        return parser_error(p, "unknown option '%s'", spelling);
                }

                if (!o->value_name) {
                        slot->given = true;
                        continue;
                }

                if (c[1] != '\0')
                        value = c + 1;
                else {
                        r = parser_take_next_value(p, spelling, &value);
                        if (r < 0)
                                return r;
                }

                return parser_store_value(p, o, slot, spelling, value);
        }
        return 0;
}

static bool argument_is_trailing(const CliArgument *a) {
        return a->kind == CLI_ARGUMENT_TRAILING || a->kind == CLI_ARGUMENT_TRAILING_OPTIONAL;
}

static const CliArgument *command_trailing_argument(const CliCommand *c) {
        for (const CliArgument *a = c->arguments; a->name; a++)
                if (argument_is_trailing(a))
                        return a;
        return NULL;
}

static int parser_command_name(Parser *p, const char *word) {
        if (!p->inv->help_command && streq(word, "help")) {
                p->inv->help_command = true;
                return 0;
        }

        if (p->inv->help_command && p->inv->command)
                return parser_error(p, "unexpected argument '%s'", word);

        p->inv->command = cli_program_find_command(p->program, word);
        if (!p->inv->command)
                return parser_error(p, "unknown command '%s'", word);
        return 0;
}

static int parser_positional(Parser *p, const char *word) {
        const CliCommand *c = p->inv->command;
        size_t slot = 0;
        int r;

        if (!c || p->inv->help_command)
                return parser_command_name(p, word);

        /* The n-th positional fills the n-th non-trailing argument. */
        for (size_t i = 0; c->arguments[i].name; i++) {
                const CliArgument *a = &c->arguments[i];

                if (argument_is_trailing(a))
                        continue;
                if (slot++ != p->n_positionals)
                        continue;

                if (a->choices) {
                        _cleanup_free_ char *label = NULL;

                        if (asprintf(&label, "<%s>", a->name) < 0)
                                return kp_error_set(p->err, -ENOMEM, "out of memory");
                        r = parser_check_choice(p, label, a->choices, word);
                        if (r < 0)
                                return r;
                }
                p->inv->arguments[i] = word;
                p->n_positionals++;
                return 0;
        }

        if (command_trailing_argument(c) && !p->ended_options)
                return parser_error(p, "unexpected argument '%s'; put the command to run after '--'", word);
        return parser_error(p, "unexpected argument '%s'", word);
}

/* "--": for a command with a trailing argument the rest is passed through,
 * otherwise the rest are positionals that may start with '-'. */
static bool parser_end_of_options(Parser *p) {
        const CliCommand *c = p->inv->command;

        p->ended_options = true;
        if (!c || p->inv->help_command || !command_trailing_argument(c))
                return false;

        p->inv->trailing = &p->argv[p->index + 1];
        p->inv->n_trailing = (size_t) (p->argc - p->index - 1);
        p->index = p->argc;
        return true;
}

static int parser_word(Parser *p, const char *word) {
        if (p->ended_options)
                return parser_positional(p, word);
        if (streq(word, "--")) {
                (void) parser_end_of_options(p);
                return 0;
        }
        if (strneq(word, "--", 2))
                return parser_long_option(p, word);
        if (word[0] == '-' && word[1] != '\0')
                return parser_short_options(p, word);
        return parser_positional(p, word);
}

static bool parser_wants_help_or_version(const Parser *p) {
        return p->inv->help_command || cli_global_flag(p->inv, "help") || cli_global_flag(p->inv, "version");
}

static int parser_check_complete(Parser *p) {
        const CliCommand *c = p->inv->command;

        if (parser_wants_help_or_version(p))
                return 0;
        if (!c)
                return parser_error(p, "missing command");

        for (size_t i = 0; c->arguments[i].name; i++) {
                const CliArgument *a = &c->arguments[i];

                if (a->kind == CLI_ARGUMENT_REQUIRED && !p->inv->arguments[i])
                        return parser_error(p, "missing argument <%s> for '%s'", a->name, c->name);
                if (a->kind == CLI_ARGUMENT_TRAILING && p->inv->n_trailing == 0)
                        return parser_error(p, "missing <%s> after '--' for '%s'", a->name, c->name);
        }
        return 0;
}

int cli_parse(const CliProgram *program, int argc, char *const *argv, CliInvocation *ret, KpError *err) {
        Parser p = {
                .program = program,
                .inv = ret,
                .argc = argc,
                .argv = argv,
                .err = err,
        };
        int r;

        *ret = (CliInvocation) { .program = program };

        for (p.index = 1; p.index < argc; p.index++) {
                r = parser_word(&p, argv[p.index]);
                if (r < 0)
                        return r;
        }

        return parser_check_complete(&p);
}

const char *const *cli_option_choices(const CliOption *o) {
        if (o->choices)
                return o->choices;
        if (o->list_choices)
                return o->list_choices();
        return NULL;
}

static size_t option_index(const CliOption *options, const char *long_name) {
        for (size_t i = 0; options && options[i].long_name; i++)
                if (streq(options[i].long_name, long_name))
                        return i;
        /* Handlers only ask for options of their own table entry. */
        fprintf(stderr, "internal error: option '--%s' is not in the table\n", long_name);
        abort();
}

bool cli_global_flag(const CliInvocation *inv, const char *long_name) {
        return inv->globals[option_index(inv->program->global_options, long_name)].given;
}

const char *cli_global_value(const CliInvocation *inv, const char *long_name) {
        return inv->globals[option_index(inv->program->global_options, long_name)].value;
}

bool cli_option_flag(const CliInvocation *inv, const char *long_name) {
        assert(inv->command);
        return inv->options[option_index(inv->command->options, long_name)].given;
}

const char *cli_option_value(const CliInvocation *inv, const char *long_name) {
        assert(inv->command);
        return inv->options[option_index(inv->command->options, long_name)].value;
}

const char *cli_argument(const CliInvocation *inv, const char *name) {
        assert(inv->command);
        for (size_t i = 0; inv->command->arguments[i].name; i++)
                if (streq(inv->command->arguments[i].name, name))
                        return inv->arguments[i];
        fprintf(stderr, "internal error: argument <%s> is not in the table\n", name);
        abort();
}
