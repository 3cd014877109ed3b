"""Wharf's container engine.

The packages stack as the seed text draws Docker (imports point downward):

- ``engine.api``        the daemon's server: Docker Engine API over a unix socket
- ``engine.client``     the client (docker-py's shape, on httpx); the console uses only this
- ``engine.jobs``       every operation is a Job with steps, progress and events
- ``engine.containers`` container lifecycle and state, over ``engine.runtime``
- ``engine.images``     content store, layer store, image records (the graph)
- ``engine.registry``   distribution protocol client (pull, push, auth)
- ``engine.storage``    graph drivers: overlay, with a vfs fallback
- ``engine.network``    network driver: bridge, veth, IPAM, ports
- ``engine.runtime``    exec driver + libcontainer: namespaces, rootfs, cgroups, caps, seccomp, shim
- ``engine.errors``     the one exception tree
"""

from engine.version import __version__

__all__ = ["__version__"]
