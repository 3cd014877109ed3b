"""Registry browsing, which Docker's Engine API lacks: the :class:`RegistryBrowser` seam.

The console takes a browser as a constructor argument; the real one is
backed by the engine's registry client and comes from the lead's wiring in
:mod:`tui.launch`. Every method may block (call it from a thread worker)
and may raise any client error; :func:`tui.data.errors.translate` sorts them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

DOCKER_HUB = "docker.io"
"""The host name the console uses for Docker Hub."""


@dataclass(frozen=True)
class Registry:
    """A registry in the repository pane's list.

    Attributes:
        host: ``docker.io`` or ``host:port``.
        title: what the list shows.
        source: ``builtin``, ``env`` (from ``WHARF_REGISTRIES``) or ``added``.
        logged_in_as: the user name after a successful log in.
    """

    host: str
    title: str = ""
    source: str = "added"
    logged_in_as: str = ""

    @property
    def label(self) -> str:
        """The list label."""
        user = f" ({self.logged_in_as})" if self.logged_in_as else ""
        return f"{self.title or self.host}{user}"


@dataclass(frozen=True)
class CatalogPage:
    """One page of ``GET /v2/_catalog?n=&last=``.

    Attributes:
        repositories: repository names on this page.
        next_last: the ``last`` to ask for the next page, or ``None`` at the end.
    """

    repositories: tuple[str, ...]
    next_last: str | None = None


@dataclass(frozen=True)
class LayerInfo:
    """A layer as the manifest names it."""

    digest: str
    size: int
    media_type: str


@dataclass(frozen=True)
class PlatformInfo:
    """One entry of an image index."""

    os: str
    architecture: str
    variant: str = ""
    digest: str = ""

    @property
    def label(self) -> str:
        """``linux/arm64/v8``."""
        return "/".join(part for part in (self.os, self.architecture, self.variant) if part)


@dataclass(frozen=True)
class ImageConfigInfo:
    """The parts of an image config worth showing before a pull."""

    created: str = ""
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    exposed_ports: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ManifestInfo:
    """A tag's manifest, read without pulling.

    Attributes:
        reference: ``host/repository:tag``.
        digest: the manifest's (or index's) digest.
        media_type: its media type.
        platforms: the index's platforms (empty for a single manifest).
        layers: the layers of the manifest for this host's platform.
        config: the image config.
        config_digest: the config blob's digest.
    """

    reference: str
    digest: str
    media_type: str
    platforms: tuple[PlatformInfo, ...] = ()
    layers: tuple[LayerInfo, ...] = ()
    config: ImageConfigInfo = field(default_factory=ImageConfigInfo)
    config_digest: str = ""

    @property
    def size(self) -> int:
        """Sum of the layers' compressed sizes."""
        return sum(layer.size for layer in self.layers)


@runtime_checkable
class RegistryBrowser(Protocol):
    """What the repository pane needs from a registry.

    ``repository`` arguments are full names with the host
    (``localhost:5000/alpine``, ``docker.io/library/alpine``); ``reference``
    adds ``:tag`` or ``@digest``.
    """

    def catalog(self, host: str, n: int = 100, last: str | None = None) -> CatalogPage:
        """One page of the registry's catalog (Docker Hub has none: raise)."""

    def tags(self, repository: str) -> tuple[str, ...]:
        """Every tag of a repository."""

    def inspect(self, reference: str) -> ManifestInfo:
        """A tag's manifest, platforms, layers and config, without pulling."""

    def delete_tag(self, reference: str) -> None:
        """Delete a tag (the registry must allow deletes)."""


class NoRegistryBrowser:
    """The stand-in until a real browser is wired: every call says so."""

    reason = "registry browsing is not wired in this build"

    def catalog(self, host: str, n: int = 100, last: str | None = None) -> CatalogPage:
        """Raise: nothing to browse with."""
        raise NotImplementedError(self.reason)

    def tags(self, repository: str) -> tuple[str, ...]:
        """Raise: nothing to browse with."""
        raise NotImplementedError(self.reason)

    def inspect(self, reference: str) -> ManifestInfo:
        """Raise: nothing to browse with."""
        raise NotImplementedError(self.reason)

    def delete_tag(self, reference: str) -> None:
        """Raise: nothing to browse with."""
        raise NotImplementedError(self.reason)


def default_registries(environ: Mapping[str, str] | None = None) -> list[Registry]:
    """Docker Hub plus every ``host:port`` in ``WHARF_REGISTRIES`` (comma-separated)."""
    env = os.environ if environ is None else environ
    registries = [Registry(DOCKER_HUB, "Docker Hub", "builtin")]
    for host in (env.get("WHARF_REGISTRIES") or "").split(","):
        host = host.strip()
        if host and all(r.host != host for r in registries):
            registries.append(Registry(host, host, "env"))
    return registries


def repository_name(host: str, name: str) -> str:
    """The full repository name; Docker Hub's single names live under ``library/``."""
    if host == DOCKER_HUB and "/" not in name:
        name = f"library/{name}"
    return f"{host}/{name}"


def pull_reference(repository: str, tag: str) -> tuple[str, str]:
    """``(repository, tag)`` as ``api.pull`` wants them (Docker Hub without its host)."""
    if repository.startswith(f"{DOCKER_HUB}/"):
        repository = repository[len(DOCKER_HUB) + 1:]
        if repository.startswith("library/"):
            repository = repository[len("library/"):]
    return repository, tag


def describe(value: Any) -> str:
    """A short text for a config value (lists joined, empty as "–")."""
    if not value:
        return "–"
    if isinstance(value, (list, tuple)):
        return " ".join(str(v) for v in value)
    return str(value)
