"""The default bridge: what a container's namespace looks like, and two containers talking."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

from network.nethelpers import Sandbox

from engine.jobs import Component
from engine.network import NetworkDriver, PortBinding


def _links_inside(box: Sandbox) -> dict[str, dict]:
    done = box.run("ip", "-j", "addr")
    assert done.returncode == 0, done.stderr
    return {link["ifname"]: link for link in json.loads(done.stdout)}


def test_default_bridge_is_made_once_on_a_free_subnet(driver: NetworkDriver) -> None:
    """ensure_default makes the ``bridge`` network (plus ``host``/``none``) and its bridge link."""
    first = driver.ensure_default()
    again = driver.ensure_default()
    assert first.id == again.id and first.name == "bridge" and first.driver == "bridge"
    assert first.bridge.startswith("wh") and Path(f"/sys/class/net/{first.bridge}").exists()
    subnet = ipaddress.IPv4Network(first.ipam[0].subnet)
    assert subnet.is_private and str(subnet.network_address + 1) == first.ipam[0].gateway
    assert {n.name for n in driver.list()} == {"bridge", "host", "none"}
    assert Path(f"/proc/sys/net/ipv4/conf/{first.bridge}/route_localnet").read_text().strip() == "1"


def test_container_namespace_gets_eth0_address_mac_route_and_lo(driver: NetworkDriver, sandbox) -> None:
    """eth0 inside has the address, Docker's IP-derived MAC, MTU 1500, and a default route."""
    box = sandbox("one")
    endpoint = driver.connect("bridge", box.id, box.netns, box.hostname, name=box.name)
    inside = _links_inside(box)
    assert set(inside) == {"lo", "eth0"}
    eth0 = inside["eth0"]
    assert "UP" in eth0["flags"] and "UP" in inside["lo"]["flags"]
    assert eth0["address"] == endpoint.mac
    assert endpoint.mac == "02:42:" + ":".join(f"{b:02x}" for b in ipaddress.IPv4Address(endpoint.ip).packed)
    assert eth0["mtu"] == 1500
    addrs = [(a["local"], a["prefixlen"]) for a in eth0["addr_info"] if a["family"] == "inet"]
    assert addrs == [(endpoint.ip, endpoint.prefixlen)]
    routes = json.loads(box.run("ip", "-j", "route").stdout)
    assert {"dst": "default", "gateway": endpoint.gateway} in [
        {"dst": r["dst"], "gateway": r.get("gateway")} for r in routes]
    # the host side is wh + short ID, enslaved to the bridge
    host_side = Path(f"/sys/class/net/{endpoint.host_ifname}")
    assert endpoint.host_ifname == f"wh{box.id[:12]}"
    assert (host_side / "master").resolve().name == driver.get("bridge").bridge
    # the hosts file holds Docker's default lines and the container's own address
    hosts = box.run("cat", "/etc/hosts").stdout
    assert "127.0.0.1\tlocalhost" in hosts and f"{endpoint.ip}\t{box.hostname}" in hosts


def test_two_containers_on_the_default_bridge_talk_tcp(driver: NetworkDriver, sandbox,
                                                       tmp_path: Path) -> None:
    """A busybox httpd in one namespace answers busybox nc from another, over the bridge."""
    server, client = sandbox("server"), sandbox("client")
    server_ep = driver.connect("bridge", server.id, server.netns, server.hostname)
    client_ep = driver.connect("bridge", client.id, client.netns, client.hostname)
    assert server_ep.ip != client_ep.ip
    server.serve_http(tmp_path / "www", "hello over the bridge\n")
    assert "hello over the bridge" in client.http_get(server_ep.ip)
    # the gateway answers too (the bridge's own address is up)
    assert client.run("/bin/busybox", "ping", "-c1", "-W2", client_ep.gateway).returncode == 0


def test_counters_count_the_bytes_of_eth0(driver: NetworkDriver, sandbox, tmp_path: Path) -> None:
    """counters(pid) reads rx/tx of eth0 in the container's namespace; traffic makes them grow."""
    server, client = sandbox("server"), sandbox("client")
    server_ep = driver.connect("bridge", server.id, server.netns, server.hostname)
    driver.connect("bridge", client.id, client.netns, client.hostname)
    before = driver.counters(server.pid)
    assert set(before) == {"eth0"}
    server.serve_http(tmp_path / "www", "x" * 50_000)
    assert len(client.http_get(server_ep.ip)) > 50_000
    rx, tx = driver.counters(server.pid)["eth0"]
    assert tx - before["eth0"][1] > 50_000 and rx > before["eth0"][0]


def test_connect_publishes_network_driver_steps(driver: NetworkDriver, sandbox) -> None:
    """The teaching view sees bridge, veth, address and rule steps tagged NETWORK_DRIVER."""
    with driver.bus.subscribe(replay=True) as events:
        box = sandbox("steps")
        driver.connect("bridge", box.id, box.netns, box.hostname)
        driver.publish(box.id, driver.get("bridge").containers[box.id], [PortBinding(80)])
        seen = []
        while (event := events.get(timeout=0.1)) is not None:
            if event.kind == "step":
                assert event.component is Component.NETWORK_DRIVER
                seen.append(event.action)
    for wanted in ("bridge created", "veth pair created", "address, MAC and route set",
                   "iptables rules added"):
        assert wanted in seen, seen


def test_the_driver_works_when_called_on_the_engines_event_loop(driver: NetworkDriver,
                                                                 sandbox) -> None:
    """pyroute2's own loop cannot nest in a running one; the driver hops to a thread for it."""
    import asyncio

    box = sandbox("looped")

    async def on_the_loop() -> str:
        endpoint = driver.connect("bridge", box.id, box.netns, box.hostname)
        driver.release(box.id)
        return endpoint.ip

    assert asyncio.run(on_the_loop())
    assert "eth0" not in box.run("ip", "-br", "link").stdout
