/* SPDX-License-Identifier: MIT */
#include "cli/cli.h"
#include "cli/output.h"

/*
 * Commands that exist in the table but have no engine support yet. They
 * fail instead of pretending to succeed.
 */

static int command_not_available(const CliInvocation *inv, const char *missing, KpError *err) {
        return kp_error_set(err, -EOPNOTSUPP, "'%s' is not available yet: %s", inv->command->name, missing);
}

int cmd_push(CliContext *ctx, const CliInvocation *inv, KpError *err) {
        return command_not_available(inv, "the engine has no remote store support (HTTP client and registry)", err);
}

int cmd_pull(CliContext *ctx, const CliInvocation *inv, KpError *err) {
        return command_not_available(inv, "the engine has no remote store support (HTTP client and registry)", err);
}

int cmd_tui(CliContext *ctx, const CliInvocation *inv, KpError *err) {
        if (ctx->json)
                return kp_error_set(err, -EINVAL, "JSON output is not supported for 'tui'");
        return command_not_available(inv, "the terminal user interface is not implemented", err);
}
