/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "basic/log.h"
#include "cli/cli.h"
#include "cli/output.h"

/* Column widths of "list", and the label width of "inspect". */
#define LIST_SHORT_ID_WIDTH 14
#define LIST_NAME_WIDTH 16
#define LIST_STATE_WIDTH 10
#define INSPECT_LABEL_WIDTH 13

/* --- Running commands --- */

/* Terminal integration for interactive sessions, when stderr is a
 * terminal: the OSC 777 container push and pop sequences that terminals
 * such as Ptyxis use to mark container sessions, and a banner line. */
static void terminal_session_begin(const char *env_id, const char *image, const char *hostname) {
        fprintf(stderr, "\033]777;container;push;%s;karapace;%s\033\\", hostname, env_id);
        fprintf(stderr, "\033[1;36m[karapace]\033[0m entering \033[1m%s\033[0m (%.12s) as \033[1m%s\033[0m\n",
                image, env_id, hostname);
}

static void terminal_session_end(const char *env_id) {
        fputs("\033]777;container;pop;;\033\\", stderr);
        fprintf(stderr, "\033[1;36m[karapace]\033[0m exited environment %.12s\n", env_id);
}

static int env_run(CliContext *ctx, const char *input, char *const *argv, bool interactive, KpError *err) {
        char env_id[KP_HASH_HEX_SIZE];
        int status = 0;
        int r;

        r = cli_resolve_env(ctx, input, /* always_pretty= */ true, env_id, err);
        if (r < 0)
                return r;

        _cleanup_free_ char *image = NULL, *hostname = NULL;
        bool banner = interactive && isatty(STDERR_FILENO) &&
                      engine_describe(ctx->engine, env_id, &image, &hostname, NULL) >= 0;

        if (banner)
                terminal_session_begin(env_id, image, hostname);
        cli_signals_set_passthrough(true);
        if (interactive)
                r = engine_enter(ctx->engine, env_id, argv, &status, err);
        else
                r = engine_exec(ctx->engine, env_id, argv, &status, err);
        cli_signals_set_passthrough(false);
        if (banner)
                terminal_session_end(env_id);
        if (r < 0)
                return r;

        log_debug("command in environment %s exited with status %d", env_id, status);
        return status;
}

int cmd_enter(CliContext *ctx, const CliInvocation *inv, KpError *err) {
        const char *input = cli_argument(inv, "ENV");

        /* With a command, enter behaves exactly like exec. */
        if (inv->n_trailing > 0)
                return env_run(ctx, input, inv->trailing, /* interactive= */ false, err);
        return env_run(ctx, input, NULL, /* interactive= */ true, err);
}

int cmd_exec(CliContext *ctx, const CliInvocation *inv, KpError *err) {
        return env_run(ctx, cli_argument(inv, "ENV"), inv->trailing, /* interactive= */ false, err);
}

/* --- State changes --- */

typedef int (*EnvActionFunc)(Engine *e, const char *env_id, KpError *err);

/* Resolve, act, then print "<status> environment <input>" (or JSON). */
static int env_action(CliContext *ctx, const CliInvocation *inv, EnvActionFunc func, const char *status,
                      KpError *err) {
        const char *input = cli_argument(inv, "ENV");
        char env_id[KP_HASH_HEX_SIZE];
        int r;

        r = cli_resolve_env(ctx, input, /* always_pretty= */ true, env_id, err);
        if (r < 0)
                return r;

        r = func(ctx->engine, env_id, err);
        if (r < 0)
                return r;

        if (ctx->json)
                return cli_print_json(json_pack("{s:s, s:s}", "env_id", env_id, "status", status), err);

        printf("%s environment %s\n", status, input);
        return 0;
}

int cmd_destroy(CliContext *ctx, const CliInvocation *inv, KpError *err) {
        return env_action(ctx, inv, engine_destroy, "destroyed", err);
}

int cmd_stop(CliContext *ctx, const CliInvocation *inv, KpError *err) {
        return env_action(ctx, inv, engine_stop, "stopped", err);
}

int cmd_freeze(CliContext *ctx, const CliInvocation *inv, KpError *err) {
        return env_action(ctx, inv, engine_freeze, "frozen", err);
}

int cmd_archive(CliContext *ctx, const CliInvocation *inv, KpError *err) {
        return env_action(ctx, inv, engine_archive, "archived", err);
}

int cmd_rename(CliContext *ctx, const CliInvocation *inv, KpError *err) {
        const char *new_name = cli_argument(inv, "NEW_NAME");
        char env_id[KP_HASH_HEX_SIZE];
        int r;

        r = cli_resolve_env(ctx, cli_argument(inv, "ENV"), /* always_pretty= */ true, env_id, err);
        if (r < 0)
                return r;

        r = engine_rename(ctx->engine, env_id, new_name, err);
        if (r < 0)
                return r;

        if (ctx->json)
                return cli_print_json(json_pack("{s:s, s:s, s:s}",
                                                "env_id", env_id, "name", new_name, "status", "renamed"),
                                      err);

        printf("renamed %.*s → '%s'\n", ENGINE_SHORT_ID_LEN, env_id, new_name);
        return 0;
}

/* --- Listing and inspecting --- */

/* The metadata as a JSON value in its stored member order. */
static int metadata_to_json_value(const EnvMetadata *m, json_t **ret, KpError *err) {
        _cleanup_free_ char *text = NULL, *parse_error = NULL;
        size_t len;
        int r;

        r = env_metadata_to_json(m, m->checksum, &text, &len, err);
        if (r < 0)
                return r;

        r = kp_json_parse(text, len, ret, &parse_error);
        if (r < 0)
                return kp_error_set(err, r, "metadata of %s is not valid JSON: %s", m->env_id,
                                    parse_error ? parse_error : "unknown error");
        return 0;
}

static int list_print_json(const EnvMetadata *list, size_t n, KpError *err) {
        _cleanup_json_ json_t *array = json_array();
        int r;

        if (!array)
                return kp_error_set(err, -ENOMEM, "out of memory");

        for (size_t i = 0; i < n; i++) {
                json_t *item = NULL;

                r = metadata_to_json_value(&list[i], &item, err);
                if (r < 0)
                        return r;
                if (json_array_append_new(array, item) < 0)
                        return kp_error_set(err, -ENOMEM, "out of memory");
        }

        return cli_print_json_flags(TAKE_PTR(array), KP_JSON_PRETTY, err);
}

static void list_print_text(const CliContext *ctx, const EnvMetadata *list, size_t n) {
        if (n == 0) {
                puts("no environments found");
                return;
        }

        printf("%-*s %-*s %-*s %s\n", LIST_SHORT_ID_WIDTH, "SHORT_ID", LIST_NAME_WIDTH, "NAME",
               LIST_STATE_WIDTH, "STATE", "ENV_ID");
        for (size_t i = 0; i < n; i++) {
                printf("%-*s %-*s ", LIST_SHORT_ID_WIDTH, list[i].short_id, LIST_NAME_WIDTH,
                       list[i].name ? list[i].name : "");
                cli_print_state(stdout, list[i].state, LIST_STATE_WIDTH, ctx->color);
                printf(" %s\n", list[i].env_id);
        }
}

int cmd_list(CliContext *ctx, const CliInvocation *inv, KpError *err) {
        EnvMetadata *list = NULL;
        size_t n = 0;
        int r;

        r = engine_list(ctx->engine, &list, &n, err);
        if (r < 0)
                return r;

        if (ctx->json)
                r = list_print_json(list, n, err);
        else
                list_print_text(ctx, list, n);

        env_metadata_array_free(list, n);
        return r < 0 ? r : 0;
}

static void inspect_print_text(const CliContext *ctx, const EnvMetadata *m) {
        _cleanup_free_ char *driver = engine_overlay_driver(ctx->engine, m->env_id);

        printf("%-*s%s\n", INSPECT_LABEL_WIDTH, "env_id:", m->env_id);
        printf("%-*s%s\n", INSPECT_LABEL_WIDTH, "short_id:", m->short_id);
        printf("%-*s%s\n", INSPECT_LABEL_WIDTH, "name:", m->name ? m->name : "(none)");
        printf("%-*s", INSPECT_LABEL_WIDTH, "state:");
        cli_print_state(stdout, m->state, 0, ctx->color);
        putchar('\n');
        printf("%-*s%s\n", INSPECT_LABEL_WIDTH, "base_layer:", m->base_layer ? m->base_layer : "");
        printf("%-*s%zu\n", INSPECT_LABEL_WIDTH, "deps:", m->n_dependency_layers);
        printf("%-*s%u\n", INSPECT_LABEL_WIDTH, "ref_count:", (unsigned) m->ref_count);
        printf("%-*s%s\n", INSPECT_LABEL_WIDTH, "created_at:", m->created_at);
        printf("%-*s%s\n", INSPECT_LABEL_WIDTH, "updated_at:", m->updated_at);
        /* Only environments whose sandbox has run have a driver to show. */
        if (driver)
                printf("%-*s%s\n", INSPECT_LABEL_WIDTH, "overlay:", driver);
}

int cmd_inspect(CliContext *ctx, const CliInvocation *inv, KpError *err) {
        _cleanup_env_metadata_free_ EnvMetadata *m = NULL;
        _cleanup_free_ char *text = NULL;
        char env_id[KP_HASH_HEX_SIZE];
        size_t len;
        int r;

        r = cli_resolve_env(ctx, cli_argument(inv, "ENV"), /* always_pretty= */ false, env_id, err);
        if (r < 0)
                return r;

        r = engine_inspect(ctx->engine, env_id, &m, err);
        if (r < 0)
                return r;

        if (!ctx->json) {
                inspect_print_text(ctx, m);
                return 0;
        }

        r = env_metadata_to_json(m, m->checksum, &text, &len, err);
        if (r < 0)
                return r;
        puts(text);
        return 0;
}
