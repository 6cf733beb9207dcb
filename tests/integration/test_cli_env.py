"""Environment commands through the karapace command line (mock backend):
list, inspect, references, state changes, rename, exec and enter."""
import json
from collections import Counter

import pytest

MOCK_MANIFEST = """manifest_version = 1

[base]
image = "rolling"

[runtime]
backend = "mock"
"""

METADATA_KEYS = ["env_id", "short_id", "name", "state", "manifest_hash", "base_layer", "dependency_layers",
                 "policy_layer", "created_at", "updated_at", "ref_count", "checksum"]


@pytest.fixture
def cli(kp):
    kp.env["KARAPACE_SKIP_PREREQS"] = "1"
    return kp


@pytest.fixture
def demo(cli):
    """A built environment named "demo"; returns its build JSON."""
    cli.write_manifest(MOCK_MANIFEST)
    return cli.ok("--json", "build", "--name", "demo").json()


def build_variant(cli, index, name=None):
    """Build an environment that differs from the others by one package."""
    directory = cli.project / f"variant{index}"
    directory.mkdir()
    (directory / "karapace.toml").write_text(MOCK_MANIFEST + f'\n[system]\npackages = ["pkg{index}"]\n')
    args = ["--json", "build", directory / "karapace.toml"]
    if name:
        args += ["--name", name]
    return cli.ok(*args).json()


# --- list ---

def test_list_empty(cli):
    assert cli.ok("list").stdout == "no environments found\n"
    result = cli.ok("--json", "list")
    assert result.json() == []


def test_list_text_columns(cli, demo):
    unnamed = build_variant(cli, 1)
    lines = cli.ok("list").stdout.splitlines()
    assert lines[0] == "SHORT_ID       NAME             STATE      ENV_ID"
    rows = sorted([(demo["env_id"], demo["short_id"], "demo"), (unnamed["env_id"], unnamed["short_id"], "")])
    expected = [f"{short:<14} {name:<16} {'built':<10} {env_id}" for env_id, short, name in rows]
    assert lines[1:] == expected


def test_list_without_color_when_not_a_terminal(cli, demo):
    env = dict(cli.env)
    env.pop("NO_COLOR", None)
    assert "\033[" not in cli.ok("list", env=env).stdout


def test_list_json_is_full_metadata(cli, demo):
    result = cli.ok("--json", "list")
    listing = result.json()
    assert isinstance(listing, list) and len(listing) == 1
    entry = listing[0]
    assert list(entry) == METADATA_KEYS
    assert entry["env_id"] == demo["env_id"]
    assert entry["state"] == "Built"
    assert entry["name"] == "demo"
    assert isinstance(entry["env_id"], str) and isinstance(entry["state"], str)
    # Pretty form, metadata member order kept.
    assert result.stdout == json.dumps(listing, indent=2, ensure_ascii=False) + "\n"


# --- inspect and references ---

def test_inspect_text(cli, demo):
    lines = cli.ok("inspect", "demo").stdout.splitlines()
    labels = [line[:13] for line in lines]
    assert labels == [f"{label:<13}" for label in ("env_id:", "short_id:", "name:", "state:", "base_layer:",
                                                   "deps:", "ref_count:", "created_at:", "updated_at:")]
    assert lines[0] == f"env_id:      {demo['env_id']}"
    assert lines[1] == f"short_id:    {demo['short_id']}"
    assert lines[2] == "name:        demo"
    assert lines[3] == "state:       built"
    assert lines[5] == "deps:        0"
    assert lines[6] == "ref_count:   1"


def test_inspect_unnamed_shows_none(cli):
    built = build_variant(cli, 1)
    lines = cli.ok("inspect", built["short_id"]).stdout.splitlines()
    assert lines[2] == "name:        (none)"


def test_inspect_json(cli, demo):
    result = cli.ok("--json", "inspect", "demo")
    value = result.json()
    assert list(value) == METADATA_KEYS
    assert value["env_id"] == demo["env_id"]
    assert value["state"] == "Built"


@pytest.mark.parametrize("form", ["name", "short_id", "env_id", "prefix"])
def test_references_resolve(cli, demo, form):
    reference = {"name": "demo", "short_id": demo["short_id"], "env_id": demo["env_id"],
                 "prefix": demo["env_id"][:5]}[form]
    assert cli.ok("--json", "inspect", reference).json()["env_id"] == demo["env_id"]


def test_unknown_environment(cli, demo):
    result = cli.run("inspect", "nothing")
    assert result.code == 1, result
    assert result.stdout == ""
    assert result.stderr == "error: no environment matching 'nothing'\n"


def test_unknown_environment_suggests(cli, demo):
    result = cli.run("destroy", "dem")
    assert result.code == 1, result
    assert "error: no environment matching 'dem'" in result.stderr
    assert "Did you mean:" in result.stderr
    assert f"demo ({demo['short_id']}) built" in result.stderr
    assert "karapace list" in result.stderr


def test_unknown_environment_plain_with_json(cli, demo):
    result = cli.run("--json", "inspect", "dem")
    assert result.code == 1, result
    assert result.stderr == "error: no environment matching 'dem'\n"


def test_ambiguous_prefix(cli):
    # 17 environments share at least one first hex digit.
    built = [build_variant(cli, i) for i in range(17)]
    digit, count = Counter(b["env_id"][0] for b in built).most_common(1)[0]
    assert count >= 2

    pretty = cli.run("inspect", digit)
    assert pretty.code == 1, pretty
    assert f"error: ambiguous env_id prefix '{digit}': matches {count} environments" in pretty.stderr
    assert "Matches:" in pretty.stderr
    assert "Use a longer prefix, a full env_id, or a unique name." in pretty.stderr

    plain = cli.run("--json", "inspect", digit)
    assert plain.code == 1, plain
    assert plain.stderr == f"error: ambiguous env_id prefix '{digit}': matches {count} environments\n"


# --- state changes ---

@pytest.mark.parametrize("command, status, state", [("freeze", "frozen", "Frozen"),
                                                     ("archive", "archived", "Archived")])
def test_state_commands(cli, demo, command, status, state):
    result = cli.ok(command, "demo")
    assert result.stdout == f"{status} environment demo\n"
    assert cli.ok("--json", "inspect", "demo").json()["state"] == state


@pytest.mark.parametrize("command, status", [("freeze", "frozen"), ("archive", "archived"),
                                             ("destroy", "destroyed")])
def test_state_commands_json(cli, demo, command, status):
    result = cli.ok("--json", command, demo["short_id"])
    assert result.json() == {"env_id": demo["env_id"], "status": status}


def test_frozen_listing_state(cli, demo):
    cli.ok("freeze", "demo")
    row = cli.ok("list").stdout.splitlines()[1]
    assert row == f"{demo['short_id']:<14} {'demo':<16} {'frozen':<10} {demo['env_id']}"


def test_destroy(cli, demo):
    result = cli.ok("destroy", "demo")
    assert result.stdout == "destroyed environment demo\n"
    assert cli.ok("--json", "list").json() == []
    again = cli.run("destroy", "demo")
    assert again.code == 1, again


def test_stop_not_running(cli, demo):
    result = cli.run("stop", "demo")
    assert result.code == 1, result
    assert "not running" in result.stderr


# --- rename ---

def test_rename(cli, demo):
    result = cli.ok("rename", "demo", "renamed")
    assert result.stdout == f"renamed {demo['env_id'][:12]} → 'renamed'\n"
    assert cli.ok("--json", "inspect", "renamed").json()["name"] == "renamed"


def test_rename_json(cli, demo):
    result = cli.ok("--json", "rename", "demo", "other")
    assert result.json() == {"env_id": demo["env_id"], "name": "other", "status": "renamed"}


def test_rename_invalid_name(cli, demo):
    result = cli.run("rename", "demo", "bad name!")
    assert result.code != 0, result
    assert "invalid environment name" in result.stderr


def test_rename_taken_name(cli, demo):
    build_variant(cli, 1, name="second")
    result = cli.run("rename", "demo", "second")
    assert result.code == 3, result
    assert "name 'second' is already used by environment" in result.stderr


# --- exec and enter ---

def test_exec_runs_command(cli, demo):
    result = cli.ok("exec", "demo", "--", "echo", "hello", "--json")
    # The mock backend prints the command instead of running it.
    assert "echo hello --json" in result.stdout


def test_exec_requires_dashdash(cli, demo):
    result = cli.run("exec", "demo", "echo", "hello")
    assert result.code == 2, result
    assert "unexpected argument 'echo'" in result.stderr
    assert "'--'" in result.stderr


def test_exec_requires_command(cli, demo):
    for args in (["exec", "demo"], ["exec", "demo", "--"]):
        result = cli.run(*args)
        assert result.code == 2, result
        assert "missing <COMMAND> after '--' for 'exec'" in result.stderr


def test_exec_unknown_environment(cli):
    result = cli.run("exec", "nothing", "--", "true")
    assert result.code == 1, result
    assert "no environment matching 'nothing'" in result.stderr


def test_enter_with_command_behaves_like_exec(cli, demo):
    result = cli.ok("enter", "demo", "--", "echo", "hi")
    assert "echo hi" in result.stdout


def test_enter_without_command(cli, demo):
    result = cli.run("enter", "demo", input="")
    assert result.code == 0, result
