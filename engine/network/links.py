"""Kernel links through pyroute2: bridges, veth pairs, addresses and routes, in and out of netns.

The engine process never forks, unshares or changes its own namespaces. To
configure the inside of a container's network namespace, one short-lived
thread enters it (``setns(CLONE_NEWNET)`` affects only the calling thread),
opens a netlink socket there and leaves; the socket stays bound to that
namespace and the rest of the work goes through it from any thread. The
veth's container side is created directly inside the namespace (with its
final name, MAC and MTU), so it never appears on the host.

pyroute2's synchronous API runs an asyncio loop of its own, which cannot
start inside a thread whose loop is already running (the engine's). Called
from such a thread, the functions here hop to a private worker thread and
wait for it (a few milliseconds); the engine should still prefer to call the
driver from its worker threads.

Every pyroute2 error is translated into :class:`engine.errors.NetworkError` here.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import ctypes
import errno
import functools
import ipaddress
import os
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ParamSpec, TypeVar

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from engine.errors import NetworkError

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)
_P = ParamSpec("_P")
_T = TypeVar("_T")
_hop = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="wharf-netlink")


def off_event_loop(func: Callable[_P, _T]) -> Callable[_P, _T]:
    """Run ``func`` in a private worker thread when the calling thread runs an asyncio loop."""

    @functools.wraps(func)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return func(*args, **kwargs)
        return _hop.submit(func, *args, **kwargs).result()

    return wrapper


@contextlib.contextmanager
def host_rtnl() -> Iterator[IPRoute]:
    """A netlink route socket in the engine's own network namespace."""
    try:
        ipr = IPRoute()
    except OSError as error:
        raise NetworkError(f"cannot open a netlink socket: {error}") from error
    try:
        yield ipr
    finally:
        ipr.close()


def _socket_in_netns(netns_path: str, family: int = socket.AF_NETLINK) -> socket.socket:
    """A netlink route socket (or a ``family`` datagram socket) living in the namespace at
    ``netns_path`` (made by one thread)."""
    result: dict[str, object] = {}

    def enter_and_open() -> None:
        # This thread never returns to the host namespace; it ends right after.
        try:
            fd = os.open(netns_path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    code = ctypes.get_errno()
                    raise OSError(code, os.strerror(code))
            finally:
                os.close(fd)
            result["socket"] = socket.socket(family, socket.SOCK_DGRAM, 0)
        except OSError as error:
            result["error"] = error

    worker = threading.Thread(target=enter_and_open, name="wharf-netns", daemon=True)
    worker.start()
    worker.join()
    if "error" in result:
        raise NetworkError(f"cannot enter network namespace {netns_path}: {result['error']}")
    return result["socket"]  # type: ignore[return-value]


@contextlib.contextmanager
def netns_rtnl(netns_path: str) -> Iterator[IPRoute]:
    """A netlink route socket inside the container namespace at ``netns_path``."""
    sock = _socket_in_netns(netns_path)
    try:
        ipr = IPRoute(use_socket=sock)
    except (OSError, NetlinkError) as error:
        sock.close()
        raise NetworkError(f"cannot use network namespace {netns_path}: {error}") from error
    try:
        yield ipr
    finally:
        ipr.close()
        sock.close()


def _fail(what: str, error: Exception) -> NetworkError:
    return NetworkError(f"{what}: {error}")


def link_index(ipr: IPRoute, name: str) -> int | None:
    """The index of link ``name``, or ``None``."""
    found = ipr.link_lookup(ifname=name)
    return found[0] if found else None


def link_names() -> set[str]:
    """The names of every link in the engine's namespace."""
    return set(os.listdir("/sys/class/net"))


@off_event_loop
def host_networks() -> list[ipaddress.IPv4Network]:
    """The IPv4 networks the host already uses: non-default routes and interface addresses."""
    nets: list[ipaddress.IPv4Network] = []
    with host_rtnl() as ipr:
        try:
            for route in ipr.get_routes(family=socket.AF_INET, table=254):
                dst = route.get_attr("RTA_DST")
                if dst and route["dst_len"] > 0:
                    nets.append(ipaddress.IPv4Network(f"{dst}/{route['dst_len']}", strict=False))
            for addr in ipr.get_addr(family=socket.AF_INET):
                local = addr.get_attr("IFA_ADDRESS")
                if local and not local.startswith("127."):
                    nets.append(ipaddress.IPv4Network(f"{local}/{addr['prefixlen']}", strict=False))
        except NetlinkError as error:
            raise _fail("cannot read the host's routes", error) from error
    return nets


def write_sysctl(path: str, value: str) -> None:
    """Write ``value`` to ``/proc/sys/<path>`` when it differs."""
    target = Path("/proc/sys") / path
    try:
        if target.read_text().strip() != value:
            target.write_text(value)
    except OSError as error:
        raise NetworkError(f"cannot set {path.replace('/', '.')}={value}: {error}") from error


@off_event_loop
def ensure_bridge(name: str, gateway: str, prefixlen: int, mtu: int) -> bool:
    """Make bridge ``name`` exist, up, with ``gateway/prefixlen`` on it. Returns whether it was made."""
    made = False
    with host_rtnl() as ipr:
        try:
            index = link_index(ipr, name)
            if index is None:
                ipr.link("add", ifname=name, kind="bridge", mtu=mtu)
                index = link_index(ipr, name)
                made = True
            have = {(a.get_attr("IFA_ADDRESS"), a["prefixlen"])
                    for a in ipr.get_addr(family=socket.AF_INET, index=index)}
            if (gateway, prefixlen) not in have:
                ipr.addr("add", index=index, address=gateway, prefixlen=prefixlen)
            ipr.link("set", index=index, state="up")
        except NetlinkError as error:
            raise _fail(f"cannot set up bridge {name}", error) from error
    # 127.0.0.1 published ports are DNATed onto the bridge: let loopback sources route there.
    write_sysctl(f"net/ipv4/conf/{name}/route_localnet", "1")
    return made


@off_event_loop
def delete_link(name: str) -> bool:
    """Delete link ``name`` (a bridge or a veth's host side); ``False`` if it was not there."""
    with host_rtnl() as ipr:
        try:
            index = link_index(ipr, name)
            if index is None:
                return False
            ipr.link("del", index=index)
            return True
        except NetlinkError as error:
            if error.code == errno.ENODEV:
                return False
            raise _fail(f"cannot delete link {name}", error) from error


@off_event_loop
def create_veth(host_name: str, bridge: str, netns_path: str, ifname: str, mac: str,
                mtu: int) -> None:
    """A veth pair: ``host_name`` on ``bridge`` and up; ``ifname`` born inside the namespace."""
    try:
        ns_fd = os.open(netns_path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as error:
        raise NetworkError(f"the container's network namespace {netns_path} is gone: {error}") \
            from error
    try:
        with host_rtnl() as ipr:
            try:
                bridge_index = link_index(ipr, bridge)
                if bridge_index is None:
                    raise NetworkError(f"bridge {bridge} does not exist")
                ipr.link("add", ifname=host_name, kind="veth", mtu=mtu,
                         peer={"ifname": ifname, "address": mac, "mtu": mtu, "net_ns_fd": ns_fd})
                index = link_index(ipr, host_name)
                ipr.link("set", index=index, master=bridge_index, state="up")
            except NetlinkError as error:
                raise _fail(f"cannot create veth pair {host_name}/{ifname}", error) from error
    finally:
        os.close(ns_fd)
    # Hairpin lets a container reach its own published port through the host's address.
    with contextlib.suppress(OSError):
        Path(f"/sys/class/net/{host_name}/brport/hairpin_mode").write_text("1")


@off_event_loop
def configure_peer(netns_path: str, ifname: str, ip: str, prefixlen: int, gateway: str,
                   default_route: bool) -> None:
    """Inside the namespace: ``lo`` up, ``ifname`` up with ``ip/prefixlen``, default route via ``gateway``."""
    with netns_rtnl(netns_path) as ipr:
        try:
            lo = link_index(ipr, "lo")
            if lo is not None:
                ipr.link("set", index=lo, state="up")
            index = link_index(ipr, ifname)
            if index is None:
                raise NetworkError(f"{ifname} did not arrive in {netns_path}")
            ipr.addr("add", index=index, address=ip, prefixlen=prefixlen)
            ipr.link("set", index=index, state="up")
            if default_route:
                ipr.route("replace", dst="0.0.0.0/0", gateway=gateway, oif=index)
        except NetlinkError as error:
            raise _fail(f"cannot configure {ifname} in {netns_path}", error) from error


_SIOCGIFFLAGS, _SIOCSIFFLAGS, _IFF_UP = 0x8913, 0x8914, 0x1


def _loopback_up_ioctl(netns_path: str) -> None:
    """``lo`` up with two ioctls on an inet socket made in the namespace (no netlink round trips)."""
    import fcntl  # noqa: PLC0415
    import struct  # noqa: PLC0415

    sock = _socket_in_netns(netns_path, socket.AF_INET)
    try:
        request = struct.pack("16sH22x", b"lo", 0)
        flags = struct.unpack("16sH22x", fcntl.ioctl(sock.fileno(), _SIOCGIFFLAGS, request))[1]
        if not flags & _IFF_UP:
            fcntl.ioctl(sock.fileno(), _SIOCSIFFLAGS, struct.pack("16sH22x", b"lo", flags | _IFF_UP))
    finally:
        sock.close()


@off_event_loop
def loopback_up(netns_path: str) -> None:
    """Bring ``lo`` up inside the namespace (what ``--network none`` leaves)."""
    try:
        _loopback_up_ioctl(netns_path)
        return
    except (OSError, NetworkError):
        pass  # fall back to netlink, which reports the error properly
    with netns_rtnl(netns_path) as ipr:
        try:
            lo = link_index(ipr, "lo")
            if lo is not None:
                ipr.link("set", index=lo, state="up")
        except NetlinkError as error:
            raise _fail(f"cannot bring lo up in {netns_path}", error) from error


def netns_identity(netns_path: str) -> int:
    """The inode of the namespace at ``netns_path``, or 0 when it is gone."""
    try:
        return os.stat(netns_path).st_ino
    except OSError:
        return 0
