"""Full disk: the store on a small tmpfs, mounted inside a user and mount
namespace that the test creates (no root needed)."""
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import binary


def test_store_operations_on_full_disk(workdir):
    if not shutil.which("unshare"):
        pytest.skip("unshare (util-linux) is not installed")
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot create a user and mount namespace: {probe.stderr.decode().strip()}")
    scenario = Path(__file__).with_name("enospc_scenario.py")
    proc = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "/usr/bin/python3", str(scenario),
         str(binary("karapace")), str(workdir)],
        capture_output=True, text=True, timeout=300)
    print(proc.stdout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
