"""Network driver: bridges, veth pairs, IPAM, published ports (pyroute2, iptables).

Docker's bridge driver is the model. Layers, top down:

- ``driver``     :class:`NetworkDriver`: networks, endpoints (connect/disconnect), modes
- ``lifecycle``  published ports, release, reconcile after a restart, hosts-file upkeep
- ``records``    the typed records (:class:`NetworkRecord`, :class:`Endpoint`, :class:`PortBinding`)
- ``store``      atomic JSON state under ``<root>/networks/``
- ``ipam``       subnet choice and address allocation
- ``links``      bridges, veths, addresses, routes through pyroute2
- ``firewall``   rules in Wharf's own iptables chains
- ``ports``      ``-p`` spec parsing and host-port reservation
- ``etcfiles``   ``/etc/hosts`` and ``/etc/resolv.conf`` rendering, in-place rewrite
- ``counters``   per-container rx/tx bytes

Wiring into a container's life (one ``NetworkDriver(root, bus)`` per engine;
call it from worker threads, it blocks for milliseconds)::

    engine start   driver.reconcile()
    create         write <root>/containers/<id>/hosts (render_hosts(hostname)) and
                   resolv.conf (render_resolv_conf()); the runtime bind-mounts both
    start          init waits before exec -> netns = f"/proc/{pid}/ns/net"
      bridge/user  ep = driver.connect(net, id, netns, hostname, aliases, name=name, job=job)
                   more networks: driver.connect(...) again (eth1, …)
                   driver.publish(id, ep, bindings, job=job)  # Conflict before exec
      none/host    driver.join(id, "none" | "host", netns, hostname, name=name)
      container:X  driver.join(id, f"container:{X}")          # the runtime joins X's netns
                   on any error: driver.release(id), then kill the init
                   release the init to exec
    stop / died    driver.release(id)       # from disk; the netns may be gone already
    stats          driver.counters(pid)
"""

from engine.network import etcfiles, ipam
from engine.network.driver import NetworkDriver
from engine.network.etcfiles import render_hosts, render_resolv_conf, rewrite_in_place
from engine.network.ports import parse_port_spec
from engine.network.records import ContainerNet, Endpoint, IPAMConfig, NetworkRecord, PortBinding

__all__ = [
    "ContainerNet",
    "Endpoint",
    "IPAMConfig",
    "NetworkDriver",
    "NetworkRecord",
    "PortBinding",
    "etcfiles",
    "ipam",
    "parse_port_spec",
    "render_hosts",
    "render_resolv_conf",
    "rewrite_in_place",
]
