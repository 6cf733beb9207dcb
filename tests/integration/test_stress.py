"""Bounded concurrency stress: 8 workers run a random mix of build, exec,
commit, restore, gc, list and destroy against one store (mock backend).

Every command must finish within its timeout (no deadlock) and either
succeed or fail with a reported error, never crash. At the end the store
verifies clean, no write-ahead log entry is left and every environment is
Built.
The run lasts 15 s here and 60 s with KARAPACE_TEST_LONG=1 (scripts/test
--long)."""
import json
import os
import random
import threading
import time

MOCK = """manifest_version = 1

[base]
image = "rolling"

[system]
packages = [{}]

[runtime]
backend = "mock"
"""

WORKERS = 8
COMMAND_TIMEOUT = 120


def test_mixed_operations_stress(kp):
    duration = 60 if os.environ.get("KARAPACE_TEST_LONG") == "1" else 15
    manifests = []
    for i in range(4):
        d = kp.project / f"m{i}"
        d.mkdir()
        (d / "karapace.toml").write_text(MOCK.format(f'"pkg{i}"'))
        manifests.append(d / "karapace.toml")
        kp.ok("build", d / "karapace.toml")

    counts = {}
    problems = []
    lock = threading.Lock()
    deadline = time.monotonic() + duration

    def note(op, result):
        with lock:
            counts[(op, result.code)] = counts.get((op, result.code), 0) + 1
            # Exit codes: 0 success, 1 reported failure (e.g. a snapshot
            # removed by a concurrent destroy), 3 store error. A negative
            # code is a signal: a crash.
            if result.code < 0 or result.code not in (0, 1, 3):
                problems.append(repr(result))
            if result.code != 0 and not result.stderr.startswith("error: "):
                problems.append(f"failure without an error message: {result!r}")

    def worker(seed):
        rng = random.Random(seed)
        while time.monotonic() < deadline:
            listing = kp.run("--json", "list", timeout=COMMAND_TIMEOUT)
            note("list", listing)
            envs = [e["env_id"] for e in json.loads(listing.stdout)] if listing.code == 0 else []
            op = rng.choice(["build", "build", "exec", "commit", "restore", "gc", "destroy", "diff"])
            if op == "build" or not envs:
                note("build", kp.run("build", rng.choice(manifests), timeout=COMMAND_TIMEOUT))
                continue
            env = rng.choice(envs)
            if op == "exec":
                note(op, kp.run("exec", env, "--", "echo", "hi", timeout=COMMAND_TIMEOUT))
            elif op == "commit":
                note(op, kp.run("commit", env, timeout=COMMAND_TIMEOUT))
            elif op == "restore":
                snaps = kp.run("--json", "snapshots", env, timeout=COMMAND_TIMEOUT)
                note("snapshots", snaps)
                if snaps.code == 0 and json.loads(snaps.stdout)["snapshots"]:
                    snap = rng.choice(json.loads(snaps.stdout)["snapshots"])["restore_hash"]
                    note(op, kp.run("restore", env, snap, timeout=COMMAND_TIMEOUT))
            elif op == "gc":
                note(op, kp.run("gc", timeout=COMMAND_TIMEOUT))
            elif op == "destroy":
                note(op, kp.run("destroy", env, timeout=COMMAND_TIMEOUT))
            else:
                note(op, kp.run("diff", env, timeout=COMMAND_TIMEOUT))

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    summary = ", ".join(f"{op}={code}:{n}" for (op, code), n in sorted(counts.items()))
    print(f"stress {duration} s, {WORKERS} workers: {summary}")
    assert not problems, "\n".join(problems[:5])
    assert sum(n for (op, code), n in counts.items() if code == 0) > WORKERS

    final = kp.run("--json", "verify-store")
    assert final.code == 0, final
    assert final.json()["failed"] == 0
    wal = kp.store / "store" / "wal"
    assert not list(wal.glob("*.json"))
    for env in kp.ok("--json", "list").json():
        assert env["state"] == "Built", env
