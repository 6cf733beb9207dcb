"""Store consistency under concurrent commands and after corruption, through
the karapace command on the mock backend."""
import concurrent.futures
import fcntl
import json
import os
import subprocess

import pytest

MOCK = """manifest_version = 1

[base]
image = "rolling"

[system]
packages = [{packages}]

[runtime]
backend = "mock"
"""


def manifest(kp, name, packages=()):
    directory = kp.project / name
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "karapace.toml"
    path.write_text(MOCK.format(packages=", ".join(f'"{p}"' for p in packages)))
    return path


def verify_clean(kp):
    result = kp.run("--json", "verify-store")
    assert result.code == 0, result
    assert result.json()["failed"] == 0
    wal = kp.store / "store" / "wal"
    assert not [p for p in wal.iterdir() if p.suffix == ".json"] if wal.exists() else True


def run_parallel(kp, argvs, timeout=120):
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(argvs)) as pool:
        futures = [pool.submit(kp.run, *argv, timeout=timeout) for argv in argvs]
        return [f.result() for f in futures]


def test_two_builds_same_manifest(kp):
    path = manifest(kp, "same", ["git"])
    results = run_parallel(kp, [["build", path], ["build", path]])
    for r in results:
        assert r.code == 0, r
    ids = {r.stdout.split("env_id: ")[1].strip() for r in results}
    assert len(ids) == 1
    listing = kp.ok("--json", "list").json()
    assert [e["env_id"] for e in listing] == list(ids)
    verify_clean(kp)


def test_builds_and_gc_at_once(kp):
    paths = [manifest(kp, f"m{i}", [f"pkg{i}"]) for i in range(4)]
    argvs = [["build", p] for p in paths] + [["gc"], ["gc"], ["list"]]
    results = run_parallel(kp, argvs)
    for r in results:
        assert r.code == 0, r
    listing = kp.ok("--json", "list").json()
    assert len(listing) == 4
    assert all(e["state"] == "Built" for e in listing)
    # Every environment is still complete after GC ran beside the builds.
    for e in listing:
        kp.ok("exec", e["env_id"], "--", "true")
        kp.ok("commit", e["env_id"])
    verify_clean(kp)


def test_destroy_waits_for_store_lock(kp):
    path = manifest(kp, "locked")
    env_id = kp.ok("--json", "build", path).json()["env_id"]
    lock = kp.store / "store" / ".lock"
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        proc = subprocess.Popen(
            [str(kp_binary(kp)), "--store", str(kp.store), "destroy", env_id],
            cwd=kp.project, env=kp.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(timeout=1)
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    out, err = proc.communicate(timeout=30)
    # It went on once the lock was released.
    assert proc.returncode == 0, err
    assert kp.ok("--json", "list").json() == []


def kp_binary(kp):
    from conftest import binary
    return binary("karapace")


def corrupt_first(directory):
    victims = sorted(p for p in directory.iterdir() if not p.name.startswith("."))
    assert victims
    victim = victims[0]
    os.chmod(victim, 0o644)
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x01
    victim.write_bytes(bytes(data))
    return victim.name


@pytest.mark.parametrize("kind", ["objects", "layers", "metadata"])
def test_verify_store_finds_corruption(kp, kind):
    kp.ok("build", manifest(kp, "c", ["git"]))
    bad = corrupt_first(kp.store / "store" / kind)
    result = kp.run("--json", "verify-store")
    assert result.code == 3, result
    assert result.json()["failed"] == 1
    text = kp.run("verify-store")
    assert text.code == 3
    assert f"FAIL {bad}" in text.stdout


def test_gc_keeps_everything_when_metadata_unreadable(kp):
    kp.ok("build", manifest(kp, "g", ["git"]))
    objects_before = sorted(os.listdir(kp.store / "store" / "objects"))
    corrupt_first(kp.store / "store" / "metadata")
    result = kp.run("gc")
    assert result.code != 0, result
    assert sorted(os.listdir(kp.store / "store" / "objects")) == objects_before


def test_failed_rebuild_keeps_environment(kp):
    path = manifest(kp, "r", ["git"])
    kp.ok("build", "--name", "keep", path)
    before = kp.ok("--json", "inspect", "keep").json()
    # The new manifest names a backend that does not exist.
    path.write_text(MOCK.format(packages='"git"').replace('"mock"', '"nosuch"'))
    result = kp.run("rebuild", path)
    assert result.code == 1, result
    assert "backend 'nosuch' is not available" in result.stderr
    after = kp.ok("--json", "inspect", "keep").json()
    assert after["env_id"] == before["env_id"]
    assert after["state"] == "Built"
    assert (kp.store / "env" / before["env_id"] / "upper" / ".karapace-mock").is_file()


def test_rebuild_replaces_old_environment(kp):
    path = manifest(kp, "rr", ["git"])
    first = kp.ok("--json", "build", path).json()["env_id"]
    path.write_text(MOCK.format(packages='"git", "curl"'))
    second = kp.ok("--json", "rebuild", path).json()["env_id"]
    assert first != second
    ids = [e["env_id"] for e in kp.ok("--json", "list").json()]
    assert ids == [second]
    assert not (kp.store / "env" / first).exists()


def test_build_same_manifest_keeps_name_and_snapshots(kp):
    path = manifest(kp, "s")
    env_id = kp.ok("--json", "build", "--name", "named", path).json()["env_id"]
    upper = kp.store / "env" / env_id / "upper"
    (upper / "work.txt").write_text("user work\n")
    snap = kp.ok("--json", "commit", "named").json()["snapshot_hash"]
    kp.ok("build", path)
    info = kp.ok("--json", "inspect", env_id).json()
    assert info["name"] == "named"
    assert (upper / "work.txt").read_text() == "user work\n"
    snaps = kp.ok("--json", "snapshots", env_id).json()["snapshots"]
    assert [s["restore_hash"] for s in snaps] == [snap]


def test_restore_brings_back_deleted_and_removes_new(kp):
    env_id = kp.ok("--json", "build", manifest(kp, "rs")).json()["env_id"]
    upper = kp.store / "env" / env_id / "upper"
    (upper / "keep.txt").write_text("v1\n")
    (upper / "dir").mkdir()
    (upper / "dir" / "nested").write_bytes(b"\x00\x01binary")
    snap = kp.ok("--json", "commit", env_id).json()["snapshot_hash"]
    (upper / "keep.txt").unlink()
    (upper / "later.txt").write_text("after snapshot\n")
    kp.ok("restore", env_id, snap)
    assert (upper / "keep.txt").read_text() == "v1\n"
    assert (upper / "dir" / "nested").read_bytes() == b"\x00\x01binary"
    assert not (upper / "later.txt").exists()
    verify_clean(kp)


def test_snapshot_stores_only_changes(kp):
    env_id = kp.ok("--json", "build", manifest(kp, "dedup")).json()["env_id"]
    upper = kp.store / "env" / env_id / "upper"
    for i in range(50):
        (upper / f"file{i}").write_bytes(os.urandom(4096))
    kp.ok("commit", env_id)
    objects = kp.store / "store" / "objects"
    before = set(os.listdir(objects))
    (upper / "file7").write_bytes(os.urandom(4096))
    kp.ok("commit", env_id)
    added = set(os.listdir(objects)) - before
    # One changed file and one new tree object.
    assert len(added) == 2


def test_restore_of_other_environment_snapshot_rejected(kp):
    a = kp.ok("--json", "build", manifest(kp, "a")).json()["env_id"]
    b = kp.ok("--json", "build", manifest(kp, "b", ["git"])).json()["env_id"]
    snap = kp.ok("--json", "commit", a).json()["snapshot_hash"]
    result = kp.run("restore", b, snap)
    assert result.code == 1, result
    assert "does not belong to environment" in result.stderr


@pytest.mark.parametrize("packages,expected", [
    ((), "a6eed69a452afb2af460611c937db841dd73d43e864eb5b12f994bf76e2e0766"),
    (("git",), "78232f730f707cdbb45a92090780c08e7f8b6c396b936bd4d57e001f0354a1e3"),
    (("git", "clang"), "5e07b4d895397108c26d04cee57fc26755b8903b2dd5a59eab534ca1a62fcf1b"),
])
def test_mock_identity_matches_original(kp, packages, expected):
    path = manifest(kp, "id", packages)
    assert kp.ok("--json", "build", path).json()["env_id"] == expected
    lock = (path.parent / "karapace.lock").read_text()
    assert f'env_id = "{expected}"' in lock
    # A second store gives the same identity.
    other = kp.run("--store", kp.workdir / "store2", "--json", "build", path, store=False)
    assert other.code == 0, other
    assert other.json()["env_id"] == expected
