"""The driver's pure parts: port specs, hosts and resolv.conf, IPAM, in-place rewrite, records."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

import pytest

from engine.errors import Conflict, InvalidSpec, NetworkError
from engine.network import PortBinding, etcfiles, ipam, parse_port_spec, render_hosts, render_resolv_conf
from engine.network.records import ContainerNet, Endpoint
from engine.network.store import NetworkStore


@pytest.mark.parametrize(("spec", "expected"), [
    ("80", [PortBinding(80)]),
    ("8080:80", [PortBinding(80, host_port=8080)]),
    ("127.0.0.1:8080:80/udp", [PortBinding(80, "udp", "127.0.0.1", 8080)]),
    ("127.0.0.1::80", [PortBinding(80, host_ip="127.0.0.1")]),
    ("0.0.0.0:81:80", [PortBinding(80, host_port=81)]),
    ("8000-8001:80-81", [PortBinding(80, host_port=8000), PortBinding(81, host_port=8001)]),
])
def test_port_specs(spec: str, expected: list[PortBinding]) -> None:
    """docker run -p forms."""
    assert parse_port_spec(spec) == expected


@pytest.mark.parametrize("spec", ["", "x", "80/sctp", "70000", "1:2:3:4", "8000-8002:80-81",
                                  "300.1.1.1:80:80", "[::1]:80:80", "0"])
def test_bad_port_specs(spec: str) -> None:
    """Malformed or unsupported specs are InvalidSpec."""
    with pytest.raises(InvalidSpec):
        parse_port_spec(spec)


def test_hosts_file_has_dockers_default_lines_own_address_and_peers() -> None:
    """The defaults, then the container's own line, then peers (deduplicated)."""
    text = render_hosts("web1", ["172.18.0.2"], [("172.18.0.3", ["db", "database", "abc"]),
                                                  ("172.18.0.3", ["db", "database", "abc"])])
    assert text.splitlines() == [
        "127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback",
        "fe00::\tip6-localnet", "ff00::\tip6-mcastprefix", "ff02::1\tip6-allnodes",
        "ff02::2\tip6-allrouters", "172.18.0.2\tweb1", "172.18.0.3\tdb database abc"]
    assert render_hosts("lonely") == etcfiles.DEFAULT_HOSTS


def test_resolv_conf_drops_loopback_and_falls_back(tmp_path: Path, monkeypatch) -> None:
    """Loopback nameservers go; none left means 8.8.8.8/8.8.4.4; search/options stay."""
    host = tmp_path / "resolv.conf"
    host.write_text("search example.test\nnameserver 127.0.0.1\nnameserver 10.0.0.2\n"
                    "nameserver ::1\noptions ndots:2\n")
    assert render_resolv_conf(host) == "search example.test\nnameserver 10.0.0.2\noptions ndots:2\n"
    host.write_text("nameserver 127.0.0.1\n")
    assert render_resolv_conf(host) == "nameserver 8.8.8.8\nnameserver 8.8.4.4\n"
    assert "nameserver 8.8.8.8" in render_resolv_conf(tmp_path / "missing")


def test_resolv_conf_follows_systemd_resolved(tmp_path: Path, monkeypatch) -> None:
    """Only the 127.0.0.53 stub: read systemd-resolved's upstream file instead."""
    stub, upstream = tmp_path / "stub.conf", tmp_path / "upstream.conf"
    stub.write_text("nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch lan\n")
    upstream.write_text("nameserver 192.0.2.53\nsearch lan\n")
    monkeypatch.setattr(etcfiles, "SYSTEMD_RESOLVED", upstream)
    assert render_resolv_conf(stub) == "nameserver 192.0.2.53\nsearch lan\n"


def test_rewrite_in_place_keeps_the_inode(tmp_path: Path) -> None:
    """Shorter and longer contents, same inode (a bind mount would keep seeing it)."""
    path = tmp_path / "hosts"
    path.write_text("x" * 500)
    inode = os.stat(path).st_ino
    etcfiles.rewrite_in_place(path, "short\n")
    assert path.read_text() == "short\n" and os.stat(path).st_ino == inode
    etcfiles.rewrite_in_place(path, "longer\n" * 100)
    assert path.read_text() == "longer\n" * 100 and os.stat(path).st_ino == inode
    with pytest.raises(NetworkError):
        etcfiles.rewrite_in_place(tmp_path / "no" / "such" / "dir", "x")


def test_subnet_choice_skips_routes_and_other_networks() -> None:
    """The first candidate clear of everything in use; default routes are ignored."""
    used = [ipaddress.IPv4Network("0.0.0.0/0"), ipaddress.IPv4Network("172.17.0.0/16"),
            ipaddress.IPv4Network("172.18.5.0/24")]
    assert str(ipam.choose_subnet(used)) == "172.19.0.0/16"
    everything = [ipaddress.IPv4Network("172.16.0.0/12"), ipaddress.IPv4Network("192.168.0.0/17")]
    assert str(ipam.choose_subnet(everything)) == "192.168.128.0/20"
    with pytest.raises(NetworkError):
        ipam.choose_subnet([*everything, ipaddress.IPv4Network("192.168.0.0/16")])


def test_address_allocation() -> None:
    """Lowest free first; the gateway, network and broadcast are never handed out."""
    net = ipaddress.IPv4Network("10.1.0.0/29")
    assert ipam.allocate(net, "10.1.0.1", set()) == "10.1.0.2"
    assert ipam.allocate(net, "10.1.0.1", {"10.1.0.2"}) == "10.1.0.3"
    assert ipam.allocate(net, "10.1.0.6", {"10.1.0.1"}) == "10.1.0.2"
    with pytest.raises(Conflict):
        ipam.allocate(net, "10.1.0.1", {"10.1.0.4"}, wanted="10.1.0.4")
    for bad in ("10.1.0.1", "10.1.0.7", "10.2.0.3", "nope"):
        with pytest.raises(InvalidSpec):
            ipam.allocate(net, "10.1.0.1", set(), wanted=bad)
    with pytest.raises(NetworkError):
        ipam.allocate(net, "10.1.0.1", {f"10.1.0.{i}" for i in range(2, 7)})
    assert ipam.mac_for("172.17.0.2") == "02:42:ac:11:00:02"
    assert ipam.gateway_for(net, None) == "10.1.0.1"
    with pytest.raises(InvalidSpec):
        ipam.gateway_for(net, "10.1.0.7")
    with pytest.raises(InvalidSpec):
        ipam.parse_subnet("10.1.0.1/24")


def test_state_round_trips_through_atomic_files(tmp_path: Path) -> None:
    """A container's state survives a write and a read, and leaves no temp files."""
    store = NetworkStore(tmp_path)
    endpoint = Endpoint("e" * 64, "n" * 64, "appnet", "c" * 64, "web", "web", "eth0", "whcccc",
                        "10.0.0.2", 24, "10.0.0.1", "02:42:0a:00:00:02", 1500, ("www",))
    state = ContainerNet("c" * 64, netns_path="/proc/1/ns/net", netns_inode=7,
                         endpoints=[endpoint], ports=[PortBinding(80, host_port=8080,
                                                                  container_ip="10.0.0.2")])
    store.save_container(state)
    assert store.load_containers() == [state]
    assert [p.name for p in store.containers_dir.iterdir()] == [f"{'c' * 64}.json"]
    store.delete_container(state.container_id)
    assert store.load_containers() == []
