"""Wharf's container engine.

The packages stack as the seed text draws Docker (imports point downward):

- ``engine.api``        the daemon's server: Docker Engine API over a unix socket (the only
                        place that knows Docker's JSON field names)
- ``engine.client``     the client (docker-py's shape, on httpx); the console uses only this
- ``engine.engine``     the composition root: every subsystem of one state root, behind the
                        API's backend interface (its parts are in ``engine.service``)
- ``engine.model``      the engine's typed specs and records that the API converts to and from
- ``engine.jobs``       every operation is a Job with steps, progress and events
- ``engine.containers`` container lifecycle and state, over ``engine.runtime``
- ``engine.images``     content store, layer store, image records (the graph)
- ``engine.registry``   distribution protocol client (pull, push, auth)
- ``engine.storage``    graph drivers: overlay, with a vfs fallback
- ``engine.network``    network driver: bridge, veth, IPAM, ports
- ``engine.volumes``    named volumes
- ``engine.runtime``    exec driver + libcontainer: namespaces, rootfs, cgroups, caps, seccomp, shim
- ``engine.host``       facts about the host (kernel, OS, CPUs, memory, cgroups)
- ``engine.errors``     the one exception tree
"""

from engine.version import __version__

__all__ = ["__version__"]
