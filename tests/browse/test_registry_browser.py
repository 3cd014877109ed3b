"""The console's registry browser against the real registry: catalog pages, tags, inspect, delete."""

from __future__ import annotations

import pytest
from harness.images import TestImages, busybox_layout, push_layout
from harness.registry import Registry

from engine.client.registry import RegistryBrowser
from engine.errors import ManifestUnknown


@pytest.fixture
def browser() -> RegistryBrowser:
    made = RegistryBrowser()
    yield made
    made.close()


def test_catalog_pages_cover_every_repository_once(browser: RegistryBrowser, registry: Registry,
                                                   test_images: TestImages) -> None:
    seen, last = [], None
    for _ in range(20):
        names, last = browser.catalog(registry.host, 2, last)
        assert len(names) <= 2
        seen += names
        if last is None:
            break
    assert last is None
    assert len(seen) == len(set(seen))
    assert {"busybox", "busybox-v2s2", "busybox-zstd", "multiarch", "layered"} <= set(seen)


def test_inspect_an_index_without_pulling(browser: RegistryBrowser, test_images: TestImages) -> None:
    found = browser.inspect(test_images.multiarch.reference)
    assert str(found.digest) == test_images.multiarch.digest
    assert [str(p.platform) for p in found.platforms] == ["linux/amd64", "linux/arm64", "unknown/unknown"]
    assert [p.attestation for p in found.platforms] == [False, False, True]
    assert found.layers and found.layers[0].media_type.endswith("tar+gzip")
    assert found.config is not None and found.config["config"]["Cmd"] == ["/bin/sh"]


def test_tags_and_delete(browser: RegistryBrowser, registry: Registry) -> None:
    push_layout(busybox_layout(), registry.host, "doomed", "one")
    push_layout(busybox_layout(), registry.host, "doomed", "two")
    assert browser.tags(f"{registry.host}/doomed") == ["one", "two"]
    browser.delete_tag(f"{registry.host}/doomed:one")
    with pytest.raises(ManifestUnknown):
        browser.inspect(f"{registry.host}/doomed:two")  # both tags pointed at the one manifest deleted
