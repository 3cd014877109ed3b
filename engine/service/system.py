"""The system part of the engine facade: version, info, disk usage, and the teaching anatomy."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from engine import host
from engine.model import DiskUsage, SystemInfo, VersionInfo
from engine.containers.manager import ContainerManager
from engine.containers.state import Status
from engine.images.store import ImageStore
from engine.jobs import EventBus
from engine.network.driver import NetworkDriver
from engine.runtime.runtime import Runtime
from engine.volumes.store import VolumeStore

_LIMIT_FILES = {
    1: [("memory", "memory.limit_in_bytes"), ("memory", "memory.usage_in_bytes"),
        ("memory", "memory.memsw.limit_in_bytes"), ("cpu", "cpu.cfs_quota_us"), ("cpu", "cpu.cfs_period_us"),
        ("cpu", "cpu.shares"), ("cpuacct", "cpuacct.usage"), ("pids", "pids.max"), ("pids", "pids.current"),
        ("cpuset", "cpuset.cpus"), ("freezer", "freezer.state")],
    2: [("memory", "memory.max"), ("memory", "memory.current"), ("memory", "memory.swap.max"),
        ("cpu", "cpu.max"), ("cpu", "cpu.weight"), ("cpu", "cpu.stat"), ("pids", "pids.max"),
        ("pids", "pids.current"), ("cpuset", "cpuset.cpus"), ("freezer", "cgroup.freeze")],
}


class SystemService:
    """``EngineBackend``'s system operations over a whole engine (mixed into :class:`engine.engine.Engine`).

    Args:
        root: the state root (for ``DockerRootDir`` and the engine ID).
        bus: the event bus the engine publishes on (a new one by default).
    """

    containers: ContainerManager
    images: ImageStore
    volumes: VolumeStore
    runtime: Runtime
    network: NetworkDriver
    graph_name: str

    def __init__(self, root: str, bus: EventBus | None = None) -> None:
        self.root = os.path.abspath(root)
        """The state root, absolute."""
        self.bus = bus or EventBus()
        """The event bus every job publishes on."""
        self._id = host.engine_id(self.root)

    def info(self) -> SystemInfo:
        """Host facts and this engine's counts."""
        base = host.host_info(self.root, self._id)
        records = self.containers.list()
        running = sum(1 for r in records if r.status in (Status.RUNNING, Status.RESTARTING))
        paused = sum(1 for r in records if r.status == Status.PAUSED)
        base.containers = len(records)
        base.containers_running = running
        base.containers_paused = paused
        base.containers_stopped = len(records) - running - paused
        base.images = len(self.images.list())
        base.driver = "overlay2" if self.graph_name == "overlay" else self.graph_name
        base.init_binary = "tini"
        return base

    def version(self) -> VersionInfo:
        """This engine's versions."""
        return host.version_info()

    def disk_usage(self) -> DiskUsage:
        """Images, containers and volumes with their sizes."""
        images = self.list_images()  # type: ignore[attr-defined]
        return DiskUsage(layers_size=sum(i.size for i in images), images=images,
                         containers=self.list_containers(all=True, size=True),  # type: ignore[attr-defined]
                         volumes=self.list_volumes())  # type: ignore[attr-defined]

    def container_anatomy(self, ref: str) -> dict[str, Any]:
        """What a container is made of, read from the kernel's own files (the teaching view)."""
        record = self.containers.get(ref)
        folder = self.containers.store.folder(record.id)
        anatomy: dict[str, Any] = {
            "id": record.id, "name": record.name, "status": record.status.value,
            "image": {"reference": record.spec.image, "id": record.image_id,
                      "layers": list(self.images.resolve(record.image_id).chain_ids)},
            "process": {"host_pid": record.pid, "container_pid": 1 if record.pid else 0, "args": record.args,
                        "user": record.user or "root"},
            "rootfs": {"driver": record.rootfs.driver, "merged": record.rootfs.target or str(folder / "merged"),
                       "upper": str(folder / "upper"), "work": str(folder / "work"),
                       "lower": list(record.rootfs.lowerdir), "options": record.rootfs.options,
                       "mounted": record.rootfs.mounted},
            "host_pid": record.pid, "container_pid": 1 if record.pid else 0,
            "namespaces": {}, "cgroup": {}, "network": {},
            "files": {"hostname": str(folder / "hostname"), "hosts": str(folder / "hosts"),
                      "resolv.conf": str(folder / "resolv.conf"), "log": str(folder / f"{record.id}-json.log")},
        }
        if record.pid and record.status in (Status.RUNNING, Status.PAUSED):
            for name in ("pid", "mnt", "uts", "ipc", "net", "cgroup", "user"):
                try:
                    link = os.readlink(f"/proc/{record.pid}/ns/{name}")
                    host = os.readlink(f"/proc/1/ns/{name}")
                except OSError:
                    continue
                anatomy["namespaces"][name] = {"inode": int(link.split("[")[1].rstrip("]")),
                                               "shared_with_host": link == host}
            cgroup = self.runtime.cgroup(record.id)
            files = {}
            for controller, name in _LIMIT_FILES[cgroup.version]:
                path = cgroup.file(controller, name)
                value = cgroup.read(controller, name)
                if path is not None and value is not None:
                    files[str(path)] = value.strip().splitlines()[0] if value.strip() else ""
            anatomy["cgroup"] = {"version": cgroup.version, "paths": {k: str(v) for k, v in cgroup.dirs.items()},
                                 "files": files}
            for network in self.network.list():
                endpoint = network.containers.get(record.id)
                if endpoint is not None:
                    anatomy["network"][network.name] = {
                        "bridge": network.bridge, "veth_host": endpoint.host_ifname, "interface": endpoint.ifname,
                        "address": endpoint.cidr, "mac": endpoint.mac, "gateway": endpoint.gateway}
        anatomy["ports"] = [{"container": f"{p.container_port}/{p.protocol}", "host": f"{p.host_ip or '0.0.0.0'}:"
                             f"{p.host_port}"} for p in record.ports]
        anatomy["state_folder"] = str(Path(folder))
        return anatomy
