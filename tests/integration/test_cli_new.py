"""karapace new: templates, the written manifest, overwrite rules and the
questions asked on a terminal."""
import os
import pty
import select
import subprocess

import pytest

from conftest import binary

TEMPLATES = ["minimal", "dev", "gui-dev", "rust-dev", "ubuntu-dev"]

MINIMAL_TEXT = """manifest_version = 1

[base]
image = "rolling"

[system]
packages = []

[gui]
apps = []

[hardware]
gpu = false
audio = false

[mounts]

[runtime]
backend = "namespace"
network_isolation = false

[runtime.resource_limits]
"""

# base.image, system.packages (in template order), other lines that must appear.
TEMPLATE_SHAPES = {
    "dev": ("rolling", ["git", "curl", "vim", "neovim", "tmux", "htop", "make", "cmake", "gcc", "clang"],
            ['workspace = "~/projects:/workspace"']),
    "gui-dev": ("rolling", ["git", "curl", "cmake", "gcc", "clang", "gdb", "mesa-dri-devel"],
                ['apps = ["firefox"]', "gpu = true", "audio = true", 'workspace = "~/projects:/workspace"']),
    "rust-dev": ("rolling", ["git", "curl", "gcc", "make", "cmake", "pkg-config", "openssl-devel", "gdb"],
                 ['workspace = "~/projects:/workspace"']),
    "ubuntu-dev": ("ubuntu/24.04",
                   ["git", "curl", "build-essential", "cmake", "python3", "python3-pip", "nodejs", "npm"],
                   ['workspace = "~/projects:/workspace"']),
}


@pytest.fixture
def cli(kp):
    kp.env["KARAPACE_SKIP_PREREQS"] = "1"
    return kp


def manifest(cli):
    return (cli.project / "karapace.toml").read_text()


def test_new_minimal_exact_text(cli):
    result = cli.ok("new", "demo", "--template", "minimal")
    assert result.stdout == "wrote ./karapace.toml for 'demo'\ntemplate: minimal\n"
    assert manifest(cli) == MINIMAL_TEXT


@pytest.mark.parametrize("template", sorted(TEMPLATE_SHAPES))
def test_new_template_shape(cli, template):
    cli.ok("new", "x", "--template", template)
    text = manifest(cli)
    image, packages, extra = TEMPLATE_SHAPES[template]
    assert f'[base]\nimage = "{image}"\n' in text
    package_block = "packages = [\n" + "".join(f'    "{p}",\n' for p in packages) + "]\n"
    assert package_block in text
    for line in extra:
        assert line in text
    for header in ("[system]", "[gui]", "[hardware]", "[mounts]", "[runtime]", "[runtime.resource_limits]"):
        assert f"\n{header}\n" in text
    assert 'backend = "namespace"' in text
    assert text.endswith("\n")


@pytest.mark.parametrize("template", TEMPLATES)
def test_new_json(cli, template):
    result = cli.ok("--json", "new", "proj", "--template", template)
    assert result.json() == {"name": "proj", "path": "./karapace.toml", "status": "written",
                             "template": template}


def test_new_written_manifest_builds(cli):
    cli.ok("new", "x", "--template", "minimal")
    text = manifest(cli).replace('backend = "namespace"', 'backend = "mock"')
    cli.write_manifest(text)
    cli.ok("build")


def test_new_refuses_to_overwrite(cli):
    cli.write_manifest("# keep me\n")
    result = cli.run("new", "demo", "--template", "dev")
    assert result.code == 1, result
    assert result.stderr == "error: refusing to overwrite existing ./karapace.toml (pass --force)\n"
    assert manifest(cli) == "# keep me\n"


def test_new_force_overwrites(cli):
    cli.write_manifest("# replace me\n")
    cli.ok("new", "demo", "--template", "minimal", "--force")
    assert manifest(cli) == MINIMAL_TEXT


def test_new_unknown_template(cli):
    result = cli.run("new", "demo", "--template", "nope")
    assert result.code == 1, result
    assert result.stderr == ("error: unknown template 'nope' "
                             "(expected: minimal, dev, gui-dev, rust-dev, ubuntu-dev)\n")
    assert not (cli.project / "karapace.toml").exists()


def test_new_without_template_needs_terminal(cli):
    result = cli.run("new", "demo", input="")
    assert result.code == 1, result
    assert result.stderr == "error: no --template provided and stdin is not a TTY\n"
    assert not (cli.project / "karapace.toml").exists()


def test_new_ignores_store(cli):
    cli.ok("--store", cli.workdir / "elsewhere", "new", "demo", "--template", "minimal", store=False)
    assert (cli.project / "karapace.toml").is_file()
    assert not (cli.workdir / "elsewhere").exists()


# --- questions on a terminal ---

def run_on_terminal(cli, args, answers, timeout=30):
    """Run karapace with stdin and stderr on a pseudo-terminal, typing ANSWERS.
    Returns (exit code, stdout, terminal output)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([str(binary("karapace"))] + args, stdin=slave, stderr=slave,
                            stdout=subprocess.PIPE, cwd=cli.project, env=cli.env)
    os.close(slave)
    try:
        for answer in answers:
            os.write(master, (answer + "\n").encode())
        stdout, _ = proc.communicate(timeout=timeout)
        terminal = b""
        while select.select([master], [], [], 0.2)[0]:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            terminal += chunk
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return proc.returncode, stdout.decode(), terminal.decode(errors="replace")


def test_new_terminal_questions(cli):
    code, stdout, terminal = run_on_terminal(
        cli, ["new", "demo"], ["ubuntu/24.04", "git  curl", "/tmp/work:/workspace", "mock", "y"])
    assert code == 0, terminal
    assert stdout == "wrote ./karapace.toml for 'demo'\n"
    for question in ("base image", "packages (space-separated, empty to skip)",
                     "mount (format '<host>:<container>', empty to skip)", "runtime backend",
                     "enable network isolation?"):
        assert question in terminal
    text = manifest(cli)
    assert 'image = "ubuntu/24.04"' in text
    assert 'packages = [\n    "git",\n    "curl",\n]' in text
    assert 'workspace = "/tmp/work:/workspace"' in text
    assert 'backend = "mock"' in text
    assert "network_isolation = true" in text


def test_new_terminal_defaults(cli):
    code, _, terminal = run_on_terminal(cli, ["new", "demo"], ["", "", "", "", ""])
    assert code == 0, terminal
    assert manifest(cli) == MINIMAL_TEXT


def test_new_terminal_template_skips_image(cli):
    code, _, terminal = run_on_terminal(cli, ["new", "demo", "--template", "ubuntu-dev"], ["", "", "", ""])
    assert code == 0, terminal
    assert "base image" not in terminal
    assert 'image = "ubuntu/24.04"' in manifest(cli)


def test_new_terminal_invalid_mount_writes_nothing(cli):
    code, stdout, terminal = run_on_terminal(cli, ["new", "demo"], ["", "", "nocolon", "", ""])
    assert code == 2, terminal
    assert stdout == ""
    assert "invalid mount declaration" in terminal
    assert not (cli.project / "karapace.toml").exists()


def test_new_terminal_overwrite_declined(cli):
    cli.write_manifest("# keep me\n")
    code, _, terminal = run_on_terminal(cli, ["new", "demo", "--template", "minimal"], ["n"])
    assert code == 1, terminal
    assert "overwrite ./karapace.toml?" in terminal
    assert "refusing to overwrite existing ./karapace.toml (pass --force)" in terminal
    assert manifest(cli) == "# keep me\n"


def test_new_terminal_overwrite_accepted(cli):
    cli.write_manifest("# replace me\n")
    code, _, terminal = run_on_terminal(cli, ["new", "demo", "--template", "minimal"], ["y", "", "", "", ""])
    assert code == 0, terminal
    assert manifest(cli) == MINIMAL_TEXT


def test_new_terminal_closed_stdin(cli):
    master, slave = pty.openpty()
    proc = subprocess.Popen([str(binary("karapace")), "new", "demo"], stdin=slave, stderr=slave,
                            stdout=subprocess.PIPE, cwd=cli.project, env=cli.env)
    os.close(slave)
    # End of input (Ctrl-D) at the first question.
    os.write(master, b"\x04")
    try:
        proc.communicate(timeout=30)
    finally:
        os.close(master)
    assert proc.returncode == 1
    assert not (cli.project / "karapace.toml").exists()
