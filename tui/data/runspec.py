"""The run dialog's text fields parsed into a :class:`RunSpec` and docker-py's ``run`` kwargs."""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tui.data.errors import InvalidInput

RESTART_POLICIES = ("no", "on-failure", "always", "unless-stopped")
"""Docker's restart policy names."""

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([bkmg]?)b?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


@dataclass(frozen=True)
class RunSpec:
    """What to run.

    Attributes:
        image: the image reference.
        name: the container's name ("" lets the engine choose).
        command: the command (empty keeps the image's).
        env: ``KEY=VALUE`` strings.
        ports: container port (``"80/tcp"``) → host port.
        volumes: host path or volume name → ``{"bind": path, "mode": "rw"|"ro"}``.
        network: a network name ("" for the default bridge).
        mem_limit: bytes (0 for none).
        nano_cpus: CPU quota in billionths of a CPU (0 for none).
        restart_policy: one of :data:`RESTART_POLICIES`.
    """

    image: str
    name: str = ""
    command: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    ports: Mapping[str, int] = field(default_factory=dict)
    volumes: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    network: str = ""
    mem_limit: int = 0
    nano_cpus: int = 0
    restart_policy: str = "no"

    def run_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``client.containers.run(image, **kwargs)`` (detached)."""
        kwargs: dict[str, Any] = {"detach": True}
        if self.command:
            kwargs["command"] = list(self.command)
        if self.name:
            kwargs["name"] = self.name
        if self.env:
            kwargs["environment"] = list(self.env)
        if self.ports:
            kwargs["ports"] = dict(self.ports)
        if self.volumes:
            kwargs["volumes"] = {k: dict(v) for k, v in self.volumes.items()}
        if self.network:
            kwargs["network"] = self.network
        if self.mem_limit:
            kwargs["mem_limit"] = self.mem_limit
        if self.nano_cpus:
            kwargs["nano_cpus"] = self.nano_cpus
        if self.restart_policy != "no":
            kwargs["restart_policy"] = {"Name": self.restart_policy}
        return kwargs


def parse_size(text: str) -> int:
    """Bytes from ``512m``, ``1g``, ``1048576``; 0 for empty."""
    if not text.strip():
        return 0
    match = _SIZE.match(text)
    if not match:
        raise InvalidInput(f"memory: {text!r} is not a size like 256m or 1g")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def parse_cpus(text: str) -> int:
    """Nano CPUs from ``0.5`` or ``2``; 0 for empty."""
    if not text.strip():
        return 0
    try:
        cpus = float(text)
    except ValueError:
        raise InvalidInput(f"cpus: {text!r} is not a number") from None
    if cpus <= 0:
        raise InvalidInput("cpus: must be more than 0")
    return int(cpus * 1e9)


def parse_ports(text: str) -> dict[str, int]:
    """``"8080:80, 5353:53/udp"`` → ``{"80/tcp": 8080, "53/udp": 5353}``."""
    ports: dict[str, int] = {}
    for item in _items(text):
        host, sep, container = item.rpartition(":")
        if not sep or not host:
            raise InvalidInput(f"ports: {item!r} is not HOST:CONTAINER[/PROTO]")
        number, _, proto = container.partition("/")
        if not (host.isdigit() and number.isdigit()):
            raise InvalidInput(f"ports: {item!r} is not HOST:CONTAINER[/PROTO]")
        ports[f"{number}/{proto or 'tcp'}"] = int(host)
    return ports


def parse_volumes(text: str) -> dict[str, dict[str, str]]:
    """``"/srv/data:/data:ro, cache:/cache"`` → docker-py's volumes mapping."""
    volumes: dict[str, dict[str, str]] = {}
    for item in _items(text):
        parts = item.split(":")
        if len(parts) not in (2, 3) or not parts[0] or not parts[1].startswith("/"):
            raise InvalidInput(f"volumes: {item!r} is not SOURCE:/PATH[:ro]")
        mode = parts[2] if len(parts) == 3 else "rw"
        if mode not in ("rw", "ro"):
            raise InvalidInput(f"volumes: mode {mode!r} is not rw or ro")
        volumes[parts[0]] = {"bind": parts[1], "mode": mode}
    return volumes


def parse_env(text: str) -> tuple[str, ...]:
    """``"A=1, B=two"`` (or one per line) → ``("A=1", "B=two")``."""
    env = []
    for item in _items(text):
        if "=" not in item or item.startswith("="):
            raise InvalidInput(f"env: {item!r} is not KEY=VALUE")
        env.append(item)
    return tuple(env)


def build_spec(image: str, name: str = "", command: str = "", env: str = "", ports: str = "",
               volumes: str = "", network: str = "", memory: str = "", cpus: str = "",
               restart: str = "no") -> RunSpec:
    """A :class:`RunSpec` from the dialog's fields; raises :class:`InvalidInput` naming the field."""
    if not image.strip():
        raise InvalidInput("image: required")
    if restart not in RESTART_POLICIES:
        raise InvalidInput(f"restart: {restart!r} is not one of {', '.join(RESTART_POLICIES)}")
    try:
        argv = tuple(shlex.split(command))
    except ValueError as exc:
        raise InvalidInput(f"command: {exc}") from None
    return RunSpec(
        image=image.strip(), name=name.strip(), command=argv, env=parse_env(env),
        ports=parse_ports(ports), volumes=parse_volumes(volumes), network=network.strip(),
        mem_limit=parse_size(memory), nano_cpus=parse_cpus(cpus), restart_policy=restart,
    )


def _items(text: str) -> list[str]:
    return [item.strip() for item in re.split(r"[,\n]", text) if item.strip()]
