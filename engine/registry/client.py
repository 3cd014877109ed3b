"""``RegistryClient``: the engine's one way to talk to registries (pull side and listings).

It is thread-safe (the engine calls it from worker threads) and keeps
connections, learned challenges and tokens across calls. Push primitives
live in :mod:`engine.registry.push`, reached through the same client.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import httpx

from engine.errors import (ManifestTooLarge, ManifestUnknown, RegistryError, RegistryUnavailable,
                           SizeMismatch, UnsupportedMediaType)
from engine.jobs import Component, Job
from engine.registry import push as _push
from engine.registry.blobs import DEFAULT_CHUNK_SIZE, BlobSink, BytesSink, Progress, fetch_blob
from engine.registry.credentials import CredentialSource, CredentialStore, StaticCredentials
from engine.registry.manifest import (DEFAULT_MAX_MANIFEST_SIZE, IMAGE_CONFIG_TYPES, MANIFEST_ACCEPT,
                                      Descriptor, Manifest, decode_manifest)
from engine.registry.platforms import Platform, host_platform, select
from engine.registry.reference import Digest, Reference, parse_digest, parse_reference
from engine.registry.results import Inspection, PingResult, PlatformEntry, ResolvedImage
from engine.registry.responses import raise_for_status
from engine.registry.transport import Transport, describe_transport_error

MAX_CONFIG_SIZE = 8 * 1024 * 1024
"""The largest image config accepted."""

MAX_INDEX_DEPTH = 4


def _as_reference(value: Reference | str) -> Reference:
    return value if isinstance(value, Reference) else parse_reference(value)


def _registry_of(value: Reference | str) -> Reference:
    """A reference naming the registry: a reference, or a bare domain such as ``127.0.0.1:5000``."""
    if isinstance(value, Reference):
        return value
    return parse_reference(value if "/" in value else f"{value}/x")


def _as_platform(value: Platform | str | None, default: Platform) -> Platform:
    if value is None:
        return default
    return value if isinstance(value, Platform) else Platform.parse(value)


def _rate_limit(response: httpx.Response) -> dict[str, str]:
    """Docker Hub's ``ratelimit-limit``/``ratelimit-remaining`` (``N;w=S``), when present."""
    out = {}
    for header in ("ratelimit-limit", "ratelimit-remaining"):
        if header in response.headers:
            out[header.replace("-", "_")] = response.headers[header]
    return out


def _next_link(response: httpx.Response) -> str | None:
    """The ``rel="next"`` target of a ``Link`` header (may be relative)."""
    for value in response.headers.get_list("link"):
        for part in value.split(","):
            url, _, attrs = part.partition(";")
            url = url.strip()
            if url.startswith("<") and url.endswith(">") and "next" in attrs.replace('"', " ").split():
                return url[1:-1]
    return None


class RegistryClient:
    """Talks the distribution protocol to any number of registries.

    Args:
        credentials: a :class:`CredentialStore` (default: the user's Docker config),
            any object with ``get(registry) -> Credentials | None``, or a mapping
            ``{"host:port": ("user", "password")}``.
        insecure_registries: hosts allowed plain http or unverified TLS (loopback always is).
        platform: the default platform to select from indexes (default: this host's).
        timeout: seconds for connecting and for each read.
        retries: how often a failed request (or a dropped blob download) is retried.
        backoff: the first retry delay in seconds (doubles each time).
        max_backoff: the longest wait between retries, also the cap on ``Retry-After``.
        max_manifest_size: the manifest size cap (default 4 MiB).
        chunk_size: bytes per read when streaming blobs.
    """

    def __init__(self, *, credentials: CredentialSource | Mapping[str, Any] | None = None,
                 insecure_registries: Iterable[str] = (), platform: Platform | str | None = None,
                 timeout: float = 30.0, retries: int = 4, backoff: float = 0.5,
                 max_backoff: float = 30.0, max_manifest_size: int = DEFAULT_MAX_MANIFEST_SIZE,
                 chunk_size: int = DEFAULT_CHUNK_SIZE) -> None:
        if credentials is None:
            credentials = CredentialStore()
        elif isinstance(credentials, Mapping):
            credentials = StaticCredentials(credentials)
        self.credentials: CredentialSource = credentials
        self.platform = _as_platform(platform, host_platform())
        self.max_manifest_size = max_manifest_size
        self.chunk_size = chunk_size
        self.transport = Transport(credentials, insecure_registries=insecure_registries,
                                   timeout=timeout, retries=retries, backoff=backoff,
                                   max_backoff=max_backoff)
        """The HTTP layer (scheme, auth, retries)."""

    def close(self) -> None:
        """Close all connections."""
        self.transport.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- ping ----------------------------------------------------------------------------

    def ping(self, registry: Reference | str, *, job: Job | None = None) -> PingResult:
        """``GET /v2/``: is there a registry, which scheme, which authentication.

        Args:
            registry: a reference, or a registry domain such as ``127.0.0.1:5000``.

        Raises:
            RegistryUnavailable: it could not be reached.
            RegistryError: it answered neither 200 nor 401.
        """
        host = _registry_of(registry).api_host
        response = self.transport.ping(host)
        if response.status_code not in (200, 401):
            raise_for_status(response, "the API version check /v2/")
        challenge = self.transport.auth.challenge(host) if response.status_code == 401 else None
        result = PingResult(host, str(response.url), response.status_code,
                            challenge.scheme if challenge else "", challenge.realm if challenge else "")
        if job is not None:
            job.step("ping", Component.REGISTRY, host, url=result.url, status=result.status,
                     auth=result.auth_scheme or "none", realm=result.realm)
        return result

    # -- manifests -----------------------------------------------------------------------

    def get_manifest(self, reference: Reference | str, *, job: Job | None = None) -> Manifest:
        """Fetch the manifest or index a reference points at (by digest if it has one).

        Raises:
            ManifestUnknown: no such repository, tag or digest.
            ManifestTooLarge: over the size cap.
            DigestMismatch: the bytes do not match the digest asked for or announced.
            UnsupportedMediaType: Docker schema 1.
            Unauthorized, RegistryUnavailable, RegistryError: see the transport.
        """
        ref = _as_reference(reference)
        what = f"manifest {ref}"
        for attempt in range(self.transport.retries + 1):
            response = self.transport.request(
                "GET", ref.api_host, f"/v2/{ref.path}/manifests/{ref.identifier}", registry=ref.domain,
                scopes=[f"repository:{ref.path}:pull"], headers={"Accept": MANIFEST_ACCEPT},
                job=job, stream=True)
            try:
                body = self._read_manifest_body(response, what)
                break
            except httpx.TransportError as exc:
                if attempt == self.transport.retries:
                    raise RegistryUnavailable(f"{what}: the connection kept dropping while reading it "
                                              f"({describe_transport_error(exc)})") from None
                self.transport.sleep(min(self.transport.backoff * 2 ** attempt, self.transport.max_backoff))
            finally:
                response.close()
        manifest = decode_manifest(body, response.headers.get("content-type"), reference=str(ref),
                                   expected=ref.digest,
                                   header_digest=response.headers.get("docker-content-digest"),
                                   max_size=self.max_manifest_size)
        if job is not None:
            job.step("manifest fetched", Component.REGISTRY, str(ref), media_type=manifest.media_type,
                     digest=str(manifest.digest), size=manifest.size,
                     content_type=response.headers.get("content-type", ""),
                     **_rate_limit(response))
        return manifest

    def _read_manifest_body(self, response: httpx.Response, what: str) -> bytes:
        """The body of a manifest response, within the size cap."""
        if response.status_code != 200:
            raise_for_status(response, what)
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_manifest_size:
            raise ManifestTooLarge(f"{what} is {declared} bytes, over the {self.max_manifest_size} byte limit")
        body = bytearray()
        for chunk in response.iter_bytes():  # decoded: the digest covers the manifest itself
            body += chunk
            if len(body) > self.max_manifest_size:
                raise ManifestTooLarge(f"{what} is over the {self.max_manifest_size} byte limit")
        return bytes(body)

    def head_manifest(self, reference: Reference | str, *, job: Job | None = None) -> Descriptor:
        """Resolve a reference to a descriptor cheaply (HEAD; GET when HEAD says too little)."""
        ref = _as_reference(reference)
        response = self.transport.request(
            "HEAD", ref.api_host, f"/v2/{ref.path}/manifests/{ref.identifier}", registry=ref.domain,
            scopes=[f"repository:{ref.path}:pull"], headers={"Accept": MANIFEST_ACCEPT}, job=job)
        digest_header = response.headers.get("docker-content-digest", "")
        length = response.headers.get("content-length", "")
        if response.status_code == 200 and digest_header and length.isdigit():
            digest = parse_digest(digest_header.strip())
            if ref.digest is not None and digest != ref.digest:
                return self.get_manifest(ref, job=job).descriptor()
            media_type = (response.headers.get("content-type") or "").split(";")[0].strip()
            return Descriptor(media_type, digest, int(length))
        if response.status_code not in (200, 405):
            raise_for_status(response, f"manifest {ref}")
        return self.get_manifest(ref, job=job).descriptor()

    def resolve(self, reference: Reference | str, *, platform: Platform | str | None = None,
                job: Job | None = None) -> ResolvedImage:
        """Fetch a reference's manifest, choosing one platform's image from an index.

        Args:
            reference: the image.
            platform: e.g. ``"linux/arm64"``; default this client's platform.

        Raises:
            ManifestUnknown: no entry of the index fits the platform (the message lists them).
            UnsupportedMediaType: schema 1, or an artifact rather than an image.
        """
        ref = _as_reference(reference)
        want = _as_platform(platform, self.platform)
        top = self.get_manifest(ref, job=job)
        current, chosen = top, None
        for _depth in range(MAX_INDEX_DEPTH):
            if not current.is_index:
                break
            entries = current.manifests
            picked = select([(d.platform, d) for d in entries if not d.is_attestation], want)
            if picked is None:
                offered = ", ".join(str(d.platform) for d in entries
                                    if d.platform is not None and not d.is_attestation) or "none"
                raise ManifestUnknown(f"no matching manifest for {want} in the manifest list entries "
                                      f"of {ref} (available: {offered})")
            assert isinstance(picked, Descriptor)
            chosen = picked.platform
            if job is not None:
                job.step("platform selected", Component.REGISTRY, str(ref), platform=str(chosen),
                         wanted=str(want), digest=str(picked.digest))
            current = self.get_manifest(ref.repository().with_digest(picked.digest), job=job)
        if not current.is_image:
            raise UnsupportedMediaType(f"{ref} is {current.media_type}, not an image manifest Wharf can run")
        if current.artifact_type:
            raise UnsupportedMediaType(f"{ref} is an artifact ({current.artifact_type}), not a container image")
        return ResolvedImage(ref, top, current, chosen)

    # -- blobs ---------------------------------------------------------------------------

    def fetch_blob(self, repo: Reference | str, descriptor: Descriptor, sink: BlobSink, offset: int | None = None,
                   progress: Progress | None = None, *, hasher: Any = None, job: Job | None = None) -> int:
        """Stream a blob into ``sink``, resuming at its offset; see :func:`engine.registry.blobs.fetch_blob`."""
        return fetch_blob(self.transport, _as_reference(repo), descriptor, sink, offset=offset,
                          progress=progress, hasher=hasher, chunk_size=self.chunk_size, job=job)

    def get_blob(self, repo: Reference | str, descriptor: Descriptor, *, max_size: int = MAX_CONFIG_SIZE,
                 job: Job | None = None) -> bytes:
        """A small blob's verified bytes (an image config)."""
        if descriptor.size > max_size:
            raise SizeMismatch(f"blob {descriptor.digest} declares {descriptor.size} bytes, "
                               f"over the {max_size} byte limit for this kind")
        sink = BytesSink()
        self.fetch_blob(repo, descriptor, sink, job=job)
        return sink.getvalue()

    def get_config(self, repo: Reference | str, manifest: Manifest, *, job: Job | None = None) -> dict[str, Any]:
        """The parsed image config of an image manifest."""
        config = manifest.config
        if config is None:
            raise RegistryError(f"manifest {manifest.digest} has no config")
        raw = self.get_blob(repo, config, job=job)
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise RegistryError(f"image config {config.digest} is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise RegistryError(f"image config {config.digest} is not a JSON object")
        return data

    # -- inspect, list, delete -----------------------------------------------------------

    def inspect(self, reference: Reference | str, *, platform: Platform | str | None = None,
                job: Job | None = None) -> Inspection:
        """Describe an image without pulling its layers: manifest, platforms, config, layers."""
        ref = _as_reference(reference)
        top = self.get_manifest(ref, job=job)
        entries = [PlatformEntry(d.platform, d, d.is_attestation) for d in top.manifests] if top.is_index else []
        image, chosen = (top, None) if not top.is_index else (None, None)
        if top.is_index:
            want = _as_platform(platform, self.platform)
            picked = select([(e.platform, e.descriptor) for e in entries if not e.attestation], want)
            if picked is None:
                picked = next((e.descriptor for e in entries if not e.attestation), None)
            if isinstance(picked, Descriptor):
                image = self.get_manifest(ref.repository().with_digest(picked.digest), job=job)
                chosen = picked.platform
        config: Mapping[str, Any] | None = None
        layers: list[Descriptor] = []
        if image is not None and image.is_image:
            layers = image.layers
            descriptor = image.config
            if descriptor is not None and descriptor.media_type in IMAGE_CONFIG_TYPES:
                config = self.get_config(ref, image, job=job)
        return Inspection(ref, top, entries, image, chosen, config, layers)

    def iter_tags(self, repo: Reference | str, *, page_size: int | None = None,
                  job: Job | None = None) -> Iterator[str]:
        """Every tag of a repository, following ``Link`` pagination."""
        ref = _as_reference(repo)
        path: str | None = f"/v2/{ref.path}/tags/list"
        params = {"n": str(page_size)} if page_size else None
        while path:
            response = self.transport.request("GET", ref.api_host, path, registry=ref.domain,
                                              scopes=[f"repository:{ref.path}:pull"], params=params, job=job)
            raise_for_status(response, f"tags of {ref.name}")
            yield from (response.json() or {}).get("tags") or []
            path, params = _next_link(response), None

    def list_tags(self, repo: Reference | str, *, page_size: int | None = None, job: Job | None = None) -> list[str]:
        """All tags of a repository (the registry's order)."""
        return list(self.iter_tags(repo, page_size=page_size, job=job))

    def catalog(self, registry: Reference | str, *, page_size: int | None = None, job: Job | None = None) -> list[str]:
        """All repository names of a registry (``/v2/_catalog``, following ``Link``)."""
        where = _registry_of(registry)
        host, domain = where.api_host, where.domain
        names: list[str] = []
        path: str | None = "/v2/_catalog"
        params = {"n": str(page_size)} if page_size else None
        while path:
            response = self.transport.request("GET", host, path, registry=domain,
                                              scopes=["registry:catalog:*"], params=params, job=job)
            raise_for_status(response, f"the catalog of {registry}")
            names += (response.json() or {}).get("repositories") or []
            path, params = _next_link(response), None
        return names

    def catalog_page(self, registry: Reference | str, n: int = 100, last: str | None = None, *,
                     job: Job | None = None) -> tuple[list[str], str | None]:
        """One page of ``/v2/_catalog``: the names and the ``last`` to ask for the next page
        (``None`` at the end). Registries that ignore ``n`` return everything at once."""
        where = _registry_of(registry)
        params = {"n": str(n)} if last is None else {"n": str(n), "last": last}
        response = self.transport.request("GET", where.api_host, "/v2/_catalog", registry=where.domain,
                                          scopes=["registry:catalog:*"], params=params, job=job)
        raise_for_status(response, f"the catalog of {registry}")
        names = list((response.json() or {}).get("repositories") or [])
        following = _next_link(response)
        if following is None:
            return names, None
        after = httpx.URL(following).params.get("last")
        return names, after or (names[-1] if names else None)

    def delete_manifest(self, reference: Reference | str, *, job: Job | None = None) -> Digest:
        """Delete a manifest by digest; a tag is first resolved to its digest.

        Returns:
            The digest deleted.
        """
        ref = _as_reference(reference)
        digest = ref.digest or self.head_manifest(ref, job=job).digest
        response = self.transport.request(
            "DELETE", ref.api_host, f"/v2/{ref.path}/manifests/{digest}", registry=ref.domain,
            scopes=[f"repository:{ref.path}:delete"], job=job)
        raise_for_status(response, f"manifest {ref.name}@{digest}", ok=(200, 202))
        if job is not None:
            job.step("manifest deleted", Component.REGISTRY, ref.name, digest=str(digest))
        return digest

    # -- push (lower level; see engine.registry.push) --------------------------------------

    def blob_exists(self, repo: Reference | str, digest: Digest | str) -> int | None:
        """The size of a blob the repository has, or ``None``."""
        return _push.blob_exists(self.transport, _as_reference(repo), _digest(digest))

    def mount_blob(self, repo: Reference | str, digest: Digest | str, source: Reference | str) -> bool:
        """Mount a blob from another repository of the same registry; whether it worked."""
        return _push.mount_blob(self.transport, _as_reference(repo), _digest(digest), _as_reference(source))

    def push_blob(self, repo: Reference | str, digest: Digest | str, data: bytes | Any,
                  size: int | None = None, *, job: Job | None = None,
                  chunk_size: int = _push.UPLOAD_CHUNK_SIZE) -> None:
        """Upload a blob (bytes or a binary file) unless the repository already has it."""
        _push.push_blob(self.transport, _as_reference(repo), _digest(digest), data, size, job=job,
                        chunk_size=chunk_size)

    def put_manifest(self, reference: Reference | str, raw: bytes, media_type: str | None = None, *,
                     job: Job | None = None) -> Digest:
        """Upload a manifest's exact bytes under the reference's tag or digest; returns its digest."""
        return _push.put_manifest(self.transport, _as_reference(reference), raw, media_type, job=job)


def _digest(value: Digest | str) -> Digest:
    return value if isinstance(value, Digest) else parse_digest(value)
