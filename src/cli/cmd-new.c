/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "basic/fs-util.h"
#include "cli/cli.h"
#include "cli/output.h"

/* "new" always writes into the current directory, independent of --store. */
#define NEW_MANIFEST_PATH "./karapace.toml"
#define NEW_DEFAULT_IMAGE "rolling"

static const char *const backend_choices[] = { "namespace", "oci", "mock", NULL };

/* Answers collected on a terminal. NULL or -1 keeps the template's value. */
typedef struct NewAnswers {
        char *base_image;
        char **packages;
        size_t n_packages;
        char *mount;
        char *backend;
        int network_isolation;
} NewAnswers;

static void new_answers_done(NewAnswers *a) {
        free(a->base_image);
        kp_strv_free(a->packages);
        free(a->mount);
        free(a->backend);
}

/* --- Prompts: questions on stderr, answers from stdin --- */

static char *strip(char *s) {
        char *end;

        while (isspace((unsigned char) *s))
                s++;
        end = s + strlen(s);
        while (end > s && isspace((unsigned char) end[-1]))
                *--end = '\0';
        return s;
}

/* Ask QUESTION and return the trimmed answer (possibly empty). */
static int prompt_read(const char *question, char **ret, KpError *err) {
        _cleanup_free_ char *line = NULL;
        size_t size = 0;
        ssize_t n;

        /* Prompting mode starts before the question is shown, so a Ctrl-C
         * that follows the question always ends the program. */
        cli_signals_set_prompting(true);
        fprintf(stderr, "%s ", question);
        fflush(stderr);

        n = getline(&line, &size, stdin);
        cli_signals_set_prompting(false);
        if (n < 0)
                return kp_error_set(err, -ENODATA, "no answer to '%s': stdin was closed", question);

        *ret = strdup(strip(line));
        return *ret ? 0 : kp_error_set(err, -ENOMEM, "out of memory");
}

/* Ask a yes/no question. An empty answer gives EMPTY_ANSWER, which is -1
 * to keep a setting unchanged. */
static int prompt_yes_no(const char *question, int empty_answer, int *ret, KpError *err) {
        for (;;) {
                _cleanup_free_ char *answer = NULL;
                int r;

                r = prompt_read(question, &answer, err);
                if (r < 0)
                        return r;

                if (answer[0] == '\0') {
                        *ret = empty_answer;
                        return 0;
                }
                if (strcasecmp(answer, "y") == 0 || strcasecmp(answer, "yes") == 0) {
                        *ret = 1;
                        return 0;
                }
                if (strcasecmp(answer, "n") == 0 || strcasecmp(answer, "no") == 0) {
                        *ret = 0;
                        return 0;
                }
                fprintf(stderr, "invalid input '%s', expected y or n\n", answer);
        }
}

/* An answer from CHOICES, or NULL for an empty answer. */
static int prompt_choice(const char *question, const char *const *choices, char **ret, KpError *err) {
        for (;;) {
                _cleanup_free_ char *answer = NULL;
                int r;

                r = prompt_read(question, &answer, err);
                if (r < 0)
                        return r;

                if (answer[0] == '\0') {
                        *ret = NULL;
                        return 0;
                }
                for (size_t i = 0; choices[i]; i++)
                        if (streq(answer, choices[i])) {
                                *ret = TAKE_PTR(answer);
                                return 0;
                        }
                fprintf(stderr, "invalid input '%s', expected one of the listed values\n", answer);
        }
}

static int split_words(const char *text, char ***ret, size_t *ret_count, KpError *err) {
        _cleanup_strv_free_ char **words = NULL;
        size_t n = 0;
        int r;

        for (const char *p = text; *p;) {
                size_t len;
                char *word;

                p += strspn(p, " \t");
                len = strcspn(p, " \t");
                if (len == 0)
                        break;

                word = strndup(p, len);
                if (!word)
                        return kp_error_set(err, -ENOMEM, "out of memory");
                r = kp_strv_push(&words, &n, word);
                if (r < 0)
                        return kp_error_set(err, r, "out of memory");
                p += len;
        }

        *ret = TAKE_PTR(words);
        *ret_count = n;
        return 0;
}

/* The questions after the overwrite check. ASK_IMAGE is set when no
 * template was given. */
static int new_ask(NewAnswers *a, bool ask_image, KpError *err) {
        _cleanup_free_ char *packages = NULL;
        int r;

        if (ask_image) {
                r = prompt_read("base image [" NEW_DEFAULT_IMAGE "]:", &a->base_image, err);
                if (r < 0)
                        return r;
                if (a->base_image[0] == '\0') {
                        free(a->base_image);
                        a->base_image = strdup(NEW_DEFAULT_IMAGE);
                        if (!a->base_image)
                                return kp_error_set(err, -ENOMEM, "out of memory");
                }
        }

        r = prompt_read("packages (space-separated, empty to skip):", &packages, err);
        if (r < 0)
                return r;
        r = split_words(packages, &a->packages, &a->n_packages, err);
        if (r < 0)
                return r;

        r = prompt_read("mount (format '<host>:<container>', empty to skip):", &a->mount, err);
        if (r < 0)
                return r;
        if (a->mount[0] == '\0') {
                free(a->mount);
                a->mount = NULL;
        }

        /* TODO: show the template's backend and network setting as the
         * defaults once engine.h exposes a template's contents. */
        r = prompt_choice("runtime backend (namespace, oci or mock; empty keeps the template's):",
                          backend_choices, &a->backend, err);
        if (r < 0)
                return r;

        return prompt_yes_no("enable network isolation? (y/n; empty keeps the template's)", -1,
                             &a->network_isolation, err);
}

/* --- The command --- */

static int template_check(const char *name, KpError *err) {
        const char *const *names = engine_template_names();
        _cleanup_free_ char *expected = NULL;
        size_t size = 0;
        FILE *f;

        for (size_t i = 0; names[i]; i++)
                if (streq(names[i], name))
                        return 0;

        f = open_memstream(&expected, &size);
        if (!f)
                return kp_error_set(err, -ENOMEM, "out of memory");
        for (size_t i = 0; names[i]; i++)
                fprintf(f, "%s%s", i > 0 ? ", " : "", names[i]);
        if (fclose(f) != 0)
                return kp_error_set(err, -ENOMEM, "out of memory");

        return kp_error_set(err, -EINVAL, "unknown template '%s' (expected: %s)", name, expected);
}

/* Decide whether an existing file may be replaced. *FORCE becomes true
 * after a "yes" on a terminal. */
static int new_check_overwrite(bool tty, bool *force, KpError *err) {
        int yes = 0;
        int r;

        if (*force || !kp_path_exists_at(AT_FDCWD, NEW_MANIFEST_PATH))
                return 0;

        if (tty) {
                r = prompt_yes_no("overwrite " NEW_MANIFEST_PATH "? [y/N]", 0, &yes, err);
                if (r < 0)
                        return r;
        }
        if (!yes)
                return kp_error_set(err, -EEXIST, "refusing to overwrite existing " NEW_MANIFEST_PATH " (pass --force)");

        *force = true;
        return 0;
}

static int new_print(const CliContext *ctx, const char *name, const char *template_name, KpError *err) {
        if (ctx->json)
                return cli_print_json(json_pack("{s:s, s:s, s:s, s:s?}",
                                                "name", name,
                                                "path", NEW_MANIFEST_PATH,
                                                "status", "written",
                                                "template", template_name),
                                      err);

        printf("wrote " NEW_MANIFEST_PATH " for '%s'\n", name);
        if (template_name)
                printf("template: %s\n", template_name);
        return 0;
}

int cmd_new(CliContext *ctx, const CliInvocation *inv, KpError *err) {
        _cleanup_(new_answers_done) NewAnswers answers = { .network_isolation = -1 };
        const char *template_name = cli_option_value(inv, "template");
        bool tty = isatty(STDIN_FILENO) && isatty(STDERR_FILENO);
        bool force = cli_option_flag(inv, "force");
        NewManifestOptions opts;
        int r;

        if (template_name) {
                r = template_check(template_name, err);
                if (r < 0)
                        return r;
        }

        r = new_check_overwrite(tty, &force, err);
        if (r < 0)
                return r;

        if (!template_name && !tty)
                return kp_error_set(err, -EINVAL, "no --template provided and stdin is not a TTY");

        if (tty) {
                r = new_ask(&answers, !template_name, err);
                if (r < 0)
                        return r;
        }

        opts = (NewManifestOptions) {
                .path = NEW_MANIFEST_PATH,
                .template_name = template_name,
                .base_image = answers.base_image,
                .extra_packages = answers.packages,
                .workspace_mount = answers.mount,
                .backend = answers.backend,
                .network_isolation = answers.network_isolation,
                .force = force,
        };
        r = engine_new_manifest(ctx->engine, &opts, err);
        if (r < 0)
                return r;

        return new_print(ctx, cli_argument(inv, "NAME"), template_name, err);
}
