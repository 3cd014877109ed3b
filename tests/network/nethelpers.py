"""Helpers for the network driver's tests: stand-in containers and host-side probes.

The container runtime is written alongside, so a "container" here is a real
process in its own network and mount namespaces (``unshare --net --mount``)
whose ``/etc/hosts`` is a bind mount of ``<root>/containers/<id>/hosts``,
exactly as the runtime sets it up. Programs run inside it with ``nsenter``.
Every namespace, process, link and rule is removed in finalizers, also when a
test fails.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

BUSYBOX = "/bin/busybox"
IP_FORWARD = Path("/proc/sys/net/ipv4/ip_forward")


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
    """Poll ``predicate`` until it holds; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


@dataclass
class Sandbox:
    """A stand-in container: a process with its own network and mount namespaces.

    Attributes:
        id: a container-like ID (64 hex digits).
        name: its container name.
        process: the namespace-holding process (``sleep``).
        hosts: its hosts file, bind-mounted on ``/etc/hosts`` inside.
        hostname: its hostname.
    """

    id: str
    name: str
    process: subprocess.Popen
    hosts: Path
    hostname: str = ""
    children: list[subprocess.Popen] = field(default_factory=list)

    @property
    def pid(self) -> int:
        """The PID whose namespaces this sandbox is."""
        return self.process.pid

    @property
    def netns(self) -> str:
        """The network namespace path the driver gets."""
        return f"/proc/{self.pid}/ns/net"

    def _argv(self, argv: list[str]) -> list[str]:
        return ["nsenter", "-t", str(self.pid), "--net", "--mount", *argv]

    def run(self, *argv: str, stdin: str | None = None, timeout: float = 15) -> subprocess.CompletedProcess:
        """Run a program inside (net + mount namespaces) and wait for it."""
        return subprocess.run(self._argv(list(argv)), input=stdin, capture_output=True,
                              text=True, timeout=timeout, check=False)

    def spawn(self, *argv: str) -> subprocess.Popen:
        """Start a program inside in the background; it is killed with the sandbox."""
        child = subprocess.Popen(self._argv(list(argv)), stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        self.children.append(child)
        return child

    def http_get(self, host: str, port: int = 80) -> str:
        """``GET /`` with busybox nc from inside; the response text ('' on failure)."""
        done = self.run(BUSYBOX, "nc", "-w", "3", host, str(port),
                        stdin="GET / HTTP/1.0\r\n\r\n", timeout=10)
        return done.stdout

    def serve_http(self, root: Path, body: str) -> None:
        """busybox httpd on port 80 serving ``body`` at ``/``; returns once it listens."""
        root.mkdir(parents=True, exist_ok=True)
        (root / "index.html").write_text(body)
        self.spawn(BUSYBOX, "httpd", "-f", "-p", "80", "-h", str(root))
        wait_for(lambda: self.listening(80), what="httpd to listen")

    def listening(self, port: int, proto: str = "tcp") -> bool:
        """Whether something listens on (or, for UDP, is bound to) ``port`` inside."""
        needle = f":{port:04X} "
        tables = [f"/proc/{self.pid}/net/{proto}", f"/proc/{self.pid}/net/{proto}6"]
        for table in tables:
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if needle in f"{fields[1]} " and (proto == "udp" or fields[3] == "0A"):
                    return True
        return False

    def stop(self) -> None:
        """Kill the programs inside and the namespace holder (by PID)."""
        for child in [*self.children, self.process]:
            if child.poll() is None:
                child.send_signal(signal.SIGKILL)
            child.wait(timeout=10)
        self.children.clear()



def host_address() -> str:
    """The host's own (non-loopback) IPv4 address on its default route."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))  # no packet is sent for a UDP connect
        return probe.getsockname()[0]
    except OSError:
        pytest.skip("the host has no non-loopback IPv4 address")
    finally:
        probe.close()


def http_from_host(address: str, port: int, timeout: float = 5.0) -> bytes:
    """``GET /`` over TCP from the host's own namespace."""
    with socket.create_connection((address, port), timeout=timeout) as conn:
        conn.sendall(b"GET / HTTP/1.0\r\n\r\n")
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def wharf_rules(tag: str | None = None) -> set[str]:
    """The iptables lines mentioning Wharf (optionally one root's tag)."""
    out = subprocess.run(["iptables-save"], capture_output=True, text=True, check=True).stdout
    return {line for line in out.splitlines()
            if "WHARF" in line and not line.startswith("#") and (tag is None or tag in line)}


def wh_links() -> set[str]:
    """The host links whose names start with ``wh``."""
    return {name for name in os.listdir("/sys/class/net") if name.startswith("wh")}
