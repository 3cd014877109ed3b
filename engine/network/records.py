"""Typed records of the network driver: networks, endpoints, port bindings, per-container state.

These are the driver's own shapes. The API layer turns :class:`NetworkRecord`
into Docker's ``/networks`` JSON (``Id``, ``Name``, ``Driver``, ``Scope``,
``IPAM.Config``, ``Containers``, ``Options``, ``Labels``, ``Created``) and
:class:`Endpoint` into a container's ``NetworkSettings.Networks`` entry.
Every record converts to and from plain JSON (:meth:`to_json`/``from_json``)
so the store can write it atomically under ``<root>/networks/``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from engine.errors import InvalidSpec

PROTOCOLS = ("tcp", "udp")
"""The protocols a port can be published for."""


@dataclass(frozen=True)
class IPAMConfig:
    """One address pool of a network (Docker's ``IPAM.Config[]`` entry).

    Attributes:
        subnet: the network in CIDR form, e.g. ``"172.18.0.0/16"``.
        gateway: the bridge's own address in that subnet, e.g. ``"172.18.0.1"``.
    """

    subnet: str
    gateway: str


@dataclass(frozen=True)
class Endpoint:
    """One container's attachment to one network: a veth pair and an address.

    Attributes:
        id: the endpoint's ID (64 hex digits), Docker's ``EndpointID``.
        network_id: the network's ID.
        network_name: the network's name when the endpoint was made.
        container_id: the container's full ID.
        container_name: the container's name (resolvable by peers on user networks).
        hostname: the container's hostname.
        ifname: the interface name inside the container (``eth0``, ``eth1``, …).
        host_ifname: the host side of the veth pair (``wh`` + short ID), on the bridge.
        ip: the container's IPv4 address.
        prefixlen: the subnet's prefix length.
        gateway: the bridge's address (the default route's next hop).
        mac: the interface's MAC address, derived from ``ip`` as Docker does (``02:42:…``).
        mtu: the interface's MTU.
        aliases: extra names peers resolve to ``ip`` on this network.
    """

    id: str
    network_id: str
    network_name: str
    container_id: str
    container_name: str
    hostname: str
    ifname: str
    host_ifname: str
    ip: str
    prefixlen: int
    gateway: str
    mac: str
    mtu: int = 1500
    aliases: tuple[str, ...] = ()

    @property
    def cidr(self) -> str:
        """The address with its prefix, e.g. ``"172.17.0.2/16"`` (Docker's ``IPv4Address``)."""
        return f"{self.ip}/{self.prefixlen}" if self.ip else ""

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        data = asdict(self)
        data["aliases"] = list(self.aliases)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Endpoint:
        """The endpoint stored as :meth:`to_json` wrote it."""
        return cls(**{**data, "aliases": tuple(data.get("aliases", ()))})


@dataclass(frozen=True)
class PortBinding:
    """One published port: host ``host_ip:host_port`` forwards to the container's port.

    Attributes:
        container_port: the port inside the container.
        protocol: ``"tcp"`` or ``"udp"``.
        host_ip: the host address to publish on; ``""`` means every address.
        host_port: the host port; ``0`` asks the driver to choose a free one.
        container_ip: the endpoint address traffic goes to (set by the driver).
    """

    container_port: int
    protocol: str = "tcp"
    host_ip: str = ""
    host_port: int = 0
    container_ip: str = ""

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise InvalidSpec(f"invalid protocol {self.protocol!r}: use tcp or udp")
        for port in (self.container_port, self.host_port):
            if not 0 <= port <= 65535:
                raise InvalidSpec(f"invalid port {port}: ports are 1-65535")
        if self.container_port == 0:
            raise InvalidSpec("a published port needs a container port")

    @property
    def key(self) -> tuple[str, str, int]:
        """What two bindings must not share: (protocol, host address, host port)."""
        return (self.protocol, self.host_ip, self.host_port)

    def resolved(self, host_port: int, container_ip: str) -> PortBinding:
        """This binding with its host port and target address filled in."""
        return replace(self, host_port=host_port, container_ip=container_ip)

    def __str__(self) -> str:
        host = f"{self.host_ip or '0.0.0.0'}:{self.host_port or '?'}"
        return f"{host}->{self.container_port}/{self.protocol}"

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PortBinding:
        """The binding stored as :meth:`to_json` wrote it."""
        return cls(**data)


@dataclass
class NetworkRecord:
    """One network, as the driver stores it and ``network inspect`` shows it.

    Attributes:
        id: 64 hex digits.
        name: unique name (``bridge``, ``host``, ``none`` are predefined).
        driver: ``"bridge"``, ``"host"`` or ``"null"``.
        scope: always ``"local"``.
        ipam: the address pools (one IPv4 pool for bridge networks).
        bridge: the host bridge's link name (``wharf0``, ``wh-<id12>``); ``""`` otherwise.
        internal: no outbound NAT and no traffic beyond the bridge.
        labels: user labels.
        options: driver options (Docker's ``com.docker.network.*`` keys).
        created: RFC 3339 UTC time of creation.
        mtu: the MTU of the bridge and its veths.
        containers: container ID → :class:`Endpoint`; filled in by the driver on
            every read, never stored (the per-container files are the truth).
    """

    id: str
    name: str
    driver: str
    created: str
    scope: str = "local"
    ipam: list[IPAMConfig] = field(default_factory=list)
    bridge: str = ""
    internal: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    mtu: int = 1500
    containers: dict[str, Endpoint] = field(default_factory=dict)

    @property
    def predefined(self) -> bool:
        """Whether this is one of Docker's predefined networks (cannot be removed)."""
        return self.name in ("bridge", "host", "none")

    @property
    def user_defined(self) -> bool:
        """Whether peers on it resolve each other by name (user bridge networks only)."""
        return self.driver == "bridge" and self.name != "bridge"

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (without the live ``containers`` map)."""
        data = asdict(self)
        data.pop("containers")
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NetworkRecord:
        """The record stored as :meth:`to_json` wrote it."""
        ipam = [IPAMConfig(**pool) for pool in data.get("ipam", [])]
        return cls(**{**data, "ipam": ipam, "containers": {}})


@dataclass
class ContainerNet:
    """Everything the driver set up for one container, stored so it can be undone from disk.

    Attributes:
        container_id: the container's full ID.
        mode: ``"bridge"`` (endpoints below), ``"none"``, ``"host"`` or ``"container:<id>"``.
        netns_path: the container's network namespace, e.g. ``/proc/<pid>/ns/net``.
        netns_inode: the namespace's inode when first seen, to tell a reused PID apart.
        hostname: the container's hostname.
        name: the container's name.
        hosts_path: the container's hosts file (``<root>/containers/<id>/hosts``).
        endpoints: the container's endpoints, in connection order.
        ports: the published ports, resolved.
    """

    container_id: str
    mode: str = "bridge"
    netns_path: str = ""
    netns_inode: int = 0
    hostname: str = ""
    name: str = ""
    hosts_path: str = ""
    endpoints: list[Endpoint] = field(default_factory=list)
    ports: list[PortBinding] = field(default_factory=list)

    def endpoint_on(self, network_id: str) -> Endpoint | None:
        """The endpoint on that network, if any."""
        return next((e for e in self.endpoints if e.network_id == network_id), None)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "container_id": self.container_id, "mode": self.mode,
            "netns_path": self.netns_path, "netns_inode": self.netns_inode,
            "hostname": self.hostname, "name": self.name, "hosts_path": self.hosts_path,
            "endpoints": [e.to_json() for e in self.endpoints],
            "ports": [p.to_json() for p in self.ports],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ContainerNet:
        """The state stored as :meth:`to_json` wrote it."""
        return cls(**{**data,
                      "endpoints": [Endpoint.from_json(e) for e in data.get("endpoints", [])],
                      "ports": [PortBinding.from_json(p) for p in data.get("ports", [])]})
