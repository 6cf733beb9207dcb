/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "basic/log.h"
#include "cli/output.h"

int cli_exit_code_for_error(const KpError *err) {
        switch (err->kind) {
        case KP_ERROR_MANIFEST:
        case KP_ERROR_USAGE:
                return CLI_EXIT_USAGE;
        case KP_ERROR_STORE:
                return CLI_EXIT_STORE;
        case KP_ERROR_GENERIC:
        case KP_ERROR_LOCK:
        case KP_ERROR_RUNTIME:
        case KP_ERROR_STATE:
        case KP_ERROR_NOT_FOUND:
        case KP_ERROR_IO:
        case KP_ERROR_REMOTE:
        case _KP_ERROR_KIND_MAX:
                break;
        }
        return CLI_EXIT_FAILURE;
}

void cli_print_error(const KpError *err) {
        _cleanup_free_ char *text = kp_error_format(err);

        fprintf(stderr, "error: %s\n", text ? text : "out of memory");
}

int cli_print_json_flags(json_t *v, KpJsonFlags flags, KpError *err) {
        _cleanup_json_ json_t *owned = v;
        int r;

        if (!owned)
                return kp_error_set(err, -ENOMEM, "out of memory while building JSON output");

        r = kp_json_print(owned, flags);
        if (r == -ENOMEM)
                return kp_error_set(err, r, "out of memory while printing JSON output");
        /* Other write errors show up when stdout is flushed at exit. */
        return 0;
}

int cli_print_json(json_t *v, KpError *err) {
        return cli_print_json_flags(v, KP_JSON_PRETTY | KP_JSON_SORT_KEYS, err);
}

json_t *cli_json_strv(char *const *v, size_t n) {
        json_t *a = json_array();

        if (!a)
                return NULL;
        for (size_t i = 0; i < n; i++)
                if (json_array_append_new(a, json_string(v[i])) < 0) {
                        json_decref(a);
                        return NULL;
                }
        return a;
}

const char *cli_state_color(EnvState state) {
        switch (state) {
        case ENV_STATE_BUILT:
                return "\033[32m";
        case ENV_STATE_RUNNING:
                return "\033[1;36m";
        case ENV_STATE_DEFINED:
                return "\033[33m";
        case ENV_STATE_FROZEN:
                return "\033[34m";
        case ENV_STATE_ARCHIVED:
                return "\033[2m";
        case _ENV_STATE_MAX:
        case _ENV_STATE_INVALID:
                break;
        }
        return "";
}

void cli_print_state(FILE *f, EnvState state, int width, bool color) {
        const char *text = env_state_to_display(state);

        if (!text)
                text = "unknown";
        if (color)
                fprintf(f, "%s%-*s\033[0m", cli_state_color(state), width, text);
        else
                fprintf(f, "%-*s", width, text);
}

/* --- Spinner --- */

#define SPINNER_TICK_NS (80 * 1000 * 1000)

typedef struct Spinner {
        pthread_mutex_t lock;
        pthread_cond_t wake;
        pthread_t thread;
        bool active;            /* the drawing thread runs */
        bool stop;
        bool color;
        char *title;            /* e.g. "building environment..." */
        char *detail;           /* last progress message, may be NULL */
} Spinner;

static Spinner spinner = {
        .lock = PTHREAD_MUTEX_INITIALIZER,
        .wake = PTHREAD_COND_INITIALIZER,
};

static void spinner_draw(unsigned frame) {
        static const char *const frames[] = { "⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏" };
        const char *f = frames[frame % ELEMENTSOF(frames)];

        if (spinner.color)
                fprintf(stderr, "\r\033[K\033[36m%s\033[0m %s", f, spinner.title);
        else
                fprintf(stderr, "\r\033[K%s %s", f, spinner.title);
        if (spinner.detail)
                fprintf(stderr, " (%s)", spinner.detail);
        fflush(stderr);
}

static void *spinner_thread(void *userdata) {
        struct timespec deadline;
        unsigned frame = 0;

        pthread_mutex_lock(&spinner.lock);
        while (!spinner.stop) {
                spinner_draw(frame++);

                clock_gettime(CLOCK_REALTIME, &deadline);
                deadline.tv_nsec += SPINNER_TICK_NS;
                if (deadline.tv_nsec >= 1000000000L) {
                        deadline.tv_sec++;
                        deadline.tv_nsec -= 1000000000L;
                }
                (void) pthread_cond_timedwait(&spinner.wake, &spinner.lock, &deadline);
        }
        fputs("\r\033[K", stderr);
        fflush(stderr);
        pthread_mutex_unlock(&spinner.lock);
        return NULL;
}

static bool spinner_wanted(const CliContext *ctx) {
        return !ctx->json && isatty(STDERR_FILENO) && kp_log_get_level() < KP_LOG_INFO;
}

void cli_progress_begin(CliContext *ctx, const char *message) {
        sigset_t all, saved;

        if (!spinner_wanted(ctx)) {
                log_info("%s", message);
                return;
        }

        spinner.title = strdup(message);
        if (!spinner.title)
                return;
        spinner.detail = NULL;
        spinner.stop = false;
        spinner.color = getenv("NO_COLOR") == NULL;

        /* Signals must reach the main thread, whose handlers set the
         * cancellation flag, so the drawing thread blocks all of them. */
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &saved);
        spinner.active = pthread_create(&spinner.thread, NULL, spinner_thread, NULL) == 0;
        pthread_sigmask(SIG_SETMASK, &saved, NULL);

        if (!spinner.active) {
                free(spinner.title);
                spinner.title = NULL;
                log_info("%s", message);
        }
}

void cli_progress_end(CliContext *ctx, bool ok, const char *done_message, const char *failed_message) {
        if (!spinner.active)
                return;

        pthread_mutex_lock(&spinner.lock);
        spinner.stop = true;
        pthread_cond_signal(&spinner.wake);
        pthread_mutex_unlock(&spinner.lock);
        (void) pthread_join(spinner.thread, NULL);
        spinner.active = false;

        free(spinner.title);
        spinner.title = NULL;
        free(spinner.detail);
        spinner.detail = NULL;

        if (spinner.color)
                fprintf(stderr, "%s%s\033[0m %s\n", ok ? "\033[32m" : "\033[31m", ok ? "✓" : "✗",
                        ok ? done_message : failed_message);
        else
                fprintf(stderr, "%s %s\n", ok ? "✓" : "✗", ok ? done_message : failed_message);
}

void cli_progress_report(const char *message, void *userdata) {
        char *copy;

        if (!spinner.active) {
                log_info("%s", message);
                return;
        }

        copy = strdup(message);
        pthread_mutex_lock(&spinner.lock);
        free(spinner.detail);
        spinner.detail = copy;
        pthread_mutex_unlock(&spinner.lock);
}

int cli_resolve_env(CliContext *ctx, const char *input, bool always_pretty, char ret_env_id[KP_HASH_HEX_SIZE],
                    KpError *err) {
        return engine_resolve_ref(ctx->engine, input, always_pretty || !ctx->json, ret_env_id, err);
}
