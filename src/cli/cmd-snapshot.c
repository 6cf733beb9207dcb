/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "cli/output.h"

/* Characters of the tar hash shown by "snapshots". */
#define SNAPSHOT_TAR_HASH_SHOWN 12

static void snapshot_infos_free(SnapshotInfo **p) {
        free(*p);
}

static json_t *snapshots_to_json(const char *env_id, const SnapshotInfo *list, size_t n) {
        json_t *array = json_array();

        if (!array)
                return NULL;

        for (size_t i = 0; i < n; i++) {
                json_t *item = json_pack("{s:s, s:s, s:s, s:s}",
                                         "hash", list[i].hash,
                                         "parent", list[i].parent,
                                         "restore_hash", list[i].restore_hash,
                                         "tar_hash", list[i].tar_hash);

                if (json_array_append_new(array, item) < 0) {
                        json_decref(array);
                        return NULL;
                }
        }

        return json_pack("{s:s, s:o}", "env_id", env_id, "snapshots", array);
}

int cmd_snapshots(CliContext *ctx, const CliInvocation *inv, KpError *err) {
        _cleanup_(snapshot_infos_free) SnapshotInfo *list = NULL;
        const char *input = cli_argument(inv, "ENV");
        char env_id[KP_HASH_HEX_SIZE];
        size_t n = 0;
        int r;

        r = cli_resolve_env(ctx, input, /* always_pretty= */ false, env_id, err);
        if (r < 0)
                return r;

        r = engine_snapshots(ctx->engine, env_id, &list, &n, err);
        if (r < 0)
                return r;

        if (ctx->json)
                return cli_print_json(snapshots_to_json(env_id, list, n), err);

        if (n == 0) {
                printf("no snapshots for %s\n", input);
                return 0;
        }

        printf("snapshots for %s:\n", input);
        for (size_t i = 0; i < n; i++)
                printf("  %s (tar: %.*s)\n", list[i].restore_hash, SNAPSHOT_TAR_HASH_SHOWN, list[i].tar_hash);
        return 0;
}

int cmd_commit(CliContext *ctx, const CliInvocation *inv, KpError *err) {
        const char *input = cli_argument(inv, "ENV");
        char env_id[KP_HASH_HEX_SIZE], layer_id[KP_HASH_HEX_SIZE];
        int r;

        r = cli_resolve_env(ctx, input, /* always_pretty= */ false, env_id, err);
        if (r < 0)
                return r;

        r = engine_commit(ctx->engine, env_id, layer_id, err);
        if (r < 0)
                return r;

        if (ctx->json)
                return cli_print_json(json_pack("{s:s, s:s}", "env_id", env_id, "snapshot_hash", layer_id), err);

        printf("committed snapshot %s for %s\n", layer_id, input);
        return 0;
}

int cmd_restore(CliContext *ctx, const CliInvocation *inv, KpError *err) {
        const char *input = cli_argument(inv, "ENV");
        const char *snapshot = cli_argument(inv, "SNAPSHOT");
        char env_id[KP_HASH_HEX_SIZE];
        int r;

        r = cli_resolve_env(ctx, input, /* always_pretty= */ false, env_id, err);
        if (r < 0)
                return r;

        r = engine_restore(ctx->engine, env_id, snapshot, err);
        if (r < 0)
                return r;

        if (ctx->json)
                return cli_print_json(json_pack("{s:s, s:s}", "env_id", env_id, "restored_snapshot", snapshot),
                                      err);

        printf("restored %s from snapshot %s\n", input, snapshot);
        return 0;
}

static void diff_print_group(char *const *paths, size_t n, char marker) {
        for (size_t i = 0; i < n; i++)
                printf("  %c %s\n", marker, paths[i]);
}

int cmd_diff(CliContext *ctx, const CliInvocation *inv, KpError *err) {
        _cleanup_(diff_report_done) DiffReport report = {};
        const char *input = cli_argument(inv, "ENV");
        char env_id[KP_HASH_HEX_SIZE];
        int r;

        r = cli_resolve_env(ctx, input, /* always_pretty= */ false, env_id, err);
        if (r < 0)
                return r;

        r = engine_diff(ctx->engine, env_id, &report, err);
        if (r < 0)
                return r;

        /* Members in the order env_id, added, modified, removed, has_drift (not
         * sorted), the order the original tool prints. */
        if (ctx->json)
                return cli_print_json_flags(
                        json_pack("{s:s, s:o, s:o, s:o, s:b}",
                                  "env_id", env_id,
                                  "added", cli_json_strv(report.added, report.n_added),
                                  "modified", cli_json_strv(report.modified, report.n_modified),
                                  "removed", cli_json_strv(report.removed, report.n_removed),
                                  "has_drift", diff_report_has_drift(&report)),
                        KP_JSON_PRETTY, err);

        if (!diff_report_has_drift(&report)) {
                printf("no drift detected in environment %s\n", input);
                return 0;
        }

        printf("drift detected in environment %s:\n", input);
        diff_print_group(report.added, report.n_added, '+');
        diff_print_group(report.modified, report.n_modified, '~');
        diff_print_group(report.removed, report.n_removed, '-');
        return 0;
}
