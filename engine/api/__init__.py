"""The daemon: Docker Engine API over HTTP/1.1 on a unix socket.

This package is the only place that knows Docker's JSON field names. How it stacks::

    daemon.py          run_daemon() for ``wharf daemon``, serve_embedded() for the console
    listeners.py       the unix socket (0660, never wider) and loopback/TLS TCP
    http.py            HTTP/1.1 on asyncio + h11: keep-alive, limits, chunked streams, 101 hijack
    hijack.py          raw stdio after the upgrade: 8-byte frames or tty bytes, half-close = stdin EOF
    bridge.py          the blocking backend on threads: a pool for calls, a pump thread per stream
    router.py          /vX.Y prefixes, version checks, routes, engine.errors → {"message": …}
    routes_*.py        one module per resource: parse the query/body, call the backend, shape JSON
    convert_*.py       Docker JSON ↔ the typed specs and records of engine.model
    query.py           moby's BoolValue, filters (maps or lists), timestamps
    filters.py         list filters (ps --filter …) applied over the engine's records
    backend.py         EngineBackend: the typing.Protocol the routes call
    model/             the dataclasses EngineBackend speaks in
    system_backend.py  host facts only, used until the full engine is wired in
    app.py             build_api(backend): every route registered
"""
