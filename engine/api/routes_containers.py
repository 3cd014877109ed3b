"""Container routes: list, create, inspect, lifecycle, wait, logs, stats, archive, prune."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

from engine.api import filters as listing
from engine.api.bridge import SyncBody
from engine.api.convert_containers import inspect_json, status_text, summary_json
from engine.api.convert_create import create_spec, update_spec
from engine.api.convert_runtime import changes_json, path_stat_header, stats_json, top_json
from engine.api.hijack import frame
from engine.api.http import Request
from engine.model import ContainerInfo, LogOptions, LogRecord, StatsSample
from engine.api.query import filters, flag, integer, timestamp
from engine.api.responses import (
    MULTIPLEXED_STREAM,
    RAW_STREAM,
    AnyResponse,
    Response,
    StreamResponse,
    empty_response,
    json_bytes,
    json_response,
)
from engine.api.router import Api, json_object
from engine.api.timefmt import rfc3339_nano
from engine.errors import InvalidArgument, WharfError

ID = r"(?P<id>[^/]+)"


async def list_containers(api: Api, request: Request) -> AnyResponse:
    """``GET /containers/json?all=&limit=&size=&filters=``."""
    wanted = filters(request, listing.CONTAINER_FILTERS)
    limit = integer(request, "limit", -1) or -1
    everything = flag(request, "all") or limit > 0 or bool(wanted.get("status")) or bool(wanted.get("exited"))
    listed = await api.read("list_containers", everything, flag(request, "size"))
    records = sorted(listing.containers(listed, wanted), key=lambda r: r.created, reverse=True)
    if limit > 0:
        records = records[:limit]
    return json_response(_summaries(api, listed, records))


def _summaries(api: Api, listed: list[ContainerInfo], records: list[ContainerInfo]) -> list[dict[str, Any]]:
    """``summary_json`` of ``records`` (taken from ``listed``); when the backend hands out the very
    same ``listed`` again (nothing changed), the summaries are reused, only ``Status`` renewed."""
    memo = api.memo.get("containers")
    if memo is None or memo[0] is not listed:
        memo = api.memo["containers"] = (listed, {})
    known: dict[int, dict[str, Any]] = memo[1]
    now = time.time()
    out = []
    for record in records:
        summary = known.get(id(record))
        if summary is None:
            out.append(known.setdefault(id(record), summary_json(record)))
        else:
            out.append({**summary, "Status": status_text(record, now)})
    return out


async def create(api: Api, request: Request) -> AnyResponse:
    """``POST /containers/create?name=&platform=`` → 201 ``{"Id", "Warnings"}``."""
    spec = create_spec(json_object(request), request.arg("name"), request.arg("platform") or "")
    container_id, warnings = await api.call("create_container", spec)
    return json_response({"Id": container_id, "Warnings": list(warnings)}, 201)


async def inspect(api: Api, request: Request) -> AnyResponse:
    """``GET /containers/{id}/json``."""
    return json_response(inspect_json(await api.read("inspect_container", request.params["id"],
                                                     flag(request, "size"))))


async def start(api: Api, request: Request) -> AnyResponse:
    """``POST /containers/{id}/start`` → 204, or 304 if it was running."""
    return empty_response(204 if await api.call("start_container", request.params["id"]) else 304)


async def stop(api: Api, request: Request) -> AnyResponse:
    """``POST /containers/{id}/stop?t=&signal=`` → 204, or 304 if it was not running."""
    changed = await api.call("stop_container", request.params["id"], integer(request, "t"),
                             request.arg("signal") or None)
    return empty_response(204 if changed else 304)


async def restart(api: Api, request: Request) -> AnyResponse:
    """``POST /containers/{id}/restart?t=&signal=`` → 204."""
    await api.call("restart_container", request.params["id"], integer(request, "t"),
                   request.arg("signal") or None)
    return empty_response(204)


async def kill(api: Api, request: Request) -> AnyResponse:
    """``POST /containers/{id}/kill?signal=`` → 204 (default SIGKILL)."""
    await api.call("kill_container", request.params["id"], request.arg("signal") or "KILL")
    return empty_response(204)


async def pause(api: Api, request: Request) -> AnyResponse:
    """``POST /containers/{id}/pause`` → 204."""
    await api.call("pause_container", request.params["id"])
    return empty_response(204)


async def unpause(api: Api, request: Request) -> AnyResponse:
    """``POST /containers/{id}/unpause`` → 204."""
    await api.call("unpause_container", request.params["id"])
    return empty_response(204)


async def rename(api: Api, request: Request) -> AnyResponse:
    """``POST /containers/{id}/rename?name=`` → 204."""
    name = request.arg("name") or ""
    if not name:
        raise InvalidArgument("a new name is required")
    await api.call("rename_container", request.params["id"], name.lstrip("/"))
    return empty_response(204)


async def resize(api: Api, request: Request) -> AnyResponse:
    """``POST /containers/{id}/resize?h=&w=`` → 200."""
    await api.call("resize_container", request.params["id"], integer(request, "h", 0), integer(request, "w", 0))
    return Response(200)


async def update(api: Api, request: Request) -> AnyResponse:
    """``POST /containers/{id}/update`` → ``{"Warnings": […]}``."""
    warnings = await api.call("update_container", request.params["id"], update_spec(json_object(request)))
    return json_response({"Warnings": list(warnings)})


async def remove(api: Api, request: Request) -> AnyResponse:
    """``DELETE /containers/{id}?force=&v=&link=`` → 204."""
    await api.call("remove_container", request.params["id"], flag(request, "force"), flag(request, "v"),
                   flag(request, "link"))
    return empty_response(204)


async def prune(api: Api, request: Request) -> AnyResponse:
    """``POST /containers/prune?filters=``."""
    result = await api.call("prune_containers", listing.prune_filter(filters(request)))
    return json_response({"ContainersDeleted": result.deleted or None, "SpaceReclaimed": result.space_reclaimed})


async def top(api: Api, request: Request) -> AnyResponse:
    """``GET /containers/{id}/top?ps_args=``."""
    return json_response(top_json(await api.call("container_top", request.params["id"],
                                                 request.arg("ps_args") or "-ef")))


async def changes(api: Api, request: Request) -> AnyResponse:
    """``GET /containers/{id}/changes``."""
    return json_response(changes_json(await api.call("container_changes", request.params["id"])))


async def wait(api: Api, request: Request) -> AnyResponse:
    """``POST /containers/{id}/wait?condition=``: headers at once, the result when it holds."""
    condition = request.arg("condition") or "not-running"
    if condition not in ("not-running", "next-exit", "removed"):
        raise InvalidArgument(f"invalid condition: {condition!r}")
    ref = request.params["id"]
    await api.call("inspect_container", ref)  # a missing container is a plain 404, before the headers
    method = api.method("wait_container")

    async def body() -> AsyncIterator[bytes]:
        try:
            document: dict[str, object] = {"StatusCode": -1, "Error": {"Message": "wait ended"}}
            async for result in api.iterate(lambda: iter([method(ref, condition, request.cancel)]),
                                            request.cancel):
                document = {"StatusCode": result.status_code,
                            "Error": {"Message": result.error} if result.error else None}
        except WharfError as exc:
            document = {"StatusCode": -1, "Error": {"Message": str(exc)}}
        yield json_bytes(document) + b"\n"

    return StreamResponse(body())


def _log_options(request: Request) -> tuple[LogOptions, bool]:
    tail_text = (request.arg("tail") or "all").strip()
    if tail_text in ("", "all"):
        tail = None
    else:
        try:
            tail = int(tail_text)
        except ValueError:
            raise InvalidArgument(f"invalid value for tail: {tail_text!r}") from None
        tail = None if tail < 0 else tail
    options = LogOptions(stdout=flag(request, "stdout"), stderr=flag(request, "stderr"),
                         follow=flag(request, "follow"), since=timestamp(request.arg("since"), "since"),
                         until=timestamp(request.arg("until"), "until"), tail=tail)
    if options.since == 0:
        options.since = None
    if not (options.stdout or options.stderr):
        raise InvalidArgument("Bad parameters: you must choose at least one stream")
    return options, flag(request, "timestamps")


async def logs(api: Api, request: Request) -> AnyResponse:
    """``GET /containers/{id}/logs``: framed (non-tty) or raw, headers at once."""
    options, stamps = _log_options(request)
    info = await api.call("inspect_container", request.params["id"])
    method = api.method("container_logs")
    tty = info.spec.tty

    def records() -> Iterator[LogRecord]:
        return method(info.id, options, request.cancel)

    async def body() -> AsyncIterator[bytes]:
        async for record in api.iterate(records, request.cancel):
            data = (rfc3339_nano(record.time).encode() + b" " + record.data) if stamps else record.data
            yield data if tty else frame(record.stream, data)

    return StreamResponse(body(), content_type=RAW_STREAM if tty else MULTIPLEXED_STREAM)


async def stats(api: Api, request: Request) -> AnyResponse:
    """``GET /containers/{id}/stats?stream=&one-shot=``."""
    streaming = flag(request, "stream", True)
    one_shot = flag(request, "one-shot")
    info = await api.call("inspect_container", request.params["id"])
    method = api.method("container_stats")
    interval = 1.0 if streaming else 0.5

    def samples() -> Iterator[StatsSample]:
        return method(info.id, interval, request.cancel)

    async def body() -> AsyncIterator[bytes]:
        previous: StatsSample | None = None
        async for sample in api.iterate(samples, request.cancel):
            if not streaming and not one_shot and previous is None:
                previous = sample  # moby samples twice so precpu_stats is filled
                continue
            yield json_bytes(stats_json(sample, previous, info.id, info.name)) + b"\n"
            if not streaming:
                return
            previous = sample

    if streaming:
        return StreamResponse(body())
    chunks = [chunk async for chunk in body()]
    return Response(200, b"".join(chunks), "application/json")


async def archive_head(api: Api, request: Request) -> AnyResponse:
    """``HEAD /containers/{id}/archive?path=``: the stat header only."""
    stat = await api.call("archive_stat", request.params["id"], _path(request))
    return Response(200, b"", None, [("X-Docker-Container-Path-Stat", path_stat_header(stat))])


async def archive_get(api: Api, request: Request) -> AnyResponse:
    """``GET /containers/{id}/archive?path=``: a tar stream."""
    stat, chunks = await api.call("get_archive", request.params["id"], _path(request), request.cancel)
    return StreamResponse(api.iterate(lambda: chunks, request.cancel), content_type="application/x-tar",
                          headers=[("X-Docker-Container-Path-Stat", path_stat_header(stat))])


async def archive_put(api: Api, request: Request) -> AnyResponse:
    """``PUT /containers/{id}/archive?path=``: extract the body (a tar stream)."""
    assert request.body_stream is not None
    tar = iter(SyncBody(request.body_stream, asyncio.get_running_loop()))
    await api.call("put_archive", request.params["id"], _path(request), tar,
                   flag(request, "noOverwriteDirNonDir"), flag(request, "copyUIDGID"))
    return Response(200)


def _path(request: Request) -> str:
    path = request.arg("path")
    if not path:
        raise InvalidArgument("path is required")
    return path


async def anatomy(api: Api, request: Request) -> AnyResponse:
    """``GET /wharf/containers/{id}/anatomy``: Wharf's teaching view of one container."""
    return json_response(dict(await api.call("container_anatomy", request.params["id"])))


def register(api: Api) -> None:
    """Add the container routes to ``api``."""
    api.add("GET", r"/containers/json", list_containers)
    api.add("POST", r"/containers/create", create)
    api.add("POST", r"/containers/prune", prune)
    api.add("GET", rf"/containers/{ID}/json", inspect)
    api.add("GET", rf"/containers/{ID}/top", top)
    api.add("GET", rf"/containers/{ID}/logs", logs)
    api.add("GET", rf"/containers/{ID}/changes", changes)
    api.add("GET", rf"/containers/{ID}/stats", stats)
    api.add("POST", rf"/containers/{ID}/resize", resize)
    api.add("POST", rf"/containers/{ID}/start", start)
    api.add("POST", rf"/containers/{ID}/stop", stop)
    api.add("POST", rf"/containers/{ID}/restart", restart)
    api.add("POST", rf"/containers/{ID}/kill", kill)
    api.add("POST", rf"/containers/{ID}/update", update)
    api.add("POST", rf"/containers/{ID}/rename", rename)
    api.add("POST", rf"/containers/{ID}/pause", pause)
    api.add("POST", rf"/containers/{ID}/unpause", unpause)
    api.add("POST", rf"/containers/{ID}/wait", wait)
    api.add("DELETE", rf"/containers/{ID}", remove)
    api.add("HEAD", rf"/containers/{ID}/archive", archive_head)
    api.add("GET", rf"/containers/{ID}/archive", archive_get)
    api.add("PUT", rf"/containers/{ID}/archive", archive_put, stream_body=True)
    api.add("GET", rf"/wharf/containers/{ID}/anatomy", anatomy)
