"""Networks and volumes."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class IPAMPool:
    """One address pool of a network."""

    subnet: str
    gateway: str = ""
    ip_range: str = ""


@dataclass
class NetworkCreateSpec:
    """``docker network create``."""

    name: str
    driver: str = "bridge"
    internal: bool = False
    attachable: bool = False
    enable_ipv6: bool = False
    pools: list[IPAMPool] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)


@dataclass
class NetworkEndpoint:
    """A container's endpoint as a network lists it."""

    container_id: str
    name: str
    endpoint_id: str = ""
    mac_address: str = ""
    ipv4_address: str = ""
    """With prefix, e.g. ``172.18.0.2/16``."""
    ipv6_address: str = ""


@dataclass
class NetworkInfo:
    """One network."""

    id: str
    name: str
    driver: str
    created: float
    scope: str = "local"
    internal: bool = False
    attachable: bool = False
    enable_ipv6: bool = False
    pools: list[IPAMPool] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    endpoints: list[NetworkEndpoint] = field(default_factory=list)




@dataclass
class VolumeCreateSpec:
    """``docker volume create``; an empty name asks the engine for a random one."""

    name: str = ""
    driver: str = "local"
    driver_opts: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)


@dataclass
class VolumeInfo:
    """One volume; ``size`` and ``ref_count`` are ``-1`` when not computed."""

    name: str
    driver: str
    mountpoint: str
    created: float
    labels: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    scope: str = "local"
    anonymous: bool = False
    size: int = -1
    ref_count: int = -1
