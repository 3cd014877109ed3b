"""Platforms (``linux/arm64/v8``): parsing, normalising, and picking one from an index.

Normalisation follows ``containerd/platforms``: ``x86_64`` is ``amd64``
(variant ``v1`` is no variant), ``aarch64`` is ``arm64`` (variant ``v8`` is
no variant), ``armhf`` is ``arm/v7``, ``armel`` is ``arm/v6``, ``arm`` alone
is ``arm/v7``, ``i386`` is ``386``. A wanted platform accepts a list of
platforms, best first: ``amd64/v3`` takes v3, v2, v1, then ``386``;
``arm64`` takes ``arm64``, then ``arm/v8`` … ``arm/v5``; ``arm/v7`` takes v7 … v5.
Entries ``unknown/unknown`` (BuildKit attestations) are never chosen.
"""

from __future__ import annotations

import platform as _platform
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from engine.errors import InvalidArgument

_ARCH_ALIASES = {
    "x86_64": ("amd64", None), "x86-64": ("amd64", None), "amd64": ("amd64", None),
    "aarch64": ("arm64", None), "arm64": ("arm64", None),
    "armhf": ("arm", "v7"), "armel": ("arm", "v6"), "arm": ("arm", None),
    "i386": ("386", None), "i686": ("386", None), "386": ("386", None),
}


@dataclass(frozen=True)
class Platform:
    """An OS and CPU architecture, as in an image index's ``platform`` object.

    Attributes:
        os: ``linux``, ``windows``, …
        architecture: ``amd64``, ``arm64``, ``arm``, ``386``, …
        variant: ``v7``, ``v8.2``, ``v3`` …, or ``""``.
        os_version: Windows' ``os.version``, else ``""``.
    """

    os: str
    architecture: str
    variant: str = ""
    os_version: str = ""

    def __str__(self) -> str:
        text = f"{self.os}/{self.architecture}"
        return f"{text}/{self.variant}" if self.variant else text

    @classmethod
    def parse(cls, text: str) -> Platform:
        """Parse ``os/arch[/variant]`` (or just ``arch``, meaning Linux) and normalise it.

        Raises:
            InvalidArgument: an empty part or more than three parts.
        """
        parts = text.strip().lower().split("/")
        if len(parts) == 1:
            parts = ["linux", *parts]
        if len(parts) > 3 or not all(parts):
            raise InvalidArgument(f"invalid platform {text!r}: expected os/arch[/variant], e.g. linux/arm64")
        return cls(*parts).normalized()

    @classmethod
    def from_json(cls, data: dict) -> Platform:
        """From an index entry's ``platform`` object (or an image config's fields)."""
        return cls(str(data.get("os", "")), str(data.get("architecture", "")),
                   str(data.get("variant", "") or ""), str(data.get("os.version", "") or ""))

    def normalized(self) -> Platform:
        """The canonical spelling of this platform."""
        arch, variant = self.architecture.lower(), self.variant.lower()
        canonical, implied = _ARCH_ALIASES.get(arch, (arch, None))
        if implied and not variant:
            variant = implied
        if canonical == "amd64" and variant == "v1":
            variant = ""
        elif canonical == "arm64" and variant in ("8", "v8", "v8.0"):
            variant = ""
        elif canonical == "arm":
            if not variant:
                variant = "v7"
            elif variant.isdigit():
                variant = "v" + variant
        return Platform(self.os.lower(), canonical, variant, self.os_version)

    @property
    def is_unknown(self) -> bool:
        """Whether this is ``unknown/unknown``: an attestation, not a runnable image."""
        return self.os == "unknown" or self.architecture == "unknown"

    def candidates(self) -> list[Platform]:
        """The platforms this one can run, best first."""
        want = self.normalized()
        os_ = want.os
        if want.architecture == "amd64":
            level = int(want.variant[1:]) if want.variant[1:].isdigit() else 1
            out = [Platform(os_, "amd64", f"v{n}" if n > 1 else "") for n in range(level, 0, -1)]
            return out + [Platform(os_, "386")]
        if want.architecture == "arm64":
            out = [want]
            if want.variant:
                out += _arm64_fallbacks(os_, want.variant)
            out.append(Platform(os_, "arm64"))
            out += [Platform(os_, "arm", f"v{n}") for n in range(8, 4, -1)]
            return _dedupe(out)
        if want.architecture == "arm" and want.variant[1:].isdigit():
            return [Platform(os_, "arm", f"v{n}") for n in range(int(want.variant[1:]), 4, -1)]
        return [want]

    def matches(self, other: Platform) -> bool:
        """Whether ``other`` (an index entry) is this very platform, after normalising."""
        a, b = self.normalized(), other.normalized()
        return (a.os, a.architecture, a.variant) == (b.os, b.architecture, b.variant)


def _arm64_fallbacks(os_: str, variant: str) -> list[Platform]:
    """arm64 v8.x … v8.1, and v9.x … v9.0 plus v8.(x+5) … v8.1."""
    major, _, minor = variant[1:].partition(".")
    if not major.isdigit():
        return []
    minor_n = int(minor) if minor.isdigit() else 0
    out: list[Platform] = []
    if major == "9":
        out += [Platform(os_, "arm64", f"v9.{n}") for n in range(minor_n, -1, -1)]
        out.append(Platform(os_, "arm64", "v9"))
        minor_n = min(minor_n + 5, 9)
    out += [Platform(os_, "arm64", f"v8.{n}") for n in range(minor_n, 0, -1)]
    return out


def _dedupe(items: list[Platform]) -> list[Platform]:
    seen: list[Platform] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


def host_platform() -> Platform:
    """The platform this engine runs on (always ``linux`` for the OS)."""
    machine = _platform.machine() or "amd64"
    variant = ""
    if machine.startswith("arm") and machine not in ("arm64",):
        variant = _arm_variant_from_cpuinfo()
    os_name = "linux" if sys.platform.startswith("linux") else sys.platform
    return Platform(os_name, machine, variant).normalized()


def _arm_variant_from_cpuinfo() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as cpuinfo:
            for line in cpuinfo:
                key, _, value = line.partition(":")
                if key.strip() == "CPU architecture" and value.strip()[:1].isdigit():
                    return "v" + value.strip().split()[0]
    except OSError:
        pass
    return ""


def select(entries: Sequence[tuple[Platform | None, object]], want: Platform) -> object | None:
    """Pick the best entry for ``want`` from ``(platform, item)`` pairs; first match wins.

    Entries without a platform and ``unknown/unknown`` entries are never picked.
    """
    usable = [(p, item) for p, item in entries if p is not None and not p.is_unknown]
    for candidate in want.candidates():
        for entry_platform, item in usable:
            if candidate.matches(entry_platform):
                return item
    return None
