/* SPDX-License-Identifier: MIT */
#include <stdio.h>

#include "basic/fs-util.h"
#include "cli/cli.h"
#include "cli/output.h"

/* --- gc --- */

/* IMAGES (may be NULL: gc without --images) adds an "images" member. */
static int gc_print_json(const GcSummary *s, bool dry_run, char **images, size_t n_images, KpError *err) {
        json_t *v = json_pack("{s:b, s:o, s:o, s:o, s:I, s:I, s:I}",
                              "dry_run", dry_run,
                              "orphaned_envs", cli_json_strv(s->orphaned_envs, s->n_orphaned_envs),
                              "orphaned_layers", cli_json_strv(s->orphaned_layers, s->n_orphaned_layers),
                              "orphaned_objects", cli_json_strv(s->orphaned_objects, s->n_orphaned_objects),
                              "removed_envs", (json_int_t) s->removed_envs,
                              "removed_layers", (json_int_t) s->removed_layers,
                              "removed_objects", (json_int_t) s->removed_objects);

        if (v && images)
                (void) json_object_set_new(v, "images", cli_json_strv(images, n_images));
        return cli_print_json(v, err);
}

/* A dry run reports the orphans it found, a real run what it removed. */
static void gc_print_text(const GcSummary *s, bool dry_run) {
        if (dry_run) {
                printf("gc: would remove %zu envs, %zu layers, %zu objects\n", s->n_orphaned_envs,
                       s->n_orphaned_layers, s->n_orphaned_objects);
                if (s->n_orphaned_staging > 0 || s->n_stale_tmpfiles > 0)
                        printf("gc: would also remove %zu staging entries, %zu temporary files\n",
                               s->n_orphaned_staging, s->n_stale_tmpfiles);
                if (s->n_orphaned_envs == 0)
                        return;
                fputs("orphaned envs: [", stdout);
                for (size_t i = 0; i < s->n_orphaned_envs; i++)
                        printf("%s\"%s\"", i > 0 ? ", " : "", s->orphaned_envs[i]);
                puts("]");
                return;
        }

        printf("gc: removed %zu envs, %zu layers, %zu objects\n", s->removed_envs, s->removed_layers,
               s->removed_objects);
        if (s->removed_staging > 0 || s->removed_tmpfiles > 0)
                printf("gc: also removed %zu staging entries, %zu temporary files\n", s->removed_staging,
                       s->removed_tmpfiles);
}

int cmd_gc(CliContext *ctx, const CliInvocation *inv, KpError *err) {
        _cleanup_(gc_summary_done) GcSummary summary = {};
        _cleanup_strv_free_ char **images = NULL;
        bool dry_run = cli_option_flag(inv, "dry-run"), with_images = cli_option_flag(inv, "images");
        size_t n_images = 0;
        int r;

        r = engine_gc(ctx->engine, dry_run, &summary, err);
        if (r < 0)
                return r;
        if (with_images && !summary.cancelled) {
                r = engine_gc_images(ctx->engine, dry_run, &images, &n_images, err);
                if (r < 0)
                        return r;
        }

        if (ctx->json) {
                r = gc_print_json(&summary, dry_run, with_images ? images : NULL, n_images, err);
                if (r < 0)
                        return r;
        } else {
                gc_print_text(&summary, dry_run);
                if (with_images)
                        printf("gc: %s %zu images%s", dry_run ? "would remove" : "removed", n_images,
                               n_images > 0 ? ":" : "\n");
                for (size_t i = 0; with_images && i < n_images; i++)
                        printf(" %s%s", images[i], i + 1 == n_images ? "\n" : "");
        }

        if (summary.cancelled) {
                fputs("gc was interrupted before it finished. Run it again to remove the rest.\n", stderr);
                return CLI_EXIT_INTERRUPTED;
        }
        return 0;
}

/* --- verify-store --- */

int cmd_verify_store(CliContext *ctx, const CliInvocation *inv, KpError *err) {
        _cleanup_(verify_summary_done) VerifySummary s = {};
        size_t checked, passed;
        int r;

        r = engine_verify_store(ctx->engine, &s, err);
        if (r < 0)
                return r;

        checked = s.objects_checked + s.layers_checked + s.metadata_checked;
        passed = s.objects_passed + s.layers_passed + s.metadata_passed;

        if (ctx->json) {
                r = cli_print_json(json_pack("{s:I, s:I, s:I}",
                                             "checked", (json_int_t) checked,
                                             "failed", (json_int_t) s.n_failures,
                                             "passed", (json_int_t) passed),
                                   err);
                if (r < 0)
                        return r;
        } else {
                printf("store integrity: %zu/%zu objects, %zu/%zu layers, %zu/%zu metadata passed\n",
                       s.objects_passed, s.objects_checked, s.layers_passed, s.layers_checked,
                       s.metadata_passed, s.metadata_checked);
                for (size_t i = 0; i < s.n_failures; i++)
                        printf("  FAIL %s: %s\n", s.failures[i].hash, s.failures[i].reason);
        }

        return s.n_failures > 0 || passed < checked ? CLI_EXIT_STORE : 0;
}

/* --- migrate --- */

static int migrate_print_json(const MigrateSummary *s, KpError *err) {
        switch (s->status) {
        case MIGRATE_NO_STORE:
                return cli_print_json(json_pack("{s:s, s:s}", "message", "No store found.", "status", "no_store"),
                                      err);
        case MIGRATE_NO_VERSION_FILE:
                return cli_print_json(json_pack("{s:s, s:s}", "message", "Store exists but has no version file.",
                                                "status", "error"),
                                      err);
        case MIGRATE_CURRENT:
                return cli_print_json(json_pack("{s:I, s:s}", "format_version", (json_int_t) s->to_version,
                                                "status", "current"),
                                      err);
        case MIGRATE_NEWER:
                return cli_print_json(json_pack("{s:I, s:s, s:I}", "found", (json_int_t) s->from_version,
                                                "status", "newer", "supported", (json_int_t) s->to_version),
                                      err);
        case MIGRATE_MIGRATED:
                return cli_print_json(json_pack("{s:s?, s:I, s:I, s:s, s:I}",
                                                "backup", s->backup_path,
                                                "environments", (json_int_t) s->environments_updated,
                                                "from", (json_int_t) s->from_version,
                                                "status", "migrated",
                                                "to", (json_int_t) s->to_version),
                                      err);
        }
        return kp_error_set(err, -EINVAL, "unknown migration status %d", (int) s->status);
}

static void migrate_print_text(const CliContext *ctx, const MigrateSummary *s) {
        switch (s->status) {
        case MIGRATE_NO_STORE:
                printf("No store found at %s. Nothing to migrate.\n", ctx->store_root);
                break;
        case MIGRATE_NO_VERSION_FILE:
                printf("Store at %s has no version file. May be corrupted or very old.\n"
                       "Recommended: back up and rebuild.\n",
                       ctx->store_root);
                break;
        case MIGRATE_CURRENT:
                printf("Store format version: %u (current)\nNo migration needed.\n", s->to_version);
                break;
        case MIGRATE_NEWER:
                printf("Store format version: %u\nSupported: %u\n\nCreated by a newer Karapace. Please upgrade.\n",
                       s->from_version, s->to_version);
                break;
        case MIGRATE_MIGRATED:
                printf("Migrated store from v%u to v%u.\n%zu environments updated.\nBackup: %s\n",
                       s->from_version, s->to_version, s->environments_updated,
                       s->backup_path ? s->backup_path : "(none)");
                break;
        }
}

static int migrate_exit_code(MigrateStatus status) {
        return status == MIGRATE_NO_VERSION_FILE || status == MIGRATE_NEWER ? CLI_EXIT_FAILURE : 0;
}

/* A failed migration exits with 1 whatever the error's kind. With --json
 * the error is also printed as {"message", "status": "error"} on stdout so
 * that stdout stays valid JSON. */
static int migrate_fail(const CliContext *ctx, KpError *err) {
        _cleanup_free_ char *text = kp_error_format(err);
        _cleanup_error_ KpError print_err = KP_ERROR_INIT;

        cli_print_error(err);
        if (ctx->json)
                (void) cli_print_json(json_pack("{s:s, s:s}", "message", text ? text : "out of memory",
                                                "status", "error"),
                                      &print_err);
        return CLI_EXIT_FAILURE;
}

int cmd_migrate(CliContext *ctx, const CliInvocation *inv, KpError *err) {
        _cleanup_(migrate_summary_done) MigrateSummary s = {};
        int r;

        r = engine_migrate(ctx->engine, &s, err);
        if (r < 0)
                return migrate_fail(ctx, err);

        if (ctx->json) {
                r = migrate_print_json(&s, err);
                if (r < 0)
                        return r;
        } else
                migrate_print_text(ctx, &s);

        return migrate_exit_code(s.status);
}
