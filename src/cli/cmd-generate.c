/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "cli/completions.h"
#include "cli/manpages.h"
#include "cli/output.h"

#define DEFAULT_MAN_DIR "man"

int cmd_completions(CliContext *ctx, const CliInvocation *inv, KpError *err) {
        _cleanup_free_ char *script = NULL;
        const char *shell = cli_argument(inv, "SHELL");
        int r;

        /* A script is not JSON, so printing it would break the promise
         * that --json output parses. */
        if (ctx->json)
                return kp_error_set(err, -EINVAL, "JSON output is not supported for 'completions'");

        r = cli_completions_render(ctx->program, shell, &script);
        if (r < 0)
                return kp_error_set(err, r, "cannot generate completions for '%s'", shell);

        fputs(script, stdout);
        return 0;
}

int cmd_man_pages(CliContext *ctx, const CliInvocation *inv, KpError *err) {
        const char *dir = cli_argument(inv, "DIR") ?: DEFAULT_MAN_DIR;
        size_t count = 0;
        int r;

        r = cli_man_pages_write(ctx->program, dir, &count, err);
        if (r < 0)
                return r;

        if (ctx->json)
                return cli_print_json(json_pack("{s:s, s:I, s:s}", "dir", dir, "pages", (json_int_t) count,
                                                "status", "written"),
                                      err);

        printf("man pages written to %s\n", dir);
        return 0;
}
