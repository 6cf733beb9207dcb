"""build, rebuild and pin through the karapace command line (mock backend)."""
import json
import os
import pty
import re
import select
import subprocess

import pytest

from conftest import binary

MOCK_MANIFEST = """manifest_version = 1

[base]
image = "rolling"

[runtime]
backend = "mock"
"""

PINNED_MANIFEST = """manifest_version = 1

[base]
image = "https://example.com/rootfs.tar.xz"

[runtime]
backend = "mock"
"""


@pytest.fixture
def cli(kp):
    kp.env["KARAPACE_SKIP_PREREQS"] = "1"
    return kp


def assert_pretty_sorted(result):
    """stdout is one JSON object, two-space indented with sorted keys."""
    value = result.json()
    assert result.stdout == json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return value


def test_build_text_output(cli):
    cli.write_manifest(MOCK_MANIFEST)
    result = cli.ok("build")
    match = re.fullmatch(r"built environment ([0-9a-f]{12})\nenv_id: ([0-9a-f]{64})\n", result.stdout)
    assert match, result
    assert match.group(2).startswith(match.group(1))
    # No spinner or log lines when stderr is not a terminal.
    assert result.stderr == ""


def test_build_json_output(cli):
    cli.write_manifest(MOCK_MANIFEST)
    value = assert_pretty_sorted(cli.ok("--json", "build"))
    assert set(value) == {"env_id", "name", "short_id", "status"}
    assert value["name"] is None
    assert value["status"] == "built"
    assert re.fullmatch(r"[0-9a-f]{64}", value["env_id"])
    assert value["short_id"] == value["env_id"][:12]


def test_build_with_name(cli):
    cli.write_manifest(MOCK_MANIFEST)
    result = cli.ok("build", "--name", "demo")
    match = re.fullmatch(r"built environment 'demo' \(([0-9a-f]{12})\)\nenv_id: ([0-9a-f]{64})\n", result.stdout)
    assert match, result

    value = cli.ok("--json", "build", "--name", "demo").json()
    assert value["name"] == "demo"


def test_build_explicit_manifest_path(cli):
    cli.write_manifest(MOCK_MANIFEST, name="other.toml")
    result = cli.ok("--json", "build", "other.toml")
    assert result.json()["status"] == "built"


def test_build_name_conflict_is_store_error(cli):
    cli.write_manifest(MOCK_MANIFEST)
    cli.ok("build", "--name", "taken")
    other = cli.project / "other"
    other.mkdir()
    (other / "karapace.toml").write_text(MOCK_MANIFEST.replace('"rolling"', '"ubuntu/24.04"'))
    result = cli.run("build", "--name", "taken", "other/karapace.toml")
    assert result.code == 3, result
    assert "name 'taken' is already used by environment" in result.stderr


def test_build_missing_manifest(cli):
    result = cli.run("build", "absent.toml")
    assert result.code == 2, result
    assert result.stdout == ""
    assert "failed to read manifest" in result.stderr
    assert "absent.toml" in result.stderr


def test_build_default_manifest_missing(cli):
    result = cli.run("--json", "build")
    assert result.code == 2, result
    assert result.stdout == ""
    assert "karapace.toml" in result.stderr


BAD_MANIFESTS = [
    # (id, text, fragments the error must contain)
    ("unknown-key",
     'manifest_version = 1\n\n[base]\nimgae = "rolling"\n',
     ["bad.toml:4:1", "unknown key 'imgae'", "[base]"]),
    ("wrong-type",
     'manifest_version = 1\n\n[base]\nimage = "rolling"\n\n[hardware]\ngpu = "yes"\n',
     ["bad.toml:7:", "'hardware.gpu'", "boolean"]),
    ("missing-image",
     'manifest_version = 1\n\n[base]\n\n[runtime]\nbackend = "mock"\n',
     ["bad.toml", "base.image"]),
    ("invalid-toml",
     'manifest_version = 1\n\n[base\nimage = "rolling"\n',
     ["bad.toml:3:"]),
]


@pytest.mark.parametrize("text, fragments", [b[1:] for b in BAD_MANIFESTS], ids=[b[0] for b in BAD_MANIFESTS])
def test_bad_manifest_is_exit_2(cli, text, fragments):
    cli.write_manifest(text, name="bad.toml")
    result = cli.run("build", "bad.toml")
    assert result.code == 2, result
    assert result.stdout == ""
    assert result.stderr.startswith("error: ")
    assert [line.startswith("error: ") for line in result.stderr.splitlines()] == [True], \
        "the error is printed once, on one line"
    for fragment in fragments:
        assert fragment in result.stderr, result


def test_build_offline_with_packages_fails(cli):
    cli.write_manifest(MOCK_MANIFEST + '\n[system]\npackages = ["git"]\n')
    result = cli.run("build", "--offline")
    assert result.code != 0, result
    assert "offline mode" in result.stderr
    assert "system packages" in result.stderr


def test_build_require_pinned_image(cli):
    cli.write_manifest(MOCK_MANIFEST)
    result = cli.run("build", "--require-pinned-image")
    assert result.code != 0, result
    assert "not pinned" in result.stderr

    cli.write_manifest(PINNED_MANIFEST)
    cli.ok("build", "--require-pinned-image")


def test_build_locked_uses_lock(cli):
    cli.write_manifest(MOCK_MANIFEST)
    first = cli.ok("--json", "build").json()
    assert (cli.project / "karapace.lock").is_file()
    lock_before = (cli.project / "karapace.lock").read_text()
    second = cli.ok("--json", "build", "--locked").json()
    assert second["env_id"] == first["env_id"]
    assert (cli.project / "karapace.lock").read_text() == lock_before


def test_build_locked_detects_drift(cli):
    cli.write_manifest(MOCK_MANIFEST)
    cli.ok("build")
    cli.write_manifest(PINNED_MANIFEST)
    result = cli.run("build", "--locked")
    assert result.code == 1, result
    assert "lock file manifest drift" in result.stderr


def test_rebuild_outputs(cli):
    cli.write_manifest(MOCK_MANIFEST)
    built = cli.ok("--json", "build").json()
    result = cli.ok("rebuild")
    assert result.stdout == (f"rebuilt environment {built['short_id']}\n"
                             f"env_id: {built['env_id']}\n")
    value = assert_pretty_sorted(cli.ok("--json", "rebuild", "--name", "again"))
    assert value == {"env_id": built["env_id"], "name": "again", "short_id": built["short_id"],
                     "status": "rebuilt"}


def test_rebuild_removes_old_environment(cli):
    cli.write_manifest(MOCK_MANIFEST)
    old = cli.ok("--json", "build").json()
    cli.write_manifest(MOCK_MANIFEST + '\n[system]\npackages = ["git"]\n')
    new = cli.ok("--json", "rebuild").json()
    assert new["env_id"] != old["env_id"]
    ids = [env["env_id"] for env in cli.ok("--json", "list").json()]
    assert ids == [new["env_id"]]


def test_pin_check_unpinned(cli):
    cli.write_manifest(MOCK_MANIFEST)
    result = cli.run("pin", "--check")
    assert result.code == 1, result
    assert result.stdout == ""
    assert "base.image is not pinned: 'rolling'" in result.stderr


def test_pin_check_pinned(cli):
    cli.write_manifest(PINNED_MANIFEST)
    result = cli.ok("pin", "--check")
    assert result.stdout == ""
    value = assert_pretty_sorted(cli.ok("--json", "pin", "--check", "karapace.toml"))
    assert value == {"manifest": "karapace.toml", "status": "pinned"}


def test_pin_keeps_pinned_url(cli):
    cli.write_manifest(PINNED_MANIFEST, name="p.toml")
    result = cli.ok("pin", "p.toml")
    assert result.stdout == "pinned base image in p.toml\n"
    value = assert_pretty_sorted(cli.ok("--json", "pin", "p.toml"))
    assert value == {"base_image": "https://example.com/rootfs.tar.xz", "manifest": "p.toml",
                     "status": "pinned"}
    assert 'image = "https://example.com/rootfs.tar.xz"' in (cli.project / "p.toml").read_text()


def test_pin_bad_manifest(cli):
    cli.write_manifest('manifest_version = 1\n[base\n', name="bad.toml")
    result = cli.run("pin", "bad.toml")
    assert result.code == 2, result
    assert "bad.toml" in result.stderr


# --- spinner ---

def run_with_terminal_stderr(cli, *args):
    """Run karapace with stderr on a pseudo-terminal; returns (code, stdout, stderr text)."""
    master, slave = pty.openpty()
    argv = [str(binary("karapace")), "--store", str(cli.store)] + [str(a) for a in args]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave,
                            cwd=cli.project, env=cli.env)
    os.close(slave)
    try:
        stdout, _ = proc.communicate(timeout=60)
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


def test_spinner_on_terminal(cli):
    cli.write_manifest(MOCK_MANIFEST)
    code, stdout, terminal = run_with_terminal_stderr(cli, "build")
    assert code == 0, terminal
    assert "building environment..." in terminal
    assert "✓ environment built" in terminal
    assert stdout.startswith("built environment ")

    code, _, terminal = run_with_terminal_stderr(cli, "rebuild")
    assert code == 0, terminal
    assert "✓ environment rebuilt" in terminal


def test_spinner_reports_failure(cli):
    code, _, terminal = run_with_terminal_stderr(cli, "build", "absent.toml")
    assert code == 2, terminal
    assert "✗ build failed" in terminal
    assert "error: " in terminal


def test_no_spinner_with_json(cli):
    cli.write_manifest(MOCK_MANIFEST)
    code, stdout, terminal = run_with_terminal_stderr(cli, "--json", "build")
    assert code == 0, terminal
    assert terminal == ""
    assert json.loads(stdout)["status"] == "built"
