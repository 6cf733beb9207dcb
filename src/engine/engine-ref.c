/* SPDX-License-Identifier: MIT */
/* Resolving environment references: full id, name, short id or prefix. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/engine-internal.h"

#define SUGGESTIONS_MAX 5
#define MATCHES_SHOWN_MAX 10

static const char *label_of(const EnvMetadata *m) {
        return m->name ? m->name : m->short_id;
}

static void append_line(char **text, const EnvMetadata *m) {
        char *grown = NULL;

        if (asprintf(&grown, "%s\n  %s (%s) %s", *text, label_of(m), m->short_id,
                     env_state_to_display(m->state)) >= 0) {
                free(*text);
                *text = grown;
        }
}

static int not_found(const char *input, const EnvMetadata *list, size_t n, bool pretty, KpError *err) {
        _cleanup_free_ char *text = NULL;
        size_t shown = 0;

        if (asprintf(&text, "no environment matching '%s'", input) < 0)
                return kp_error_set(err, -ENOMEM, "out of memory");

        if (pretty) {
                for (size_t i = 0; i < n && shown < SUGGESTIONS_MAX; i++) {
                        bool similar = (list[i].name && strcasestr(list[i].name, input)) ||
                                       strcasestr(list[i].short_id, input);
                        if (!similar)
                                continue;
                        if (shown == 0) {
                                char *grown = NULL;
                                if (asprintf(&grown, "%s\n\nDid you mean:", text) >= 0) {
                                        free(text);
                                        text = grown;
                                }
                        }
                        append_line(&text, &list[i]);
                        shown++;
                }
                if (shown > 0) {
                        char *grown = NULL;
                        if (asprintf(&grown, "%s\n\nUse 'karapace list' to see all environments.", text) >= 0) {
                                free(text);
                                text = grown;
                        }
                }
        }
        return kp_error_set_kind(err, KP_ERROR_NOT_FOUND, -ENOENT, "%s", text);
}

static int ambiguous(const char *input, const EnvMetadata *list, size_t n, size_t matches, bool pretty,
                     KpError *err) {
        _cleanup_free_ char *text = NULL;
        size_t shown = 0;

        if (asprintf(&text, "ambiguous env_id prefix '%s': matches %zu environments", input, matches) < 0)
                return kp_error_set(err, -ENOMEM, "out of memory");

        if (pretty) {
                char *grown = NULL;

                if (asprintf(&grown, "%s\n\nMatches:", text) >= 0) {
                        free(text);
                        text = grown;
                }
                for (size_t i = 0; i < n && shown < MATCHES_SHOWN_MAX; i++) {
                        if (strncmp(list[i].env_id, input, strlen(input)) != 0)
                                continue;
                        append_line(&text, &list[i]);
                        shown++;
                }
                if (asprintf(&grown, "%s\n\nUse a longer prefix, a full env_id, or a unique name.", text) >= 0) {
                        free(text);
                        text = grown;
                }
        }
        return kp_error_set_kind(err, KP_ERROR_NOT_FOUND, -ENOENT, "%s", text);
}

int engine_resolve_ref(Engine *e, const char *input, bool pretty, char ret_env_id[KP_HASH_HEX_SIZE],
                       KpError *err) {
        EnvMetadata *list = NULL;
        size_t n = 0, matches = 0, match = 0;
        int r;

        if (isempty(input))
                return kp_error_set_kind(err, KP_ERROR_NOT_FOUND, -ENOENT, "no environment matching ''");

        /* A full id is used when its metadata exists, which takes one stat
         * and no listing. Unlike the original tool, a mistyped full id is
         * reported instead of used blindly. */
        if (env_id_is_valid(input) && store_metadata_exists(e->store, input)) {
                memcpy(ret_env_id, input, KP_HASH_HEX_SIZE);
                return 0;
        }

        r = store_metadata_list(e->store, &list, &n, err);
        if (r < 0)
                return r;

        for (size_t i = 0; i < n; i++)
                if (streq(list[i].env_id, input) || streq(list[i].short_id, input) ||
                    (list[i].name && streq(list[i].name, input))) {
                        memcpy(ret_env_id, list[i].env_id, KP_HASH_HEX_SIZE);
                        env_metadata_array_free(list, n);
                        return 0;
                }

        for (size_t i = 0; i < n; i++)
                if (strncmp(list[i].env_id, input, strlen(input)) == 0) {
                        matches++;
                        match = i;
                }

        if (matches == 1)
                memcpy(ret_env_id, list[match].env_id, KP_HASH_HEX_SIZE);
        else if (matches == 0)
                r = not_found(input, list, n, pretty, err);
        else
                r = ambiguous(input, list, n, matches, pretty, err);

        env_metadata_array_free(list, n);
        return r < 0 ? r : 0;
}
