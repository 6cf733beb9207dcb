"""The namespace sandbox through the karapace command line: exec and enter,
stdio and exit codes, the overlay with commit and restore, the environment
filter, /proc and /dev, network isolation, mounts, stop, concurrent sessions
and destroy.

Environments are built from a busybox rootfs tarball (see rootfs.py) as a
file:// image. The tests pass both as root and as a user with a subordinate
id range; tests that only make sense without root are marked so.
"""
import os
import pty
import select
import signal
import stat
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import binary
from rootfs import build_rootfs_tarball



def has_subid_range():
    """True when this user has /etc/subuid and /etc/subgid entries (or is root)."""
    if os.geteuid() == 0:
        return True
    import pwd
    names = {pwd.getpwuid(os.getuid()).pw_name, str(os.getuid())}
    found = []
    for path in ("/etc/subuid", "/etc/subgid"):
        try:
            with open(path) as f:
                found.append(any(line.split(":")[0] in names for line in f if line.count(":") == 2))
        except FileNotFoundError:
            found.append(False)
    return all(found)


needs_unprivileged = pytest.mark.skipif(os.geteuid() == 0 or not has_subid_range(),
                                        reason="checks the subordinate id mapping: needs a non-root user with "
                                               "a range in /etc/subuid and /etc/subgid")
needs_id_range = pytest.mark.skipif(not has_subid_range(),
                                    reason="needs ids besides root inside: a range in /etc/subuid and /etc/subgid")

MANIFEST = """manifest_version = 1

[base]
image = "file://{tarball}"

[runtime]
backend = "namespace"
{runtime_extra}
{mounts}
"""

# Keep idle sandboxes short-lived so that tests leave nothing running.
LINGER_MS = "300"


@pytest.fixture(scope="session")
def busybox_tarball(tmp_path_factory):
    return build_rootfs_tarball(tmp_path_factory.mktemp("busybox-rootfs"))


def write_manifest(kp, tarball, runtime_extra="", mounts=""):
    kp.write_manifest(MANIFEST.format(tarball=tarball, runtime_extra=runtime_extra, mounts=mounts))


def build(kp, tarball, **kwargs):
    write_manifest(kp, tarball, **kwargs)
    return kp.ok("--json", "build").json()["env_id"]


@pytest.fixture
def sbx(kp, busybox_tarball):
    kp.env["KARAPACE_SANDBOX_LINGER_MS"] = LINGER_MS
    kp.tarball = busybox_tarball
    return kp


@pytest.fixture
def env_id(sbx):
    env = build(sbx, sbx.tarball)
    yield env
    # Stop the holder so that no process outlives the test.
    sbx.run("destroy", env)


def env_dir(kp, env):
    return kp.store / "env" / env


def holder_pid(kp, env):
    text = (env_dir(kp, env) / ".sandbox.holder").read_text().split()
    return int(text[0])


def pid_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_until(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def karapace_argv(kp, *args):
    return [str(binary("karapace")), "--store", str(kp.store), *map(str, args)]


# ---- stdio and exit codes -----------------------------------------------------

def test_exec_stdin_is_piped(sbx, env_id):
    result = sbx.run("exec", env_id, "--", "cat", input="line one\nline two\n")
    assert result.code == 0, result
    assert result.stdout == "line one\nline two\n"


def test_exec_exit_codes(sbx, env_id):
    assert sbx.run("exec", env_id, "--", "sh", "-c", "exit 3").code == 3
    assert sbx.run("exec", env_id, "--", "sh", "-c", "kill -TERM $$").code == 143
    assert sbx.run("exec", env_id, "--", "sh", "-c", "kill -KILL $$").code == 137
    missing = sbx.run("exec", env_id, "--", "no-such-program")
    assert missing.code == 127
    assert "no-such-program" in missing.stderr


def test_exec_stdout_and_stderr_stay_apart(sbx, env_id):
    result = sbx.run("exec", env_id, "--", "sh", "-c", "echo to-out; echo to-err >&2")
    assert result.code == 0, result
    assert result.stdout == "to-out\n"
    assert "to-err\n" in result.stderr
    assert "to-out" not in result.stderr


def test_exec_returns_while_stdin_is_open(sbx, env_id):
    proc = subprocess.Popen(karapace_argv(sbx, "exec", env_id, "--", "echo", "done"), env=sbx.env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out = proc.stdout.read()
        assert proc.wait(timeout=20) == 0
        assert out == b"done\n"
    finally:
        proc.stdin.close()
        if proc.poll() is None:
            proc.kill()


def test_exec_returns_despite_background_child(sbx, env_id):
    # The background sleep keeps the captured stdout open. The session's
    # end kills its process group, so the reader sees EOF at once instead
    # of after 30 seconds.
    started = time.monotonic()
    result = sbx.run("exec", env_id, "--", "sh", "-c", "sleep 30 & echo quick", timeout=60)
    assert result.code == 0, result
    assert result.stdout == "quick\n"
    assert time.monotonic() - started < 15


# ---- identity, /proc, /dev, hostname --------------------------------------------

def test_root_inside_and_home_files_belong_to_user(sbx, env_id):
    result = sbx.ok("exec", env_id, "--", "sh", "-c", 'id -u; id -g; touch "$HOME/made-inside"')
    assert result.stdout.split() == ["0", "0"]
    made = Path(sbx.env["HOME"]) / "made-inside"
    assert made.stat().st_uid == os.getuid()
    assert made.stat().st_gid == os.getgid()


@needs_unprivileged
def test_subordinate_ids_map_to_the_range(sbx, env_id):
    result = sbx.ok("exec", env_id, "--", "sh", "-c",
                    "cat /proc/self/uid_map; touch /owned-by-1000; chown 1000:1000 /owned-by-1000")
    lines = [line.split() for line in result.stdout.splitlines() if line.strip()]
    assert lines[0] == ["0", str(os.getuid()), "1"]
    assert lines[1][0] == "1"
    assert int(lines[1][2]) >= 1000
    owned = env_dir(sbx, env_id) / "upper" / "owned-by-1000"
    assert owned.stat().st_uid == int(lines[1][1]) + 999


def test_hostname_and_hosts_file(sbx, env_id):
    expected = f"karapace-{env_id[:12]}"
    result = sbx.ok("exec", env_id, "--", "sh", "-c", "hostname; cat /etc/hosts")
    lines = result.stdout.splitlines()
    assert lines[0] == expected
    assert any(line.split()[-1] == expected for line in lines[1:] if line.strip())


def test_proc_shows_only_the_sandbox(sbx, env_id):
    result = sbx.ok("exec", env_id, "--", "sh", "-c", "cat /proc/1/comm; ls /proc")
    lines = result.stdout.split()
    assert lines[0] == "karapace-holder"
    pids = [int(x) for x in lines[1:] if x.isdigit()]
    # The holder, the shell and ls; nothing of the host.
    assert 1 in pids
    assert len(pids) <= 5, pids


def test_dev_is_minimal(sbx, env_id):
    result = sbx.ok("exec", env_id, "--", "sh", "-c", "ls /dev; echo x > /dev/null; head -c 4 /dev/zero | wc -c")
    names = result.stdout.split()
    for name in ["null", "zero", "full", "random", "urandom", "tty", "pts", "shm", "ptmx", "fd"]:
        assert name in names
    for host_only in ["sda", "vda", "mem"]:
        assert host_only not in names
    assert names[-1] == "4"


def test_sys_is_read_only(sbx, env_id):
    result = sbx.run("exec", env_id, "--", "sh", "-c", "touch /sys/kernel/karapace-test")
    assert result.code != 0


def test_host_etc_is_read_only_under_run_host(sbx, env_id):
    result = sbx.run("exec", env_id, "--", "sh", "-c",
                     "test -f /run/host/etc/passwd && ! touch /run/host/etc/karapace-test 2>/dev/null && "
                     "readlink /etc/resolv.conf")
    assert result.code == 0, result
    if Path("/etc/resolv.conf").exists():
        assert result.stdout.strip().startswith("/run/host/")


# ---- environment variables ----------------------------------------------------

def test_environment_is_filtered(sbx, env_id):
    env = dict(sbx.env)
    env.update({"SSH_AUTH_SOCK": "/tmp/agent", "AWS_SECRET_ACCESS_KEY": "abc", "GITHUB_TOKEN": "t",
                "MY_PASSWORD": "p", "UNRELATED_VARIABLE": "x", "TERM": "xterm-kitty", "EDITOR": "vi",
                "LANG": "C.UTF-8", "PATH": "/opt/evil:/usr/bin"})
    result = sbx.run("exec", env_id, "--", "env", env=env)
    assert result.code == 0, result
    seen = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    for name in ["SSH_AUTH_SOCK", "AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN", "MY_PASSWORD", "UNRELATED_VARIABLE"]:
        assert name not in seen
    assert seen["TERM"] == "xterm-kitty"
    assert seen["EDITOR"] == "vi"
    assert seen["LANG"] == "C.UTF-8"
    assert "/opt/evil" not in seen["PATH"]
    assert "/run/host/usr/share/terminfo" in seen["TERMINFO_DIRS"]
    assert seen["KARAPACE_ENV"] == "1"


def test_missing_locale_falls_back_to_c_utf8(sbx, env_id):
    env = dict(sbx.env, LANG="de_DE.UTF-8", LC_TIME="fr_FR.UTF-8")
    result = sbx.run("exec", env_id, "--", "env", env=env)
    assert result.code == 0, result
    seen = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    assert seen["LANG"] == "C.UTF-8"
    assert seen["LC_ALL"] == "C.UTF-8"
    assert "LC_TIME" not in seen
    assert "locale" not in result.stderr.lower()


# ---- the overlay, commit and restore ------------------------------------------------

def test_changes_land_in_upper_with_whiteouts(sbx, env_id):
    sbx.ok("exec", env_id, "--", "sh", "-c",
           "echo new > /added; rm /etc/motd; rm -r /usr/share/doc/sample; mkdir /usr/share/doc/sample; "
           "echo c > /usr/share/doc/sample/c")
    upper = env_dir(sbx, env_id) / "upper"
    assert (upper / "added").read_text() == "new\n"
    whiteout = os.lstat(upper / "etc" / "motd")
    assert stat.S_ISCHR(whiteout.st_mode)
    assert whiteout.st_rdev == 0
    # Kernel overlayfs in a user namespace marks opaque directories with
    # user.overlay.opaque; fuse-overlayfs uses its own or the trusted name.
    driver = (env_dir(sbx, env_id) / ".overlay-driver").read_text()
    sample = upper / "usr" / "share" / "doc" / "sample"
    marks = [name for name in os.listxattr(sample)
             if name in ("user.overlay.opaque", "trusted.overlay.opaque", "user.fuseoverlayfs.opaque")
             and os.getxattr(sample, name) == b"y"]
    if driver == "overlay":
        assert marks == ["user.overlay.opaque"]
    else:
        assert driver == "fuse-overlayfs"
        assert marks


def test_commit_and_restore_round_trip(sbx, env_id):
    sbx.ok("exec", env_id, "--", "sh", "-c",
           "echo kept > /added; rm /etc/motd; echo replaced > /etc/hostname; rm -r /usr/share/doc/sample; "
           "mkdir /usr/share/doc/sample; echo c > /usr/share/doc/sample/c")
    snapshot = sbx.ok("--json", "commit", env_id).json()["snapshot_hash"]

    sbx.ok("exec", env_id, "--", "sh", "-c", "rm /added; echo later > /later; echo back > /etc/motd")
    sbx.ok("restore", env_id, snapshot)

    result = sbx.ok("exec", env_id, "--", "sh", "-c",
                    "cat /added; cat /etc/hostname; ls /usr/share/doc/sample; test ! -e /etc/motd && echo no-motd; "
                    "test ! -e /later && echo no-later")
    assert result.stdout.split() == ["kept", "replaced", "c", "no-motd", "no-later"]

    drift = sbx.ok("--json", "diff", env_id).json()
    assert "added" in drift["added"]
    assert "etc/motd" in drift["removed"]


# ---- network ---------------------------------------------------------------------

def interfaces(kp, env):
    result = kp.ok("exec", env, "--", "cat", "/proc/net/dev")
    return sorted(line.split(":")[0].strip() for line in result.stdout.splitlines()[2:] if ":" in line)


def test_network_isolation_leaves_only_loopback(sbx):
    env = build(sbx, sbx.tarball, runtime_extra="network_isolation = true")
    try:
        assert interfaces(sbx, env) == ["lo"]
        flags = sbx.ok("exec", env, "--", "cat", "/sys/class/net/lo/operstate")
        assert flags.stdout.strip() in ("unknown", "up")
    finally:
        sbx.run("destroy", env)


def test_network_is_shared_without_isolation(sbx, env_id):
    with open("/proc/net/dev") as f:
        host = sorted(line.split(":")[0].strip() for line in f.read().splitlines()[2:] if ":" in line)
    assert interfaces(sbx, env_id) == host


# ---- mounts ----------------------------------------------------------------------

def test_manifest_mount_is_visible(sbx):
    shared = sbx.workdir / "shared"
    shared.mkdir()
    (shared / "from-host").write_text("hello from the host\n")
    env = build(sbx, sbx.tarball, mounts=f'[mounts]\nshared = "{shared}:/srv/shared"')
    try:
        result = sbx.ok("exec", env, "--", "sh", "-c", "cat /srv/shared/from-host; echo back > /srv/shared/back")
        assert result.stdout == "hello from the host\n"
        assert (shared / "back").read_text() == "back\n"
        assert (shared / "back").stat().st_uid == os.getuid()
    finally:
        sbx.run("destroy", env)


def test_mount_outside_allowlist_rejected(sbx):
    write_manifest(sbx, sbx.tarball, mounts='[mounts]\nsecrets = "/etc:/hostetc"')
    result = sbx.run("build")
    assert result.code != 0
    assert "secrets" in result.stderr


def test_mount_through_symlink_outside_allowlist_rejected(sbx):
    link = sbx.workdir / "sneaky"
    link.symlink_to("/etc")
    env = build(sbx, sbx.tarball, mounts=f'[mounts]\nsneaky = "{link}:/sneaky"')
    try:
        result = sbx.run("exec", env, "--", "true")
        assert result.code != 0
        assert "sneaky" in result.stderr
        assert "/etc" in result.stderr
    finally:
        sbx.run("destroy", env)


def test_failing_mount_names_its_label(sbx):
    missing = sbx.workdir / "does-not-exist"
    env = build(sbx, sbx.tarball, mounts=f'[mounts]\nmissing-dir = "{missing}:/data"')
    try:
        result = sbx.run("exec", env, "--", "true")
        assert result.code != 0
        assert "missing-dir" in result.stderr
    finally:
        sbx.run("destroy", env)


# ---- enter through a pseudo-terminal ------------------------------------------------

def read_until_exit(fd, pid, timeout=20):
    output = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return output, status
    _, status = os.waitpid(pid, 0)
    return output, status


def test_enter_runs_a_shell_on_a_terminal(sbx, env_id):
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(str(binary("karapace")), karapace_argv(sbx, "enter", env_id), sbx.env)
    os.write(fd, b"echo sum=$((6*7)); tty; stty size; exit 5\n")
    output, status = read_until_exit(fd, pid)
    os.close(fd)
    text = output.decode(errors="replace")
    assert "sum=42" in text
    assert "/dev/pts/" in text
    assert os.waitstatus_to_exitcode(status) == 5
    # Terminal integration: container push and pop markers and the banner.
    assert f"\x1b]777;container;push;karapace-{env_id[:12]};karapace;{env_id}\x1b\\" in text
    assert "\x1b]777;container;pop;;\x1b\\" in text
    assert f"entering \x1b[1mfile://" in text
    assert f"exited environment {env_id[:12]}" in text


def test_enter_without_terminal_runs_the_shell(sbx, env_id):
    result = sbx.run("enter", env_id, input="echo from-shell; exit 4\n")
    assert result.stdout == "from-shell\n"
    assert result.code == 4


# ---- sessions, stop and destroy --------------------------------------------------

def test_two_sessions_share_one_sandbox(sbx, env_id):
    first = subprocess.Popen(karapace_argv(sbx, "exec", env_id, "--", "sh", "-c",
                                           "echo shared > /tmp/marker; sleep 30"),
                             env=sbx.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        marker = env_dir(sbx, env_id) / ".sandbox.holder"
        assert wait_until(lambda: marker.exists())
        holder = holder_pid(sbx, env_id)
        # /tmp is a tmpfs of the sandbox: the second session sees the
        # first one's file only when it joined the same namespaces.
        assert wait_until(lambda: sbx.run("exec", env_id, "--", "cat", "/tmp/marker").stdout == "shared\n")
        assert holder_pid(sbx, env_id) == holder
        listed = sbx.ok("--json", "inspect", env_id).json()
        assert listed["state"].lower() == "running"
    finally:
        first.terminate()
        assert first.wait(timeout=20) == 143


def test_sigterm_to_karapace_ends_the_command(sbx, env_id):
    proc = subprocess.Popen(karapace_argv(sbx, "exec", env_id, "--", "sleep", "60"), env=sbx.env)
    assert wait_until(lambda: (env_dir(sbx, env_id) / ".sandbox.holder").exists())
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 143


def test_stop_ends_a_running_session(sbx, env_id):
    proc = subprocess.Popen(karapace_argv(sbx, "exec", env_id, "--", "sleep", "60"), env=sbx.env)
    try:
        assert wait_until(lambda: sbx.ok("--json", "inspect", env_id).json()["state"].lower() == "running")
        sbx.ok("stop", env_id)
        assert proc.wait(timeout=20) != 0
        assert sbx.ok("--json", "inspect", env_id).json()["state"].lower() == "built"
    finally:
        if proc.poll() is None:
            proc.kill()


def test_stop_kills_a_command_that_ignores_sigterm(sbx, env_id):
    proc = subprocess.Popen(karapace_argv(sbx, "exec", env_id, "--", "sh", "-c", "trap '' TERM; sleep 60; sleep 60"),
                            env=sbx.env)
    # Reap the session as its shell would, or its zombie counts as running.
    reaper = threading.Thread(target=proc.wait)
    reaper.start()
    try:
        assert wait_until(lambda: sbx.ok("--json", "inspect", env_id).json()["state"].lower() == "running")
        time.sleep(0.3)
        sbx.ok("stop", env_id, timeout=60)
        reaper.join(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        # The sandbox killed the whole process group with the session.
        left = sbx.ok("exec", env_id, "--", "ps", "-o", "comm")
        assert "sleep" not in left.stdout.split(), left.stdout
        assert "sh" not in left.stdout.split(), left.stdout
    finally:
        if proc.poll() is None:
            proc.kill()


def test_idle_holder_exits_by_itself(sbx, env_id):
    sbx.ok("exec", env_id, "--", "true")
    pid = holder_pid(sbx, env_id)
    assert wait_until(lambda: not pid_alive(pid), timeout=15)


def test_destroy_stops_the_sandbox(sbx, env_id):
    sbx.ok("exec", env_id, "--", "sh", "-c", "mkdir -p /var/made && echo x > /var/made/file")
    pid = holder_pid(sbx, env_id)
    assert pid_alive(pid)
    sbx.ok("destroy", env_id)
    assert not env_dir(sbx, env_id).exists()
    assert not pid_alive(pid)


@needs_id_range
def test_destroy_removes_everything(sbx, env_id):
    sbx.ok("exec", env_id, "--", "sh", "-c",
           "mkdir -p /var/private/deep && echo s > /var/private/deep/secret && chown -R 1000:1000 /var/private && "
           "chmod 700 /var/private /var/private/deep && chmod 600 /var/private/deep/secret && sleep 0.2")
    directory = env_dir(sbx, env_id)
    sbx.ok("destroy", env_id)
    assert not directory.exists()
    assert sbx.ok("list").stdout.count(env_id[:12]) == 0


def test_package_request_without_package_manager_fails(sbx):
    sbx.write_manifest(MANIFEST.format(tarball=sbx.tarball, runtime_extra="", mounts="")
                       + '\n[system]\npackages = ["hello"]\n')
    result = sbx.run("build")
    assert result.code != 0
    assert "no supported package manager" in result.stderr
    env_root = sbx.store / "env"
    left = [p.name for p in env_root.iterdir()] if env_root.exists() else []
    assert left == []


def test_inspect_reports_overlay_driver(sbx, env_id):
    before = sbx.ok("inspect", env_id).stdout
    assert "overlay:" not in before
    sbx.ok("exec", env_id, "--", "true")
    after = sbx.ok("inspect", env_id).stdout
    expected = "fuse-overlayfs" if os.environ.get("KARAPACE_OVERLAY") == "fuse" else "overlay"
    assert f"overlay:     {expected}\n" in after


def test_gc_images_removes_only_unused(sbx):
    env = build(sbx, sbx.tarball)
    images = sbx.store / "images"
    cached = [p.name for p in images.iterdir() if p.is_dir()]
    assert len(cached) == 1

    # The environment still uses its image: nothing to remove.
    assert sbx.ok("--json", "gc", "--images", "--dry-run").json()["images"] == []
    sbx.ok("destroy", env)

    dry = sbx.ok("--json", "gc", "--images", "--dry-run").json()
    assert dry["images"] == cached
    assert (images / cached[0]).is_dir()

    text = sbx.ok("gc", "--images").stdout
    assert f"gc: removed 1 images: {cached[0]}" in text
    assert not (images / cached[0]).exists()
    # Without --images the JSON keeps the reference shape.
    assert "images" not in sbx.ok("--json", "gc").json()
