/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/fs-util.h"
#include "cli/manpages.h"

/* Print S as roff text: backslashes and hyphens escaped, and a leading '.'
 * or '\'' of any line protected so that it is not read as a request. A
 * blank line starts a new paragraph. */
static void roff_print_text(FILE *f, const char *s) {
        bool line_start = true;

        for (; *s; s++) {
                if (line_start && *s == '\n') {
                        fputs(".PP\n", f);
                        continue;
                }
                if (line_start && (*s == '.' || *s == '\''))
                        fputs("\\&", f);
                line_start = *s == '\n';

                if (*s == '\\')
                        fputs("\\e", f);
                else if (*s == '-')
                        fputs("\\-", f);
                else
                        fputc(*s, f);
        }
        if (!line_start)
                fputc('\n', f);
}

/* Print S inline (no newline), escaped for roff. */
static void roff_print_word(FILE *f, const char *s) {
        for (; *s; s++)
                if (*s == '\\')
                        fputs("\\e", f);
                else if (*s == '-')
                        fputs("\\-", f);
                else
                        fputc(*s, f);
}

static void roff_print_upper(FILE *f, const char *s) {
        for (; *s; s++)
                if (*s == '-')
                        fputs("\\-", f);
                else
                        fputc(toupper((unsigned char) *s), f);
}

static void man_print_header(FILE *f, const CliProgram *program, const CliCommand *command) {
        /* No date in .TH, so the pages are reproducible. */
        fputs(".TH ", f);
        roff_print_upper(f, program->name);
        if (command) {
                fputs("\\-", f);
                roff_print_upper(f, command->name);
        }
        fprintf(f, " 1 \"\" \"%s %s\" \"User Commands\"\n", program->name, program->version);

        fputs(".SH NAME\n", f);
        roff_print_word(f, program->name);
        if (command) {
                fputs("\\-", f);
                roff_print_word(f, command->name);
        }
        fputs(" \\- ", f);
        roff_print_text(f, command ? command->summary : program->summary);
}

static void man_print_options(FILE *f, const char *title, const CliOption *options) {
        if (!options || !options->long_name)
                return;

        fprintf(f, ".SH %s\n", title);
        for (const CliOption *o = options; o->long_name; o++) {
                const char *const *choices = cli_option_choices(o);

                fputs(".TP\n", f);
                if (o->short_name)
                        fprintf(f, "\\fB\\-%c\\fR, ", o->short_name);
                fputs("\\fB\\-\\-", f);
                roff_print_word(f, o->long_name);
                fputs("\\fR", f);
                if (o->value_name) {
                        fputs(" \\fI", f);
                        roff_print_word(f, o->value_name);
                        fputs("\\fR", f);
                }
                fputc('\n', f);
                roff_print_text(f, o->help);
                if (choices) {
                        fputs("One of:", f);
                        for (size_t i = 0; choices[i]; i++) {
                                fputs(i > 0 ? ", " : " ", f);
                                roff_print_word(f, choices[i]);
                        }
                        fputs(".\n", f);
                }
        }
}

static void man_print_synopsis(FILE *f, const CliProgram *program, const CliCommand *command) {
        fputs(".SH SYNOPSIS\n\\fB", f);
        roff_print_word(f, program->name);
        if (!command) {
                fputs("\\fR [\\fIOPTIONS\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR]...\n", f);
                return;
        }

        fputc(' ', f);
        roff_print_word(f, command->name);
        fputs("\\fR [\\fIOPTIONS\\fR]", f);
        for (const CliArgument *a = command->arguments; a->name; a++) {
                static const char *const forms[] = {
                        [CLI_ARGUMENT_REQUIRED] = " \\fI%s\\fR",
                        [CLI_ARGUMENT_OPTIONAL] = " [\\fI%s\\fR]",
                        [CLI_ARGUMENT_TRAILING] = " \\-\\- \\fI%s\\fR...",
                        [CLI_ARGUMENT_TRAILING_OPTIONAL] = " [\\-\\- \\fI%s\\fR...]",
                };

                fprintf(f, forms[a->kind], a->name);
        }
        fputc('\n', f);
}

static void man_print_arguments(FILE *f, const CliCommand *command) {
        if (!command->arguments[0].name)
                return;

        fputs(".SH ARGUMENTS\n", f);
        for (const CliArgument *a = command->arguments; a->name; a++) {
                fputs(".TP\n\\fI", f);
                roff_print_word(f, a->name);
                fputs("\\fR\n", f);
                roff_print_text(f, a->help);
                if (a->choices) {
                        fputs("One of:", f);
                        for (size_t i = 0; a->choices[i]; i++) {
                                fputs(i > 0 ? ", " : " ", f);
                                roff_print_word(f, a->choices[i]);
                        }
                        fputs(".\n", f);
                }
        }
}

static void man_print_program(FILE *f, const CliProgram *program) {
        man_print_synopsis(f, program, NULL);
        if (program->description) {
                fputs(".SH DESCRIPTION\n", f);
                roff_print_text(f, program->description);
        }

        fputs(".SH COMMANDS\n", f);
        for (size_t i = 0; i < program->n_commands; i++) {
                fputs(".TP\n\\fB", f);
                roff_print_word(f, program->commands[i].name);
                fputs("\\fR\n", f);
                roff_print_text(f, program->commands[i].summary);
                fputs("See \\fB", f);
                roff_print_word(f, program->name);
                fputs("\\-", f);
                roff_print_word(f, program->commands[i].name);
                fputs("\\fR(1).\n", f);
        }
        man_print_options(f, "OPTIONS", program->global_options);
}

static void man_print_command(FILE *f, const CliProgram *program, const CliCommand *command) {
        man_print_synopsis(f, program, command);
        fputs(".SH DESCRIPTION\n", f);
        roff_print_text(f, command->description ? command->description : command->summary);
        man_print_arguments(f, command);
        man_print_options(f, "OPTIONS", command->options);
        man_print_options(f, "GLOBAL OPTIONS", program->global_options);

        fputs(".SH SEE ALSO\n\\fB", f);
        roff_print_word(f, program->name);
        fputs("\\fR(1)\n", f);
}

char *cli_man_page_render(const CliProgram *program, const CliCommand *command) {
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        if (!f)
                return NULL;

        man_print_header(f, program, command);
        if (command)
                man_print_command(f, program, command);
        else
                man_print_program(f, program);

        if (fclose(f) != 0) {
                free(text);
                return NULL;
        }
        return text;
}

static int man_page_write(const CliProgram *program, const CliCommand *command, const char *dir,
                          KpError *err) {
        _cleanup_free_ char *text = NULL, *name = NULL, *path = NULL;
        int r;

        text = cli_man_page_render(program, command);
        if (!text)
                return kp_error_set(err, -ENOMEM, "man page render failed: out of memory");

        r = command ? asprintf(&name, "%s-%s.1", program->name, command->name)
                    : asprintf(&name, "%s.1", program->name);
        if (r < 0)
                return kp_error_set(err, -ENOMEM, "out of memory");

        path = kp_path_join(dir, name);
        if (!path)
                return kp_error_set(err, -ENOMEM, "out of memory");

        r = kp_write_file_atomic_at(AT_FDCWD, path, text, strlen(text), 0644, 0);
        if (r < 0)
                return kp_error_set(err, r, "failed to write %s: %s", path, strerror(-r));
        return 0;
}

int cli_man_pages_write(const CliProgram *program, const char *dir, size_t *ret_count, KpError *err) {
        size_t count = 0;
        int r;

        r = kp_mkdir_p(dir, 0755);
        if (r < 0)
                return kp_error_set(err, r, "failed to create dir: %s: %s", dir, strerror(-r));

        r = man_page_write(program, NULL, dir, err);
        if (r < 0)
                return r;
        count++;

        for (size_t i = 0; i < program->n_commands; i++) {
                r = man_page_write(program, &program->commands[i], dir, err);
                if (r < 0)
                        return r;
                count++;
        }

        if (ret_count)
                *ret_count = count;
        return 0;
}
