"""Platform normalisation and choosing one entry from an index."""

from __future__ import annotations

import platform as pyplatform

import pytest

from engine.errors import InvalidArgument
from engine.registry.platforms import Platform, host_platform, select


@pytest.mark.parametrize(("text", "expected"), [
    ("linux/amd64", "linux/amd64"), ("linux/x86_64", "linux/amd64"), ("linux/amd64/v1", "linux/amd64"),
    ("linux/aarch64", "linux/arm64"), ("linux/arm64/v8", "linux/arm64"), ("linux/arm64/8", "linux/arm64"),
    ("linux/armhf", "linux/arm/v7"), ("linux/armel", "linux/arm/v6"), ("linux/arm", "linux/arm/v7"),
    ("linux/arm/7", "linux/arm/v7"), ("linux/i386", "linux/386"), ("arm64", "linux/arm64"),
    ("Linux/AMD64", "linux/amd64"), ("linux/amd64/v3", "linux/amd64/v3"),
])
def test_normalise(text: str, expected: str) -> None:
    """Aliases normalise as containerd does."""
    assert str(Platform.parse(text)) == expected


def test_bad_platform() -> None:
    """An empty part or too many parts are refused."""
    for bad in ("linux//v7", "a/b/c/d", ""):
        with pytest.raises(InvalidArgument, match="invalid platform"):
            Platform.parse(bad)


def test_candidates_best_first() -> None:
    """amd64/v3 falls back to v2, v1 and 386; arm64 to arm/v8…v5; arm/v7 to v6, v5."""
    assert [str(p) for p in Platform.parse("linux/amd64/v3").candidates()] == [
        "linux/amd64/v3", "linux/amd64/v2", "linux/amd64", "linux/386"]
    assert [str(p) for p in Platform.parse("linux/arm64").candidates()] == [
        "linux/arm64", "linux/arm/v8", "linux/arm/v7", "linux/arm/v6", "linux/arm/v5"]
    assert [str(p) for p in Platform.parse("linux/arm/v7").candidates()] == [
        "linux/arm/v7", "linux/arm/v6", "linux/arm/v5"]
    assert "linux/arm64/v8.4" in [str(p) for p in Platform.parse("linux/arm64/v9.0").candidates()]


def test_select_first_match_wins_and_skips_attestations() -> None:
    """The first matching entry is taken; unknown/unknown and platform-less entries never."""
    entries = [(Platform("unknown", "unknown"), "attestation"), (None, "no platform"),
               (Platform("linux", "arm", "v6"), "armv6"), (Platform("linux", "arm64", "v8"), "arm64-a"),
               (Platform("linux", "arm64"), "arm64-b"), (Platform("linux", "amd64"), "amd64"),
               (Platform("linux", "386"), "386")]
    assert select(entries, Platform.parse("linux/arm64")) == "arm64-a"
    assert select(entries, Platform.parse("linux/amd64")) == "amd64"
    assert select(entries, Platform.parse("linux/amd64/v2")) == "amd64"
    assert select(entries, Platform.parse("linux/arm/v7")) == "armv6"
    assert select(entries[:2], Platform.parse("linux/amd64")) is None
    assert select([(Platform("linux", "386"), "386")], Platform.parse("linux/amd64")) == "386"
    assert select(entries, Platform.parse("windows/amd64")) is None


def test_host_platform() -> None:
    """This host's platform is linux and its normalised machine name."""
    host = host_platform()
    assert host.os == "linux"
    assert host == Platform("linux", pyplatform.machine()).normalized()
