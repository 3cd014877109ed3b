"""System routes: ``/_ping``, ``/version``, ``/info``, ``/system/df``, ``/events``, ``/auth``,
and Wharf's own ``/wharf/journal``."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from engine.api import convert_containers, convert_images, convert_volumes
from engine.api.convert_system import (
    EVENT_TYPES,
    auth_from_json,
    docker_event_json,
    event_attributes,
    event_type,
    info_json,
    journal_json,
    version_json,
)
from engine.api.http import Request
from engine.model import Cancel
from engine.api.query import filters, flag, integer, labels_match, timestamp
from engine.api.responses import AnyResponse, Response, json_response
from engine.api.router import Api, json_object
from engine.errors import InvalidArgument
from engine.jobs import Event, EventBus, Subscription

_PING_HEADERS = [("Cache-Control", "no-cache, no-store, must-revalidate"), ("Pragma", "no-cache"),
                 ("Builder-Version", "1"), ("Swarm", "inactive")]


async def ping(api: Api, request: Request) -> AnyResponse:
    """``GET|HEAD /_ping``: ``OK``; the headers carry the API version."""
    return Response(200, b"OK", "text/plain; charset=utf-8", list(_PING_HEADERS))


async def version(api: Api, request: Request) -> AnyResponse:
    """``GET /version``."""
    return json_response(version_json(await api.call("version")))


async def info(api: Api, request: Request) -> AnyResponse:
    """``GET /info``."""
    return json_response(info_json(await api.call("info")))


async def disk_usage(api: Api, request: Request) -> AnyResponse:
    """``GET /system/df``."""
    usage = await api.call("disk_usage")
    return json_response({
        "LayersSize": usage.layers_size,
        "Images": [convert_images.summary_json(i) for i in usage.images],
        "Containers": [convert_containers.summary_json(c) for c in usage.containers],
        "Volumes": [convert_volumes.volume_json(v) for v in usage.volumes],
        "BuildCache": [],
    })


async def auth(api: Api, request: Request) -> AnyResponse:
    """``POST /auth``: check credentials against a registry."""
    result = await api.call("login", auth_from_json(json_object(request)))
    return json_response({"Status": result.status, "IdentityToken": result.identity_token})


def event_matcher(wanted: dict[str, list[str]]) -> Callable[[Event], bool]:
    """A predicate over object events implementing ``/events`` filters.

    Supported keys: ``type``, ``event``, ``container``, ``image``, ``network``,
    ``volume``, ``daemon``, ``label``, ``scope``.
    """
    for key in wanted:
        if key not in ("type", "event", "container", "image", "network", "volume", "daemon",
                       "label", "scope"):
            raise InvalidArgument(f"invalid filter '{key}'")
    for kind in wanted.get("type", []):
        if kind not in EVENT_TYPES:
            raise InvalidArgument(f"invalid filter 'type={kind}'")

    def names(event: Event) -> set[str]:
        attributes = event_attributes(event)
        found = {event.subject, event.subject[:12]}
        if "name" in attributes:
            found.add(attributes["name"])
        return found

    def matches(event: Event) -> bool:
        kind = event_type(event)
        if wanted.get("type") and kind not in wanted["type"]:
            return False
        if wanted.get("scope") and "local" not in wanted["scope"]:
            return False
        if wanted.get("event") and event.action not in wanted["event"]:
            return False
        for key in ("container", "network", "volume", "daemon"):
            if wanted.get(key):
                if kind != key or not names(event) & set(wanted[key]):
                    return False
        if wanted.get("image"):
            image = {event.subject} if kind == "image" else {event_attributes(event).get("image", "")}
            if kind == "image":
                image |= names(event)
            if not image & set(wanted["image"]):
                return False
        if wanted.get("label") and not labels_match(event_attributes(event), wanted["label"]):
            return False
        return True

    return matches


def object_events(subscription: Subscription, since: float | None, until: float | None,
                  wanted: Callable[[Event], bool], cancel: Cancel) -> Iterator[Event]:
    """Object events from ``since`` (history first) until ``until`` (or for ever)."""
    with subscription:
        cancel.on_cancel(subscription.close)
        while not cancel.is_set():
            wait = 0.5 if until is None else max(0.0, min(0.5, until - time.time()))
            event = subscription.get(wait)
            if event is None:
                if subscription.closed or (until is not None and time.time() >= until):
                    return
                continue
            if until is not None and event.time > until:
                return
            if since is not None and event.time < since:
                continue
            if event.kind == "object" and wanted(event):
                yield event


async def events(api: Api, request: Request) -> AnyResponse:
    """``GET /events``: Docker's object events, streamed, with since/until/filters."""
    since = timestamp(request.arg("since"), "since")
    until = timestamp(request.arg("until"), "until")
    wanted = event_matcher(filters(request))
    subscription = api.bus.subscribe(replay=since is not None)  # before the headers: nothing is missed
    request.cancel.on_cancel(subscription.close)
    items = api.iterate(lambda: object_events(subscription, since, until, wanted, request.cancel),
                        request.cancel)
    return api.json_stream(items, docker_event_json)


def journal_events(bus: EventBus, subscription: Subscription | None, since: int | None,
                   cancel: Cancel) -> Iterator[Event]:
    """Every engine event with ``seq > since``: the history, then (with a subscription) live ones."""
    if subscription is None:
        yield from (e for e in bus.history() if since is None or e.seq > since)
        return
    with subscription:
        cancel.on_cancel(subscription.close)
        while not cancel.is_set():
            event = subscription.get(0.5)
            if event is None:
                if subscription.closed:
                    return
                continue
            if since is None or event.seq > since:
                yield event


async def journal(api: Api, request: Request) -> AnyResponse:
    """``GET /wharf/journal[?since=SEQ][&follow=0]``: every engine event as JSON lines.

    With ``since`` the remembered history after that sequence number is
    replayed first; ``follow=0`` ends the stream after the history.
    """
    since = integer(request, "since")
    follow = flag(request, "follow", True)
    bus = api.bus
    subscription = bus.subscribe(replay=since is not None) if follow else None
    if subscription is not None:
        request.cancel.on_cancel(subscription.close)
    items = api.iterate(lambda: journal_events(bus, subscription, since, request.cancel), request.cancel)
    return api.json_stream(items, journal_json)


def register(api: Api) -> None:
    """Add the system routes to ``api``."""
    api.add("GET", r"/_ping", ping)
    api.add("GET", r"/version", version)
    api.add("GET", r"/info", info)
    api.add("GET", r"/system/df", disk_usage)
    api.add("GET", r"/events", events)
    api.add("POST", r"/auth", auth)
    api.add("GET", r"/wharf/journal", journal)
