"""Image endpoints of the low-level client (docker-py's ``ImageApiMixin`` names)."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from typing import Any

from engine.client.api_base import APIClientBase


def split_repository_tag(name: str) -> tuple[str, str | None]:
    """``"localhost:5000/a:v1"`` → ``("localhost:5000/a", "v1")``; digests stay in the name."""
    if "@" in name:
        return name, None
    repo, sep, tag = name.rpartition(":")
    if sep and "/" not in tag:
        return repo, tag
    return name, None


def auth_header(auth_config: dict[str, Any] | None) -> dict[str, str]:
    """``X-Registry-Auth`` (base64url JSON); anonymous is ``e30=`` (``{}``)."""
    encoded = base64.urlsafe_b64encode(json.dumps(auth_config or {}).encode()).decode()
    return {"X-Registry-Auth": encoded}


class ImageApiMixin(APIClientBase):
    """``/images/...`` endpoints."""

    def images(self, name: str | None = None, quiet: bool = False, all: bool = False,
               filters: dict[str, Any] | None = None) -> list[Any]:
        """List images (dicts; IDs only with ``quiet``)."""
        filters = dict(filters or {})
        if name:
            filters["reference"] = [name]
        params = {"all": all, "filters": json.dumps(filters) if filters else None}
        result = self._result(self._get(self._url("/images/json"), params=params), True)
        return [i["Id"] for i in result] if quiet else result

    def inspect_image(self, image: str) -> dict[str, Any]:
        """The image's inspect document."""
        return self._result(self._get(self._url("/images/{0}/json", image)), True)

    def history(self, image: str) -> list[dict[str, Any]]:
        """The image's history."""
        return self._result(self._get(self._url("/images/{0}/history", image)), True)

    def pull(self, repository: str, tag: str | None = None, stream: bool = False,
             auth_config: dict[str, Any] | None = None, decode: bool = False,
             platform: str | None = None, all_tags: bool = False) -> Any:
        """Pull: the whole progress text, or a stream of its messages with ``stream``."""
        repo, parsed_tag = split_repository_tag(repository)
        tag = tag or parsed_tag or (None if all_tags else "latest")
        params = {"fromImage": repo, "tag": tag, "platform": platform}
        response = self._post(self._url("/images/create"), params=params, content=b"",
                              headers=auth_header(auth_config), stream=True)
        if stream:
            return self._stream_json(response, decode)
        return self._result(response)

    def push(self, repository: str, tag: str | None = None, stream: bool = False,
             auth_config: dict[str, Any] | None = None, decode: bool = False) -> Any:
        """Push: the whole progress text, or a stream of its messages."""
        repo, parsed_tag = split_repository_tag(repository)
        response = self._post(self._url("/images/{0}/push", repo), params={"tag": tag or parsed_tag},
                              headers=auth_header(auth_config), stream=True)
        if stream:
            return self._stream_json(response, decode)
        return self._result(response)

    def tag(self, image: str, repository: str, tag: str | None = None, force: bool = False) -> bool:
        """Give ``image`` the reference ``repository:tag``; True on success."""
        response = self._post(self._url("/images/{0}/tag", image),
                              params={"repo": repository, "tag": tag, "force": force or None})
        self._raise_for_status(response)
        return response.status_code == 201

    def remove_image(self, image: str, force: bool = False, noprune: bool = False) -> list[dict[str, str]]:
        """Untag/delete; the list of what was untagged and deleted."""
        return self._result(self._delete(self._url("/images/{0}", image),
                                         params={"force": force, "noprune": noprune}), True)

    def prune_images(self, filters: dict[str, Any] | None = None) -> dict[str, Any]:
        """Remove dangling (or with ``{"dangling": False}`` all unused) images."""
        params = {"filters": json.dumps(filters) if filters else None}
        return self._result(self._post(self._url("/images/prune"), params=params), True)

    def get_image(self, image: str, chunk_size: int | None = 2 * 1024 * 1024) -> Iterator[bytes]:
        """Docker's image archive (``docker save``) of ``image``, as chunks of bytes."""
        response = self._get(self._url("/images/get"), params={"names": [image]}, stream=True)
        self._raise_for_status(response)
        return _response_chunks(response, chunk_size)

    def load_image(self, data: Any, quiet: bool | None = None) -> Iterator[dict[str, Any]]:
        """Load an image archive (bytes, or an iterable/file of bytes); the engine's messages."""
        content = bytes(data) if isinstance(data, (bytes, bytearray)) else _object_chunks(data)
        response = self._post(self._url("/images/load"), params={"quiet": quiet}, content=content,
                              headers={"Content-Type": "application/x-tar"}, stream=True)
        return iter(self._stream_json(response, True))

    def import_image(self, src: Any = None, repository: str | None = None, tag: str | None = None,
                     image: str | None = None, changes: list[str] | None = None,
                     stream_src: bool = False) -> str:
        """Make an image from a rootfs tarball: bytes, a file path, a file object, or a URL."""
        params: dict[str, Any] = {"repo": repository, "tag": tag, "changes": changes}
        content: Any = b""
        if isinstance(src, (bytes, bytearray)):
            params["fromSrc"], content = "-", bytes(src)
        elif isinstance(src, str) and os.path.exists(src):
            params["fromSrc"] = "-"
            content = _file_chunks(src)
        elif isinstance(src, str):
            params["fromSrc"] = src
        elif src is not None:
            params["fromSrc"], content = "-", _object_chunks(src)
        response = self._post(self._url("/images/create"), params=params, content=content,
                              headers={"Content-Type": "application/tar"}, stream=True)
        return self._result(response)


def _response_chunks(response: Any, chunk_size: int | None) -> Iterator[bytes]:
    try:
        yield from response.iter_bytes(chunk_size)
    finally:
        response.close()


def _file_chunks(path: str) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            yield chunk


def _object_chunks(obj: Any) -> Iterator[bytes]:
    if hasattr(obj, "read"):
        while chunk := obj.read(1 << 20):
            yield chunk
    else:
        yield from obj


__all__ = ["ImageApiMixin", "split_repository_tag", "auth_header"]
