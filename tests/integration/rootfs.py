"""A tiny busybox root filesystem for sandbox tests.

The tree comes from Debian's busybox-static package: the .deb is taken from
/var/cache/apt/archives, or fetched with `apt-get download` into a temporary
directory, and unpacked with `dpkg-deb -x`. Busybox applets are linked as
symlinks (the `busybox --install -s` layout), and /etc holds passwd and group
with root and one user. usr/lib/locale holds only C.utf8, so other locales
count as missing. There is no package manager in it.

build_rootfs_tarball() caches the result under the directory it is given, or
under KARAPACE_TEST_ROOTFS when that names a directory.
"""
import glob
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

APPLETS = [
    "sh", "ash", "true", "false", "cat", "echo", "ls", "id", "sleep", "env", "kill", "mkdir", "rm", "touch",
    "test", "[", "readlink", "stat", "hostname", "ps", "head", "tail", "wc", "grep", "sed", "tr", "mv", "cp",
    "chown", "chmod", "ln", "uname", "printf", "pwd", "whoami", "yes", "mknod", "find", "sort", "tty", "stty",
    "mount", "xargs", "dd", "basename", "dirname", "seq", "date", "ip", "ifconfig", "cut",
]

PASSWD = "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:Test User:/home/user:/bin/sh\n"
GROUP = "root:x:0:\ntty:x:5:\nuser:x:1000:\n"


def find_busybox_deb(workdir):
    """Path of a busybox-static .deb, downloading one into WORKDIR if needed."""
    cached = sorted(glob.glob("/var/cache/apt/archives/busybox-static_*.deb"))
    if cached:
        return Path(cached[-1])
    subprocess.run(["apt-get", "download", "busybox-static"], cwd=workdir, check=True,
                   capture_output=True)
    found = sorted(Path(workdir).glob("busybox-static_*.deb"))
    if not found:
        raise RuntimeError("apt-get download busybox-static produced no .deb")
    return found[-1]


def build_rootfs_dir(target):
    """Create the busybox tree in TARGET (which must not exist)."""
    target = Path(target)
    with tempfile.TemporaryDirectory() as work:
        deb = find_busybox_deb(work)
        unpacked = Path(work) / "unpacked"
        subprocess.run(["dpkg-deb", "-x", str(deb), str(unpacked)], check=True)
        busybox = unpacked / "bin" / "busybox"
        if not busybox.is_file():
            raise RuntimeError(f"{deb} has no bin/busybox")

        for d in ["bin", "etc", "root", "tmp", "proc", "sys", "dev", "run", "home/user", "usr/bin",
                  "var/tmp", "usr/share/doc/sample", "usr/lib/locale/C.utf8"]:
            (target / d).mkdir(parents=True, exist_ok=True)
        shutil.copy2(busybox, target / "bin" / "busybox")
        os.chmod(target / "bin" / "busybox", 0o755)
        for applet in APPLETS:
            (target / "bin" / applet).symlink_to("busybox")
        (target / "etc" / "passwd").write_text(PASSWD)
        (target / "etc" / "group").write_text(GROUP)
        (target / "etc" / "hostname").write_text("busybox\n")
        (target / "etc" / "motd").write_text("lower layer file\n")
        # A directory with content, to hide behind an opaque directory.
        (target / "usr" / "share" / "doc" / "sample" / "a").write_text("a\n")
        (target / "usr" / "share" / "doc" / "sample" / "b").write_text("b\n")
        os.chmod(target / "tmp", 0o1777)
    return target


def owned_by_root(info):
    """Tar filter: every entry belongs to root, whoever built the tree."""
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def build_rootfs_tarball(cache_dir):
    """A gzip tarball of the busybox tree, built once per cache directory."""
    override = os.environ.get("KARAPACE_TEST_ROOTFS")
    cache_dir = Path(override) if override else Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tarball = cache_dir / "busybox-rootfs.tar.gz"
    if tarball.is_file():
        return tarball

    with tempfile.TemporaryDirectory(dir=cache_dir) as work:
        tree = build_rootfs_dir(Path(work) / "rootfs")
        partial = Path(work) / "rootfs.tar.gz"
        with tarfile.open(partial, "w:gz") as tar:
            for entry in sorted(tree.iterdir()):
                tar.add(entry, arcname=entry.name, filter=owned_by_root)
        os.replace(partial, tarball)
    return tarball
