"""gc, verify-store, migrate and doctor through the karapace command line
(mock backend)."""
import json
import os
import re

import pytest

MOCK_MANIFEST = """manifest_version = 1

[base]
image = "rolling"

[runtime]
backend = "mock"
"""

GC_KEYS = {"dry_run", "orphaned_envs", "orphaned_layers", "orphaned_objects", "removed_envs",
           "removed_layers", "removed_objects"}


@pytest.fixture
def cli(kp):
    kp.env["KARAPACE_SKIP_PREREQS"] = "1"
    kp.write_manifest(MOCK_MANIFEST)
    return kp


def build_two_destroy_one(cli):
    """Leave the layers and objects of a destroyed environment behind."""
    cli.ok("build", "--name", "keep")
    other = cli.project / "other"
    other.mkdir()
    (other / "karapace.toml").write_text(MOCK_MANIFEST + '\n[system]\npackages = ["git"]\n')
    cli.ok("build", "--name", "drop", "other/karapace.toml")
    cli.ok("destroy", "drop")


def assert_pretty_sorted(result):
    value = result.json()
    assert result.stdout == json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return value


# --- gc ---

def test_gc_dry_run_json(cli):
    cli.ok("build")
    value = assert_pretty_sorted(cli.ok("--json", "gc", "--dry-run"))
    assert set(value) == GC_KEYS
    assert value["dry_run"] is True
    assert value["removed_envs"] == value["removed_layers"] == value["removed_objects"] == 0


def test_gc_dry_run_counts_orphans(cli):
    build_two_destroy_one(cli)
    value = cli.ok("--json", "gc", "--dry-run").json()
    assert value["orphaned_layers"] or value["orphaned_objects"]

    text = cli.ok("gc", "--dry-run").stdout.splitlines()
    assert text[0] == (f"gc: would remove {len(value['orphaned_envs'])} envs, "
                       f"{len(value['orphaned_layers'])} layers, {len(value['orphaned_objects'])} objects")


def test_gc_removes_orphans(cli):
    build_two_destroy_one(cli)
    found = cli.ok("--json", "gc", "--dry-run").json()
    removed = cli.ok("--json", "gc").json()
    assert removed["dry_run"] is False
    assert removed["removed_layers"] == len(found["orphaned_layers"])
    assert removed["removed_objects"] == len(found["orphaned_objects"])

    assert cli.ok("gc").stdout.splitlines()[0] == "gc: removed 0 envs, 0 layers, 0 objects"
    assert cli.ok("--json", "inspect", "keep").json()["state"] == "Built"


def test_gc_empty_store(cli):
    assert cli.ok("gc").stdout == "gc: removed 0 envs, 0 layers, 0 objects\n"


# --- verify-store ---

def test_verify_store_clean(cli):
    cli.ok("build")
    text = cli.ok("verify-store").stdout
    match = re.fullmatch(r"store integrity: (\d+)/(\d+) objects, (\d+)/(\d+) layers, (\d+)/(\d+) metadata passed\n",
                         text)
    assert match, text
    numbers = [int(n) for n in match.groups()]
    assert numbers[0] == numbers[1] > 0
    assert numbers[2] == numbers[3] > 0
    assert numbers[4] == numbers[5] == 1

    value = assert_pretty_sorted(cli.ok("--json", "verify-store"))
    assert value == {"checked": numbers[1] + numbers[3] + numbers[5], "failed": 0,
                     "passed": numbers[0] + numbers[2] + numbers[4]}


def corrupt_one_object(cli):
    objects = cli.store / "store" / "objects"
    victim = sorted(p for p in objects.iterdir() if not p.name.startswith("."))[0]
    os.chmod(victim, 0o644)
    victim.write_bytes(b"corrupted by the test\n")
    return victim.name


def test_verify_store_reports_corruption(cli):
    cli.ok("build")
    name = corrupt_one_object(cli)

    result = cli.run("verify-store")
    assert result.code == 3, result
    assert f"  FAIL {name}: " in result.stdout

    result = cli.run("--json", "verify-store")
    assert result.code == 3, result
    value = result.json()
    assert value["failed"] >= 1
    assert value["passed"] < value["checked"]


# --- migrate ---

def write_version(cli, text):
    version = cli.store / "store" / "version"
    os.chmod(version, 0o644)
    version.write_text(text)


def test_migrate_current(cli):
    cli.ok("build")
    assert cli.ok("migrate").stdout == "Store format version: 2 (current)\nNo migration needed.\n"
    assert assert_pretty_sorted(cli.ok("--json", "migrate")) == {"format_version": 2, "status": "current"}


def test_migrate_no_store(cli):
    result = cli.ok("migrate")
    assert result.stdout == f"No store found at {cli.store}. Nothing to migrate.\n"
    assert cli.ok("--json", "migrate").json() == {"message": "No store found.", "status": "no_store"}


def test_migrate_newer_store(cli):
    cli.ok("build")
    write_version(cli, '{\n  "format_version": 99\n}')
    result = cli.run("migrate")
    assert result.code == 1, result
    assert result.stdout == ("Store format version: 99\nSupported: 2\n\n"
                             "Created by a newer Karapace. Please upgrade.\n")
    result = cli.run("--json", "migrate")
    assert result.code == 1, result
    assert result.json() == {"found": 99, "status": "newer", "supported": 2}


def test_migrate_missing_version_file(cli):
    cli.ok("build")
    os.unlink(cli.store / "store" / "version")
    result = cli.run("migrate")
    assert result.code == 1, result
    assert result.stdout == (f"Store at {cli.store} has no version file. May be corrupted or very old.\n"
                             "Recommended: back up and rebuild.\n")
    result = cli.run("--json", "migrate")
    assert result.code == 1, result
    assert result.json() == {"message": "Store exists but has no version file.", "status": "error"}


def test_migrate_old_store_json_is_escaped(kp):
    """A store path with quotes and backslashes still gives valid JSON."""
    kp.env["KARAPACE_SKIP_PREREQS"] = "1"
    kp.write_manifest(MOCK_MANIFEST)
    store = kp.workdir / 'odd "store" \\ dir'
    kp.ok("--store", store, "build", store=False)
    version = store / "store" / "version"
    os.chmod(version, 0o644)
    version.write_text('{\n  "format_version": 1\n}')

    result = kp.ok("--json", "--store", store, "migrate", store=False)
    value = result.json()
    assert value["status"] == "migrated"
    assert value["from"] == 1
    assert value["to"] == 2
    assert isinstance(value["environments"], int)
    assert value["backup"].startswith(str(store))
    assert result.stdout == json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_migrate_old_store_text(cli):
    cli.ok("build")
    write_version(cli, '{\n  "format_version": 1\n}')
    lines = cli.ok("migrate").stdout.splitlines()
    assert lines[0] == "Migrated store from v1 to v2."
    assert re.fullmatch(r"\d+ environments updated\.", lines[1])
    assert lines[2].startswith(f"Backup: {cli.store}")


def test_migrate_unreadable_version(cli):
    cli.ok("build")
    write_version(cli, "not json")
    result = cli.run("migrate")
    assert result.code == 1, result
    assert result.stderr.startswith("error: ")

    result = cli.run("--json", "migrate")
    assert result.code == 1, result
    assert result.json()["status"] == "error"


# --- doctor ---

ICONS = {"pass": "✓", "fail": "✗", "warn": "⚠", "info": "ℹ"}


def test_doctor_text_and_json_agree(cli):
    cli.ok("build")
    json_result = cli.run("--json", "doctor")
    text_result = cli.run("doctor")
    assert json_result.code == text_result.code
    value = assert_pretty_sorted(json_result)
    assert set(value) == {"checks", "healthy"}
    assert json_result.code == (0 if value["healthy"] else 1)

    lines = text_result.stdout.split("\n")
    assert lines[0] == "Karapace Doctor"
    assert lines[1] == ""
    checks = value["checks"]
    for check, line in zip(checks, lines[2:]):
        assert set(check) == {"message", "name", "status"}
        assert line == f"  {ICONS[check['status']]} {check['message']}"
    assert lines[2 + len(checks)] == ""
    summary = "All checks passed." if value["healthy"] else "Some checks failed. See above for details."
    assert lines[3 + len(checks)] == summary
    assert lines[4 + len(checks):] == [""]
    # Healthy means that no check failed, the disk space check included.
    assert value["healthy"] == all(c["status"] != "fail" for c in checks)


def test_doctor_reports_corruption(cli):
    cli.ok("build")
    corrupt_one_object(cli)
    result = cli.run("--json", "doctor")
    assert result.code == 1, result
    value = result.json()
    assert value["healthy"] is False
    assert any(c["status"] == "fail" for c in value["checks"])
