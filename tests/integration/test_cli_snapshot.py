"""commit, snapshots, restore and diff through the karapace command line
(mock backend)."""
import json
import re

import pytest

MOCK_MANIFEST = """manifest_version = 1

[base]
image = "rolling"

[runtime]
backend = "mock"
"""


@pytest.fixture
def cli(kp):
    kp.env["KARAPACE_SKIP_PREREQS"] = "1"
    kp.write_manifest(MOCK_MANIFEST)
    return kp


@pytest.fixture
def demo(cli):
    return cli.ok("--json", "build", "--name", "demo").json()


def test_commit_snapshots_restore_flow(cli, demo):
    committed = cli.ok("--json", "commit", "demo").json()
    assert set(committed) == {"env_id", "snapshot_hash"}
    assert committed["env_id"] == demo["env_id"]

    listing = cli.ok("--json", "snapshots", "demo").json()
    assert listing["env_id"] == demo["env_id"]
    assert listing["snapshots"][0]["restore_hash"] == committed["snapshot_hash"]
    assert set(listing["snapshots"][0]) == {"hash", "parent", "restore_hash", "tar_hash"}

    result = cli.ok("restore", "demo", committed["snapshot_hash"])
    assert result.stdout == f"restored demo from snapshot {committed['snapshot_hash']}\n"


def test_commit_text(cli, demo):
    result = cli.ok("commit", "demo")
    match = re.fullmatch(r"committed snapshot ([0-9a-f]{64}) for demo\n", result.stdout)
    assert match, result


def test_snapshots_empty(cli, demo):
    assert cli.ok("snapshots", "demo").stdout == "no snapshots for demo\n"
    assert cli.ok("--json", "snapshots", "demo").json() == {"env_id": demo["env_id"], "snapshots": []}


def test_snapshots_text(cli, demo):
    committed = cli.ok("--json", "commit", "demo").json()
    listing = cli.ok("--json", "snapshots", "demo").json()["snapshots"]
    result = cli.ok("snapshots", demo["short_id"])
    assert result.stdout == (f"snapshots for {demo['short_id']}:\n"
                             f"  {committed['snapshot_hash']} (tar: {listing[0]['tar_hash'][:12]})\n")


def test_snapshots_json_layout(cli, demo):
    cli.ok("commit", "demo")
    result = cli.ok("--json", "snapshots", "demo")
    assert result.stdout == json.dumps(result.json(), indent=2) + "\n"


def test_restore_json(cli, demo):
    snapshot = cli.ok("--json", "commit", "demo").json()["snapshot_hash"]
    result = cli.ok("--json", "restore", demo["short_id"], snapshot)
    assert result.json() == {"env_id": demo["env_id"], "restored_snapshot": snapshot}


def test_restore_unknown_snapshot(cli, demo):
    result = cli.run("restore", "demo", "0" * 64)
    assert result.code != 0, result
    assert result.stdout == ""
    assert result.stderr.startswith("error: ")


def test_diff_text(cli, demo):
    result = cli.ok("diff", "demo")
    lines = result.stdout.splitlines()
    if lines == ["no drift detected in environment demo"]:
        return
    assert lines[0] == "drift detected in environment demo:"
    markers = [line[:4] for line in lines[1:]]
    assert all(m in ("  + ", "  ~ ", "  - ") for m in markers), lines
    # Groups come in the order added, modified, removed.
    order = {"  + ": 0, "  ~ ": 1, "  - ": 2}
    assert [order[m] for m in markers] == sorted(order[m] for m in markers)


def test_diff_json(cli, demo):
    result = cli.ok("--json", "diff", "demo")
    value = result.json()
    assert list(value) == ["env_id", "added", "modified", "removed", "has_drift"]
    assert value["env_id"] == demo["env_id"]
    assert value["has_drift"] == bool(value["added"] or value["modified"] or value["removed"])
    for group in ("added", "modified", "removed"):
        assert value[group] == sorted(value[group])


def test_diff_agrees_with_text(cli, demo):
    value = cli.ok("--json", "diff", "demo").json()
    text = cli.ok("diff", "demo").stdout
    if not value["has_drift"]:
        assert text == "no drift detected in environment demo\n"
        return
    expected = ["drift detected in environment demo:"]
    expected += [f"  + {p}" for p in value["added"]]
    expected += [f"  ~ {p}" for p in value["modified"]]
    expected += [f"  - {p}" for p in value["removed"]]
    assert text.splitlines() == expected
