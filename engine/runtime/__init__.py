"""Exec driver and libcontainer: launcher, shim, container init, cgroups, capabilities, seccomp.

How the pieces stack (top calls down)::

    runtime.Runtime          the engine's API (threads; never forks a container)
      └─ launcher            one single-threaded helper process, forks shims (memfd Python)
          └─ shim            one per container: stdio, json log, exit status, shim.sock
              └─ init        setup process: cgroup join, setns/unshare, fork → PID 1
                  ├─ nsjoin  --pid/--ipc/--uts container:<ref>: pinned setns, donor's /dev/shm
                  ├─ rootfs  mounts, /dev, /sys, pivot_root, masks (safepath: confined targets)
                  └─ process user, pty, rlimits, NNP, seccomp, caps, lookup, execve

Beside them: ``spec`` (the dataclasses), ``cgroups`` (v1 and v2), ``stats``
(batched sampler), ``logs`` (json-file), ``streams`` (attach/exec clients),
``protocol`` and ``statefiles`` (wire and disk formats), ``caps``,
``seccomp_profile`` (+ ``seccomp_default.json``), ``users``, ``syscalls`` (ctypes).
"""

from engine.runtime.runtime import (ContainerProcess, ContainerState, ProcessInfo, Runtime)
from engine.runtime.spec import (LogSpec, MountSpec, NamespaceSpec, ProcessSpec, ResourceSpec,
                                 Rlimit, RuntimeSpec)
from engine.runtime.stats import Sample, StatsSampler, cpu_percent
from engine.runtime.streams import ExecProcess, ProcessStream

__all__ = ["ContainerProcess", "ContainerState", "ExecProcess", "LogSpec", "MountSpec",
           "NamespaceSpec", "ProcessInfo", "ProcessSpec", "ProcessStream", "ResourceSpec",
           "Rlimit", "Runtime", "RuntimeSpec", "Sample", "StatsSampler", "cpu_percent"]
