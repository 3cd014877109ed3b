"""Container endpoints of the low-level client (docker-py's ``ContainerApiMixin`` names)."""

from __future__ import annotations

import base64
import datetime
import json
from collections.abc import Iterator
from typing import Any

from engine.client.api_base import APIClientBase
from engine.client.config import container_config
from engine.client.streams import (
    ByteReader,
    CancellableStream,
    HijackedSocket,
    demux_stream,
    join_output,
    output_chunks,
)


def _ident(container: Any) -> str:
    """A container argument: an ID/name string, a dict with ``Id``, or a model."""
    if isinstance(container, dict):
        return str(container.get("Id"))
    return str(getattr(container, "id", container))


def _unix(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return int(value.timestamp())
    return value


class ContainerApiMixin(APIClientBase):
    """``/containers/...`` endpoints."""

    def containers(self, quiet: bool = False, all: bool = False, trunc: bool = False,
                   latest: bool = False, since: str | None = None, before: str | None = None,
                   limit: int = -1, size: bool = False, filters: dict[str, Any] | None = None) -> list[Any]:
        """List containers (dicts as the engine sends them; IDs only with ``quiet``)."""
        params = {"limit": 1 if latest else limit, "all": all, "size": size, "trunc_cmd": trunc,
                  "since": since, "before": before,
                  "filters": json.dumps(filters) if filters else None}
        result = self._result(self._get(self._url("/containers/json"), params=params), True)
        return [{"Id": c["Id"]} for c in result] if quiet else result

    def create_container(self, image: str, command: str | list[str] | None = None,
                         name: str | None = None, host_config: dict[str, Any] | None = None,
                         networking_config: dict[str, Any] | None = None, platform: str | None = None,
                         **kwargs: Any) -> dict[str, Any]:
        """Create a container; ``kwargs`` as docker-py's (``environment``, ``tty``, ``ports`` …)."""
        config = container_config(image, command, host_config=host_config,
                                  networking_config=networking_config, **kwargs)
        response = self._post_json(self._url("/containers/create"), config,
                                   params={"name": name, "platform": platform})
        return self._result(response, True)

    def inspect_container(self, container: Any) -> dict[str, Any]:
        """The container's inspect document."""
        return self._result(self._get(self._url("/containers/{0}/json", _ident(container))), True)

    def start(self, container: Any) -> None:
        """Start it (no error if it was running)."""
        self._raise_for_status(self._post(self._url("/containers/{0}/start", _ident(container))))

    def stop(self, container: Any, timeout: int | None = None) -> None:
        """Stop it: SIGTERM (or its stop signal), then SIGKILL after ``timeout`` s."""
        wait = (timeout if timeout is not None else 10) + self.timeout
        self._raise_for_status(self._post(self._url("/containers/{0}/stop", _ident(container)),
                                          params={"t": timeout}, timeout=wait))

    def restart(self, container: Any, timeout: int | None = 10) -> None:
        """Restart it."""
        wait = (timeout or 0) + self.timeout
        self._raise_for_status(self._post(self._url("/containers/{0}/restart", _ident(container)),
                                          params={"t": timeout}, timeout=wait))

    def kill(self, container: Any, signal: str | int | None = None) -> None:
        """Send a signal (default SIGKILL)."""
        self._raise_for_status(self._post(self._url("/containers/{0}/kill", _ident(container)),
                                          params={"signal": signal}))

    def pause(self, container: Any) -> None:
        """Freeze it."""
        self._raise_for_status(self._post(self._url("/containers/{0}/pause", _ident(container))))

    def unpause(self, container: Any) -> None:
        """Thaw it."""
        self._raise_for_status(self._post(self._url("/containers/{0}/unpause", _ident(container))))

    def wait(self, container: Any, timeout: float | None = None,
             condition: str | None = None) -> dict[str, Any]:
        """Block until it stops (or ``condition``); ``{"StatusCode": …, "Error": …}``."""
        response = self._post(self._url("/containers/{0}/wait", _ident(container)),
                              params={"condition": condition}, stream=True,
                              timeout=timeout if timeout is not None else ...)
        return self._result(response, True)

    def logs(self, container: Any, stdout: bool = True, stderr: bool = True, stream: bool = False,
             timestamps: bool = False, tail: str | int = "all", since: Any = None,
             follow: bool | None = None, until: Any = None) -> bytes | CancellableStream:
        """The container's output: joined bytes, or a stream of chunks with ``stream``."""
        if follow is None:
            follow = stream
        params = {"stdout": stdout, "stderr": stderr, "timestamps": timestamps, "follow": follow,
                  "tail": str(tail), "since": _unix(since), "until": _unix(until)}
        tty = self.inspect_container(container)["Config"]["Tty"]
        response = self._get(self._url("/containers/{0}/logs", _ident(container)), params=params,
                             stream=True)
        self._raise_for_status(response)
        chunks = output_chunks(ByteReader(response.iter_raw()).read, tty)
        if stream:
            return CancellableStream(demux_stream(chunks, False), response)
        try:
            return join_output(chunks, False)  # type: ignore[return-value]
        finally:
            response.close()

    def attach(self, container: Any, stdout: bool = True, stderr: bool = True, stream: bool = False,
               logs: bool = False, demux: bool = False) -> Any:
        """Attach to its output: joined bytes, or a generator with ``stream``."""
        params = {"stdout": stdout, "stderr": stderr, "stream": True, "logs": logs}
        tty = self.inspect_container(container)["Config"]["Tty"]
        sock = self._hijack(self._url("/containers/{0}/attach", _ident(container)), params=params)
        sock.tty = tty
        return _read_socket(sock, stream, demux)

    def attach_socket(self, container: Any, params: dict[str, Any] | None = None,
                      ws: bool = False) -> HijackedSocket:
        """The raw hijacked connection of an attach (stdin, stdout, stderr streaming)."""
        if ws:
            raise NotImplementedError("websocket attach is not supported")
        params = params or {"stdout": 1, "stderr": 1, "stream": 1}
        tty = self.inspect_container(container)["Config"]["Tty"]
        sock = self._hijack(self._url("/containers/{0}/attach", _ident(container)), params=params)
        sock.tty = tty
        return sock

    def stats(self, container: Any, decode: bool | None = None, stream: bool = True,
              one_shot: bool | None = None) -> Any:
        """Resource samples: a stream (one a second) or, with ``stream=False``, one dict."""
        params = {"stream": stream, "one-shot": one_shot}
        url = self._url("/containers/{0}/stats", _ident(container))
        if not stream:
            return self._result(self._get(url, params=params), True)
        return self._stream_json(self._get(url, params=params, stream=True), bool(decode))

    def stats_all(self, interval: float = 1.0, decode: bool = True) -> Any:
        """Wharf's batched stats: one line per ``interval`` s with every running container.

        Each item is ``{"read": …, "stats": [object, …]}``, every object shaped
        like one of :meth:`stats`'s. A real dockerd answers 404 (``NotFound``).
        """
        response = self._get(self._url("/wharf/stats", versioned=False), params={"interval": interval},
                             stream=True)
        return self._stream_json(response, decode)

    def top(self, container: Any, ps_args: str | None = None) -> dict[str, Any]:
        """The container's processes: ``{"Titles": …, "Processes": …}``."""
        return self._result(self._get(self._url("/containers/{0}/top", _ident(container)),
                                      params={"ps_args": ps_args}), True)

    def diff(self, container: Any) -> list[dict[str, Any]]:
        """Changes to its filesystem."""
        return self._result(self._get(self._url("/containers/{0}/changes", _ident(container))), True)

    def rename(self, container: Any, name: str) -> None:
        """Rename it."""
        self._raise_for_status(self._post(self._url("/containers/{0}/rename", _ident(container)),
                                          params={"name": name}))

    def resize(self, container: Any, height: int, width: int) -> None:
        """Resize its tty."""
        self._raise_for_status(self._post(self._url("/containers/{0}/resize", _ident(container)),
                                          params={"h": height, "w": width}))

    def update_container(self, container: Any, **kwargs: Any) -> dict[str, Any]:
        """Change limits: ``mem_limit``, ``cpu_shares``, ``restart_policy`` … (docker-py names)."""
        from engine.client.config import update_config  # noqa: PLC0415

        return self._result(self._post_json(self._url("/containers/{0}/update", _ident(container)),
                                            update_config(**kwargs)), True)

    def remove_container(self, container: Any, v: bool = False, link: bool = False,
                         force: bool = False) -> None:
        """Remove it (``force`` kills a running one first)."""
        self._raise_for_status(self._delete(self._url("/containers/{0}", _ident(container)),
                                            params={"v": v, "link": link, "force": force}))

    def prune_containers(self, filters: dict[str, Any] | None = None) -> dict[str, Any]:
        """Remove stopped containers."""
        params = {"filters": json.dumps(filters) if filters else None}
        return self._result(self._post(self._url("/containers/prune"), params=params), True)

    def get_archive(self, container: Any, path: str, chunk_size: int = 2 * 1024 * 1024,
                    encode_stream: bool = False) -> tuple[Iterator[bytes], dict[str, Any]]:
        """A tar of ``path`` (an iterator of chunks) and the path's stat."""
        response = self._get(self._url("/containers/{0}/archive", _ident(container)),
                             params={"path": path}, stream=True)
        self._raise_for_status(response)
        header = response.headers.get("x-docker-container-path-stat", "")
        stat = json.loads(base64.b64decode(header)) if header else {}
        return CancellableStream(response.iter_raw(chunk_size), response), stat

    def put_archive(self, container: Any, path: str, data: bytes | Iterator[bytes]) -> bool:
        """Extract a tar into ``path``; True on success."""
        response = self._send("PUT", self._url("/containers/{0}/archive", _ident(container)),
                              params={"path": path}, content=data)
        self._raise_for_status(response)
        return response.status_code == 200

    def commit(self, container: Any, repository: str | None = None, tag: str | None = None,
               message: str | None = None, author: str | None = None, pause: bool = True,
               changes: str | list[str] | None = None, conf: dict[str, Any] | None = None) -> dict[str, Any]:
        """Make an image of the container's filesystem; ``{"Id": …}``."""
        if isinstance(changes, str):
            changes = [changes]
        params = {"container": _ident(container), "repo": repository, "tag": tag, "comment": message,
                  "author": author, "pause": pause, "changes": changes}
        return self._result(self._post_json(self._url("/commit"), conf, params=params), True)

    def anatomy(self, container: Any) -> dict[str, Any]:
        """Wharf's teaching view of a container (``GET /wharf/containers/{id}/anatomy``)."""
        return self._result(self._get(self._url("/wharf/containers/{0}/anatomy", _ident(container),
                                                versioned=False)), True)


def _read_socket(sock: HijackedSocket, stream: bool, demux: bool) -> Any:
    """What docker-py's ``_read_from_socket`` returns: joined output or a generator."""
    if stream:
        def generate() -> Iterator[Any]:
            try:
                yield from demux_stream(sock.output(), demux)
            finally:
                sock.close()
        return generate()
    try:
        return join_output(sock.output(), demux)
    finally:
        sock.close()
