"""Hijacking routes: container attach, and exec create/start/inspect/resize."""

from __future__ import annotations

from engine.api.convert_runtime import exec_json, exec_spec
from engine.api.hijack import HijackChannel, run_stdio
from engine.api.http import Request
from engine.model import AttachOptions
from engine.api.query import flag, integer
from engine.api.responses import (
    MULTIPLEXED_STREAM,
    RAW_STREAM,
    AnyResponse,
    HijackResponse,
    Response,
    json_response,
)
from engine.api.router import Api, json_object

ID = r"(?P<id>[^/]+)"


def _hijack(session: object, request: Request, tty: bool) -> HijackResponse:
    async def run(channel: HijackChannel) -> None:
        await run_stdio(session, channel, request.cancel, multiplexed=not tty)  # type: ignore[arg-type]

    return HijackResponse(run, RAW_STREAM if tty else MULTIPLEXED_STREAM)


async def attach(api: Api, request: Request) -> AnyResponse:
    """``POST /containers/{id}/attach?stream=&stdin=&stdout=&stderr=&logs=`` → 101 UPGRADED."""
    info = await api.call("inspect_container", request.params["id"])
    options = AttachOptions(stdin=flag(request, "stdin"), stdout=flag(request, "stdout"),
                            stderr=flag(request, "stderr"), stream=flag(request, "stream"),
                            logs=flag(request, "logs"), detach_keys=request.arg("detachKeys") or "")
    session = await api.call("attach_container", info.id, options, request.cancel)
    return _hijack(session, request, info.spec.tty)


async def exec_create(api: Api, request: Request) -> AnyResponse:
    """``POST /containers/{id}/exec`` → 201 ``{"Id"}``."""
    exec_id = await api.call("exec_create", request.params["id"], exec_spec(json_object(request)))
    return json_response({"Id": exec_id}, 201)


async def exec_start(api: Api, request: Request) -> AnyResponse:
    """``POST /exec/{id}/start``: 101 UPGRADED and the process's stdio, or 200 when detached."""
    body = json_object(request)
    console = body.get("ConsoleSize")
    size = (int(console[0]), int(console[1])) if console and any(console) else None
    detach = bool(body.get("Detach"))
    info = await api.call("exec_inspect", request.params["id"])
    tty = bool(body.get("Tty")) or info.spec.tty
    session = await api.call("exec_start", request.params["id"], detach, tty, size, request.cancel)
    if detach or session is None:
        return Response(200)
    return _hijack(session, request, tty)


async def exec_inspect(api: Api, request: Request) -> AnyResponse:
    """``GET /exec/{id}/json``."""
    return json_response(exec_json(await api.call("exec_inspect", request.params["id"])))


async def exec_resize(api: Api, request: Request) -> AnyResponse:
    """``POST /exec/{id}/resize?h=&w=`` → 200."""
    await api.call("exec_resize", request.params["id"], integer(request, "h", 0), integer(request, "w", 0))
    return Response(200)


def register(api: Api) -> None:
    """Add the attach and exec routes to ``api``."""
    api.add("POST", rf"/containers/{ID}/attach", attach)
    api.add("POST", rf"/containers/{ID}/exec", exec_create)
    api.add("POST", rf"/exec/{ID}/start", exec_start)
    api.add("POST", rf"/exec/{ID}/resize", exec_resize)
    api.add("GET", rf"/exec/{ID}/json", exec_inspect)
