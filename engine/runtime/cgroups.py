"""Container cgroups on v1 (per-controller hierarchies) and v2 (unified), one interface.

The version is detected by filesystem magic: ``/sys/fs/cgroup`` being cgroup2
means unified; otherwise v1 controllers are used even when a cgroup2 tree is
mounted at ``/sys/fs/cgroup/unified`` (the hybrid layout, where that tree has
no useful controllers). A container's cgroup is ``<parent>/<id>`` in every
hierarchy, ``wharf/<id>`` by default.
"""

from __future__ import annotations

import errno
import math
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import RuntimeFailure
from engine.runtime import syscalls
from engine.runtime.spec import ResourceSpec

CGROUP_ROOT = Path("/sys/fs/cgroup")
PARENT = "wharf"
V1_CONTROLLERS = ("cpu", "cpuacct", "cpuset", "memory", "pids", "blkio", "devices", "freezer")
V2_CONTROLLERS = ("cpuset", "cpu", "io", "memory", "pids")
DEVICE_ALLOW = ("c *:* m", "b *:* m", "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm",
                "c 1:9 rwm", "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm",
                "c 10:200 rwm")
"""The v1 device allow-list (moby + runc defaults); everything else is denied."""


def detect_version(root: Path = CGROUP_ROOT) -> int:
    """1 or 2, from the filesystem type of ``root``."""
    try:
        return 2 if syscalls.fs_magic(str(root)) == syscalls.CGROUP2_SUPER_MAGIC else 1
    except OSError as exc:
        raise RuntimeFailure(f"no cgroup filesystem at {root}: {exc.strerror}") from exc


def shares_to_weight(shares: int) -> int:
    """cgroup v1 ``cpu.shares`` (2..262144) → v2 ``cpu.weight`` (1..10000), as runc."""
    if shares <= 0:
        return 0
    if shares <= 2:
        return 1
    if shares >= 262144:
        return 10000
    exponent = (math.log2(shares) ** 2 + 125 * math.log2(shares)) / 612.0 - 7.0 / 34.0
    return min(10000, max(1, math.ceil(10 ** exponent)))


@dataclass
class Cgroup:
    """One container's cgroup in every hierarchy.

    Attributes:
        id: the container ID.
        version: 1 or 2.
        dirs: hierarchy name (``memory``, ``cpu``, … on v1; ``""`` on v2) → directory.
        written: ``(file, value)`` pairs written by :meth:`create`, for the teaching view.
    """

    id: str
    version: int
    dirs: dict[str, Path]
    written: list[tuple[str, str]] = field(default_factory=list)

    def path(self, controller: str) -> Path | None:
        """The directory that holds ``controller``'s files, or ``None``."""
        return self.dirs.get("" if self.version == 2 else controller)

    def file(self, controller: str, name: str) -> Path | None:
        """A control file, if its controller is present."""
        base = self.path(controller)
        return base / name if base is not None else None

    def _write(self, controller: str, name: str, value: object, required: bool = True) -> bool:
        target = self.file(controller, name)
        if target is None or (not required and not target.exists()):
            return False
        for attempt in range(5):
            try:
                with open(target, "w") as f:
                    f.write(str(value))
                break
            except OSError as exc:
                if exc.errno == errno.EINVAL and name in ("cgroup.procs", "tasks") and attempt < 4:
                    time.sleep(0.002)
                    continue
                raise RuntimeFailure(f"cannot write {value!r} to {target}: {exc.strerror}") from exc
        self.written.append((str(target), str(value)))
        return True

    def read(self, controller: str, name: str) -> str | None:
        """A control file's text, or ``None`` if it is missing."""
        target = self.file(controller, name)
        try:
            return target.read_text() if target is not None else None
        except OSError:
            return None

    # ------------------------------------------------------------------ setup

    def create(self, resources: ResourceSpec, privileged: bool = False) -> None:
        """Make the directories and write the limits."""
        for name, directory in self.dirs.items():
            parent = directory.parent
            for _ in range(3):
                try:
                    parent.mkdir(exist_ok=True)
                    if self.version == 1 and name == "cpuset":
                        _copy_cpuset(parent)
                    if self.version == 2:
                        _enable_controllers(parent)
                    directory.mkdir(exist_ok=True)
                    break
                except FileNotFoundError:
                    continue  # the parent was removed by a concurrent delete: retry
                except OSError as exc:
                    raise RuntimeFailure(f"cannot create cgroup {directory}: "
                                         f"{exc.strerror}") from exc
            if self.version == 1 and name == "cpuset":
                _copy_cpuset(directory)
        self._limits(resources)
        if self.version == 1 and not privileged and self.path("devices") is not None:
            self._write("devices", "devices.deny", "a")
            for rule in DEVICE_ALLOW:
                self._write("devices", "devices.allow", rule)

    def _limits(self, r: ResourceSpec) -> None:
        v1 = self.version == 1
        if r.memory:
            swap = r.memory_swap if r.memory_swap is not None else 2 * r.memory
            if v1:
                self._memory_v1(r.memory, swap)
            else:
                self._write("memory", "memory.max", r.memory)
                if swap == -1:
                    self._write("memory", "memory.swap.max", "max", required=False)
                elif swap >= r.memory:
                    self._write("memory", "memory.swap.max", swap - r.memory, required=False)
        if r.memory_reservation:
            self._write("memory", "memory.soft_limit_in_bytes" if v1 else "memory.low",
                        r.memory_reservation)
        if r.cpu_quota or r.cpu_period:
            period = r.cpu_period or 100000
            if v1:
                self._write("cpu", "cpu.cfs_period_us", period)
                if r.cpu_quota:
                    self._write("cpu", "cpu.cfs_quota_us", r.cpu_quota)
            else:
                quota = r.cpu_quota if r.cpu_quota and r.cpu_quota > 0 else "max"
                self._write("cpu", "cpu.max", f"{quota} {period}")
        if r.cpu_shares:
            if v1:
                self._write("cpu", "cpu.shares", r.cpu_shares)
            else:
                self._write("cpu", "cpu.weight", shares_to_weight(r.cpu_shares))
        if r.cpuset_cpus:
            self._write("cpuset", "cpuset.cpus", r.cpuset_cpus)
        if r.cpuset_mems:
            self._write("cpuset", "cpuset.mems", r.cpuset_mems)
        if r.pids_limit and r.pids_limit > 0:
            self._write("pids", "pids.max", r.pids_limit)

    def _memory_v1(self, memory: int, swap: int) -> None:
        has_swap = (self.file("memory", "memory.memsw.limit_in_bytes") or Path("/-")).exists()
        if not has_swap:
            self._write("memory", "memory.limit_in_bytes", memory)
            return
        memsw_now = int((self.read("memory", "memory.memsw.limit_in_bytes") or "-1").strip())
        # memory <= memsw must hold after every single write
        if swap == -1 or memory > memsw_now != -1:
            self._write("memory", "memory.memsw.limit_in_bytes", swap)
            self._write("memory", "memory.limit_in_bytes", memory)
        else:
            self._write("memory", "memory.limit_in_bytes", memory)
            self._write("memory", "memory.memsw.limit_in_bytes", swap)

    def join(self, pid: int) -> None:
        """Move ``pid`` into the container's cgroups (all hierarchies), before it execs."""
        for name in self.dirs:
            target = self.dirs[name] / "cgroup.procs"
            for attempt in range(5):
                try:
                    target.write_text(str(pid))
                    break
                except OSError as exc:
                    if exc.errno == errno.EINVAL and attempt < 4:
                        time.sleep(0.002)
                        continue
                    raise RuntimeFailure(f"cannot add {pid} to {target}: {exc.strerror}") from exc
        self.written.append((f"{{{','.join(sorted(self.dirs))}}}/cgroup.procs", str(pid)))

    # ----------------------------------------------------------------- runtime

    def freeze(self) -> None:
        """Pause every process (v1 freezer, v2 ``cgroup.freeze``) and wait until frozen."""
        self._set_frozen(True)

    def thaw(self) -> None:
        """Resume every process."""
        self._set_frozen(False)

    def _set_frozen(self, frozen: bool) -> None:
        if self.version == 1:
            self._write("freezer", "freezer.state", "FROZEN" if frozen else "THAWED")
        else:
            self._write("", "cgroup.freeze", "1" if frozen else "0")
        deadline = time.monotonic() + 5
        while self.frozen() != frozen and time.monotonic() < deadline:
            time.sleep(0.005)

    def frozen(self) -> bool:
        """Whether the cgroup is (fully) frozen."""
        if self.version == 1:
            return (self.read("freezer", "freezer.state") or "").strip() == "FROZEN"
        for line in (self.read("", "cgroup.events") or "").splitlines():
            if line.startswith("frozen "):
                return line.split()[1] == "1"
        return False

    def oom_kills(self) -> int:
        """How many processes the kernel's OOM killer killed in this cgroup."""
        name = "memory.oom_control" if self.version == 1 else "memory.events"
        for line in (self.read("memory", name) or "").splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return 0

    def pids(self) -> list[int]:
        """Host PIDs of every process in the cgroup."""
        base = self.path("pids") or self.path("memory") or next(iter(self.dirs.values()), None)
        if base is None:
            return []
        try:
            return [int(x) for x in (base / "cgroup.procs").read_text().split()]
        except OSError:
            return []

    def populated(self) -> bool:
        """Whether any process is in the cgroup (v2 ``cgroup.events``, v1 ``cgroup.procs``)."""
        if self.version == 2:
            for line in (self.read("", "cgroup.events") or "").splitlines():
                if line.startswith("populated "):
                    return line.split()[1] == "1"
            return False
        return bool(self.pids())

    def kill_all(self) -> None:
        """SIGKILL every process in the cgroup: v2 ``cgroup.kill``, else freeze, kill, thaw.

        A container without a PID namespace of its own (``--pid host`` or
        ``container:<ref>``) loses nothing when its init exits: the kernel kills
        a namespace's processes only when *its* PID 1 dies. Its leftovers go
        this way, as runc and containerd do it.
        """
        kill_file = self.file("", "cgroup.kill") if self.version == 2 else None
        if kill_file is not None and kill_file.exists():
            self._write("", "cgroup.kill", "1")
            return
        freezer = self.version == 2 or self.path("freezer") is not None
        if freezer:
            self.freeze()
        try:
            for pid in self.pids():
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    continue
        finally:
            if freezer:
                self.thaw()

    def destroy(self, timeout: float = 2.0) -> None:
        """Remove the directories (retrying EBUSY briefly), then the parent if it is empty."""
        deadline = time.monotonic() + timeout
        for directory in self.dirs.values():
            while True:
                try:
                    directory.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError as exc:
                    if exc.errno == errno.EBUSY and time.monotonic() < deadline:
                        time.sleep(0.01)
                        continue
                    raise RuntimeFailure(f"cannot remove cgroup {directory}: "
                                         f"{exc.strerror}") from exc
            try:
                directory.parent.rmdir()
            except OSError:
                pass


def _copy_cpuset(directory: Path) -> None:
    for name in ("cpuset.cpus", "cpuset.mems"):
        target = directory / name
        if not target.read_text().strip():
            target.write_text((directory.parent / name).read_text().strip())


def _enable_controllers(parent: Path) -> None:
    """v2: turn the controllers on in ``parent``'s ancestors down to ``parent``."""
    wanted = set(V2_CONTROLLERS)
    for level in (parent.parent, parent):
        available = set((level / "cgroup.controllers").read_text().split()) \
            if (level / "cgroup.controllers").exists() else set()
        enabled = set((level / "cgroup.subtree_control").read_text().split()) \
            if (level / "cgroup.subtree_control").exists() else set()
        missing = sorted((wanted & available) - enabled)
        if missing:
            (level / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in missing))


def for_container(container_id: str, root: Path = CGROUP_ROOT, parent: str = PARENT,
                  version: int | None = None) -> Cgroup:
    """The (not yet created) cgroup of ``container_id`` under ``root``.

    Args:
        container_id: the container's ID.
        root: the cgroupfs mount point (a temporary directory in tests).
        parent: the folder for all of Wharf's containers.
        version: force 1 or 2 (tests on a plain directory); detected when ``None``.
    """
    version = version or detect_version(root)
    if version == 2:
        return Cgroup(container_id, 2, {"": root / parent / container_id})
    dirs = {}
    for entry in sorted(os.listdir(root)):
        base = root / entry
        if base.is_symlink() or not base.is_dir():
            continue
        try:
            magic = syscalls.fs_magic(str(base))
        except OSError:
            continue
        if magic == syscalls.CGROUP_SUPER_MAGIC:
            dirs[entry] = base / parent / container_id
    return Cgroup(container_id, 1, dirs)
