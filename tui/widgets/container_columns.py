"""The containers table's columns, colours, orders and uptime text."""

from __future__ import annotations

import re

from tui import clock, fmt
from tui.data.models import ContainerRow

STATE_STYLE = {"running": "bold green", "paused": "bold yellow", "exited": "red", "dead": "bold red",
               "created": "cyan", "restarting": "magenta", "removing": "dim"}
"""How each state is coloured."""

SORTS = ("engine", "name", "state", "image", "cpu", "memory")
"""The orders ``o`` cycles through."""

NARROW = [("mark", "", 1), ("name", "NAME", 14), ("state", "STATE", 8), ("image", "IMAGE", 16),
          ("up", "UP", 5), ("cpu", "CPU%", 6), ("mem", "MEM", 8)]
WIDE = [("mark", "", 1), ("id", "ID", 12), ("name", "NAME", 16), ("state", "STATE", 9),
        ("image", "IMAGE", 20), ("ports", "PORTS", 24), ("up", "UP", 5), ("cpu", "CPU%", 6),
        ("cpuspark", "CPU (60 s)", 12), ("mem", "MEM", 8), ("memspark", "MEM (60 s)", 10), ("pids", "PIDS", 4)]
WIDE_FROM = 130
"""Terminal width from which the wide columns are shown."""

_UP_WORDS = {"second": "s", "seconds": "s", "minute": "m", "minutes": "m", "hour": "h", "hours": "h",
             "day": "d", "days": "d", "week": "w", "weeks": "w", "month": "mo", "months": "mo"}


def uptime(row: ContainerRow) -> str:
    """``3h`` from the start time, or from Docker's ``Up 3 hours`` status; ``–`` when not up."""
    if row.state not in ("running", "paused"):
        return "–"
    if row.started_at:
        return fmt.duration(clock.now() - row.started_at)
    match = re.match(r"Up (\S+) (\w+)", row.status)
    if not match:
        return "–"
    amount, unit = match.groups()
    if amount in ("About", "Less"):
        return "1h" if unit == "an" else "0s"
    return f"{amount}{_UP_WORDS.get(unit, unit[:1])}"
