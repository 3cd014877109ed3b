"""Every running container's stats, one pass per tick: the batched stream behind ``GET /wharf/stats``.

Docker offers stats one container per stream, so a console showing 200
containers would hold 200 streams. Wharf's batched stream keeps one
:class:`~engine.runtime.stats.StatsSampler` of its own per subscriber (its
open files are nobody else's to close), tracks containers as they start and
stop, and yields one mapping (container ID → sample) per interval.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

from engine.containers.manager import ContainerManager
from engine.containers.records import ContainerRecord
from engine.containers.state import Status
from engine.errors import ContainerNotFound
from engine.model import Cancel, NetStats, StatsSample
from engine.runtime.runtime import Runtime
from engine.runtime.stats import Sample, StatsSampler

_CGROUP_V2 = Path("/sys/fs/cgroup/cgroup.controllers").exists()
"""Whether the host uses the unified hierarchy (fixed for the engine's life)."""

_SAMPLED = (Status.RUNNING, Status.PAUSED)
"""States whose cgroup exists and can be read."""


def stats_sample(sample: Sample, record: ContainerRecord) -> StatsSample:
    """The typed sample the API renders, from the sampler's raw counters."""
    return StatsSample(
        time=sample.time or time.time(), cpu_total=sample.cpu_ns, system_cpu=sample.system_cpu_ns,
        online_cpus=sample.online_cpus, memory_usage=sample.memory_usage, memory_limit=sample.memory_limit,
        memory_stat={"inactive_file": sample.memory_inactive_file,
                     "total_inactive_file": sample.memory_inactive_file},
        cgroup_v2=_CGROUP_V2,
        networks={name: NetStats(**{k: v for k, v in counters.items() if k in NetStats.__dataclass_fields__})
                  for name, counters in sample.networks.items()},
        blkio=[("read", sample.blkio_read), ("write", sample.blkio_write)],
        pids=sample.pids, pids_limit=record.spec.resources.pids_limit or 0)


def batched_stats(containers: ContainerManager, runtime: Runtime, interval: float,
                  cancel: Cancel) -> Iterator[dict[str, StatsSample]]:
    """One mapping of every running or paused container's sample, now and then every ``interval`` s.

    A container that starts is tracked from the next tick; one that stops or
    is removed drops out; one that restarted (a new init PID, a new cgroup)
    is tracked afresh. Ends when ``cancel`` fires; the files are closed then.
    """
    sampler = StatsSampler()
    tracked: dict[str, int | None] = {}  # container ID → the init PID its files were opened for
    try:
        while not cancel.is_set():
            live = {record.id: record for record in containers.list() if record.status in _SAMPLED}
            for gone in [cid for cid in tracked if cid not in live]:
                sampler.untrack(gone)
                del tracked[gone]
            for cid, record in live.items():
                if cid in tracked and tracked[cid] == record.pid:
                    continue
                try:
                    sampler.track(cid, runtime.cgroup(cid), record.pid)
                except ContainerNotFound:
                    continue  # removed between the listing and now
                tracked[cid] = record.pid
            samples = sampler.sample(list(tracked))
            yield {cid: stats_sample(sample, live[cid]) for cid, sample in samples.items()}
            if cancel.wait(interval):
                return
    finally:
        sampler.close()
