"""Unit tests of the API layer's pure parts: query values, filters, conversions, listeners."""

from __future__ import annotations

import time

import pytest
from wharf_api_fixtures import _container

from engine.api import filters as listing
from engine.api.convert_containers import status_text
from engine.api.convert_create import parse_bind
from engine.api.convert_system import auth_from_header
from engine.api.http import Request
from engine.api.listeners import bind_tcp
from engine.api.query import bool_value, filters, timestamp
from engine.api.routes_images import join_reference
from engine.api.timefmt import rfc3339_nano
from engine.errors import InvalidArgument, InvalidSpec


def request(**query: str) -> Request:
    return Request("GET", "/", {k: [v] for k, v in query.items()}, {})


@pytest.mark.parametrize("value,expected", [
    ("1", True), ("True", True), ("yes", True), ("anything", True), (" true ", True),
    ("0", False), ("False", False), ("", False), ("no", False), ("NONE", False), (" false ", False),
])
def test_bool_value_is_moby_s(value, expected):
    assert bool_value(value) is expected


def test_filters_accept_maps_and_lists():
    assert filters(request(filters='{"type":{"container":true,"image":false}}')) == {"type": ["container"]}
    assert filters(request(filters='{"reference":["alpine"]}')) == {"reference": ["alpine"]}
    assert filters(request()) == {}
    with pytest.raises(InvalidArgument):
        filters(request(filters="{nope"))
    with pytest.raises(InvalidArgument, match="invalid filter 'colour'"):
        filters(request(filters='{"colour":["red"]}'), {"label"})


def test_timestamps_in_every_form():
    assert timestamp("1700000000.5") == 1700000000.5
    assert timestamp("2023-11-14T22:13:20Z") == 1700000000
    assert abs(timestamp("1h30m") - (time.time() - 5400)) < 5
    assert timestamp("") is None
    with pytest.raises(InvalidArgument):
        timestamp("yesterday")


def test_rfc3339_always_has_nine_digits():
    assert rfc3339_nano(1700000000.5) == "2023-11-14T22:13:20.500000000Z"
    assert rfc3339_nano(1700000000) == "2023-11-14T22:13:20.000000000Z"
    assert rfc3339_nano(None) == "0001-01-01T00:00:00Z"


def test_references_join_tags_and_digests():
    assert join_reference("docker.io/library/busybox", "1.36") == "docker.io/library/busybox:1.36"
    assert join_reference("busybox", "sha256:" + "a" * 64) == "busybox@sha256:" + "a" * 64
    assert join_reference("busybox:1.36", "") == "busybox:1.36"


def test_bind_strings():
    bind = parse_bind("/srv:/data:ro,rshared")
    assert (bind.type, bind.source, bind.target, bind.read_only, bind.propagation) == (
        "bind", "/srv", "/data", True, "rshared")
    assert parse_bind("named:/v").type == "volume"
    with pytest.raises(InvalidSpec):
        parse_bind("/srv:relative")


def test_registry_auth_header():
    assert auth_from_header("e30=") is None
    auth = auth_from_header("eyJ1c2VybmFtZSI6ImJvYiIsInBhc3N3b3JkIjoic2VjcmV0Iiwic2VydmVyYWRkcmVzcyI6ImxvY2FsaG9zdDo1MDAwIn0")
    assert (auth.username, auth.password, auth.server_address) == ("bob", "secret", "localhost:5000")


def test_container_filters_and_status_text():
    a, b = _container("a" * 64, "web", False), _container("b" * 64, "db", True)
    b.state.status, b.state.exit_code, b.state.finished_at = "exited", 3, time.time() - 120
    b.spec.labels = {"tier": "data"}
    assert [c.name for c in listing.containers([a, b], {"status": ["exited"]})] == ["db"]
    assert [c.name for c in listing.containers([a, b], {"label": ["tier=data"]})] == ["db"]
    assert [c.name for c in listing.containers([a, b], {"name": ["we"]})] == ["web"]
    assert [c.name for c in listing.containers([a, b], {"exited": ["3"]})] == ["db"]
    assert [c.name for c in listing.containers([a, b], {"ancestor": ["busybox"]})] == ["web", "db"]
    assert status_text(b) == "Exited (3) 2 minutes ago"
    assert status_text(a).startswith("Up ")
    with pytest.raises(InvalidArgument):
        listing.containers([a], {"status": ["sleepy"]})


def test_tcp_only_on_loopback_without_tls():
    sock = bind_tcp("127.0.0.1", 0)
    try:
        assert sock.getsockname()[0] == "127.0.0.1"
    finally:
        sock.close()
    with pytest.raises(InvalidArgument, match="without TLS"):
        bind_tcp("0.0.0.0", 0)
    with pytest.raises(InvalidArgument):
        bind_tcp("192.0.2.1", 0)


def test_event_types_follow_dockers_conventions():
    from engine.api.convert_system import docker_event_json
    from engine.jobs import Component, Event

    def shaped(action, component=Component.ENGINE, **detail):
        event = docker_event_json(Event("object", action, "j", component, "subject-id", detail))
        return event["Type"], event["Actor"]["Attributes"]

    assert shaped("start", name="web") == ("container", {"name": "web"})
    assert shaped("create", type="bridge", name="mynet") == ("network", {"type": "bridge", "name": "mynet"})
    assert shaped("tag", name="a:v1") == ("image", {"name": "a:v1"})
    assert shaped("pull", Component.REGISTRY) == ("image", {})
    assert shaped("create", event_type="volume", driver="local") == ("volume", {"driver": "local"})
    assert shaped("reload", Component.DAEMON) == ("daemon", {})
