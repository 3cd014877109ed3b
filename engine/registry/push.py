"""Push primitives: blob existence, cross-repository mount, blob upload, manifest PUT.

Order is the caller's job: blobs (layers, then config), then child manifests
by digest, then the index or manifest by tag. Upload ``Location``s may be
relative or absolute and carry state in their query: the digest is merged
into that query, never appended. A Location on another host gets no credentials.
"""

from __future__ import annotations

import io
from typing import Any

import httpx

from engine.errors import DigestMismatch, RegistryError
from engine.jobs import Component, Job
from engine.registry.manifest import guess_media_type
from engine.registry.reference import Digest, Reference
from engine.registry.responses import raise_for_status
from engine.registry.transport import Transport

UPLOAD_CHUNK_SIZE = 16 * 1024 * 1024
"""Blobs larger than this are sent as several PATCH chunks."""


def _scopes(repo: Reference) -> list[str]:
    return [f"repository:{repo.path}:pull,push"]


def _location(response: httpx.Response, what: str) -> str:
    location = response.headers.get("location")
    if not location:
        raise RegistryError(f"{what}: the registry answered {response.status_code} without a Location")
    return str(response.url.join(location))


def blob_exists(transport: Transport, repo: Reference, digest: Digest) -> int | None:
    """``HEAD /v2/<name>/blobs/<digest>``: the blob's size if present, else ``None``."""
    response = transport.request("HEAD", repo.api_host, f"/v2/{repo.path}/blobs/{digest}",
                                 registry=repo.domain, scopes=_scopes(repo))
    if response.status_code == 404:
        return None
    raise_for_status(response, f"blob {digest} of {repo.name}")
    length = response.headers.get("content-length", "")
    return int(length) if length.isdigit() else 0


def mount_blob(transport: Transport, repo: Reference, digest: Digest, source: Reference) -> bool:
    """Cross-repository mount; ``True`` on 201, ``False`` when the registry started an upload instead."""
    scopes = [f"repository:{source.path}:pull", *_scopes(repo)]
    response = transport.request("POST", repo.api_host, f"/v2/{repo.path}/blobs/uploads/",
                                 registry=repo.domain, scopes=scopes,
                                 params={"mount": str(digest), "from": source.path})
    if response.status_code == 201:
        return True
    raise_for_status(response, f"mount of {digest} into {repo.name}", ok=(202,))
    cancel = transport.request("DELETE", repo.api_host, _location(response, "mount"),
                               registry=repo.domain, scopes=_scopes(repo))
    cancel.close()
    return False


def push_blob(transport: Transport, repo: Reference, digest: Digest, data: bytes | Any,
              size: int | None = None, *, job: Job | None = None,
              chunk_size: int = UPLOAD_CHUNK_SIZE) -> None:
    """Upload a blob: POST a session, PATCH chunks (large blobs), PUT ``?digest=``.

    Args:
        data: the blob's bytes, or a binary file positioned at its start.
        size: its length (checked against the bytes sent).
        chunk_size: blobs larger than this go in several PATCH requests of this size.

    Raises:
        DigestMismatch: the data does not hash to ``digest`` (checked before the final PUT).
    """
    if blob_exists(transport, repo, digest) is not None:
        if job is not None:
            job.step("blob exists", Component.REGISTRY, str(digest), repository=repo.name)
        return
    stream = io.BytesIO(data) if isinstance(data, (bytes, bytearray, memoryview)) else data
    what = f"upload of {digest} to {repo.name}"
    response = transport.request("POST", repo.api_host, f"/v2/{repo.path}/blobs/uploads/",
                                 registry=repo.domain, scopes=_scopes(repo), job=job)
    raise_for_status(response, what, ok=(202,))
    location = _location(response, what)
    hasher = digest.hasher()
    sent = 0
    chunk = stream.read(chunk_size)
    final_body = b""
    while chunk:
        following = stream.read(chunk_size)
        hasher.update(chunk)
        if not following and sent == 0:
            final_body = chunk  # small blob: monolithic PUT
            sent += len(chunk)
            break
        headers = {"Content-Type": "application/octet-stream",
                   "Content-Range": f"{sent}-{sent + len(chunk) - 1}"}
        response = transport.request("PATCH", repo.api_host, location, registry=repo.domain,
                                     scopes=_scopes(repo), headers=headers, content=bytes(chunk))
        raise_for_status(response, what, ok=(202,))
        location = _location(response, what)
        sent += len(chunk)
        chunk = following
    if size is not None and sent != size:
        raise RegistryError(f"{what}: read {sent} bytes, expected {size}")
    if not digest.matches(hasher):
        raise DigestMismatch(f"{what}: the data hashes to {hasher.name}:{hasher.hexdigest()}")
    url = httpx.URL(location).copy_merge_params({"digest": str(digest)})
    response = transport.request("PUT", repo.api_host, str(url), registry=repo.domain,
                                 scopes=_scopes(repo), content=final_body,
                                 headers={"Content-Type": "application/octet-stream"})
    raise_for_status(response, what, ok=(201,))
    if job is not None:
        job.step("blob pushed", Component.REGISTRY, str(digest), repository=repo.name, size=sent)


def put_manifest(transport: Transport, ref: Reference, raw: bytes, media_type: str | None = None, *,
                 job: Job | None = None) -> Digest:
    """``PUT /v2/<name>/manifests/<tag|digest>`` with the exact bytes and media type.

    Raises:
        DigestMismatch: the registry's ``Docker-Content-Digest`` differs from the bytes' digest.
    """
    import json  # noqa: PLC0415 - only needed to read mediaType when not given

    if media_type is None:
        data = json.loads(raw)
        media_type = data.get("mediaType") or guess_media_type(data)
    algorithm = ref.digest.algorithm if ref.digest else "sha256"
    digest = Digest.of(raw, algorithm)
    if ref.digest is not None and ref.digest != digest:
        raise DigestMismatch(f"manifest bytes hash to {digest}, not to {ref.digest}")
    what = f"manifest {ref}"
    response = transport.request("PUT", ref.api_host, f"/v2/{ref.path}/manifests/{ref.identifier}",
                                 registry=ref.domain, scopes=_scopes(ref), content=raw,
                                 headers={"Content-Type": media_type}, job=job)
    raise_for_status(response, what, ok=(201,))
    announced = response.headers.get("docker-content-digest", "").strip()
    if announced and announced != str(digest):
        raise DigestMismatch(f"{what}: the registry stored {announced}, the bytes hash to {digest}")
    if job is not None:
        job.step("manifest pushed", Component.REGISTRY, str(ref), media_type=media_type, digest=str(digest))
    return digest
