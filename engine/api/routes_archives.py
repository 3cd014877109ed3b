"""Routes that move whole images and filesystems: commit, save (``images/get``), load, export.

``POST /commit`` takes Docker's container-config JSON body for the new
image's settings and ``changes`` as Dockerfile-style lines (``CMD``,
``ENTRYPOINT``, ``ENV``, ``WORKDIR``, ``EXPOSE``, ``LABEL``, ``USER``).
"""

from __future__ import annotations

import asyncio
import json
import shlex
from typing import Any

from engine.api.bridge import SyncBody
from engine.api.http import Request
from engine.api.query import flag
from engine.api.responses import AnyResponse, StreamResponse, json_response
from engine.api.router import Api, json_object
from engine.errors import InvalidArgument

_CONFIG_KEYS = ("Cmd", "Entrypoint", "Env", "WorkingDir", "ExposedPorts", "Labels", "User", "Volumes", "StopSignal")


def _instruction_value(text: str) -> list[str]:
    text = text.strip()
    if text.startswith("["):
        try:
            value = json.loads(text)
        except ValueError:
            raise InvalidArgument(f"invalid JSON array in change: {text}") from None
        if not isinstance(value, list):
            raise InvalidArgument(f"invalid JSON array in change: {text}")
        return [str(item) for item in value]
    return ["/bin/sh", "-c", text]


def parse_changes(lines: list[str]) -> dict[str, Any]:
    """``docker commit --change`` lines as config changes.

    Raises:
        InvalidArgument: an instruction ``commit`` does not take.
    """
    changes: dict[str, Any] = {}
    for line in lines:
        keyword, _, rest = line.strip().partition(" ")
        keyword = keyword.upper()
        if keyword == "CMD":
            changes["Cmd"] = _instruction_value(rest)
        elif keyword == "ENTRYPOINT":
            changes["Entrypoint"] = _instruction_value(rest)
        elif keyword == "ENV":
            key, _, value = rest.strip().partition("=") if "=" in rest else rest.strip().partition(" ")
            changes.setdefault("Env", []).append(f"{key}={value.strip()}")
        elif keyword == "WORKDIR":
            changes["WorkingDir"] = rest.strip()
        elif keyword == "EXPOSE":
            ports = changes.setdefault("ExposedPorts", {})
            for port in rest.split():
                ports[port if "/" in port else f"{port}/tcp"] = {}
        elif keyword == "LABEL":
            labels = changes.setdefault("Labels", {})
            for pair in shlex.split(rest):
                key, _, value = pair.partition("=")
                labels[key] = value
        elif keyword == "USER":
            changes["User"] = rest.strip()
        elif keyword == "STOPSIGNAL":
            changes["StopSignal"] = rest.strip()
        elif keyword == "VOLUME":
            volumes = changes.setdefault("Volumes", {})
            for target in _instruction_value(rest) if rest.strip().startswith("[") else rest.split():
                volumes[target] = {}
        else:
            raise InvalidArgument(f"{keyword} is not a valid change command for commit")
    return changes


async def commit(api: Api, request: Request) -> AnyResponse:
    """``POST /commit?container=&repo=&tag=&author=&comment=&pause=&changes=`` → 201 ``{"Id"}``."""
    container = request.arg("container")
    if not container:
        raise InvalidArgument("container is required")
    body = json_object(request)
    changes = {key: body[key] for key in _CONFIG_KEYS if body.get(key) not in (None, "", [], {})}
    changes.update(parse_changes(request.query.get("changes", [])))
    pause = request.arg("pause") is None or flag(request, "pause")
    image_id = await api.call("commit_container", container, request.arg("repo") or "", request.arg("tag") or "",
                              request.arg("author") or "", request.arg("comment") or "", changes, pause)
    return json_response({"Id": image_id}, status=201)


async def save(api: Api, request: Request) -> AnyResponse:
    """``GET /images/get?names=…`` and ``GET /images/{name}/get``: Docker's image archive."""
    names = list(request.query.get("names", []))
    if "name" in request.params:
        names = [request.params["name"]]
    if not names:
        raise InvalidArgument("no image names given")
    chunks = await api.call("save_images", names)
    return StreamResponse(api.iterate(lambda: chunks, request.cancel), content_type="application/x-tar")


async def load(api: Api, request: Request) -> AnyResponse:
    """``POST /images/load?quiet=``: the body is an archive; answers ``{"stream": "Loaded image: …"}``."""
    assert request.body_stream is not None
    tar = iter(SyncBody(request.body_stream, asyncio.get_running_loop()))
    loaded = await api.call("load_images", tar)
    lines = [{"stream": (f"Loaded image ID: {name}\n" if name.startswith("sha256:") else f"Loaded image: {name}\n")}
             for name in loaded]
    body = b"".join(json.dumps(line).encode() + b"\n" for line in lines)

    async def once() -> Any:
        yield body

    return StreamResponse(once(), content_type="application/json")


async def export(api: Api, request: Request) -> AnyResponse:
    """``GET /containers/{id}/export``: the container's filesystem as a tar."""
    chunks = await api.call("export_container", request.params["id"])
    return StreamResponse(api.iterate(lambda: chunks, request.cancel), content_type="application/x-tar")


def register(api: Api) -> None:
    """Add these routes (before the image name patterns)."""
    api.add("POST", r"/commit", commit)
    api.add("GET", r"/images/get", save)
    api.add("POST", r"/images/load", load, stream_body=True)
    api.add("GET", r"/images/(?P<name>.+)/get", save)
    api.add("GET", r"/containers/(?P<id>[^/]+)/export", export)
