/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/output.h"

#define DEFAULT_MANIFEST "karapace.toml"

typedef int (*BuildFunc)(Engine *e, const BuildOptions *opts, BuildResult *ret, KpError *err);

/* The words that differ between build and rebuild. */
typedef struct BuildVerbs {
        BuildFunc func;
        const char *status;             /* JSON "status" and the human verb: "built" */
        const char *progress;           /* spinner title */
        const char *done;
        const char *failed;
} BuildVerbs;

static const BuildVerbs build_verbs = {
        .func = engine_build,
        .status = "built",
        .progress = "building environment...",
        .done = "environment built",
        .failed = "build failed",
};

static const BuildVerbs rebuild_verbs = {
        .func = engine_rebuild,
        .status = "rebuilt",
        .progress = "rebuilding environment...",
        .done = "environment rebuilt",
        .failed = "rebuild failed",
};

static int build_print(CliContext *ctx, const BuildVerbs *verbs, const BuildResult *res, KpError *err) {
        if (ctx->json)
                return cli_print_json(json_pack("{s:s, s:s?, s:s, s:s}",
                                                "env_id", res->env_id,
                                                "name", res->name,
                                                "short_id", res->short_id,
                                                "status", verbs->status),
                                      err);

        if (res->name)
                printf("%s environment '%s' (%s)\n", verbs->status, res->name, res->short_id);
        else
                printf("%s environment %s\n", verbs->status, res->short_id);
        printf("env_id: %s\n", res->env_id);
        return 0;
}

static int build_run(CliContext *ctx, const CliInvocation *inv, const BuildVerbs *verbs, KpError *err) {
        _cleanup_(build_result_done) BuildResult res = {};
        BuildOptions opts = {
                .manifest_path = cli_argument(inv, "MANIFEST"),
                .name = cli_option_value(inv, "name"),
                .locked = cli_option_flag(inv, "locked"),
                .offline = cli_option_flag(inv, "offline"),
                .require_pinned_image = cli_option_flag(inv, "require-pinned-image"),
        };
        int r;

        cli_progress_begin(ctx, verbs->progress);
        r = verbs->func(ctx->engine, &opts, &res, err);
        cli_progress_end(ctx, r >= 0, verbs->done, verbs->failed);
        if (r < 0)
                return r;

        return build_print(ctx, verbs, &res, err);
}

int cmd_build(CliContext *ctx, const CliInvocation *inv, KpError *err) {
        return build_run(ctx, inv, &build_verbs, err);
}

int cmd_rebuild(CliContext *ctx, const CliInvocation *inv, KpError *err) {
        return build_run(ctx, inv, &rebuild_verbs, err);
}

int cmd_pin(CliContext *ctx, const CliInvocation *inv, KpError *err) {
        _cleanup_(pin_result_done) PinResult res = {};
        const char *manifest = cli_argument(inv, "MANIFEST") ?: DEFAULT_MANIFEST;
        bool check = cli_option_flag(inv, "check");
        int r;

        r = engine_pin(ctx->engine, manifest, check, cli_option_flag(inv, "write-lock"), &res, err);
        if (r < 0)
                return r;

        if (check) {
                /* engine_pin() fails when the image is not pinned. This only
                 * guards against a result that reports otherwise. */
                if (!res.pinned)
                        return kp_error_set(err, -EINVAL, "base.image in %s is not pinned (run 'karapace pin')",
                                            manifest);
                if (ctx->json)
                        return cli_print_json(json_pack("{s:s, s:s}", "manifest", manifest, "status", "pinned"),
                                              err);
                return 0;
        }

        if (ctx->json)
                return cli_print_json(json_pack("{s:s?, s:s, s:s}",
                                                "base_image", res.base_image,
                                                "manifest", manifest,
                                                "status", "pinned"),
                                      err);

        printf("pinned base image in %s\n", manifest);
        return 0;
}
