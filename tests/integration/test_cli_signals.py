"""Ctrl-C and SIGTERM handling of the karapace command line."""
import fcntl
import os
import pty
import select
import signal
import subprocess
import time

import pytest

from conftest import binary

MOCK_MANIFEST = """manifest_version = 1

[base]
image = "rolling"

[runtime]
backend = "mock"
"""

SHUTDOWN_MESSAGE = "shutdown requested, finishing current operation..."


@pytest.fixture
def cli(kp):
    kp.env["KARAPACE_SKIP_PREREQS"] = "1"
    kp.write_manifest(MOCK_MANIFEST)
    kp.ok("build")
    return kp


def wait_blocked(proc, seconds=1.0):
    """Give PROC time to reach the blocking store lock, and check it is alive."""
    time.sleep(seconds)
    assert proc.poll() is None, "karapace did not wait for the store lock"


def start_blocked_gc(cli):
    """Hold the store lock and start "karapace gc", which waits for it."""
    lock = open(cli.store / "store" / ".lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    proc = subprocess.Popen([str(binary("karapace")), "--store", str(cli.store), "gc"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=cli.env, cwd=cli.project)
    wait_blocked(proc)
    return lock, proc


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_second_signal_exits_130(cli, signum):
    lock, proc = start_blocked_gc(cli)
    try:
        proc.send_signal(signum)
        wait_blocked(proc, 0.5)
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        lock.close()
    assert proc.returncode == 130
    assert stderr.count(SHUTDOWN_MESSAGE) == 1


def test_first_signal_lets_operation_finish(cli):
    lock, proc = start_blocked_gc(cli)
    try:
        proc.send_signal(signal.SIGINT)
        wait_blocked(proc, 0.5)
        fcntl.flock(lock, fcntl.LOCK_UN)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        lock.close()
    assert SHUTDOWN_MESSAGE in stderr
    # Either GC finished (nothing to cancel) or it stopped early and reported it.
    assert proc.returncode in (0, 130), stderr
    if proc.returncode == 0:
        assert stdout.startswith("gc: removed ")


def test_interrupt_at_prompt_exits_130(cli):
    os.unlink(cli.project / "karapace.toml")
    master, slave = pty.openpty()
    proc = subprocess.Popen([str(binary("karapace")), "new", "demo"], stdin=slave, stderr=slave,
                            stdout=subprocess.PIPE, cwd=cli.project, env=cli.env)
    os.close(slave)
    try:
        seen = b""
        deadline = time.monotonic() + 30
        while b"base image" not in seen and time.monotonic() < deadline:
            if select.select([master], [], [], 0.5)[0]:
                seen += os.read(master, 4096)
        assert b"base image" in seen
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    assert proc.returncode == 130
    assert not (cli.project / "karapace.toml").exists()
