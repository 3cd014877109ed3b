"""User-defined bridge networks: create/list/inspect/remove/prune, names, isolation, hot connect."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

import pytest
from network.nethelpers import BUSYBOX, wh_links

from engine.errors import AlreadyExists, Conflict, InUse, InvalidArgument, NetworkNotFound
from engine.jobs import EventBus
from engine.network import NetworkDriver


def test_create_inspect_list_remove_and_persist(driver: NetworkDriver, state_root: Path) -> None:
    """A network keeps its subnet, gateway, labels and options, on disk too; names are unique."""
    record = driver.create("appnet", subnet="10.231.0.0/24", gateway="10.231.0.254",
                           labels={"team": "blue"})
    assert record.driver == "bridge" and record.scope == "local" and len(record.id) == 64
    assert record.ipam[0].subnet == "10.231.0.0/24" and record.ipam[0].gateway == "10.231.0.254"
    assert record.labels == {"team": "blue"} and record.created.endswith("Z")
    assert record.bridge == f"wh-{record.id[:12]}" and record.bridge in wh_links()
    assert driver.get(record.id[:6]).name == "appnet"
    assert driver.get("appnet").containers == {}
    assert "appnet" in {n.name for n in driver.list()}
    with pytest.raises(AlreadyExists):
        driver.create("appnet")
    with pytest.raises(Conflict):
        driver.create("other", subnet="10.231.0.128/25")
    # a second driver on the same root sees the same record
    again = NetworkDriver(state_root, EventBus()).get("appnet")
    assert (again.id, again.ipam, again.labels) == (record.id, record.ipam, record.labels)
    driver.remove("appnet")
    assert record.bridge not in wh_links()
    with pytest.raises(NetworkNotFound):
        driver.get("appnet")


def test_predefined_networks_cannot_be_removed(driver: NetworkDriver) -> None:
    """bridge, host and none are Docker's predefined networks."""
    driver.ensure_default()
    for name in ("bridge", "host", "none"):
        with pytest.raises(InvalidArgument):
            driver.remove(name)


def test_remove_refuses_while_in_use_and_prune_keeps_used(driver: NetworkDriver, sandbox) -> None:
    """InUse while a container is attached; prune removes only unused user networks."""
    used = driver.create("used")
    driver.create("idle", labels={"tier": "scratch"})
    driver.create("kept")
    box = sandbox("web")
    endpoint = driver.connect("used", box.id, box.netns, box.hostname, name=box.name)
    inspected = driver.get("used")
    assert inspected.containers[box.id].ip == endpoint.ip
    assert inspected.containers[box.id].cidr == f"{endpoint.ip}/{endpoint.prefixlen}"
    with pytest.raises(InUse):
        driver.remove("used")
    assert driver.prune(labels={"tier": "other"}) == []
    assert driver.prune(labels={"tier": None}) == ["idle"]
    assert driver.prune() == ["kept"]
    assert {n.name for n in driver.list()} == {"used"}
    driver.release(box.id)
    assert driver.get(used.id).containers == {}
    driver.remove("used")


def test_names_and_aliases_resolve_through_the_hosts_file(driver: NetworkDriver, sandbox,
                                                          tmp_path: Path) -> None:
    """On a user network, busybox reaches a peer by name and alias; the file keeps its inode."""
    driver.create("appnet")
    web, client = sandbox("web"), sandbox("client")
    inode = os.stat(client.hosts).st_ino
    web_ep = driver.connect("appnet", web.id, web.netns, web.hostname, aliases=("www",), name="web")
    driver.connect("appnet", client.id, client.netns, client.hostname, name="client")
    web.serve_http(tmp_path / "www", "found by name\n")
    assert "found by name" in client.http_get("web")
    assert "found by name" in client.http_get("www")
    assert client.run(BUSYBOX, "ping", "-c1", "-W2", web.id[:12]).returncode == 0
    # the web container learned of the client, which joined after it
    assert web.run(BUSYBOX, "ping", "-c1", "-W2", "client").returncode == 0
    # when web leaves, the name leaves the client's file (seen through its bind mount)
    driver.disconnect("appnet", web.id)
    inside = client.run("cat", "/etc/hosts").stdout
    assert web_ep.ip not in inside and "web" not in inside.split()
    assert "127.0.0.1\tlocalhost" in inside
    assert os.stat(client.hosts).st_ino == inode


def test_default_bridge_has_no_name_resolution(driver: NetworkDriver, sandbox) -> None:
    """As in Docker, containers on the default bridge do not see each other's names."""
    a, b = sandbox("alpha"), sandbox("beta")
    driver.connect("bridge", a.id, a.netns, a.hostname, name="alpha")
    driver.connect("bridge", b.id, b.netns, b.hostname, name="beta")
    assert "alpha" not in b.hosts.read_text()


def test_networks_are_isolated_from_each_other(driver: NetworkDriver, sandbox, tmp_path: Path) -> None:
    """A container on one user network cannot reach one on another; on the same one it can."""
    driver.create("left")
    driver.create("right")
    server, stranger, friend = sandbox("server"), sandbox("stranger"), sandbox("friend")
    server_ep = driver.connect("left", server.id, server.netns, server.hostname)
    driver.connect("right", stranger.id, stranger.netns, stranger.hostname)
    driver.connect("left", friend.id, friend.netns, friend.hostname)
    server.serve_http(tmp_path / "www", "left only\n")
    assert "left only" in friend.http_get(server_ep.ip)
    assert "left only" not in stranger.http_get(server_ep.ip)


def test_connect_and_disconnect_a_running_container(driver: NetworkDriver, sandbox,
                                                    tmp_path: Path) -> None:
    """Hot-add eth1 on a second network to a serving container, then hot-remove it."""
    server, front, back = sandbox("server"), sandbox("front"), sandbox("back")
    driver.create("backnet")
    driver.connect("bridge", server.id, server.netns, server.hostname, name="server")
    front_ep = driver.connect("bridge", front.id, front.netns, front.hostname)
    driver.connect("backnet", back.id, back.netns, back.hostname, name="back")
    server.serve_http(tmp_path / "www", "still serving\n")
    extra = driver.connect("backnet", server.id, server.netns, server.hostname, name="server")
    assert extra.ifname == "eth1" and extra.host_ifname in wh_links()
    assert "still serving" in back.http_get("server")
    assert "still serving" in back.http_get(extra.ip)
    with pytest.raises(AlreadyExists):
        driver.connect("backnet", server.id, server.netns, server.hostname)
    driver.disconnect("backnet", server.id)
    assert extra.host_ifname not in wh_links()
    assert "eth1" not in server.run("ip", "-br", "link").stdout
    assert "still serving" not in back.http_get(extra.ip)
    bridge_ip = driver.get("bridge").containers[server.id].ip
    assert "still serving" in front.http_get(bridge_ip)
    assert front_ep.network_name == "bridge"
    with pytest.raises(Conflict):
        driver.disconnect("backnet", server.id)


def test_fixed_address_and_full_subnet(driver: NetworkDriver, sandbox) -> None:
    """A requested address is honoured once; a tiny subnet runs out with NetworkError."""
    from engine.errors import NetworkError

    driver.create("tiny", subnet="10.232.0.0/29")
    boxes = [sandbox(f"b{i}") for i in range(6)]
    first = driver.connect("tiny", boxes[0].id, boxes[0].netns, "b0", ip="10.232.0.6")
    assert first.ip == "10.232.0.6"
    with pytest.raises(Conflict):
        driver.connect("tiny", boxes[1].id, boxes[1].netns, "b1", ip="10.232.0.6")
    got = [driver.connect("tiny", b.id, b.netns, b.name).ip for b in boxes[1:5]]
    assert got == ["10.232.0.2", "10.232.0.3", "10.232.0.4", "10.232.0.5"]
    with pytest.raises(NetworkError):
        driver.connect("tiny", boxes[5].id, boxes[5].netns, "b5")
    assert all(ipaddress.IPv4Address(ip) in ipaddress.IPv4Network("10.232.0.0/29") for ip in got)


def test_none_host_and_container_modes_are_recorded(driver: NetworkDriver, sandbox) -> None:
    """none brings only lo up; host and container:<id> are recorded without links."""
    box = sandbox("alone")
    driver.join(box.id, "none", box.netns, box.hostname)
    links = box.run("ip", "-br", "link").stdout.split("\n")
    assert [line.split()[0] for line in links if line] == ["lo"] and "UNKNOWN" in links[0]
    assert box.id in driver.get("none").containers
    with pytest.raises(Conflict):
        driver.connect("bridge", box.id, box.netns, box.hostname)
    driver.join("f" * 64, "host")
    assert "f" * 64 in driver.get("host").containers
    driver.join("e" * 64, f"container:{box.id}")
    with pytest.raises(InvalidArgument):
        driver.join("d" * 64, "bogus")
