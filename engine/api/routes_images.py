"""Image routes: list, pull/import, inspect, history, tag, push, remove, prune.

Image names in paths hold unescaped ``/`` and ``:``
(``/images/localhost:5000/a/push``), so each pattern matches the verb
suffix and takes everything before it as the name.
"""

from __future__ import annotations

import asyncio

from engine.api import filters as listing
from engine.api.bridge import SyncBody
from engine.api.convert_images import delete_json, history_json, inspect_json, progress_json, summary_json
from engine.api.convert_system import auth_from_header
from engine.api.http import Request
from engine.model import ImportSpec
from engine.api.query import filters, flag
from engine.api.responses import AnyResponse, empty_response, json_response
from engine.api.router import Api
from engine.errors import InvalidArgument

NAME = r"(?P<name>.+)"


def join_reference(name: str, tag: str) -> str:
    """``fromImage`` + ``tag`` as one reference: ``name:tag``, ``name@sha256:…``, or ``name``."""
    if not tag:
        return name
    if tag.startswith("sha256:"):
        return f"{name}@{tag}"
    return f"{name}:{tag}"


async def list_images(api: Api, request: Request) -> AnyResponse:
    """``GET /images/json?all=&filters=``."""
    wanted = filters(request, listing.IMAGE_FILTERS)
    records = await api.call("list_images", flag(request, "all"))
    return json_response([summary_json(i) for i in listing.images(records, wanted)])


async def create(api: Api, request: Request) -> AnyResponse:
    """``POST /images/create``: pull (``fromImage``) or import (``fromSrc``), streaming progress."""
    assert request.body_stream is not None
    from_image = request.arg("fromImage") or ""
    from_src = request.arg("fromSrc") or ""
    if from_image:
        async for _ in request.body_stream:  # an empty body: read it so the connection can be reused
            pass
        ref = join_reference(from_image, request.arg("tag") or "")
        auth = auth_from_header(request.headers.get("x-registry-auth"))
        method = api.method("pull_image")
        platform = request.arg("platform") or ""
        items = api.iterate(lambda: method(ref, platform, auth, request.cancel), request.cancel)
        return await api.primed_json_stream(items, progress_json)
    if from_src:
        spec = ImportSpec(source=from_src, repo=request.arg("repo") or "", tag=request.arg("tag") or "",
                          message=request.arg("message") or "", changes=request.query.get("changes", []),
                          platform=request.arg("platform") or "")
        tar = iter(SyncBody(request.body_stream, asyncio.get_running_loop()))
        method = api.method("import_image")
        items = api.iterate(lambda: method(spec, tar, request.cancel), request.cancel)
        return await api.primed_json_stream(items, progress_json)
    raise InvalidArgument("either fromImage or fromSrc is required")


async def inspect(api: Api, request: Request) -> AnyResponse:
    """``GET /images/{name}/json``."""
    return json_response(inspect_json(await api.call("inspect_image", request.params["name"])))


async def history(api: Api, request: Request) -> AnyResponse:
    """``GET /images/{name}/history``."""
    return json_response(history_json(await api.call("image_history", request.params["name"])))


async def tag(api: Api, request: Request) -> AnyResponse:
    """``POST /images/{name}/tag?repo=&tag=`` → 201."""
    repo = request.arg("repo") or ""
    if not repo:
        raise InvalidArgument("repository name is required")
    await api.call("tag_image", request.params["name"], repo, request.arg("tag") or "latest")
    return empty_response(201)


async def push(api: Api, request: Request) -> AnyResponse:
    """``POST /images/{name}/push?tag=``: streams progress, ending with ``aux``."""
    ref = join_reference(request.params["name"], request.arg("tag") or "")
    auth = auth_from_header(request.headers.get("x-registry-auth"))
    method = api.method("push_image")
    items = api.iterate(lambda: method(ref, auth, request.cancel), request.cancel)
    return await api.primed_json_stream(items, progress_json)


async def remove(api: Api, request: Request) -> AnyResponse:
    """``DELETE /images/{name}?force=&noprune=``."""
    items = await api.call("remove_image", request.params["name"], flag(request, "force"),
                           not flag(request, "noprune"))
    return json_response(delete_json(items))


async def prune(api: Api, request: Request) -> AnyResponse:
    """``POST /images/prune?filters=``."""
    result = await api.call("prune_images", listing.prune_filter(filters(request)))
    deleted = [{"Untagged": u} for u in result.untagged] + [{"Deleted": d} for d in result.deleted]
    return json_response({"ImagesDeleted": deleted or None, "SpaceReclaimed": result.space_reclaimed})


def register(api: Api) -> None:
    """Add the image routes to ``api`` (fixed paths before name patterns)."""
    api.add("GET", r"/images/json", list_images)
    api.add("POST", r"/images/create", create, stream_body=True)
    api.add("POST", r"/images/prune", prune)
    api.add("GET", rf"/images/{NAME}/json", inspect)
    api.add("GET", rf"/images/{NAME}/history", history)
    api.add("POST", rf"/images/{NAME}/tag", tag)
    api.add("POST", rf"/images/{NAME}/push", push)
    api.add("DELETE", rf"/images/{NAME}", remove)
