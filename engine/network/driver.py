"""The network driver: Docker's bridge driver for Wharf (networks, endpoints, ports, reconcile).

One :class:`NetworkDriver` serves one state root. Its records live under
``<root>/networks/`` (see ``store``); the kernel objects it makes are the
bridges (``wharf0`` for the default ``bridge`` network, ``wh-<id12>`` for
user networks), one veth pair per endpoint (host side ``wh<id12>``, the
container side born as ``eth0``, ``eth1``… inside the container's network
namespace) and rules in Wharf's own iptables chains (see ``firewall``).

State is written before the kernel is touched, so whatever way a container
or the engine ended, :meth:`NetworkDriver.release` and
:meth:`NetworkDriver.reconcile` can undo or re-adopt it from disk alone.
Each operation publishes its steps as a Job (``Component.NETWORK_DRIVER``).
"""

from __future__ import annotations

import contextlib
import secrets
import socket
import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from engine.errors import AlreadyExists, Conflict, InUse, InvalidArgument, InvalidSpec, NetworkNotFound
from engine.jobs import Component, EventBus, Job
from engine.network import ipam, links
from engine.network.firewall import Firewall, root_tag
from engine.network.lifecycle import LifecycleMixin
from engine.network.records import ContainerNet, Endpoint, IPAMConfig, NetworkRecord
from engine.network.store import NetworkStore

NET = Component.NETWORK_DRIVER
DEFAULT_BRIDGE = "wharf0"
MODES = ("none", "host")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _mode_endpoint(net: NetworkRecord, state: ContainerNet) -> Endpoint:
    """The address-less endpoint a ``host`` or ``none`` container shows in its network."""
    return Endpoint(f"{net.id[:32]}{state.container_id[:32]}", net.id, net.name,
                    state.container_id, state.name, state.hostname, "", "", "", 0, "", "")


class NetworkDriver(LifecycleMixin):
    """Bridge networking for the containers of one state root.

    Args:
        root: the engine's state root (records go to ``<root>/networks/``).
        bus: where the driver's jobs and steps are published.
    """

    def __init__(self, root: Path, bus: EventBus) -> None:
        self.root = Path(root)
        self.bus = bus
        self._lock = threading.RLock()
        self._store = NetworkStore(self.root)
        self._fw = Firewall(root_tag(str(self.root.resolve())))
        self._networks = {n.id: n for n in self._store.load_networks()}
        self._containers = {c.container_id: c for c in self._store.load_containers()}
        self._reserved: dict[str, list[socket.socket]] = {}
        self._live: set[str] = set()

    # jobs --------------------------------------------------------------------

    @contextlib.contextmanager
    def _job(self, job: Job | None, name: str, subject: str) -> Iterator[Job]:
        if job is not None:
            yield job
            return
        with Job(self.bus, name, subject, NET) as own:
            yield own

    # networks ------------------------------------------------------------------

    def ensure_default(self, job: Job | None = None) -> NetworkRecord:
        """The default ``bridge`` network (and the ``host`` and ``none`` records), set up if needed."""
        with self._lock:
            for name, driver in (("host", "host"), ("none", "null")):
                if self._by_name(name) is None:
                    self._save(NetworkRecord(secrets.token_hex(32), name, driver, _now()))
            record = self._by_name("bridge")
            if record is None:
                net_id = secrets.token_hex(32)
                mine = {n.bridge for n in self._networks.values()}
                link = DEFAULT_BRIDGE
                if DEFAULT_BRIDGE in links.link_names() and DEFAULT_BRIDGE not in mine:
                    link = f"wh-{net_id[:12]}"  # another engine on this host owns wharf0
                record = self._new_bridge(net_id, "bridge", None, None, {}, False, link, {
                    "com.docker.network.bridge.default_bridge": "true",
                    "com.docker.network.bridge.enable_icc": "true",
                    "com.docker.network.bridge.enable_ip_masquerade": "true",
                    "com.docker.network.bridge.host_binding_ipv4": "0.0.0.0",
                    "com.docker.network.bridge.name": link,
                    "com.docker.network.driver.mtu": "1500"})
            with self._job(job, "network ensure", "bridge") as j:
                self._activate(record, j)
            return self._view(record)

    def create(self, name: str, subnet: str | None = None, gateway: str | None = None,
               labels: dict[str, str] | None = None, internal: bool = False,
               options: dict[str, str] | None = None, job: Job | None = None) -> NetworkRecord:
        """Create a user-defined bridge network and its bridge.

        Raises:
            AlreadyExists: the name is taken.
            InvalidSpec: a bad name, subnet or gateway.
            Conflict: the subnet overlaps another network of this engine.
        """
        if not name or name in ("bridge", "host", "none", "default") or "/" in name:
            raise InvalidSpec(f"invalid network name {name!r}")
        with self._lock:
            if self._by_name(name) is not None:
                raise AlreadyExists(f"network with name {name} already exists")
            net_id = secrets.token_hex(32)
            with self._job(job, "network create", name) as j:
                record = self._new_bridge(net_id, name, subnet, gateway, dict(labels or {}),
                                          internal, f"wh-{net_id[:12]}", dict(options or {}))
                self._activate(record, j)
            return self._view(record)

    def _new_bridge(self, net_id: str, name: str, subnet: str | None, gateway: str | None,
                    labels: dict[str, str], internal: bool, link: str,
                    options: dict[str, str]) -> NetworkRecord:
        others = [(n.name, ipam.IPv4Network(n.ipam[0].subnet))
                  for n in self._networks.values() if n.ipam]
        if subnet is None:
            chosen = ipam.choose_subnet([*links.host_networks(), *(net for _, net in others)])
        else:
            chosen = ipam.parse_subnet(subnet)
            ipam.check_no_overlap(chosen, others)
        mtu = int(options.get("com.docker.network.driver.mtu", "1500"))
        record = NetworkRecord(net_id, name, "bridge", _now(), bridge=link, internal=internal,
                               ipam=[IPAMConfig(str(chosen), ipam.gateway_for(chosen, gateway))],
                               labels=labels, options=options, mtu=mtu)
        self._save(record)
        return record

    def _activate(self, net: NetworkRecord, job: Job) -> None:
        """Make the bridge and its rules exist in the kernel (idempotent, cheap when live)."""
        if net.driver != "bridge" or net.id in self._live:
            return
        self._fw.ensure_chains()
        pool = net.ipam[0]
        prefix = int(pool.subnet.split("/")[1])
        made = links.ensure_bridge(net.bridge, pool.gateway, prefix, net.mtu)
        job.step("bridge created" if made else "bridge adopted", NET, net.name,
                 bridge=net.bridge, subnet=pool.subnet, gateway=pool.gateway)
        rules = self._fw.network_rules(net.bridge, pool.subnet, net.internal)
        if self._fw.apply(add=rules):
            job.step("iptables rules added", NET, net.name, rules=[r.spec for r in rules])
        if not net.internal:
            links.write_sysctl("net/ipv4/ip_forward", "1")
        self._live.add(net.id)

    def get(self, name_or_id: str) -> NetworkRecord:
        """A network by exact name, full ID or unique ID prefix.

        Raises:
            NetworkNotFound: none, or the prefix is ambiguous.
        """
        with self._lock:
            return self._view(self._find(name_or_id))

    def list(self) -> list[NetworkRecord]:
        """Every network, oldest first."""
        with self._lock:
            return [self._view(n) for n in sorted(self._networks.values(), key=lambda n: n.created)]

    def endpoints_of(self, container_id: str) -> list[tuple[NetworkRecord, Endpoint]]:
        """``container_id``'s (network, endpoint) pairs, oldest network first: what :meth:`list` shows
        for it, without building every network's view of every container (``inspect`` is O(1) in them)."""
        with self._lock:
            state = self._containers.get(container_id)
            found: list[tuple[NetworkRecord, Endpoint]] = []
            for net in sorted(self._networks.values(), key=lambda n: n.created) if state else []:
                endpoint = state.endpoint_on(net.id)
                mode = {"host": "host", "null": "none"}.get(net.driver)
                if endpoint is None and mode is not None and state.mode == mode:
                    endpoint = _mode_endpoint(net, state)
                if endpoint is not None:
                    found.append((replace(net, containers={container_id: endpoint}), endpoint))
            return found

    def remove(self, name_or_id: str, job: Job | None = None) -> None:
        """Remove a user-defined network and its bridge.

        Raises:
            InvalidArgument: a predefined network (``bridge``, ``host``, ``none``).
            InUse: containers are still connected.
        """
        with self._lock:
            net = self._find(name_or_id)
            if net.predefined:
                raise InvalidArgument(f"{net.name} is a pre-defined network and cannot be removed")
            users = [c for c in self._containers.values() if c.endpoint_on(net.id)]
            if users:
                names = ", ".join(c.name or c.container_id[:12] for c in users)
                raise InUse(f"network {net.name} has active endpoints ({names})")
            with self._job(job, "network remove", net.name) as j:
                pool = net.ipam[0]
                self._fw.apply(remove=self._fw.network_rules(net.bridge, pool.subnet, net.internal))
                links.delete_link(net.bridge)
                j.step("bridge deleted", NET, net.name, bridge=net.bridge)
                self._store.delete_network(net.id)
                self._networks.pop(net.id, None)
                self._live.discard(net.id)

    def prune(self, labels: dict[str, str | None] | None = None) -> list[str]:
        """Remove every user-defined network without containers; returns their names.

        Args:
            labels: only networks carrying all these labels (a ``None`` value:
                the key with any value), like ``--filter label=k[=v]``.
        """
        def wanted(net: NetworkRecord) -> bool:
            return all(k in net.labels and (v is None or net.labels[k] == v)
                       for k, v in (labels or {}).items())

        with self._lock:
            unused = [n for n in self._networks.values() if not n.predefined and wanted(n)
                      and not any(c.endpoint_on(n.id) for c in self._containers.values())]
            for net in unused:
                self.remove(net.id)
            return [n.name for n in unused]

    def _find(self, name_or_id: str) -> NetworkRecord:
        if name_or_id == "default":
            name_or_id = "bridge"
        exact = self._networks.get(name_or_id) or self._by_name(name_or_id)
        if exact is not None:
            return exact
        matches = [n for n in self._networks.values() if name_or_id and n.id.startswith(name_or_id)]
        if len(matches) == 1:
            return matches[0]
        raise NetworkNotFound(f"network {name_or_id} not found")

    def _by_name(self, name: str) -> NetworkRecord | None:
        return next((n for n in self._networks.values() if n.name == name), None)

    def _save(self, record: NetworkRecord) -> None:
        self._store.save_network(record)
        self._networks[record.id] = record

    def _view(self, net: NetworkRecord) -> NetworkRecord:
        endpoints = {}
        mode = {"host": "host", "null": "none"}.get(net.driver)
        for state in self._containers.values():
            endpoint = state.endpoint_on(net.id)
            if endpoint is None and mode is not None and state.mode == mode:
                endpoint = _mode_endpoint(net, state)
            if endpoint is not None:
                endpoints[state.container_id] = endpoint
        return replace(net, containers=endpoints, ipam=list(net.ipam),
                       labels=dict(net.labels), options=dict(net.options))

    # endpoints -------------------------------------------------------------------

    def connect(self, network: str, container_id: str, netns_path: str, hostname: str,
                aliases: Sequence[str] = (), ip: str | None = None, *, name: str = "",
                hosts_path: Path | None = None, job: Job | None = None) -> Endpoint:
        """Attach a container's network namespace to a network (a new ``ethN`` inside it).

        Works before the container's command starts and on a running container
        (hot-add). ``network`` may also be ``none`` or ``host``: the mode is
        recorded and an endpoint without address returned.

        Args:
            network: the network's name or ID (``bridge`` for the default).
            container_id: the container's full ID.
            netns_path: its network namespace, e.g. ``/proc/<pid>/ns/net``.
            hostname: its hostname (own line of its hosts file).
            aliases: names peers on this (user-defined) network resolve to it.
            ip: a fixed address in the network's subnet, else the next free one.
            name: the container's name, resolvable by peers on user-defined networks.
            hosts_path: its hosts file; default ``<root>/containers/<id>/hosts``.
            job: the job to report steps in (e.g. the container's start job).

        Raises:
            NetworkNotFound, AlreadyExists, Conflict, InvalidSpec, NetworkError.
        """
        if network in MODES:
            self.join(container_id, network, netns_path, hostname, name=name,
                      hosts_path=hosts_path, job=job)
            return _mode_endpoint(self._find(network), self._containers[container_id])
        with self._lock, self._job(job, "network connect", container_id) as j:
            if network in ("bridge", "default"):
                self.ensure_default(job=j)  # the default network is made when first needed
            net = self._find(network)
            if net.driver != "bridge":
                raise InvalidSpec(f"cannot connect to network {net.name} ({net.driver})")
            self._activate(net, j)
            state = self._state_for(container_id, netns_path, hostname, name, hosts_path)
            if state.mode != "bridge":
                raise Conflict(f"container {container_id[:12]} uses network mode {state.mode}")
            if state.endpoint_on(net.id):
                raise AlreadyExists(f"container {container_id[:12]} is already connected "
                                    f"to network {net.name}")
            pool = net.ipam[0]
            taken = {e.ip for c in self._containers.values() for e in c.endpoints
                     if e.network_id == net.id}
            address = ipam.allocate(ipam.IPv4Network(pool.subnet), pool.gateway, taken, ip)
            used = {e.ifname for e in state.endpoints}
            slot = next(i for i in range(len(used) + 1) if f"eth{i}" not in used)
            host_ifname = f"wh{container_id[:12]}" if slot == 0 else f"wh{container_id[:10]}-{slot}"
            endpoint = Endpoint(
                secrets.token_hex(32), net.id, net.name, container_id, state.name, hostname,
                f"eth{slot}", host_ifname, address, int(pool.subnet.split("/")[1]), pool.gateway,
                ipam.mac_for(address), net.mtu, tuple(aliases))
            if host_ifname in links.link_names():
                raise Conflict(f"link {host_ifname} already exists on the host (a leftover "
                               f"of container {container_id[:12]}?): release it first")
            state.endpoints.append(endpoint)
            self._store_state(state)  # written before the kernel is touched
            made = False
            try:
                links.create_veth(host_ifname, net.bridge, netns_path, endpoint.ifname,
                                  endpoint.mac, net.mtu)
                made = True
                j.step("veth pair created", NET, container_id, host=host_ifname,
                       container=endpoint.ifname, bridge=net.bridge)
                links.configure_peer(netns_path, endpoint.ifname, address, endpoint.prefixlen,
                                     pool.gateway, default_route=slot == 0)
            except BaseException:
                if made:
                    links.delete_link(host_ifname)
                state.endpoints.remove(endpoint)
                if state.endpoints or state.ports:
                    self._store_state(state)
                else:  # nothing of this container is left: leave no file either
                    self._store.delete_container(container_id)
                    self._containers.pop(container_id, None)
                raise
            j.step("address, MAC and route set", NET, container_id, ifname=endpoint.ifname,
                   address=endpoint.cidr, mac=endpoint.mac,
                   gateway=pool.gateway if slot == 0 else "")
            self._refresh_hosts(self._peers_of(net, state.container_id))
            return endpoint

    def join(self, container_id: str, mode: str, netns_path: str = "", hostname: str = "", *,
             name: str = "", hosts_path: Path | None = None, job: Job | None = None) -> None:
        """Record a container's non-bridge mode: ``none``, ``host`` or ``container:<id>``.

        For ``none`` it brings ``lo`` up in ``netns_path`` (the runtime made
        the namespace); for ``container:<id>`` the runtime joins the other
        container's namespace and the driver only records it.
        """
        if mode not in MODES and not mode.startswith("container:"):
            raise InvalidSpec(f"invalid network mode {mode!r}")
        with self._lock, self._job(job, "network join", container_id) as j:
            if mode in MODES:
                self.ensure_default(job=j)
            state = self._state_for(container_id, netns_path, hostname, name, hosts_path)
            if state.endpoints:
                raise Conflict(f"container {container_id[:12]} is already on bridge networks")
            state.mode = mode
            self._store_state(state)
            if mode == "none" and netns_path:
                links.loopback_up(netns_path)
            j.step("network mode recorded", NET, container_id, mode=mode)
            self._refresh_hosts([container_id])

    def disconnect(self, network: str, container_id: str, job: Job | None = None) -> None:
        """Detach a (running) container from a network: its veth, ports there and address go.

        Raises:
            NetworkNotFound: no such network.
            Conflict: the container is not connected to it.
        """
        with self._lock, self._job(job, "network disconnect", container_id) as j:
            net = self._find(network)
            state = self._containers.get(container_id)
            endpoint = state.endpoint_on(net.id) if state else None
            if state is None or endpoint is None:
                raise Conflict(f"container {container_id[:12]} is not connected to network {net.name}")
            gone = [p for p in state.ports if p.container_ip == endpoint.ip]
            self._unpublish(state, gone, j)
            links.delete_link(endpoint.host_ifname)
            j.step("veth pair deleted", NET, container_id, host=endpoint.host_ifname)
            state.endpoints.remove(endpoint)
            self._store_state(state)
            self._refresh_hosts(self._peers_of(net, container_id))

    def _state_for(self, container_id: str, netns_path: str, hostname: str, name: str,
                   hosts_path: Path | None) -> ContainerNet:
        inode = links.netns_identity(netns_path) if netns_path else 0
        state = self._containers.get(container_id)
        if state is not None and state.netns_inode and inode and state.netns_inode != inode:
            self.release(container_id)  # leftovers of an earlier run of this container
            state = None
        if state is None:
            state = ContainerNet(container_id)
        state.netns_path = netns_path or state.netns_path
        state.netns_inode = inode or state.netns_inode
        state.hostname = hostname or state.hostname
        state.name = name or state.name
        default_hosts = self.root / "containers" / container_id / "hosts"
        state.hosts_path = str(hosts_path or state.hosts_path or default_hosts)
        return state

    def _store_state(self, state: ContainerNet) -> None:
        self._store.save_container(state)
        self._containers[state.container_id] = state
