"""IP address management: choosing subnets that clash with nothing, and handing out addresses.

Subnets come from a pool like Docker's default address pools: the /16s
``172.17.0.0`` … ``172.31.0.0``, then the /20s of ``192.168.0.0/16``. A
candidate is skipped when it overlaps a route or an address on the host
(default routes aside) or another network of this engine. Addresses are
handed out lowest first, skipping the network, broadcast and gateway
addresses; which are taken is derived from the endpoints stored on disk.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator

from engine.errors import Conflict, InvalidSpec, NetworkError

IPv4Network = ipaddress.IPv4Network


def default_pool() -> Iterator[IPv4Network]:
    """The candidate subnets, in the order Docker tries its default pools."""
    for second in range(17, 32):
        yield IPv4Network(f"172.{second}.0.0/16")
    for third in range(0, 256, 16):
        yield IPv4Network(f"192.168.{third}.0/20")


def parse_subnet(subnet: str) -> IPv4Network:
    """``subnet`` as a network; host bits must be zero.

    Raises:
        InvalidSpec: not an IPv4 CIDR, host bits set, or too small for a gateway and one host.
    """
    try:
        network = IPv4Network(subnet, strict=True)
    except ValueError as error:
        raise InvalidSpec(f"invalid subnet {subnet!r}: {error}") from error
    if network.prefixlen > 29:
        raise InvalidSpec(f"subnet {subnet} is too small: use /29 or larger")
    return network


def choose_subnet(in_use: Iterable[IPv4Network]) -> IPv4Network:
    """The first pool subnet overlapping none of ``in_use`` (host routes, addresses, networks).

    Raises:
        NetworkError: every candidate overlaps something.
    """
    taken = [net for net in in_use if net.prefixlen > 0]
    for candidate in default_pool():
        if not any(candidate.overlaps(net) for net in taken):
            return candidate
    raise NetworkError("no free subnet left in the default address pools "
                       "(172.17-31.0.0/16, 192.168.0.0/16 in /20s): every one overlaps "
                       "a host route or another network")


def check_no_overlap(subnet: IPv4Network, others: Iterable[tuple[str, IPv4Network]]) -> None:
    """Refuse a subnet that overlaps another network of this engine.

    Raises:
        Conflict: naming the network it overlaps.
    """
    for name, net in others:
        if subnet.overlaps(net):
            raise Conflict(f"subnet {subnet} overlaps network {name!r} ({net})")


def gateway_for(subnet: IPv4Network, gateway: str | None) -> str:
    """The gateway: ``gateway`` if given (checked to lie in the subnet), else the first host.

    Raises:
        InvalidSpec: the gateway is not a usable address of the subnet.
    """
    if gateway is None:
        return str(subnet.network_address + 1)
    try:
        address = ipaddress.IPv4Address(gateway)
    except ValueError as error:
        raise InvalidSpec(f"invalid gateway {gateway!r}: {error}") from error
    if address not in subnet or address in (subnet.network_address, subnet.broadcast_address):
        raise InvalidSpec(f"gateway {gateway} is not a host address of {subnet}")
    return str(address)


def allocate(subnet: IPv4Network, gateway: str, taken: set[str], wanted: str | None = None) -> str:
    """A free address of ``subnet``: ``wanted`` if given and free, else the lowest free one.

    Raises:
        InvalidSpec: ``wanted`` is not a host address of the subnet.
        Conflict: ``wanted`` is already taken.
        NetworkError: the subnet is full.
    """
    reserved = {str(subnet.network_address), str(subnet.broadcast_address), gateway}
    if wanted is not None:
        try:
            address = ipaddress.IPv4Address(wanted)
        except ValueError as error:
            raise InvalidSpec(f"invalid address {wanted!r}: {error}") from error
        if address not in subnet or str(address) in reserved:
            raise InvalidSpec(f"address {wanted} is not a free host address of {subnet}")
        if str(address) in taken:
            raise Conflict(f"address {wanted} is already in use on {subnet}")
        return str(address)
    for address in subnet.hosts():
        text = str(address)
        if text not in taken and text not in reserved:
            return text
    raise NetworkError(f"no free address left in {subnet}")


def mac_for(ip: str) -> str:
    """Docker's MAC for an address: ``02:42`` followed by the four address bytes."""
    octets = ipaddress.IPv4Address(ip).packed
    return "02:42:" + ":".join(f"{byte:02x}" for byte in octets)
