"""The repository pane's :class:`RegistryBrowser`, backed by ``engine.client.registry``.

It turns the distribution client's answers into the console's own small
records, so widgets never see the client's types.
"""

from __future__ import annotations

from collections.abc import Iterable

from engine.client.registry import RegistryBrowser as ClientBrowser
from engine.errors import RegistryError
from tui.data.registry import DOCKER_HUB, CatalogPage, ImageConfigInfo, LayerInfo, ManifestInfo, PlatformInfo


class EngineRegistryBrowser:
    """Browse registries from the console's side (with the user's docker credentials).

    Args:
        insecure_registries: hosts allowed over plain http besides loopback.
    """

    def __init__(self, insecure_registries: Iterable[str] = ()) -> None:
        self._browser = ClientBrowser(insecure_registries)

    def catalog(self, host: str, n: int = 100, last: str | None = None) -> CatalogPage:
        """One page of the catalog; Docker Hub has none, so it is not asked."""
        if host == DOCKER_HUB:
            raise RegistryError("Docker Hub does not serve a catalog")
        names, next_last = self._browser.catalog(host, n, last)
        return CatalogPage(tuple(names), next_last)

    def tags(self, repository: str) -> tuple[str, ...]:
        """Every tag of a repository."""
        return tuple(self._browser.tags(repository))

    def inspect(self, reference: str) -> ManifestInfo:
        """A tag's manifest, platforms, layers and config, without pulling."""
        found = self._browser.inspect(reference)
        platforms = tuple(
            PlatformInfo(p.platform.os, p.platform.architecture, p.platform.variant or "", str(p.descriptor.digest))
            for p in found.platforms if p.platform is not None)
        config = dict(found.config or {})
        settings = config.get("config") or {}
        image_config = ImageConfigInfo(
            created=str(config.get("created") or ""), entrypoint=tuple(settings.get("Entrypoint") or ()),
            cmd=tuple(settings.get("Cmd") or ()), env=tuple(settings.get("Env") or ()),
            exposed_ports=tuple(settings.get("ExposedPorts") or {}), labels=dict(settings.get("Labels") or {}))
        layers = tuple(LayerInfo(str(d.digest), d.size, d.media_type) for d in found.layers)
        config_digest = str(found.image.config.digest) if found.image is not None and found.image.config else ""
        return ManifestInfo(reference, str(found.digest), found.media_type, platforms, layers, image_config,
                            config_digest)

    def delete_tag(self, reference: str) -> None:
        """Delete what the tag points at."""
        self._browser.delete_tag(reference)

    def close(self) -> None:
        """Close the connections."""
        self._browser.close()
