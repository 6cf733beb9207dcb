"""Base images through image_ensure(): URL images with digests, the
linuxcontainers server protocol, offline mode, interrupted downloads, the
per-image lock and the mmdebstrap bootstrap.

The tests drive the test-image program of the build (tests/unit/test-image.c,
run with arguments) against an HTTP server on 127.0.0.1 that serves a tiny
rootfs made from Debian's busybox-static package.
"""
import hashlib
import io
import json
import os
import platform
import shutil
import stat
import subprocess
import tarfile
from pathlib import Path

import pytest

from conftest import BUILD_DIR
from image_server import ImageServer

BUSYBOX_APPLETS = ["sh", "ls", "cat", "echo", "true", "id"]

SERVER_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "riscv64": "riscv64", "ppc64le": "ppc64el",
               "s390x": "s390x"}.get(platform.machine(), "amd64")


def driver_path():
    path = BUILD_DIR / "tests" / "test-image"
    if not path.is_file():
        pytest.fail(f"test driver {path} not found; build with meson first")
    return path


def run_driver(*args, env, timeout=300):
    return subprocess.run([str(driver_path()), *map(str, args)], capture_output=True, text=True, env=env,
                          timeout=timeout)


def ensure(store, image, env, offline=False):
    args = ["ensure", store, image] + (["--offline"] if offline else [])
    return run_driver(*args, env=env)


def ensure_ok(store, image, env, offline=False):
    proc = ensure(store, image, env, offline)
    assert proc.returncode == 0, f"ensure {image} failed:\n{proc.stderr}"
    return json.loads(proc.stdout), proc.stderr


def remove_tree(path, env):
    """Remove PATH even when it contains files owned by subordinate ids."""
    if Path(path).exists():
        run_driver("remove", path, env=env)
        shutil.rmtree(path, ignore_errors=True)


# ---- Fixtures ------------------------------------------------------------------


@pytest.fixture(scope="session")
def busybox(tmp_path_factory):
    """Path of a statically linked busybox from Debian's busybox-static."""
    work = tmp_path_factory.mktemp("busybox")
    debs = sorted(Path("/var/cache/apt/archives").glob("busybox-static_*.deb"))
    if not debs:
        proc = subprocess.run(["apt-get", "download", "busybox-static"], cwd=work, capture_output=True, text=True)
        if proc.returncode != 0:
            pytest.skip(f"busybox-static is not available: {proc.stderr.strip()}")
        debs = sorted(work.glob("busybox-static_*.deb"))
    subprocess.run(["dpkg-deb", "-x", str(debs[-1]), str(work / "pkg")], check=True)
    binary = work / "pkg" / "bin" / "busybox"
    assert binary.is_file()
    return binary


def make_rootfs(path, busybox, motd):
    """Write a tar.xz with busybox, its applet links, a user's home
    directory owned by 1000 and a device node (which extraction skips)."""

    def add(tar, name, kind=tarfile.REGTYPE, data=b"", mode=0o644, uid=0, gid=0, target=""):
        info = tarfile.TarInfo(name)
        info.type = kind
        info.mode = mode
        info.uid, info.gid = uid, gid
        info.mtime = 1700000000
        info.linkname = target
        info.size = len(data) if kind == tarfile.REGTYPE else 0
        if kind == tarfile.CHRTYPE:
            info.devmajor, info.devminor = 1, 3
        tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)

    with tarfile.open(path, "w:xz", format=tarfile.PAX_FORMAT) as tar:
        add(tar, ".", tarfile.DIRTYPE, mode=0o755)
        for d in ("bin", "etc", "dev", "home", "tmp"):
            add(tar, d, tarfile.DIRTYPE, mode=0o1777 if d == "tmp" else 0o755)
        add(tar, "bin/busybox", data=busybox.read_bytes(), mode=0o755)
        for applet in BUSYBOX_APPLETS:
            add(tar, f"bin/{applet}", tarfile.SYMTYPE, target="busybox")
        add(tar, "etc/passwd", data=b"root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n")
        add(tar, "etc/group", data=b"root:x:0:\nuser:x:1000:\n")
        add(tar, "etc/motd", data=motd.encode())
        add(tar, "home/user", tarfile.DIRTYPE, mode=0o755, uid=1000, gid=1000)
        add(tar, "dev/null", tarfile.CHRTYPE, mode=0o666)
    return path


@pytest.fixture
def env(tmp_path):
    """Environment for the driver: its own config directory, no image
    server override unless a test sets one."""
    e = dict(os.environ)
    e["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    e.pop("KARAPACE_IMAGE_SERVER", None)
    e.pop("KARAPACE_LOG", None)
    return e


@pytest.fixture
def store(tmp_path, env):
    path = tmp_path / "store"
    yield path
    remove_tree(path, env)


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    srv = ImageServer(root)
    yield srv
    srv.stop()


def publish(server, busybox, rel, motd="welcome\n"):
    path = server.root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    make_rootfs(path, busybox, motd)
    return path


def cache_dir(store, key):
    return Path(store) / "images" / key


def assert_not_cached(store, key):
    d = cache_dir(store, key)
    leftovers = sorted(p.name for p in d.iterdir()) if d.exists() else []
    assert leftovers == [], f"{d} holds {leftovers}"


# ---- URL images ------------------------------------------------------------------


def test_url_image_with_sha256(server, busybox, store, env):
    tarball = publish(server, busybox, "images/rootfs.tar.xz")
    sha = hashlib.sha256(tarball.read_bytes()).hexdigest()

    info, stderr = ensure_ok(store, server.url(f"images/rootfs.tar.xz#sha256={sha}"), env)

    rootfs = Path(info["rootfs"])
    assert info["cache_key"].startswith("custom-")
    assert (rootfs / "bin" / "busybox").is_file()
    assert os.readlink(rootfs / "bin" / "sh") == "busybox"
    assert (rootfs / "etc" / "motd").read_text() == "welcome\n"
    assert not (rootfs / "dev" / "null").exists()
    assert "[karapace] skipped 1 device nodes" in stderr
    assert (cache_dir(store, info["cache_key"]) / "digest").read_text() == info["digest"]
    # The verified download is removed once the image is complete.
    assert sorted(p.name for p in cache_dir(store, info["cache_key"]).iterdir()) == ["digest", "rootfs"]


@pytest.mark.skipif(shutil.which("b3sum") is None, reason="b3sum is not installed")
def test_url_image_with_blake3(server, busybox, store, env):
    tarball = publish(server, busybox, "b3/rootfs.tar.xz")
    b3 = subprocess.run(["b3sum", "--no-names", str(tarball)], capture_output=True, text=True,
                        check=True).stdout.strip()

    info, _ = ensure_ok(store, server.url(f"b3/rootfs.tar.xz#blake3={b3}"), env)
    assert (Path(info["rootfs"]) / "etc" / "passwd").is_file()


def test_url_image_wrong_digest(server, busybox, store, env):
    publish(server, busybox, "images/rootfs.tar.xz")
    wrong = "0" * 64
    image = server.url(f"images/rootfs.tar.xz#sha256={wrong}")

    proc = ensure(store, image, env)

    assert proc.returncode == 1
    assert f"digest mismatch for {server.url('images/rootfs.tar.xz')}: expected sha256 {wrong}, got" in proc.stderr
    assert "nothing was cached" in proc.stderr
    keys = [p.name for p in (Path(store) / "images").iterdir() if p.is_dir()]
    assert len(keys) == 1
    assert_not_cached(store, keys[0])

    # Offline, the image is still not cached.
    proc = ensure(store, image, env, offline=True)
    assert proc.returncode == 1
    assert "is not cached" in proc.stderr


def test_interrupted_download_leaves_nothing(server, busybox, store, env):
    publish(server, busybox, "cut/rootfs.tar.xz")
    server.truncate("cut/rootfs.tar.xz")
    image = server.url("cut/rootfs.tar.xz")

    proc = ensure(store, image, env)

    assert proc.returncode == 1
    assert f"failed to download {image}" in proc.stderr
    keys = [p.name for p in (Path(store) / "images").iterdir() if p.is_dir()]
    assert len(keys) == 1
    assert_not_cached(store, keys[0])

    # Once the server sends the whole file, the same image works.
    server.truncate("cut/rootfs.tar.xz", enabled=False)
    info, _ = ensure_ok(store, image, env)
    assert info["cache_key"] == keys[0]


def test_url_bad_tarball_not_kept(server, busybox, store, env):
    bad = server.root / "bad" / "rootfs.tar.xz"
    bad.parent.mkdir()
    bad.write_bytes(b"this is not a tarball")
    image = server.url("bad/rootfs.tar.xz")

    proc = ensure(store, image, env)

    assert proc.returncode == 1
    assert "failed to extract rootfs tarball of Custom (" in proc.stderr
    assert "invalid image tarball" in proc.stderr
    keys = [p.name for p in (Path(store) / "images").iterdir() if p.is_dir()]
    assert_not_cached(store, keys[0])

    # The broken download was not kept: a fixed file is downloaded again.
    publish(server, busybox, "bad/rootfs.tar.xz", "fixed\n")
    info, _ = ensure_ok(store, image, env)
    assert (Path(info["rootfs"]) / "etc" / "motd").read_text() == "fixed\n"


def test_missing_url(server, store, env):
    proc = ensure(store, server.url("nothing/rootfs.tar.xz"), env)

    assert proc.returncode == 1
    assert "failed to download" in proc.stderr
    assert "404" in proc.stderr


# ---- The image server protocol ------------------------------------------------------


def publish_builds(server, busybox, distro, variant, builds):
    """BUILDS: {build name: motd}. A broken tarball for motd None."""
    base = f"images/{distro}/{variant}/{SERVER_ARCH}/default"
    for build, motd in builds.items():
        if motd is None:
            path = server.root / base / build / "rootfs.tar.xz"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"not a tarball")
        else:
            publish(server, busybox, f"{base}/{build}/rootfs.tar.xz", motd)
    return base


def test_alias_uses_latest_build(server, busybox, store, env):
    base = publish_builds(server, busybox, "debian", "bookworm", {
        "20260219_05:24": None,
        "20260221_05:24": "newest\n",
        "20260220_05:24": None,
    })
    env["KARAPACE_IMAGE_SERVER"] = server.base_url + "/"

    info, stderr = ensure_ok(store, "debian", env)

    assert info["cache_key"] == "debian-bookworm"
    assert info["display_name"] == "Debian Bookworm"
    assert (Path(info["rootfs"]) / "etc" / "motd").read_text() == "newest\n"
    assert "[karapace] resolving image URL for Debian Bookworm..." in stderr
    assert f"/{base}/" in server.requests
    assert f"/{base}/20260221_05%3A24/rootfs.tar.xz" in server.requests


def test_image_server_from_config_file(server, busybox, store, env, tmp_path):
    publish_builds(server, busybox, "archlinux", "current", {"20260301_04:18": "arch\n"})
    config = tmp_path / "config" / "karapace"
    config.mkdir(parents=True)
    (config / "config.toml").write_text(f'image_server = "{server.base_url}"\n')

    info, _ = ensure_ok(store, "arch", env)

    assert info["cache_key"] == "archlinux"
    assert (Path(info["rootfs"]) / "etc" / "motd").read_text() == "arch\n"


def test_index_without_builds(server, store, env):
    base = f"images/fedora/41/{SERVER_ARCH}/default"
    (server.root / base / "not-a-build").mkdir(parents=True)
    env["KARAPACE_IMAGE_SERVER"] = server.base_url

    proc = ensure(store, "fedora", env)

    assert proc.returncode == 1
    assert f"no builds found at {server.base_url}/{base}/" in proc.stderr


def test_offline_mode(server, busybox, store, env):
    publish_builds(server, busybox, "ubuntu", "noble", {"20260301_07:42": "noble\n"})
    env["KARAPACE_IMAGE_SERVER"] = server.base_url

    proc = ensure(store, "ubuntu/24.04", env, offline=True)
    assert proc.returncode == 1
    assert "offline mode: base image 'Ubuntu 24.04 (Noble)' is not cached" in proc.stderr
    assert server.requests == []

    first, _ = ensure_ok(store, "ubuntu/24.04", env)
    served = len(server.requests)

    again, stderr = ensure_ok(store, "ubuntu/noble", env, offline=True)
    assert again == first
    assert "[karapace] using cached image: Ubuntu 24.04 (Noble)" in stderr
    assert len(server.requests) == served


def test_concurrent_ensure_extracts_once(server, busybox, store, env):
    publish(server, busybox, "shared/rootfs.tar.xz")
    image = server.url("shared/rootfs.tar.xz")
    argv = [str(driver_path()), "ensure", str(store), image]

    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for _ in range(3)]
    results = [p.communicate(timeout=300) for p in procs]

    assert [p.returncode for p in procs] == [0, 0, 0], results
    digests = {json.loads(out)["digest"] for out, _ in results}
    assert len(digests) == 1
    extractions = sum("extracting rootfs..." in err for _, err in results)
    assert extractions == 1, results


def test_verify_after_tampering(server, busybox, store, env):
    publish(server, busybox, "v/rootfs.tar.xz")
    info, _ = ensure_ok(store, server.url("v/rootfs.tar.xz"), env)

    proc = run_driver("verify", store, info["cache_key"], env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"complete": True, "ok": True, "expected": info["digest"],
                                       "actual": info["digest"]}

    (Path(info["rootfs"]) / "etc" / "motd").write_text("changed\n")
    proc = run_driver("verify", store, info["cache_key"], env=env)
    result = json.loads(proc.stdout)
    assert result["complete"] is True
    assert result["ok"] is False
    assert result["actual"] != info["digest"]


def test_file_image(busybox, store, env, tmp_path):
    tarball = make_rootfs(tmp_path / "Local-RootFS.tar.xz", busybox, "local\n")

    info, _ = ensure_ok(store, f"file://{tarball}", env, offline=True)

    assert info["display_name"] == f"Local ({tarball})"
    assert (Path(info["rootfs"]) / "etc" / "motd").read_text() == "local\n"
    proc = run_driver("digest", info["rootfs"], env=env)
    assert proc.stdout.strip() == info["digest"]


# ---- Bootstrap with mmdebstrap ------------------------------------------------------


@pytest.fixture(scope="session")
def bootstrap_store(tmp_path_factory):
    """A store with bootstrap:debian/bookworm, built once per session (and
    reused across sessions when KARAPACE_TEST_CACHE names a directory)."""
    if shutil.which("mmdebstrap") is None:
        pytest.skip("mmdebstrap is not installed")
    cached = os.environ.get("KARAPACE_TEST_CACHE")
    path = Path(cached) / "image-store" if cached else tmp_path_factory.mktemp("bootstrap") / "store"
    e = dict(os.environ)
    e["XDG_CONFIG_HOME"] = str(tmp_path_factory.mktemp("bootstrap-config"))
    proc = subprocess.run([str(driver_path()), "ensure", str(path), "bootstrap:debian/bookworm"],
                          capture_output=True, text=True, env=e, timeout=1200)
    assert proc.returncode == 0, f"bootstrap failed:\n{proc.stderr}"
    yield path, json.loads(proc.stdout), proc.stderr, e
    if not cached:
        remove_tree(path, e)


@pytest.mark.slow
def test_bootstrap_debian_bookworm(bootstrap_store):
    store_path, info, stderr, e = bootstrap_store
    rootfs = Path(info["rootfs"])

    assert info["cache_key"] == "bootstrap-debian-bookworm"
    assert (rootfs / "etc" / "debian_version").read_text().startswith("12.")
    assert (rootfs / "usr" / "bin" / "apt-get").is_file()
    # mmdebstrap's tarball contains /dev nodes, which extraction skips.
    assert not (rootfs / "dev" / "null").exists()

    again, stderr = ensure_ok(store_path, "bootstrap:debian/bookworm", e, offline=True)
    assert again == info
    assert "using cached image" in stderr


# ---- The digest format -------------------------------------------------------------


def b3sum_hex(data):
    return subprocess.run(["b3sum", "--no-names"], input=data, capture_output=True, check=True).stdout.decode().strip()


def documented_digest(root, own_ids_as_root):
    """The digest of ROOT computed as docs/image-digest.md describes it.
    With OWN_IDS_AS_ROOT, files of this process's uid and gid count as
    owned by 0, as inside the user namespace the driver uses."""

    def counted(s):
        raw = os.fsencode(s)
        return str(len(raw)).encode() + b":" + raw

    def head(kind, st, rel):
        uid, gid = st.st_uid, st.st_gid
        if own_ids_as_root:
            uid = 0 if uid == os.getuid() else uid
            gid = 0 if gid == os.getgid() else gid
        return f"{kind} {stat.S_IMODE(st.st_mode):04o} {uid} {gid} ".encode() + counted(rel) + b" "

    paths = []
    for parent, dirs, files in os.walk(root):
        paths += [os.path.relpath(os.path.join(parent, n), root) for n in dirs + files]
    paths.sort(key=os.fsencode)

    out = b"karapace-image-digest 1\n" + head("d", os.lstat(root), "") + b"-\n"
    first_path = {}
    for rel in paths:
        full = os.path.join(root, rel)
        st = os.lstat(full)
        inode = (st.st_dev, st.st_ino)
        if not stat.S_ISDIR(st.st_mode) and st.st_nlink > 1 and inode in first_path:
            out += head("h", st, rel) + counted(first_path[inode]) + b"\n"
            continue
        first_path.setdefault(inode, rel)
        if stat.S_ISDIR(st.st_mode):
            out += head("d", st, rel) + b"-\n"
        elif stat.S_ISLNK(st.st_mode):
            out += head("l", st, rel) + counted(os.readlink(full)) + b"\n"
        elif stat.S_ISREG(st.st_mode):
            data = Path(full).read_bytes()
            out += head("f", st, rel) + f"{len(data)} {b3sum_hex(data)}".encode() + b"\n"
        elif stat.S_ISFIFO(st.st_mode):
            out += head("p", st, rel) + b"-\n"
    return b3sum_hex(out)


@pytest.mark.skipif(shutil.which("b3sum") is None, reason="b3sum is not installed")
def test_digest_matches_documented_format(tmp_path, env):
    root = tmp_path / "tree"
    (root / "etc").mkdir(parents=True)
    (root / "usr" / "bin").mkdir(parents=True)
    (root / "etc" / "hostname").write_text("box\n")
    (root / "etc" / "name with\nnewline").write_text("odd\n")
    (root / "usr" / "bin" / "tool").write_bytes(b"\x7fELF" + bytes(range(256)) * 40)
    os.chmod(root / "usr" / "bin" / "tool", 0o4755)
    os.link(root / "usr" / "bin" / "tool", root / "usr" / "bin" / "tool-link")
    os.symlink("usr/bin", root / "bin")
    os.mkfifo(root / "fifo")
    os.chmod(root / "fifo", 0o600)

    proc = run_driver("digest", root, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == documented_digest(root, own_ids_as_root=os.geteuid() != 0)


# ---- Through the karapace command ----------------------------------------------


def karapace(store, project, env, *args, timeout=300):
    from conftest import binary
    return subprocess.run([str(binary("karapace")), "--store", str(store), *map(str, args)], cwd=project,
                          env=env, capture_output=True, text=True, timeout=timeout)


def write_manifest(project, image):
    project.mkdir(parents=True, exist_ok=True)
    (project / "karapace.toml").write_text(
        f'manifest_version = 1\n\n[base]\nimage = "{image}"\n\n[runtime]\nbackend = "namespace"\n')


def test_cli_build_and_exec_from_image_server(server, busybox, store, env, tmp_path):
    publish_builds(server, busybox, "debian", "bookworm", {"20260221_05:24": "from the server\n"})
    env["KARAPACE_IMAGE_SERVER"] = server.base_url + "/"
    project = tmp_path / "project"
    write_manifest(project, "debian/bookworm")

    build = karapace(store, project, env, "--json", "build")
    assert build.returncode == 0, build.stderr
    env_id = json.loads(build.stdout)["env_id"]
    run = karapace(store, project, env, "exec", env_id, "--", "cat", "/etc/motd")
    assert run.returncode == 0, run.stderr
    assert run.stdout == "from the server\n"
    assert 'base_image = "debian/bookworm"' in (project / "karapace.lock").read_text()


def test_cli_pin_writes_the_latest_build_url(server, busybox, store, env, tmp_path):
    base = publish_builds(server, busybox, "debian", "bookworm", {"20260221_05:24": "x\n", "20260222_05:24": "y\n"})
    env["KARAPACE_IMAGE_SERVER"] = server.base_url + "/"
    project = tmp_path / "project"
    write_manifest(project, "debian")

    check = karapace(store, project, env, "pin", "--check")
    assert check.returncode == 1
    assert "is not pinned" in check.stderr

    pin = karapace(store, project, env, "--json", "pin")
    assert pin.returncode == 0, pin.stderr
    url = f"{server.base_url}/{base}/20260222_05%3a24/rootfs.tar.xz".lower()
    assert json.loads(pin.stdout)["base_image"].lower() == url
    assert f'image = "{json.loads(pin.stdout)["base_image"]}"' in (project / "karapace.toml").read_text()
    assert karapace(store, project, env, "pin", "--check").returncode == 0


def test_cli_url_image_wrong_digest_rejected(server, busybox, store, env, tmp_path):
    publish(server, busybox, "images/rootfs.tar.xz")
    project = tmp_path / "project"
    write_manifest(project, f"{server.base_url}/images/rootfs.tar.xz#sha256={'0' * 64}")

    build = karapace(store, project, env, "build")
    assert build.returncode != 0
    assert "0" * 64 in build.stderr, build.stderr
    assert not (project / "karapace.lock").exists()
    images = Path(store) / "images"
    assert not images.exists() or not [p for p in images.iterdir() if (p / "digest").exists()]
