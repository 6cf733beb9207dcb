"""The karapace command line: help, usage errors, global options, completion
scripts, man pages and the commands that are not available yet."""
import os
import re
import shutil
import subprocess

import pytest

from conftest import binary

COMMANDS = [
    "new", "build", "rebuild", "pin", "enter", "exec", "destroy", "stop", "freeze", "archive",
    "list", "inspect", "diff", "snapshots", "commit", "restore", "gc", "verify-store", "push",
    "pull", "rename", "completions", "man-pages", "tui", "doctor", "migrate",
]

MOCK_MANIFEST = """manifest_version = 1

[base]
image = "rolling"

[runtime]
backend = "mock"
"""


@pytest.fixture
def cli(kp):
    kp.env["KARAPACE_SKIP_PREREQS"] = "1"
    return kp


def help_commands(text):
    """Command names listed under "Commands:" in the global help."""
    section = text.split("\nCommands:\n", 1)[1].split("\n\n", 1)[0]
    return [line.split()[0] for line in section.splitlines()]


def test_version(cli):
    result = cli.ok("--version")
    assert result.stdout == "karapace 0.1.0\n"
    assert result.stderr == ""


def test_help_lists_all_commands(cli):
    result = cli.ok("--help")
    assert help_commands(result.stdout) == COMMANDS
    assert len(COMMANDS) == 26
    assert "Usage: karapace [OPTIONS] <COMMAND> [ARGS]..." in result.stdout
    for option in ("--store <PATH>", "--json", "-v, --verbose", "--trace", "--version"):
        assert option in result.stdout


def test_help_command_forms_agree(cli):
    by_command = cli.ok("help", "build")
    by_option = cli.ok("build", "--help")
    assert by_command.stdout == by_option.stdout
    assert "Usage: karapace build [OPTIONS] [MANIFEST]\n" in by_option.stdout
    for option in ("--name <NAME>", "--locked", "--offline", "--require-pinned-image"):
        assert option in by_option.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(cli, command):
    result = cli.ok(command, "--help")
    assert f"Usage: karapace {command} [OPTIONS]" in result.stdout
    assert "Global options:" in result.stdout


def test_exec_usage_shows_dashdash(cli):
    result = cli.ok("help", "exec")
    assert "Usage: karapace exec [OPTIONS] <ENV> -- <COMMAND>...\n" in result.stdout


def test_unknown_option_is_usage_error(cli):
    result = cli.run("build", "--frobnicate")
    assert result.code == 2, result
    assert result.stdout == ""
    assert "error: unknown option '--frobnicate' for 'build'" in result.stderr
    assert "karapace build --help" in result.stderr


def test_unknown_global_option(cli):
    result = cli.run("--frobnicate", "list")
    assert result.code == 2, result
    assert "unknown option '--frobnicate'" in result.stderr
    assert "karapace --help" in result.stderr


def test_unknown_command(cli):
    result = cli.run("frobnicate")
    assert result.code == 2, result
    assert "unknown command 'frobnicate'" in result.stderr


def test_missing_command(cli):
    result = cli.run()
    assert result.code == 2, result
    assert "missing command" in result.stderr


def test_missing_and_extra_arguments(cli):
    missing = cli.run("restore", "someenv")
    assert missing.code == 2, missing
    assert "missing argument <SNAPSHOT> for 'restore'" in missing.stderr

    extra = cli.run("list", "extra")
    assert extra.code == 2, extra
    assert "unexpected argument 'extra'" in extra.stderr


def test_global_options_after_command(cli):
    before = cli.run("--json", "--store", cli.store, "list", store=False)
    after = cli.run("list", "--json", "--store", cli.store, store=False)
    assert before.code == 0, before
    assert after.code == 0, after
    assert before.json() == after.json() == []


def test_store_tilde_is_expanded(cli):
    cli.write_manifest(MOCK_MANIFEST)
    cli.ok("build", "--store", "~/tilde-store", store=False)
    home = cli.workdir / "home"
    assert (home / "tilde-store" / "store").is_dir()
    listing = cli.ok("--json", "list", "--store", "~/tilde-store", store=False).json()
    assert len(listing) == 1


def test_default_store_is_under_home(cli):
    cli.write_manifest(MOCK_MANIFEST)
    cli.ok("build", store=False)
    assert (cli.workdir / "home" / ".local" / "share" / "karapace" / "store").is_dir()


def test_logs_never_reach_stdout(cli):
    cli.write_manifest(MOCK_MANIFEST)
    result = cli.ok("--trace", "--json", "build")
    parsed = result.json()
    assert parsed["status"] == "built"


def test_broken_pipe_is_quiet(cli):
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run([str(binary("karapace")), "completions", "bash"], stdout=write_end,
                              stderr=subprocess.PIPE, text=True, env=cli.env, timeout=60)
    finally:
        os.close(write_end)
    assert proc.returncode == 0
    assert proc.stderr == ""


def test_stdout_write_error_is_reported(cli):
    with open("/dev/full", "w") as full:
        proc = subprocess.run([str(binary("karapace")), "--help"], stdout=full, stderr=subprocess.PIPE,
                              text=True, env=cli.env, timeout=60)
    assert proc.returncode == 1
    assert "failed to write to stdout" in proc.stderr


# --- completions ---

def test_completions_bash_is_valid(cli, tmp_path):
    result = cli.ok("completions", "bash")
    script = tmp_path / "karapace.bash"
    script.write_text(result.stdout)
    check = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    assert "complete -F _karapace karapace" in result.stdout
    for command in COMMANDS:
        assert re.search(rf"\b{re.escape(command)}\b", result.stdout), command


def test_completions_bash_completes(cli, tmp_path):
    """Source the script and ask it for candidates, as bash would."""
    script = tmp_path / "karapace.bash"
    script.write_text(cli.ok("completions", "bash").stdout)
    probe = f"""
source {script}
COMP_WORDS=(karapace new --template "")
COMP_CWORD=3
_karapace
echo "${{COMPREPLY[*]}}"
COMP_WORDS=(karapace verify)
COMP_CWORD=1
_karapace
echo "${{COMPREPLY[*]}}"
"""
    result = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, timeout=60)
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["minimal", "dev", "gui-dev", "rust-dev", "ubuntu-dev"]
    assert lines[1] == "verify-store"


def test_completions_bash_offers_environments(cli, tmp_path):
    cli.write_manifest(MOCK_MANIFEST)
    cli.ok("build", "--name", "completeme")
    short_id = cli.ok("--json", "list").json()[0]["short_id"]
    script = tmp_path / "karapace.bash"
    script.write_text(cli.ok("completions", "bash").stdout)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "karapace").symlink_to(binary("karapace"))
    probe = f"""
source {script}
COMP_WORDS=(karapace --store {cli.store} destroy "")
COMP_CWORD=4
_karapace
echo "${{COMPREPLY[*]}}"
"""
    env = dict(cli.env, PATH=f"{bindir}:{os.environ['PATH']}")
    result = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, env=env, timeout=60)
    assert sorted(result.stdout.split()) == sorted([short_id, "completeme"])


@pytest.mark.parametrize("shell, check", [("zsh", ["zsh", "-n"]), ("fish", ["fish", "--no-execute"])])
def test_completions_other_shells_are_valid(cli, tmp_path, shell, check):
    result = cli.ok("completions", shell)
    assert "build" in result.stdout
    if not shutil.which(check[0]):
        pytest.skip(f"{shell} is not installed")
    script = tmp_path / f"karapace.{shell}"
    script.write_text(result.stdout)
    proc = subprocess.run(check + [str(script)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_completions_unsupported_shell(cli):
    result = cli.run("completions", "elvish")
    assert result.code == 2, result
    assert "invalid value 'elvish' for <SHELL> (expected: bash, zsh, fish)" in result.stderr


def test_completions_reject_json(cli):
    result = cli.run("--json", "completions", "bash")
    assert result.code == 1, result
    assert result.stdout == ""
    assert "JSON output is not supported for 'completions'" in result.stderr


# --- man pages ---

def test_man_pages_one_per_command(cli):
    result = cli.ok("man-pages", "out/man")
    assert result.stdout == "man pages written to out/man\n"
    pages = sorted(p.name for p in (cli.project / "out" / "man").iterdir())
    assert pages == sorted(["karapace.1"] + [f"karapace-{c}.1" for c in COMMANDS])
    main_page = (cli.project / "out" / "man" / "karapace.1").read_text()
    assert main_page.startswith(".TH KARAPACE 1 ")
    for command in COMMANDS:
        assert "\\fB" + command.replace("-", "\\-") + "\\fR" in main_page


def test_man_pages_default_dir(cli):
    cli.ok("man-pages")
    assert (cli.project / "man" / "karapace-build.1").is_file()


def test_man_pages_render_cleanly(cli):
    if not shutil.which("groff"):
        pytest.skip("groff is not installed")
    cli.ok("man-pages", "man")
    for page in (cli.project / "man").iterdir():
        proc = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", str(page)], capture_output=True,
                              text=True)
        assert proc.returncode == 0, f"{page.name}: {proc.stderr}"
        assert proc.stderr == "", f"{page.name}: {proc.stderr}"


def test_man_pages_json(cli):
    result = cli.ok("--json", "man-pages", "m")
    assert result.json() == {"dir": "m", "pages": 27, "status": "written"}


# --- commands that are not available yet ---

def test_tui_not_available(cli):
    result = cli.run("tui")
    assert result.code == 1, result
    assert result.stdout == ""
    assert result.stderr.startswith("error: 'tui' is not available yet: ")


def test_tui_rejects_json(cli):
    result = cli.run("--json", "tui")
    assert result.code == 1, result
    assert result.stderr == "error: JSON output is not supported for 'tui'\n"


@pytest.mark.parametrize("args", [["push", "someenv"], ["push", "someenv", "--tag", "a@b", "--remote",
                                                         "http://127.0.0.1:1"],
                                  ["pull", "someref", "--remote", "http://127.0.0.1:1"]])
def test_remote_commands_not_available(cli, args):
    result = cli.run(*args)
    assert result.code == 1, result
    assert result.stdout == ""
    assert result.stderr.startswith(f"error: '{args[0]}' is not available yet: ")


def test_json_errors_leave_stdout_empty(cli):
    result = cli.run("--json", "inspect", "nothing-here")
    assert result.code == 1, result
    assert result.stdout == ""
    assert result.stderr.startswith("error: ")
