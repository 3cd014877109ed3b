"""A real registry for tests: Debian's ``docker-registry`` on a free loopback port.

Each :class:`Registry` has its own config, storage folder and fixed
``http.secret`` (so uploads survive a restart), listens on 127.0.0.1 only,
and is stopped by its PID. :meth:`Registry.stop` and :meth:`Registry.start`
let a test kill it mid-download and bring it back on the same port with the
same content.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REGISTRY_BINARY = "docker-registry"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bcrypt_htpasswd_line(username: str, password: str) -> str:
    """One htpasswd line with a bcrypt (``$2b$``) hash: the only kind the registry accepts."""
    import bcrypt  # noqa: PLC0415 - only the auth registry needs it

    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=6)).decode()
    return f"{username}:{hashed}\n"


@dataclass
class Registry:
    """One ``docker-registry serve`` process and its files.

    Attributes:
        workdir: holds ``config.yml``, ``data/`` and (with auth) ``htpasswd``.
        port: the loopback port it listens on.
        username: set for an htpasswd registry.
        password: set for an htpasswd registry.
    """

    workdir: Path
    port: int = field(default_factory=free_port)
    username: str | None = None
    password: str | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``, the registry part of an image reference."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The registry's base URL, ``http://127.0.0.1:PORT``."""
        return f"http://{self.host}"

    @property
    def auth(self) -> tuple[str, str] | None:
        """``(username, password)`` for an htpasswd registry, else ``None``."""
        if self.username is None or self.password is None:
            return None
        return (self.username, self.password)

    @property
    def config_path(self) -> Path:
        """The registry's own config file."""
        return self.workdir / "config.yml"

    def write_config(self) -> None:
        """Write the loopback config (and the htpasswd file when credentials are set)."""
        data = self.workdir / "data"
        data.mkdir(parents=True, exist_ok=True)
        lines = [
            "version: 0.1",
            "log: {level: error, accesslog: {disabled: true}}",
            "storage:",
            f"  filesystem: {{rootdirectory: {data}}}",
            "  delete: {enabled: true}",
            "http:",
            f"  addr: 127.0.0.1:{self.port}",
            "  secret: wharf-test-registry-secret",
        ]
        if self.username is not None and self.password is not None:
            htpasswd = self.workdir / "htpasswd"
            htpasswd.write_text(bcrypt_htpasswd_line(self.username, self.password))
            lines += ["auth:", f"  htpasswd: {{realm: wharf-test, path: {htpasswd}}}"]
        self.config_path.write_text("\n".join(lines) + "\n")

    def start(self, timeout: float = 20.0) -> None:
        """Start the registry and wait until ``GET /v2/`` answers."""
        if self.process is not None and self.process.poll() is None:
            return
        if not self.config_path.exists():
            self.write_config()
        log = open(self.workdir / "registry.log", "ab")  # noqa: SIM115 - owned by the child
        self.process = subprocess.Popen(
            [REGISTRY_BINARY, "serve", str(self.config_path)],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"docker-registry exited: {(self.workdir / 'registry.log').read_text()[-2000:]}")
            try:
                answer = httpx.get(f"{self.url}/v2/", timeout=1.0)
                if answer.status_code in (200, 401):
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"docker-registry on {self.host} did not answer within {timeout} s")

    def stop(self) -> None:
        """Stop the registry by its PID (SIGTERM, then SIGKILL) and reap it."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def kill(self) -> None:
        """Kill the registry at once (SIGKILL), as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)
        self.process = None

    def client(self) -> httpx.Client:
        """A plain httpx client for this registry, with its credentials if any."""
        return httpx.Client(base_url=self.url, auth=self.auth, timeout=30.0)

    def remove(self) -> None:
        """Stop the registry and delete its files."""
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


def start_registry(workdir: Path, *, username: str | None = None,
                   password: str | None = None, port: int | None = None) -> Registry:
    """Create ``workdir`` and start a registry there; the caller stops it."""
    workdir.mkdir(parents=True, exist_ok=True)
    registry = Registry(workdir=workdir, username=username, password=password,
                        **({"port": port} if port else {}))
    registry.write_config()
    registry.start()
    return registry


def registry_available() -> bool:
    """Whether the ``docker-registry`` binary is installed."""
    return shutil.which(REGISTRY_BINARY) is not None and os.access(
        shutil.which(REGISTRY_BINARY) or "", os.X_OK)
