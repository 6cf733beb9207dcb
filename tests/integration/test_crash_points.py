"""Crash injection: kill karapace at every store write step of an operation
and check that the next command recovers a consistent store.

Needs a build with -Dfault_injection=true (scripts/test configures one):
KARAPACE_FAULT_LOG counts the fault points an operation passes, and
KARAPACE_FAULT_KILL_AT=N makes the process SIGKILL itself at the N-th one.
"""
import shutil
import signal
from pathlib import Path

import pytest

from conftest import BUILD_DIR

MOCK = """manifest_version = 1

[base]
image = "rolling"

[system]
packages = [{packages}]

[runtime]
backend = "mock"
"""

pytestmark = pytest.mark.skipif(
    "#define KP_FAULT_INJECTION 1" not in (BUILD_DIR / "config.h").read_text()
    if (BUILD_DIR / "config.h").exists() else True,
    reason="karapace built without -Dfault_injection=true")


def write_manifest(kp, name, packages=()):
    directory = kp.project / name
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "karapace.toml"
    path.write_text(MOCK.format(packages=", ".join(f'"{p}"' for p in packages)))
    return path


def fault_points(kp, argv):
    log = kp.workdir / "fault.log"
    log.unlink(missing_ok=True)
    env = dict(kp.env, KARAPACE_FAULT_LOG=str(log))
    result = kp.run(*argv, env=env)
    assert result.code == 0, result
    return log.read_text().splitlines() if log.exists() else []


def check_consistent(kp):
    """What every crash must leave: recovery done, nothing corrupt."""
    listing = kp.run("--json", "list")
    assert listing.code == 0, listing
    verify = kp.run("--json", "verify-store")
    assert verify.code == 0, verify
    assert verify.json()["failed"] == 0
    wal = kp.store / "store" / "wal"
    assert not list(wal.glob("*.json")) if wal.exists() else True
    for env in listing.json():
        assert env["state"] == "Built", env
    return listing.json()


def setup_base(kp):
    """One built environment with a file and a snapshot; returns its id."""
    env_id = kp.ok("--json", "build", "--name", "base", write_manifest(kp, "base", ["git"])).json()["env_id"]
    upper = kp.store / "env" / env_id / "upper"
    (upper / "work.txt").write_text("committed work\n")
    snapshot = kp.ok("--json", "commit", env_id).json()["snapshot_hash"]
    (upper / "work.txt").write_text("changed after the snapshot\n")
    return env_id, snapshot


OPERATIONS = {
    "build": lambda kp, env_id, snap: ["build", kp.project / "other" / "karapace.toml"],
    "commit": lambda kp, env_id, snap: ["commit", env_id],
    "restore": lambda kp, env_id, snap: ["restore", env_id, snap],
    "rename": lambda kp, env_id, snap: ["rename", env_id, "renamed"],
    "destroy": lambda kp, env_id, snap: ["destroy", env_id],
    "gc": lambda kp, env_id, snap: ["gc"],
    "exec": lambda kp, env_id, snap: ["exec", env_id, "--", "true"],
}


def survivor_intact(kp, env_id, operation, before_text):
    """The environment that existed before is whole (unless destroyed)."""
    upper = kp.store / "env" / env_id / "upper" / "work.txt"
    ids = [e["env_id"] for e in kp.ok("--json", "list").json()]
    if operation == "destroy" and env_id not in ids:
        assert not (kp.store / "env" / env_id).exists()
        return
    assert env_id in ids
    text = upper.read_text()
    if operation == "restore":
        assert text in (before_text, "committed work\n")
    else:
        assert text == before_text
    kp.ok("exec", env_id, "--", "true")


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_crash_at_every_point(kp, operation):
    env_id, snap = setup_base(kp)
    write_manifest(kp, "other", ["curl"])
    if operation == "gc":
        # Leave something for GC to delete.
        kp.ok("build", write_manifest(kp, "gone", ["vim"]))
        kp.ok("destroy", kp.ok("--json", "list").json()[0]["env_id"]
              if kp.ok("--json", "list").json()[0]["env_id"] != env_id
              else kp.ok("--json", "list").json()[1]["env_id"])
    argv = OPERATIONS[operation](kp, env_id, snap)
    before_text = (kp.store / "env" / env_id / "upper" / "work.txt").read_text()

    pristine = kp.workdir / "pristine"
    shutil.copytree(kp.store, pristine, symlinks=True)
    points = fault_points(kp, argv)
    assert points, f"{operation} passed no fault point"

    for n in range(1, len(points) + 1):
        shutil.rmtree(kp.store)
        shutil.copytree(pristine, kp.store, symlinks=True)
        env = dict(kp.env, KARAPACE_FAULT_KILL_AT=str(n))
        result = kp.run(*argv, env=env)
        assert result.code == -signal.SIGKILL, f"point {n} ({points[n - 1]}): {result}"
        check_consistent(kp)
        survivor_intact(kp, env_id, operation, before_text)
        # The interrupted operation can be run again to completion, unless
        # recovery already finished it (a destroy rolls forward).
        if operation == "destroy" and env_id not in [e["env_id"] for e in kp.ok("--json", "list").json()]:
            continue
        again = kp.run(*argv)
        assert again.code == 0, f"point {n} ({points[n - 1]}): {again}"
        check_consistent(kp)
