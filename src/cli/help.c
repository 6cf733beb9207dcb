/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"

char *cli_option_spelling(const CliOption *o) {
        char *text = NULL;
        int r;

        /* Long-only options are indented to line up with "-v, --verbose". */
        if (o->value_name)
                r = o->short_name ? asprintf(&text, "-%c, --%s <%s>", o->short_name, o->long_name, o->value_name)
                                  : asprintf(&text, "    --%s <%s>", o->long_name, o->value_name);
        else
                r = o->short_name ? asprintf(&text, "-%c, --%s", o->short_name, o->long_name)
                                  : asprintf(&text, "    --%s", o->long_name);
        return r < 0 ? NULL : text;
}

char *cli_command_usage(const CliProgram *program, const CliCommand *command) {
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        if (!f)
                return NULL;

        fprintf(f, "%s %s [OPTIONS]", program->name, command->name);
        for (const CliArgument *a = command->arguments; a->name; a++)
                switch (a->kind) {
                case CLI_ARGUMENT_REQUIRED:
                        fprintf(f, " <%s>", a->name);
                        break;
                case CLI_ARGUMENT_OPTIONAL:
                        fprintf(f, " [%s]", a->name);
                        break;
                case CLI_ARGUMENT_TRAILING:
                        fprintf(f, " -- <%s>...", a->name);
                        break;
                case CLI_ARGUMENT_TRAILING_OPTIONAL:
                        fprintf(f, " [-- <%s>...]", a->name);
                        break;
                }

        if (fclose(f) != 0) {
                free(text);
                return NULL;
        }
        return text;
}

static void help_print_choices(FILE *f, const char *const *choices) {
        if (!choices)
                return;
        fputs(" (one of:", f);
        for (size_t i = 0; choices[i]; i++)
                fprintf(f, "%s %s", i > 0 ? "," : "", choices[i]);
        fputc(')', f);
}

static size_t options_width(const CliOption *options) {
        size_t width = 0;

        for (const CliOption *o = options; o && o->long_name; o++) {
                _cleanup_free_ char *s = cli_option_spelling(o);

                if (s && strlen(s) > width)
                        width = strlen(s);
        }
        return width;
}

static void help_print_options(FILE *f, const char *title, const CliOption *options) {
        size_t width = options_width(options);

        if (!options || !options->long_name)
                return;

        fprintf(f, "\n%s:\n", title);
        for (const CliOption *o = options; o->long_name; o++) {
                _cleanup_free_ char *s = cli_option_spelling(o);

                fprintf(f, "  %-*s  %s", (int) width, s ? s : o->long_name, o->help);
                help_print_choices(f, cli_option_choices(o));
                fputc('\n', f);
        }
}

static void help_print_arguments(FILE *f, const CliCommand *command) {
        size_t width = 0;

        if (!command->arguments[0].name)
                return;

        for (const CliArgument *a = command->arguments; a->name; a++)
                if (strlen(a->name) + 2 > width)
                        width = strlen(a->name) + 2;

        fputs("\nArguments:\n", f);
        for (const CliArgument *a = command->arguments; a->name; a++) {
                bool required = a->kind == CLI_ARGUMENT_REQUIRED || a->kind == CLI_ARGUMENT_TRAILING;
                _cleanup_free_ char *label = NULL;

                if (asprintf(&label, required ? "<%s>" : "[%s]", a->name) < 0)
                        label = NULL;
                fprintf(f, "  %-*s  %s", (int) width, label ? label : a->name, a->help);
                help_print_choices(f, a->choices);
                fputc('\n', f);
        }
}

static void help_print_program(FILE *f, const CliProgram *program) {
        size_t width = 0;

        fprintf(f, "%s %s\n%s\n\n", program->name, program->version, program->summary);
        fprintf(f, "Usage: %s [OPTIONS] <COMMAND> [ARGS]...\n", program->name);
        if (program->description)
                fprintf(f, "\n%s\n", program->description);

        for (size_t i = 0; i < program->n_commands; i++)
                if (strlen(program->commands[i].name) > width)
                        width = strlen(program->commands[i].name);

        fputs("\nCommands:\n", f);
        for (size_t i = 0; i < program->n_commands; i++)
                fprintf(f, "  %-*s  %s\n", (int) width, program->commands[i].name, program->commands[i].summary);

        help_print_options(f, "Global options (before or after the command)", program->global_options);
        fprintf(f, "\nRun '%s help <COMMAND>' or '%s <COMMAND> --help' for the arguments and options of a command.\n",
                program->name, program->name);
}

static void help_print_command(FILE *f, const CliProgram *program, const CliCommand *command) {
        _cleanup_free_ char *usage = cli_command_usage(program, command);

        fprintf(f, "%s\n\nUsage: %s\n", command->summary, usage ? usage : command->name);
        if (command->description)
                fprintf(f, "\n%s\n", command->description);

        help_print_arguments(f, command);
        help_print_options(f, "Options", command->options);
        help_print_options(f, "Global options", program->global_options);
}

char *cli_help_render(const CliProgram *program, const CliCommand *command) {
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        if (!f)
                return NULL;

        if (command)
                help_print_command(f, program, command);
        else
                help_print_program(f, program);

        if (fclose(f) != 0) {
                free(text);
                return NULL;
        }
        return text;
}
