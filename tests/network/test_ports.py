"""Published ports: from the host on 127.0.0.1 and its own address, UDP, conflicts, -P."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from network.nethelpers import host_address, http_from_host, wait_for, wharf_rules

from engine.errors import Conflict
from engine.network import NetworkDriver, PortBinding, parse_port_spec
from engine.network.firewall import root_tag

UDP_ECHO = """
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 9999))
while True:
    data, peer = s.recvfrom(2048)
    s.sendto(b"echo:" + data, peer)
"""


def _udp_roundtrip(address: str, port: int, payload: bytes) -> bytes:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(3)
        sock.sendto(payload, (address, port))
        return sock.recvfrom(2048)[0]


def test_published_tcp_port_from_host_loopback_and_own_address(driver: NetworkDriver, sandbox,
                                                               tmp_path: Path) -> None:
    """-p 0:80 and -p 127.0.0.1:H:80 answer from the host; a loopback-only port stays so."""
    box = sandbox("web")
    endpoint = driver.connect("bridge", box.id, box.netns, box.hostname)
    box.serve_http(tmp_path / "www", "published\n")
    anywhere, loop_only = driver.publish(box.id, endpoint, [
        PortBinding(80), PortBinding(80, host_ip="127.0.0.1")])
    assert anywhere.host_port > 0 and loop_only.host_port > 0
    assert anywhere.container_ip == endpoint.ip
    own = host_address()
    assert b"published" in http_from_host("127.0.0.1", anywhere.host_port)
    assert b"published" in http_from_host(own, anywhere.host_port)
    assert b"published" in http_from_host("127.0.0.1", loop_only.host_port)
    with pytest.raises(OSError):
        http_from_host(own, loop_only.host_port, timeout=2)
    # the container reaches its own published port through the host's address (hairpin)
    assert "published" in box.http_get(own, anywhere.host_port)
    # the rules are in Wharf's own chains only, and go with the container
    rules = wharf_rules()
    dnat = [r for r in rules if "DNAT" in r and endpoint.ip in r]
    assert len(dnat) == 2 and all(r.startswith("-A WHARF-") for r in dnat)
    driver.release(box.id)
    assert not [r for r in wharf_rules() if endpoint.ip in r]
    with pytest.raises(OSError):
        http_from_host("127.0.0.1", anywhere.host_port, timeout=2)


def test_udp_echo_between_containers_and_through_a_published_port(driver: NetworkDriver,
                                                                  sandbox) -> None:
    """A UDP echo server answers a peer directly and the host via -p H:9999/udp."""
    server, client = sandbox("echo"), sandbox("client")
    server_ep = driver.connect("bridge", server.id, server.netns, server.hostname)
    driver.connect("bridge", client.id, client.netns, client.hostname)
    server.spawn(sys.executable, "-c", UDP_ECHO)
    wait_for(lambda: server.listening(9999, "udp"), what="the UDP echo server")
    probe = ("import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
             "s.settimeout(3); s.sendto(b'ping', (%r, 9999)); print(s.recvfrom(99)[0].decode())")
    done = client.run(sys.executable, "-c", probe % server_ep.ip)
    assert done.stdout.strip() == "echo:ping", done.stderr
    [binding] = driver.publish(server.id, server_ep, parse_port_spec("127.0.0.1::9999/udp"))
    assert binding.protocol == "udp"
    assert _udp_roundtrip("127.0.0.1", binding.host_port, b"host") == b"echo:host"


def test_a_taken_host_port_fails_before_any_rule_naming_the_port(driver: NetworkDriver,
                                                                 sandbox) -> None:
    """Conflict names the port; nothing is half-published; a published port is held."""
    box, other = sandbox("web"), sandbox("other")
    endpoint = driver.connect("bridge", box.id, box.netns, box.hostname)
    other_ep = driver.connect("bridge", other.id, other.netns, other.hostname)
    squatter = socket.socket()
    squatter.bind(("0.0.0.0", 0))
    taken = squatter.getsockname()[1]
    try:
        tag = root_tag(str(driver.root.resolve()))
        before = wharf_rules(tag)
        with pytest.raises(Conflict, match=str(taken)):
            driver.publish(box.id, endpoint, [PortBinding(81), PortBinding(80, host_port=taken)])
        assert wharf_rules(tag) == before
        assert driver.get("bridge").containers[box.id] == endpoint
    finally:
        squatter.close()
    [held] = driver.publish(box.id, endpoint, [PortBinding(80, host_port=taken)])
    # the driver holds the port now: a program binding it fails, and so does a second publish
    with socket.socket() as late, pytest.raises(OSError):
        late.bind(("0.0.0.0", held.host_port))
    with pytest.raises(Conflict, match=str(taken)):
        driver.publish(other.id, other_ep, [PortBinding(80, host_ip="127.0.0.1", host_port=taken)])


def test_publish_all_exposed_ports(driver: NetworkDriver, sandbox) -> None:
    """-P: every exposed port gets its own random host port."""
    box = sandbox("many")
    endpoint = driver.connect("bridge", box.id, box.netns, box.hostname)
    exposed = [PortBinding(80), PortBinding(443), PortBinding(53, "udp")]
    resolved = driver.publish(box.id, endpoint, exposed)
    assert [(p.container_port, p.protocol) for p in resolved] == [(80, "tcp"), (443, "tcp"), (53, "udp")]
    assert len({p.host_port for p in resolved}) == 3
    lines = subprocess.run(["iptables-save", "-t", "nat"], capture_output=True, text=True).stdout
    for binding in resolved:
        assert f"--dport {binding.host_port} -j DNAT --to-destination {endpoint.ip}:" \
               f"{binding.container_port}" in lines
