"""The second half of the network driver: published ports, release, reconcile, hosts files.

:class:`LifecycleMixin` is mixed into :class:`engine.network.driver.NetworkDriver`
and uses its state (``_containers``, ``_networks``, ``_fw``, ``_store``,
``_reserved``, ``_lock``); it is not used on its own.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from engine.errors import Conflict, InvalidArgument, NetworkError, WharfError
from engine.jobs import Component, EventBus, Job
from engine.network import links
from engine.network.counters import read_counters
from engine.network.etcfiles import render_hosts, rewrite_in_place
from engine.network.firewall import Firewall, Rule
from engine.network.ports import overlaps, reserve
from engine.network.records import ContainerNet, Endpoint, NetworkRecord, PortBinding
from engine.network.store import NetworkStore

NET = Component.NETWORK_DRIVER


class LifecycleMixin:
    """Ports, release, reconcile and hosts-file upkeep for :class:`NetworkDriver`."""

    if TYPE_CHECKING:
        root: Path
        bus: EventBus
        _lock: threading.RLock
        _store: NetworkStore
        _fw: Firewall
        _networks: dict[str, NetworkRecord]
        _containers: dict[str, ContainerNet]
        _reserved: dict[str, list[socket.socket]]
        _live: set[str]

        def _job(self, job: Job | None, name: str,
                 subject: str) -> contextlib.AbstractContextManager[Job]: ...
        def _activate(self, net: NetworkRecord, job: Job) -> None: ...
        def _store_state(self, state: ContainerNet) -> None: ...

    # published ports -----------------------------------------------------------

    def publish(self, container_id: str, endpoint: Endpoint, ports: Iterable[PortBinding],
                job: Job | None = None) -> list[PortBinding]:
        """Publish container ports on the host; call it before the container's command starts.

        Every host port is bound first (random ones chosen by the kernel), so a
        port in use fails the whole call before any rule is written. For
        ``-P`` pass one ``PortBinding(port, proto)`` per exposed port.

        Returns:
            The bindings with ``host_port`` and ``container_ip`` filled in.

        Raises:
            Conflict: a host port is taken (named in the message).
            InvalidArgument: the endpoint is not this container's.
        """
        with self._lock, self._job(job, "publish ports", container_id) as j:
            state = self._containers.get(container_id)
            if state is None or endpoint not in state.endpoints:
                raise InvalidArgument(f"endpoint {endpoint.id[:12]} is not one of container "
                                      f"{container_id[:12]}'s")
            held: list[socket.socket] = []
            resolved: list[PortBinding] = []
            taken = [p for c in self._containers.values() for p in c.ports]
            try:
                for binding in ports:
                    for _ in range(8):
                        sock, port = reserve(binding)
                        candidate = binding.resolved(port, endpoint.ip)
                        clash = next((p for p in taken + resolved if overlaps(p, candidate)), None)
                        if clash is None:
                            break
                        sock.close()
                        if binding.host_port:
                            raise Conflict(f"host port {candidate.host_ip or '0.0.0.0'}:{port}/"
                                           f"{binding.protocol} is already published ({clash})",
                                           title="Port in use")
                    else:
                        raise NetworkError(f"no free host port for {binding}")
                    held.append(sock)
                    resolved.append(candidate)
            except BaseException:
                for sock in held:
                    sock.close()
                raise
            state.ports.extend(resolved)
            self._store_state(state)
            self._reserved.setdefault(container_id, []).extend(held)
            net = self._networks[endpoint.network_id]
            rules = [r for p in resolved for r in self._fw.port_rules(p, net.bridge)]
            self._fw.apply(add=rules)
            j.step("iptables rules added", NET, container_id,
                   ports=[str(p) for p in resolved], rules=[r.spec for r in rules])
            return resolved

    def _port_rules(self, state: ContainerNet, ports: Iterable[PortBinding]) -> list[Rule]:
        rules: list[Rule] = []
        for binding in ports:
            endpoint = next((e for e in state.endpoints if e.ip == binding.container_ip), None)
            net = self._networks.get(endpoint.network_id) if endpoint else None
            if net is not None:
                rules += self._fw.port_rules(binding, net.bridge)
        return rules

    def _unpublish(self, state: ContainerNet, ports: list[PortBinding], job: Job) -> None:
        if not ports:
            return
        self._fw.apply(remove=self._port_rules(state, ports))
        ports_set = {p.key for p in ports}
        for sock in list(self._reserved.get(state.container_id, [])):
            bound = sock.getsockname()
            proto = "tcp" if sock.type == socket.SOCK_STREAM else "udp"
            if (proto, "" if bound[0] == "0.0.0.0" else bound[0], bound[1]) in ports_set:
                sock.close()
                self._reserved[state.container_id].remove(sock)
        state.ports = [p for p in state.ports if p.key not in ports_set]
        job.step("iptables rules removed", NET, state.container_id, ports=[str(p) for p in ports])

    # release ---------------------------------------------------------------------

    def release(self, container_id: str, job: Job | None = None) -> None:
        """Undo everything the driver did for a container: rules, ports, veths, addresses.

        Works from the state on disk alone, whether the container's namespace
        still exists or not; releasing an unknown container does nothing.
        """
        with self._lock:
            state = self._containers.get(container_id)
            if state is None:
                return
            with self._job(job, "network release", container_id) as j:
                self._unpublish(state, list(state.ports), j)
                for sock in self._reserved.pop(container_id, []):
                    sock.close()
                for endpoint in state.endpoints:
                    if links.delete_link(endpoint.host_ifname):
                        j.step("veth pair deleted", NET, container_id, host=endpoint.host_ifname)
                networks = {e.network_id for e in state.endpoints}
                self._store.delete_container(container_id)
                del self._containers[container_id]
                j.step("addresses released", NET, container_id,
                       addresses=[e.cidr for e in state.endpoints])
                peers = {cid for n in networks if n in self._networks
                         for cid in self._peers_of(self._networks[n], container_id)}
                peers.discard(container_id)
                self._refresh_hosts(peers)

    # stats -------------------------------------------------------------------------

    @staticmethod
    def counters(pid: int) -> dict[str, tuple[int, int]]:
        """Interface → (rx bytes, tx bytes) inside the network namespace of ``pid`` (no ``lo``)."""
        return read_counters(pid)

    # restart -----------------------------------------------------------------------

    def reconcile(self, job: Job | None = None) -> dict[str, int]:
        """After an engine restart: re-adopt bridges, endpoints and rules; drop what died.

        Returns:
            Counts: ``networks`` set up, ``endpoints`` kept, ``released``
            containers whose namespace is gone, ``rules`` changed.
        """
        with self._lock, self._job(job, "network reconcile", str(self.root)) as j:
            self._live.clear()
            for net in list(self._networks.values()):
                self._activate(net, j)
            released = kept = 0
            for state in list(self._containers.values()):
                alive = (not state.netns_path or not state.netns_inode
                         or links.netns_identity(state.netns_path) == state.netns_inode)
                present = links.link_names()
                if not alive or any(e.host_ifname not in present for e in state.endpoints):
                    self.release(state.container_id, job=j)
                    released += 1
                    continue
                kept += len(state.endpoints)
                self._rebind(state, j)
            orphans = self._orphan_veths()
            for name in orphans:
                links.delete_link(name)
            if orphans:
                j.step("orphan veths deleted", NET, str(self.root), links=orphans)
            wanted = [r for n in self._networks.values() if n.driver == "bridge"
                      for r in self._fw.network_rules(n.bridge, n.ipam[0].subnet, n.internal)]
            wanted += [r for s in self._containers.values() for r in self._port_rules(s, s.ports)]
            changed = self._fw.sync(wanted)
            j.step("reconciled", NET, str(self.root), endpoints=kept, released=released,
                   rules_changed=changed)
            self._refresh_hosts(list(self._containers))
            return {"networks": len(self._live), "endpoints": kept, "released": released,
                    "rules": changed}

    def _orphan_veths(self) -> list[str]:
        """Ports of this root's bridges that no stored endpoint owns (a crash mid-connect)."""
        known = {e.host_ifname for c in self._containers.values() for e in c.endpoints}
        found = []
        for net in self._networks.values():
            folder = Path(f"/sys/class/net/{net.bridge}/brif") if net.bridge else None
            if folder is not None and folder.is_dir():
                found += [p.name for p in folder.iterdir() if p.name not in known]
        return sorted(found)

    def _rebind(self, state: ContainerNet, job: Job) -> None:
        if state.container_id in self._reserved:
            return
        held = []
        for binding in state.ports:
            try:
                held.append(reserve(binding)[0])
            except WharfError as error:  # someone took it while no engine held it
                job.step("port not held", NET, state.container_id, port=str(binding),
                         error=str(error))
        self._reserved[state.container_id] = held

    def close(self) -> None:
        """Let go of the held host ports; bridges, veths and rules stay (containers outlive us)."""
        with self._lock:
            for held in self._reserved.values():
                for sock in held:
                    sock.close()
            self._reserved.clear()

    def teardown(self) -> None:
        """Remove everything of this root: every container's endpoints, every bridge, the chains.

        Keeps going past failures and raises the first one at the end.
        """
        errors: list[WharfError] = []

        def attempt(step: Callable[[], object]) -> None:
            try:
                step()
            except WharfError as error:
                errors.append(error)

        with self._lock:
            for container_id in list(self._containers):
                attempt(lambda cid=container_id: self.release(cid))
                if container_id in self._containers:  # release failed half-way: drop the rest
                    state = self._containers.pop(container_id)
                    for endpoint in state.endpoints:
                        attempt(lambda e=endpoint: links.delete_link(e.host_ifname))
                    self._store.delete_container(container_id)
            for net in self._networks.values():
                if net.bridge:
                    attempt(lambda n=net: links.delete_link(n.bridge))
            self._live.clear()
            attempt(self._fw.teardown)
            self.close()
        if errors:
            raise errors[0]

    # hosts files -------------------------------------------------------------------

    def _peers_of(self, net: NetworkRecord, container_id: str) -> list[str]:
        """The container and, on user-defined networks, everyone else on ``net``."""
        if not net.user_defined:
            return [container_id]
        found = [c.container_id for c in self._containers.values() if c.endpoint_on(net.id)]
        return found if container_id in found else [container_id, *found]

    def _refresh_hosts(self, container_ids: Iterable[str]) -> None:
        for container_id in container_ids:
            state = self._containers.get(container_id)
            if state is None or not state.hosts_path or state.mode.startswith("container:"):
                continue
            path = Path(state.hosts_path)
            if not path.parent.is_dir():
                continue  # the runtime has not made the container's folder
            if state.mode == "host":
                with contextlib.suppress(OSError):
                    rewrite_in_place(path, Path("/etc/hosts").read_text())
                continue
            peers: list[tuple[str, list[str]]] = []
            for endpoint in state.endpoints:
                net = self._networks.get(endpoint.network_id)
                if net is None or not net.user_defined:
                    continue
                for other in self._containers.values():
                    theirs = other.endpoint_on(net.id)
                    if theirs is None:
                        continue
                    peers.append((theirs.ip, [other.name, *theirs.aliases,
                                              other.container_id[:12]]))
            text = render_hosts(state.hostname, [e.ip for e in state.endpoints], sorted(peers))
            rewrite_in_place(path, text)
