"""Run inside a new user and mount namespace (see test_full_disk.py):
mount a small tmpfs as the store, fill it, and check that build, commit and
restore fail cleanly with an error naming the lack of space, then succeed
once space is freed. Exits 0 when every check holds; prints what failed."""
import json
import os
import subprocess
import sys
from pathlib import Path

karapace, work = sys.argv[1], Path(sys.argv[2])
store = work / "store"
store.mkdir()
subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(store)], check=True)

MOCK = '''manifest_version = 1

[base]
image = "rolling"

[system]
packages = [{}]

[runtime]
backend = "mock"
'''


def manifest(name, packages):
    d = work / name
    d.mkdir(exist_ok=True)
    (d / "karapace.toml").write_text(MOCK.format(", ".join(f'"{p}"' for p in packages)))
    return str(d / "karapace.toml")


def kp(*args):
    proc = subprocess.run([karapace, "--store", str(store), *map(str, args)], capture_output=True, text=True)
    return proc.returncode, proc.stdout, proc.stderr


def check(condition, what):
    if not condition:
        print(f"FAILED: {what}")
        sys.exit(1)
    print(f"ok: {what}")


def consistent():
    code, out, err = kp("--json", "verify-store")
    check(code == 0 and json.loads(out)["failed"] == 0, f"verify-store clean ({out.strip()} {err.strip()})")
    wal = store / "store" / "wal"
    check(not list(wal.glob("*.json")), "no write-ahead log entries left")
    check(not [p for p in (store / "env").iterdir() if p.name.startswith(".")], "no staging directories left in env/")


def fill(leave=0):
    """Fill the tmpfs, then free LEAVE bytes so that small writes (the
    write-ahead log) still fit and the operation fails further in."""
    filler = store / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        while True:
            os.write(fd, b"\1" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)
    if leave:
        os.truncate(filler, max(0, filler.stat().st_size - leave))
    return filler


code, out, err = kp("--json", "build", manifest("a", ["git"]))
check(code == 0, f"build a on an empty tmpfs ({err.strip()})")
env_a = json.loads(out)["env_id"]
upper = store / "env" / env_a / "upper"
(upper / "data.bin").write_bytes(os.urandom(64 * 1024))
code, out, err = kp("--json", "commit", env_a)
check(code == 0, "first commit")
snapshot = json.loads(out)["snapshot_hash"]
(upper / "data.bin").write_bytes(os.urandom(300 * 1024))
(upper / "more.bin").write_bytes(os.urandom(300 * 1024))

filler = fill(leave=48 * 1024)

code, out, err = kp("commit", env_a)
check(code != 0 and "No space left on device" in err, f"commit fails naming the lack of space: {err.strip()}")
code, out, err = kp("--json", "snapshots", env_a)
check(code == 0 and len(json.loads(out)["snapshots"]) == 1, "no partial snapshot listed")
consistent()

fill()
code, out, err = kp("build", manifest("b", ["curl"]))
check(code != 0 and "No space left on device" in err, f"build fails naming the lack of space: {err.strip()}")
code, out, err = kp("--json", "list")
check(code == 0 and [e["env_id"] for e in json.loads(out)] == [env_a], "only the first environment is listed")
consistent()

before = (upper / "data.bin").read_bytes()
fill(leave=32 * 1024)
code, out, err = kp("restore", env_a, snapshot)
check(code != 0 and "No space left on device" in err, f"restore fails naming the lack of space: {err.strip()}")
check((upper / "data.bin").read_bytes() == before and (upper / "more.bin").exists(), "upper directory untouched")
consistent()

filler.unlink()
check(kp("commit", env_a)[0] == 0, "commit succeeds after freeing space")
check(kp("build", manifest("b", ["curl"]))[0] == 0, "build succeeds after freeing space")
check(kp("restore", env_a, snapshot)[0] == 0, "restore succeeds after freeing space")
check(len((upper / "data.bin").read_bytes()) == 64 * 1024 and not (upper / "more.bin").exists(),
      "restored content is the snapshot's")
consistent()
