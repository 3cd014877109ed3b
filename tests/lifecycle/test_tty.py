"""``docker run -it`` / ``exec -it`` at a real terminal: no stray NUL echoed, the window size applied."""

from __future__ import annotations

import os
import pty
import select
import struct
import subprocess
import time
import fcntl
import termios

from compat.conftest import Daemon


def _at_terminal(daemon: Daemon, args: list[str], rows: int = 33, cols: int = 101, send: bytes = b"",
                 timeout: float = 20, trigger: bytes = b"READY") -> bytes:
    """Run the docker CLI on a pty of ``rows``×``cols``; everything it printed."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    process = subprocess.Popen(["docker", "-H", daemon.host, *args], stdin=slave, stdout=slave, stderr=slave,
                               start_new_session=True, env={**os.environ, "DOCKER_CONFIG": str(daemon.root.parent / "docker-config")},
                               preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
    os.close(slave)
    output = b""
    deadline = time.monotonic() + timeout
    sent = False
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                output += chunk
            if send and not sent and trigger in output:
                os.write(master, send)
                sent = True
            if process.poll() is not None and not ready:
                break
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        os.close(master)
    return output


def test_run_it_echoes_no_nul_and_knows_the_window_size(daemon: Daemon, busybox: str) -> None:
    out = _at_terminal(daemon, ["run", "--rm", "-it", "--network", "none", busybox, "sh", "-c",
                                "stty size; echo READY; read line; echo got:$line"], send=b"hello\r")
    assert b"\x00" not in out and b"^@" not in out, out
    assert b"33 101" in out, out
    assert b"got:hello" in out, out


def test_exec_it_knows_the_window_size(daemon: Daemon, busybox: str) -> None:
    cid = daemon.docker("run", "-d", "--network", "none", busybox, "sleep", "30").stdout.strip()
    try:
        out = _at_terminal(daemon, ["exec", "-it", cid, "stty", "size"], rows=41, cols=123)
        assert b"41 123" in out, out
        assert b"\x00" not in out and b"^@" not in out, out
    finally:
        daemon.docker("rm", "-f", cid)


def test_interactive_shell_at_a_terminal(daemon: Daemon, busybox: str) -> None:
    out = _at_terminal(daemon, ["run", "--rm", "-it", "--network", "none", busybox, "sh"], trigger=b"# ",
                       send=b"stty size; echo done-$((6*7)); exit 3\r", rows=24, cols=80)
    assert b"done-42" in out, out
    assert b"24 80" in out, out
    assert b"\x00" not in out and b"^@" not in out, out
