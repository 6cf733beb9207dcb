"""Shared fixtures for the integration tests.

The tests drive the built binaries. KARAPACE_BUILD_DIR names the build
directory (default: <repo>/build). Set KARAPACE_TEST_KEEP=1 to keep each
test's temporary directory for debugging.
"""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_DIR = Path(os.environ.get("KARAPACE_BUILD_DIR", REPO_ROOT / "build"))
SHARED_DIR = REPO_ROOT.parent / "shared"


def binary(name):
    """Path of a built program, searched in the build directory."""
    for candidate in (BUILD_DIR / "src" / "cli" / name, BUILD_DIR / "tools" / name,
                      BUILD_DIR / name):
        if candidate.is_file():
            return candidate
    pytest.fail(f"built program '{name}' not found under {BUILD_DIR}; run scripts/test")


class Result:
    """Outcome of one karapace invocation."""

    def __init__(self, argv, proc):
        self.argv = argv
        self.code = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr

    def json(self):
        try:
            return json.loads(self.stdout)
        except json.JSONDecodeError as e:
            raise AssertionError(f"stdout of {self.argv} is not JSON ({e}):\n{self.stdout}")

    def __repr__(self):
        return (f"<{' '.join(map(str, self.argv))} exited {self.code}>\n"
                f"stdout:\n{self.stdout}\nstderr:\n{self.stderr}")


class Karapace:
    """Runs the karapace CLI against one throw-away store."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.store = workdir / "store"
        self.project = workdir / "project"
        self.project.mkdir(parents=True, exist_ok=True)
        self.env = dict(os.environ)
        self.env["HOME"] = str(workdir / "home")
        (workdir / "home").mkdir(exist_ok=True)
        self.env.pop("KARAPACE_LOG", None)
        self.env["NO_COLOR"] = "1"

    def run(self, *args, cwd=None, input=None, timeout=120, store=True, env=None):
        argv = [str(binary("karapace"))]
        if store:
            argv += ["--store", str(self.store)]
        argv += [str(a) for a in args]
        proc = subprocess.run(argv, cwd=cwd or self.project, input=input, capture_output=True,
                              text=True, timeout=timeout, env=env or self.env)
        return Result(argv, proc)

    def ok(self, *args, **kwargs):
        result = self.run(*args, **kwargs)
        assert result.code == 0, result
        return result

    def write_manifest(self, text, name="karapace.toml"):
        path = self.project / name
        path.write_text(text)
        return path


@pytest.fixture
def workdir(tmp_path, request):
    yield tmp_path
    if os.environ.get("KARAPACE_TEST_KEEP") == "1":
        print(f"kept {tmp_path} for {request.node.name}")
        return
    # Leave nothing behind even when a test made directories read-only.
    for root, dirs, _ in os.walk(tmp_path):
        for d in dirs:
            try:
                os.chmod(os.path.join(root, d), 0o755)
            except OSError:
                pass
    shutil.rmtree(tmp_path, ignore_errors=True)


@pytest.fixture
def kp(workdir):
    return Karapace(workdir)


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes tens of seconds (bootstraps a Debian base)")


def remove_tree(path):
    """Remove PATH, including files that a sandbox created under subordinate
    ids, which only a user namespace with the caller's id range can delete."""
    shutil.rmtree(path, ignore_errors=True)
    if os.path.exists(path) and os.geteuid() != 0 and shutil.which("unshare"):
        subprocess.run(["unshare", "--map-root-user", "--map-auto", "rm", "-rf", str(path)],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
