/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "cli/cli.h"
#include "cli/completions.h"

/*
 * The command table. Parsing, --help, the completion scripts and the man
 * pages are all generated from it, so a command or option added here shows
 * up everywhere.
 */

#define ENV_ARGUMENT(text) { "ENV", CLI_ARGUMENT_REQUIRED, CLI_VALUE_ENV, NULL, text }
#define MANIFEST_ARGUMENT \
        { "MANIFEST", CLI_ARGUMENT_OPTIONAL, CLI_VALUE_FILE, NULL, "Manifest file (default: karapace.toml)" }

#define BUILD_OPTIONS                                                                                   \
        { "name", 0, "NAME", CLI_VALUE_TEXT, NULL, NULL,                                                \
          "Give the built environment this name (1-64 characters of A-Z, a-z, 0-9, '_' and '-')" },    \
        { "locked", 0, NULL, CLI_VALUE_TEXT, NULL, NULL,                                                \
          "Build exactly what karapace.lock records and fail if the manifest changed" },                \
        { "offline", 0, NULL, CLI_VALUE_TEXT, NULL, NULL,                                               \
          "Use no network: images must be cached and no packages may be installed" },                   \
        { "require-pinned-image", 0, NULL, CLI_VALUE_TEXT, NULL, NULL,                                  \
          "Fail unless base.image is a pinned http(s) URL" }

static const CliOption global_options[] = {
        { "store", 0, "PATH", CLI_VALUE_DIR, NULL, NULL,
          "Store directory (default: ~/.local/share/karapace); a leading ~/ is expanded" },
        { "json", 0, NULL, CLI_VALUE_TEXT, NULL, NULL, "Print JSON on stdout instead of text" },
        { "verbose", 'v', NULL, CLI_VALUE_TEXT, NULL, NULL, "Log debug messages on stderr" },
        { "trace", 0, NULL, CLI_VALUE_TEXT, NULL, NULL, "Log trace messages on stderr (more than --verbose)" },
        { "help", 'h', NULL, CLI_VALUE_TEXT, NULL, NULL, "Print help and exit" },
        { "version", 0, NULL, CLI_VALUE_TEXT, NULL, NULL, "Print the version and exit" },
        {}
};

static const CliCommand commands[] = {
        {
                .name = "new",
                .summary = "Write a new karapace.toml in the current directory",
                .description =
                        "Write ./karapace.toml from a template. On a terminal (stdin and stderr) the command asks\n"
                        "for the base image, extra packages, a workspace mount, the backend and network isolation;\n"
                        "otherwise --template is required. An existing file is replaced only with --force or\n"
                        "after confirmation on a terminal. NAME is only echoed in the output.",
                .arguments = {
                        { "NAME", CLI_ARGUMENT_REQUIRED, CLI_VALUE_TEXT, NULL, "Name shown in the output" },
                },
                .options = {
                        { "template", 0, "TEMPLATE", CLI_VALUE_CHOICE, NULL, engine_template_names,
                          "Template to start from" },
                        { "force", 0, NULL, CLI_VALUE_TEXT, NULL, NULL, "Replace an existing karapace.toml" },
                },
                .handler = cmd_new,
        },
        {
                .name = "build",
                .summary = "Build an environment from a manifest",
                .description =
                        "Resolve the manifest's image and packages, build the environment into the store and\n"
                        "write karapace.lock next to the manifest. Prints the environment's short id and env_id.",
                .arguments = { MANIFEST_ARGUMENT },
                .options = { BUILD_OPTIONS },
                .handler = cmd_build,
        },
        {
                .name = "rebuild",
                .summary = "Build again and remove the environment the lock file pointed at",
                .description =
                        "Build the manifest, then destroy the environment that karapace.lock pointed at before,\n"
                        "if its env_id changed. A failed build keeps the old environment.",
                .arguments = { MANIFEST_ARGUMENT },
                .options = { BUILD_OPTIONS },
                .handler = cmd_rebuild,
        },
        {
                .name = "pin",
                .summary = "Replace base.image with a pinned image URL",
                .description =
                        "Resolve base.image to the URL of one image build and rewrite the manifest with it.\n"
                        "Comments in the manifest are not kept.",
                .arguments = { MANIFEST_ARGUMENT },
                .options = {
                        { "check", 0, NULL, CLI_VALUE_TEXT, NULL, NULL,
                          "Only check that base.image is pinned; exit 1 when it is not" },
                        { "write-lock", 0, NULL, CLI_VALUE_TEXT, NULL, NULL,
                          "Also build the manifest so that karapace.lock is written" },
                },
                .handler = cmd_pin,
        },
        {
                .name = "enter",
                .summary = "Start an interactive shell, or a command, in an environment",
                .description =
                        "Without a command, start the user's shell in the environment. With a command after\n"
                        "'--', behave like exec. Exits with the status of the shell or command.",
                .arguments = {
                        ENV_ARGUMENT("Environment name, short id, env_id or unique env_id prefix"),
                        { "COMMAND", CLI_ARGUMENT_TRAILING_OPTIONAL, CLI_VALUE_COMMAND, NULL,
                          "Command and arguments to run instead of the shell" },
                },
                .handler = cmd_enter,
        },
        {
                .name = "exec",
                .summary = "Run a command in an environment",
                .description =
                        "Run the command given after '--' in the environment with stdin, stdout and stderr\n"
                        "passed through. Exits with the command's status, or 128+N when signal N killed it.",
                .arguments = {
                        ENV_ARGUMENT("Environment name, short id, env_id or unique env_id prefix"),
                        { "COMMAND", CLI_ARGUMENT_TRAILING, CLI_VALUE_COMMAND, NULL, "Command and arguments to run" },
                },
                .handler = cmd_exec,
        },
        {
                .name = "destroy",
                .summary = "Remove an environment",
                .arguments = { ENV_ARGUMENT("Environment to remove") },
                .handler = cmd_destroy,
        },
        {
                .name = "stop",
                .summary = "Stop the running session of an environment",
                .description = "Send SIGTERM to the environment's session, and SIGKILL after a grace period.",
                .arguments = { ENV_ARGUMENT("Environment to stop") },
                .handler = cmd_stop,
        },
        {
                .name = "freeze",
                .summary = "Mark an environment as frozen",
                .arguments = { ENV_ARGUMENT("Environment to freeze") },
                .handler = cmd_freeze,
        },
        {
                .name = "archive",
                .summary = "Mark an environment as archived",
                .arguments = { ENV_ARGUMENT("Environment to archive") },
                .handler = cmd_archive,
        },
        {
                .name = "list",
                .summary = "List environments",
                .description = "Print one line per environment, sorted by env_id. With --json, print the\n"
                               "metadata of every environment.",
                .handler = cmd_list,
        },
        {
                .name = "inspect",
                .summary = "Show the metadata of an environment",
                .arguments = { ENV_ARGUMENT("Environment to show") },
                .handler = cmd_inspect,
        },
        {
                .name = "diff",
                .summary = "Show files changed in an environment since it was built",
                .description = "List the paths added (+), modified (~) and removed (-) in the environment's\n"
                               "writable layer.",
                .arguments = { ENV_ARGUMENT("Environment to compare") },
                .handler = cmd_diff,
        },
        {
                .name = "snapshots",
                .summary = "List the snapshots of an environment",
                .arguments = { ENV_ARGUMENT("Environment whose snapshots to list") },
                .handler = cmd_snapshots,
        },
        {
                .name = "commit",
                .summary = "Save the changes of an environment as a snapshot",
                .description = "Store the environment's writable layer as a snapshot and print the hash to pass\n"
                               "to restore.",
                .arguments = { ENV_ARGUMENT("Environment to snapshot") },
                .handler = cmd_commit,
        },
        {
                .name = "restore",
                .summary = "Replace the changes of an environment with a snapshot",
                .arguments = {
                        ENV_ARGUMENT("Environment to restore"),
                        { "SNAPSHOT", CLI_ARGUMENT_REQUIRED, CLI_VALUE_TEXT, NULL,
                          "Snapshot hash as printed by commit or snapshots" },
                },
                .handler = cmd_restore,
        },
        {
                .name = "gc",
                .summary = "Remove unreferenced objects, layers and environments from the store",
                .options = {
                        { "dry-run", 0, NULL, CLI_VALUE_TEXT, NULL, NULL, "Only count what would be removed" },
                        { "images", 0, NULL, CLI_VALUE_TEXT, NULL, NULL,
                          "Also remove cached base images that no environment is built on" },
                },
                .handler = cmd_gc,
        },
        {
                .name = "verify-store",
                .summary = "Check the integrity of the store",
                .description = "Check the hash of every object and the integrity of every layer manifest and\n"
                               "metadata file. Exits with 3 when anything fails.",
                .handler = cmd_verify_store,
        },
        {
                .name = "push",
                .summary = "Upload an environment to a remote store (not available yet)",
                .arguments = { ENV_ARGUMENT("Environment to upload") },
                .options = {
                        { "tag", 0, "NAME@TAG", CLI_VALUE_TEXT, NULL, NULL, "Also register the environment under this tag" },
                        { "remote", 0, "URL", CLI_VALUE_TEXT, NULL, NULL, "Remote store URL (default: from the configuration)" },
                },
                .handler = cmd_push,
                .flags = CLI_COMMAND_NO_ENGINE,
        },
        {
                .name = "pull",
                .summary = "Download an environment from a remote store (not available yet)",
                .arguments = {
                        { "REFERENCE", CLI_ARGUMENT_REQUIRED, CLI_VALUE_TEXT, NULL, "env_id or NAME@TAG to download" },
                },
                .options = {
                        { "remote", 0, "URL", CLI_VALUE_TEXT, NULL, NULL, "Remote store URL (default: from the configuration)" },
                },
                .handler = cmd_pull,
                .flags = CLI_COMMAND_NO_ENGINE,
        },
        {
                .name = "rename",
                .summary = "Change the name of an environment",
                .arguments = {
                        ENV_ARGUMENT("Environment to rename"),
                        { "NEW_NAME", CLI_ARGUMENT_REQUIRED, CLI_VALUE_TEXT, NULL,
                          "New name (1-64 characters of A-Z, a-z, 0-9, '_' and '-')" },
                },
                .handler = cmd_rename,
        },
        {
                .name = "completions",
                .summary = "Print a shell completion script",
                .description =
                        "Print the completion script for SHELL on stdout. Environment arguments are completed\n"
                        "with the names and short ids that 'karapace --json list' prints when completing.\n"
                        "For bash, for example: karapace completions bash > ~/.local/share/bash-completion/completions/karapace",
                .arguments = {
                        { "SHELL", CLI_ARGUMENT_REQUIRED, CLI_VALUE_CHOICE, cli_completion_shells, "Shell to complete for" },
                },
                .handler = cmd_completions,
                .flags = CLI_COMMAND_NO_ENGINE,
        },
        {
                .name = "man-pages",
                .summary = "Write the man pages",
                .description = "Write karapace.1 and one karapace-COMMAND.1 per command into DIR, creating it if needed.",
                .arguments = {
                        { "DIR", CLI_ARGUMENT_OPTIONAL, CLI_VALUE_DIR, NULL, "Output directory (default: man)" },
                },
                .handler = cmd_man_pages,
                .flags = CLI_COMMAND_NO_ENGINE,
        },
        {
                .name = "tui",
                .summary = "Manage environments in a terminal user interface (not available yet)",
                .handler = cmd_tui,
                .flags = CLI_COMMAND_NO_ENGINE,
        },
        {
                .name = "doctor",
                .summary = "Check prerequisites and the health of the store",
                .description = "Run read-only checks and print one line per check. Exits with 1 when a check failed.",
                .handler = cmd_doctor,
        },
        {
                .name = "migrate",
                .summary = "Upgrade the store to the current format version",
                .description = "Upgrade an older store in place after making a backup. Exits with 1 when the store\n"
                               "has no version file, was created by a newer version, or the migration failed.",
                .handler = cmd_migrate,
        },
};

const CliProgram cli_program = {
        .name = "karapace",
        .version = KARAPACE_VERSION,
        .summary = "Reproducible, rootless development environments",
        .description =
                "Karapace builds the environment that a karapace.toml declares into a content-addressed\n"
                "store and runs commands in it inside user namespaces.\n"
                "\n"
                "Exit status: 0 on success, 1 on failure, 2 for usage and manifest errors, 3 for store\n"
                "errors; exec and enter exit with the status of the command they ran.",
        .global_options = global_options,
        .commands = commands,
        .n_commands = ELEMENTSOF(commands),
};
