"""The networks and volumes part of the engine facade."""

from __future__ import annotations

from engine.model import (
    EndpointSpec,
    IPAMPool,
    NetworkCreateSpec,
    NetworkEndpoint,
    NetworkInfo,
    PruneFilter,
    PruneResult,
    VolumeCreateSpec,
    VolumeInfo,
)
from engine.containers.logs import parse_time
from engine.containers.manager import ContainerManager
from engine.containers.state import Status
from engine.errors import Conflict, InvalidArgument
from engine.jobs import Component, EventBus, Job
from engine.network.driver import NetworkDriver
from engine.network.records import NetworkRecord
from engine.volumes.store import Volume, VolumeStore


def network_info(record: NetworkRecord) -> NetworkInfo:
    """The API's view of a network record."""
    endpoints = [NetworkEndpoint(container_id=cid, name=e.container_name, endpoint_id=e.id,
                                 mac_address=e.mac, ipv4_address=e.cidr)
                 for cid, e in record.containers.items()]
    return NetworkInfo(id=record.id, name=record.name, driver=record.driver,
                       created=parse_time(record.created) if record.created else 0.0, scope=record.scope,
                       internal=record.internal, pools=[IPAMPool(p.subnet, p.gateway) for p in record.ipam],
                       options=dict(record.options), labels=dict(record.labels), endpoints=endpoints)


def volume_info(volume: Volume, users: int = -1) -> VolumeInfo:
    """The API's view of a volume."""
    return VolumeInfo(name=volume.name, driver="local", mountpoint=str(volume.mountpoint), created=volume.created,
                      labels=dict(volume.labels), options=dict(volume.options), anonymous=volume.anonymous,
                      ref_count=users)


class NetworkService:
    """``EngineBackend``'s network and volume operations (mixed into :class:`engine.engine.Engine`)."""

    bus: EventBus
    network: NetworkDriver
    volumes: VolumeStore
    containers: ContainerManager

    def list_networks(self) -> list[NetworkInfo]:
        """Every network."""
        self.network.ensure_default()
        return [network_info(n) for n in self.network.list()]

    def inspect_network(self, ref: str) -> NetworkInfo:
        """One network."""
        return network_info(self.network.get(ref))

    def create_network(self, spec: NetworkCreateSpec) -> tuple[str, str]:
        """Create a bridge network; returns (ID, warning)."""
        if spec.driver not in ("", "bridge"):
            raise InvalidArgument(f"network driver {spec.driver!r} is not supported: Wharf has the bridge driver")
        pool = spec.pools[0] if spec.pools else None
        with Job(self.bus, "network create", spec.name, Component.NETWORK_DRIVER) as job:
            record = self.network.create(spec.name, subnet=pool.subnet if pool else None,
                                         gateway=(pool.gateway or None) if pool else None, labels=spec.labels,
                                         internal=spec.internal, options=spec.options, job=job)
            job.emit("create", record.id, name=record.name, type="bridge")
        return record.id, ""

    def remove_network(self, ref: str) -> None:
        """Remove a network nothing uses."""
        record = self.network.get(ref)
        with Job(self.bus, "network remove", record.name, Component.NETWORK_DRIVER) as job:
            self.network.remove(record.id, job=job)
            job.emit("destroy", record.id, name=record.name, type="bridge")

    def connect_network(self, ref: str, container: str, endpoint: EndpointSpec) -> None:
        """Connect a running container (a stopped one joins at its next start)."""
        record = self.containers.get(container)
        network = self.network.get(ref)
        if record.status not in (Status.RUNNING, Status.PAUSED):
            if network.name in record.spec.networks:
                raise Conflict(f"container {record.name} is already connected to network {network.name}")
            record.spec.networks[network.name] = endpoint
            self.containers.store.save(record)
            return
        with Job(self.bus, "network connect", record.id, Component.NETWORK_DRIVER) as job:
            self.network.connect(network.name, record.id, f"/proc/{record.pid}/ns/net", record.hostname,
                                 aliases=endpoint.aliases, ip=endpoint.ipv4_address or None, name=record.name,
                                 job=job)
            record.spec.networks[network.name] = endpoint
            self.containers.store.save(record)
            job.emit("connect", network.id, name=network.name, container=record.id, type="bridge")

    def disconnect_network(self, ref: str, container: str, force: bool = False) -> None:
        """Disconnect a container."""
        record = self.containers.get(container)
        network = self.network.get(ref)
        record.spec.networks.pop(network.name, None)
        self.containers.store.save(record)
        if record.status in (Status.RUNNING, Status.PAUSED):
            with Job(self.bus, "network disconnect", record.id, Component.NETWORK_DRIVER) as job:
                self.network.disconnect(network.name, record.id, job=job)
                job.emit("disconnect", network.id, name=network.name, container=record.id, type="bridge")

    def prune_networks(self, filters: PruneFilter) -> PruneResult:
        """Remove unused user-defined networks."""
        wanted = {}
        for item in filters.labels:
            key, _, value = item.partition("=")
            wanted[key] = value or None
        return PruneResult(deleted=self.network.prune(wanted or None))

    # ------------------------------------------------------------------ volumes

    def list_volumes(self) -> list[VolumeInfo]:
        """Every volume."""
        return [volume_info(v, len(self.containers.volume_users(v.name))) for v in self.volumes.list()]

    def inspect_volume(self, name: str) -> VolumeInfo:
        """One volume."""
        return volume_info(self.volumes.get(name), len(self.containers.volume_users(name)))

    def create_volume(self, spec: VolumeCreateSpec) -> VolumeInfo:
        """Create (or return the existing) volume."""
        volume = self.volumes.create(spec.name, labels=spec.labels, driver=spec.driver, options=spec.driver_opts)
        with Job(self.bus, "volume create", volume.name) as job:
            job.emit("create", volume.name, driver="local")
        return volume_info(volume, len(self.containers.volume_users(volume.name)))

    def remove_volume(self, name: str, force: bool = False) -> None:
        """Remove a volume no container uses."""
        self.volumes.remove(name, self.containers.volume_users, force=force)
        with Job(self.bus, "volume remove", name) as job:
            job.emit("destroy", name, driver="local")

    def prune_volumes(self, filters: PruneFilter) -> PruneResult:
        """Remove unused anonymous (with ``all``: every unused) volumes."""
        removed = self.volumes.prune(self.containers.volume_users, all_volumes=filters.all)
        return PruneResult(deleted=removed)
