"""Real packages on a real Debian base: versions pinned in karapace.lock,
installed exactly with build --locked, and failures that leave nothing
behind. The base is bootstrapped with mmdebstrap from the host's Debian
mirror once per test module (about a minute with the package installs)."""
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import Karapace, remove_tree

MANIFEST = """manifest_version = 1

[base]
image = "bootstrap:debian/bookworm"

[system]
packages = [{packages}]

[runtime]
backend = "namespace"
"""

pytestmark = pytest.mark.slow


def needs_debian_base():
    if not shutil.which("mmdebstrap"):
        pytest.skip("mmdebstrap is not installed")
    if not Path("/etc/debian_version").exists():
        pytest.skip("the host is not Debian-based")


@pytest.fixture(scope="module")
def debian(tmp_path_factory):
    needs_debian_base()
    kp = Karapace(tmp_path_factory.mktemp("packages"))
    path = kp.write_manifest(MANIFEST.format(packages='"hello", "libstdc++6"'))
    result = kp.run("--json", "build", "--name", "deb", timeout=1200)
    assert result.code == 0, result
    kp.env_id = result.json()["env_id"]
    kp.lock_text = (path.parent / "karapace.lock").read_text()
    yield kp
    remove_tree(kp.workdir)


def locked_versions(lock_text):
    return dict(re.findall(r'name = "([^"]+)"\nversion = "([^"]+)"', lock_text))


def test_lock_records_installed_versions(debian):
    versions = locked_versions(debian.lock_text)
    assert set(versions) == {"hello", "libstdc++6"}
    out = debian.ok("exec", "deb", "--", "dpkg-query", "-W", "-f", "${Package} ${Version}\\n", "hello",
                    "libstdc++6").stdout
    installed = dict(line.split(" ", 1) for line in out.splitlines())
    assert installed == versions
    assert debian.ok("exec", "deb", "--", "hello").stdout == "Hello, world!\n"


def test_locked_rebuild_in_fresh_store(debian, tmp_path):
    """Another machine with only the manifest and the lock: a new store
    (its own bootstrap) installs the locked versions and gets the same id."""
    fresh = Karapace(tmp_path)
    (fresh.project / "karapace.toml").write_text((debian.project / "karapace.toml").read_text())
    (fresh.project / "karapace.lock").write_text(debian.lock_text)
    result = fresh.run("--json", "build", "--locked", timeout=1200)
    assert result.code == 0, result
    assert result.json()["env_id"] == debian.env_id
    # --locked never rewrites the lock.
    assert (fresh.project / "karapace.lock").read_text() == debian.lock_text
    assert fresh.ok("exec", debian.env_id, "--", "hello").stdout == "Hello, world!\n"
    fresh.ok("destroy", debian.env_id)
    remove_tree(fresh.store)


def test_locked_rebuild_after_destroy_and_gc(debian):
    debian.ok("destroy", "deb")
    debian.ok("gc")
    assert debian.ok("--json", "list").json() == []
    result = debian.run("--json", "build", "--locked", timeout=1200)
    assert result.code == 0, result
    assert result.json()["env_id"] == debian.env_id
    assert debian.ok("exec", debian.env_id, "--", "hello").stdout == "Hello, world!\n"


def env_id_of(base_digest, packages, backend="namespace"):
    """The canonical identity of a lock: BLAKE3 over the concatenated fields."""
    data = f"base_digest:{base_digest}"
    for name, version in sorted(packages.items()):
        data += f"pkg:{name}@{version}"
    data += f"backend:{backend}"
    proc = subprocess.run(["b3sum", "--no-names"], input=data.encode(), capture_output=True, check=True)
    return proc.stdout.decode().strip()


def test_locked_version_no_longer_available(debian):
    digest = re.search(r'base_image_digest = "([0-9a-f]+)"', debian.lock_text).group(1)
    versions = locked_versions(debian.lock_text)
    versions["hello"] = "0.0.1-karapace-missing"
    env_id = env_id_of(digest, versions)
    lock = re.sub(r'(name = "hello"\nversion = )"[^"]+"', r'\1"0.0.1-karapace-missing"', debian.lock_text)
    lock = re.sub(r'env_id = "[0-9a-f]+"', f'env_id = "{env_id}"', lock)
    lock = re.sub(r'short_id = "[0-9a-f]+"', f'short_id = "{env_id[:12]}"', lock)
    (debian.project / "karapace.lock").write_text(lock)
    try:
        result = debian.run("build", "--locked", timeout=1200)
        assert result.code != 0, result
        # apt's own message names the version it cannot find.
        assert "0.0.1-karapace-missing" in result.stderr, result
        assert env_id not in [e["env_id"] for e in debian.ok("--json", "list").json()]
        assert not (debian.store / "env" / env_id).exists()
        assert not [p for p in (debian.store / "env").iterdir() if p.name.startswith(".")]
    finally:
        (debian.project / "karapace.lock").write_text(debian.lock_text)


def test_failing_install_shows_apt_error(debian):
    other = debian.project / "broken"
    other.mkdir()
    (other / "karapace.toml").write_text(MANIFEST.format(packages='"karapace-no-such-package"'))
    before = sorted(os.listdir(debian.store / "env"))
    result = debian.run("build", other / "karapace.toml", timeout=1200)
    assert result.code != 0, result
    assert "Unable to locate package karapace-no-such-package" in result.stderr, result
    assert sorted(os.listdir(debian.store / "env")) == before
    assert not (other / "karapace.lock").exists()
