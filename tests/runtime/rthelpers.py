"""Helpers for the exec driver's tests: specs, run-to-completion, logs."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

from engine.runtime.logs import read_log
from engine.runtime.runtime import ContainerState, Runtime
from engine.runtime.spec import ProcessSpec, RuntimeSpec

_ids = itertools.count(1)


def new_id() -> str:
    """A fresh container ID for one test (cgroups are named ``wharf/<id>``)."""
    return f"whrt{os.getpid()}x{next(_ids)}"


def make_spec(rootfs: Path, *args: str, **kwargs: object) -> RuntimeSpec:
    """A spec running ``args`` in ``rootfs``; ``process=`` fields via ``proc_*`` kwargs."""
    proc_kwargs = {k[5:]: kwargs.pop(k) for k in list(kwargs) if k.startswith("proc_")}
    return RuntimeSpec(id=kwargs.pop("id", None) or new_id(), rootfs=str(rootfs),
                       process=ProcessSpec(args=list(args), **proc_kwargs),
                       hostname=kwargs.pop("hostname", "box"), **kwargs)


def run(rt: Runtime, spec: RuntimeSpec,
        timeout: float = 20) -> tuple[int, str, str, ContainerState]:
    """Create, start and wait; returns ``(exit code, stdout, stderr, state)`` from the json log."""
    rt.create(spec)
    rt.start(spec.id)
    state = rt.wait(spec.id, timeout=timeout)
    assert state.status == "stopped", f"container still {state.status} after {timeout}s"
    out, err = logs(rt, spec.id)
    return state.exit_code, out, err, state


def logs(rt: Runtime, container_id: str) -> tuple[str, str]:
    """The container's stdout and stderr as logged."""
    entries = list(read_log(rt.paths(container_id).log))
    out = "".join(e["log"] for e in entries if e["stream"] == "stdout")
    err = "".join(e["log"] for e in entries if e["stream"] == "stderr")
    return out, err
