"""CPU and memory arithmetic the way ``docker stats`` does it, and a bounded history.

CPU% (docker CLI convention, ``cli/command/container/stats_helpers.go``):
``Δcontainer CPU time ÷ Δsystem CPU time × online CPUs × 100`` — so 100% is one
core. The same ratio without the core count is the share of the whole host
(lazydocker's convention); the console shows both, labelled. Deltas come
from two timestamped samples: the engine's ``precpu_stats`` when it filled
them, otherwise the previous sample this history kept; the first interval
is ``None`` (shown as "–"), never a false 0%.

Memory is ``usage - inactive_file`` (cgroup v2) or ``- total_inactive_file`` (v1).
Block I/O ``op`` names are compared case-insensitively (cgroup v2 says ``read``).
"""

from __future__ import annotations

import collections
import datetime
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from tui import clock
from tui.data.models import StatsSample

HISTORY = 120
"""Samples kept per container (two minutes at one a second)."""


def parse_time(value: Any) -> float:
    """Seconds since the epoch from Docker's RFC 3339 ``read`` field (nanoseconds allowed)."""
    if not isinstance(value, str) or not value or value.startswith("0001-"):
        return clock.now()
    text = value.rstrip("Z")
    if "." in text:
        head, frac = text.split(".", 1)
        digits = "".join(ch for ch in frac if ch.isdigit())
        text = f"{head}.{digits[:6]}"
    try:
        moment = datetime.datetime.fromisoformat(text).replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        return clock.now()
    return moment.timestamp()


def _cpu(stats: Mapping[str, Any]) -> tuple[int, int, int]:
    cpu = stats.get("cpu_stats") or {}
    usage = cpu.get("cpu_usage") or {}
    online = cpu.get("online_cpus") or len(usage.get("percpu_usage") or ()) or 0
    return int(usage.get("total_usage") or 0), int(cpu.get("system_cpu_usage") or 0), int(online)


def memory_usage(stats: Mapping[str, Any]) -> tuple[int, int]:
    """``(usage - inactive_file, limit)`` in bytes, as ``docker stats`` computes them."""
    memory = stats.get("memory_stats") or {}
    usage = int(memory.get("usage") or 0)
    detail = memory.get("stats") or {}
    inactive = detail.get("inactive_file", detail.get("total_inactive_file", 0)) or 0
    if 0 < inactive < usage:
        usage -= int(inactive)
    return usage, int(memory.get("limit") or 0)


def block_io(stats: Mapping[str, Any]) -> tuple[int, int]:
    """``(read, write)`` bytes summed over devices; ``op`` matched case-insensitively."""
    entries = (stats.get("blkio_stats") or {}).get("io_service_bytes_recursive") or ()
    read = write = 0
    for entry in entries:
        op = str(entry.get("op", "")).lower()
        if op == "read":
            read += int(entry.get("value") or 0)
        elif op == "write":
            write += int(entry.get("value") or 0)
    return read, write


def network_io(stats: Mapping[str, Any]) -> tuple[int, int]:
    """``(rx, tx)`` bytes summed over interfaces."""
    rx = tx = 0
    for iface in (stats.get("networks") or {}).values():
        rx += int(iface.get("rx_bytes") or 0)
        tx += int(iface.get("tx_bytes") or 0)
    return rx, tx


def cpu_percent(current: Mapping[str, Any], previous: Mapping[str, Any] | None,
                host_cpus: int = 0) -> tuple[float | None, float | None, int]:
    """``(percent of one core, percent of host, online CPUs)``; ``None`` without two samples.

    Args:
        current: a stats object.
        previous: the sample before it (used when ``precpu_stats`` is empty).
        host_cpus: CPUs to assume when the sample does not say.
    """
    total, system, online = _cpu(current)
    online = online or host_cpus or 1
    pre = {"cpu_stats": current.get("precpu_stats") or {}}
    pre_total, pre_system, _ = _cpu(pre)
    if not pre_system and previous is not None:
        pre_total, pre_system, _ = _cpu(previous)
    cpu_delta, system_delta = total - pre_total, system - pre_system
    if not pre_system or system_delta <= 0 or cpu_delta < 0:
        return None, None, online
    share = cpu_delta / system_delta
    return share * online * 100.0, share * 100.0, online


def sample_from(container_id: str, current: Mapping[str, Any],
                previous: Mapping[str, Any] | None = None, host_cpus: int = 0) -> StatsSample:
    """One :class:`StatsSample` from Docker's stats JSON (and the one before it)."""
    cpu, cpu_host, online = cpu_percent(current, previous, host_cpus)
    used, limit = memory_usage(current)
    rx, tx = network_io(current)
    read, write = block_io(current)
    return StatsSample(
        id=container_id,
        time=parse_time(current.get("read")),
        cpu_percent=cpu,
        cpu_host_percent=cpu_host,
        online_cpus=online,
        mem_usage=used,
        mem_limit=limit,
        mem_percent=(used / limit * 100.0) if limit else 0.0,
        net_rx=rx,
        net_tx=tx,
        blk_read=read,
        blk_write=write,
        pids=int((current.get("pids_stats") or {}).get("current") or 0),
    )


class StatsHistory:
    """The last :data:`HISTORY` samples of every container; safe to feed from a thread."""

    def __init__(self, maxlen: int = HISTORY) -> None:
        self._lock = threading.Lock()
        self._maxlen = maxlen
        self._samples: dict[str, collections.deque[StatsSample]] = {}
        self._raw: dict[str, Mapping[str, Any]] = {}
        self.host_cpus = 0
        """CPUs of the host, used when a sample does not carry ``online_cpus``."""

    def ingest(self, container_id: str, raw: Mapping[str, Any]) -> StatsSample:
        """Fold one raw stats object in; returns the sample made from it."""
        with self._lock:
            sample = sample_from(container_id, raw, self._raw.get(container_id), self.host_cpus)
            self._raw[container_id] = raw
            self._samples.setdefault(container_id, collections.deque(maxlen=self._maxlen)).append(sample)
        return sample

    def latest(self, container_id: str) -> StatsSample | None:
        """The newest sample of a container, if any."""
        with self._lock:
            samples = self._samples.get(container_id)
            return samples[-1] if samples else None

    def series(self, container_id: str) -> list[StatsSample]:
        """Every kept sample of a container, oldest first."""
        with self._lock:
            return list(self._samples.get(container_id, ()))

    def forget(self, keep: Iterable[str]) -> None:
        """Drop the history of every container not in ``keep``."""
        wanted = set(keep)
        with self._lock:
            for container_id in list(self._samples):
                if container_id not in wanted:
                    self._samples.pop(container_id, None)
                    self._raw.pop(container_id, None)


def rate(series: list[StatsSample], field_name: str) -> list[float]:
    """Per-second rates of a cumulative field (``net_rx``, ``blk_read``, …) over a series."""
    rates: list[float] = []
    for before, after in zip(series, series[1:]):
        span = after.time - before.time
        delta = getattr(after, field_name) - getattr(before, field_name)
        rates.append(max(delta, 0) / span if span > 0 else 0.0)
    return rates
