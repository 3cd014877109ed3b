"""Registry browsing for the console, which Docker's Engine API lacks.

Like ``docker manifest inspect``, this talks to registries from the client's
side, with the user's own credentials (docker's ``config.json``), through the
same distribution client the engine pulls with. It never pulls: catalog
pages, tags, and a tag's manifest, platforms, layers and config.
"""

from __future__ import annotations

from collections.abc import Iterable

from engine.registry.client import Inspection, RegistryClient
from engine.registry.reference import parse_reference, parse_repository


class RegistryBrowser:
    """Browse registries without pulling.

    Args:
        insecure_registries: hosts allowed over plain http besides loopback.
        client: an existing distribution client to share (a new one by default).
    """

    def __init__(self, insecure_registries: Iterable[str] = (), client: RegistryClient | None = None) -> None:
        self._client = client or RegistryClient(insecure_registries=insecure_registries, retries=1)

    def catalog(self, host: str, n: int = 100, last: str | None = None) -> tuple[list[str], str | None]:
        """One page of repository names and the ``last`` of the next page (``None`` at the end)."""
        return self._client.catalog_page(host, n, last)

    def tags(self, repository: str) -> list[str]:
        """Every tag of ``host/repository``, sorted."""
        return sorted(self._client.list_tags(parse_repository(repository)))

    def inspect(self, reference: str) -> Inspection:
        """The manifest (or index), this host's platform's manifest, its config and layers."""
        return self._client.inspect(parse_reference(reference))

    def delete_tag(self, reference: str) -> str:
        """Delete what the tag points at (registries delete manifests by digest); returns the digest."""
        return str(self._client.delete_manifest(parse_reference(reference)))

    def close(self) -> None:
        """Close the connections."""
        self._client.close()
