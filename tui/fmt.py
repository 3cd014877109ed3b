"""Numbers and times as the console prints them (pure; no Textual)."""

from __future__ import annotations

from collections.abc import Sequence

from tui import clock

SPARK = "▁▂▃▄▅▆▇█"
"""Eight levels of a text sparkline."""


def size(n: float) -> str:
    """``1.5 GB``-style sizes in powers of 1000, like ``docker images``."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def mib(n: float) -> str:
    """``24.0MiB``-style sizes in powers of 1024, like ``docker stats``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f}{unit}" if unit == "B" else f"{n:.1f}{unit}"
        n /= 1024
    return f"{n:.1f}TiB"


def duration(seconds: float) -> str:
    """``3h``, ``2d``, ``40m``, ``12s``."""
    seconds = max(0, int(seconds))
    for unit, span in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= span:
            return f"{seconds // span}{unit}"
    return f"{seconds}s"


def ago(moment: float) -> str:
    """``3d ago`` relative to :func:`tui.clock.now`; ``–`` for 0."""
    if not moment:
        return "–"
    return f"{duration(clock.now() - moment)} ago"


def percent(value: float | None) -> str:
    """``12.5%``, or ``–`` while there is no second sample."""
    return "–" if value is None else f"{value:.1f}%"


def spark(values: Sequence[float | None], width: int, top: float | None = None) -> str:
    """The last ``width`` values as a text sparkline scaled to ``top`` (default: their max)."""
    tail = [v or 0.0 for v in values[-width:]]
    if not tail:
        return " " * width
    ceiling = top if top else max(tail) or 1.0
    chars = [SPARK[min(len(SPARK) - 1, int(v / ceiling * (len(SPARK) - 1) + 0.5))] for v in tail]
    return "".join(chars).rjust(width)


def bar(fraction: float, width: int) -> str:
    """A ``█████░░░░░`` progress bar."""
    fraction = min(max(fraction, 0.0), 1.0)
    full = int(fraction * width + 0.5)
    return "█" * full + "░" * (width - full)


def rate(bytes_per_second: float) -> str:
    """``3.2 MB/s``."""
    return f"{size(bytes_per_second)}/s"
