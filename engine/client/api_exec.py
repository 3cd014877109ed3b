"""Exec endpoints of the low-level client (docker-py's ``ExecApiMixin`` names)."""

from __future__ import annotations

from typing import Any

from engine.client.api_base import APIClientBase
from engine.client.api_containers import _ident, _read_socket
from engine.client.errors import DockerException


class ExecApiMixin(APIClientBase):
    """``/containers/{id}/exec`` and ``/exec/...``."""

    def exec_create(self, container: Any, cmd: str | list[str], stdout: bool = True,
                    stderr: bool = True, stdin: bool = False, tty: bool = False,
                    privileged: bool = False, user: str = "", environment: Any = None,
                    workdir: str | None = None, detach_keys: str | None = None) -> dict[str, Any]:
        """Create an exec instance; returns ``{"Id": …}``."""
        import shlex  # noqa: PLC0415

        if isinstance(cmd, str):
            cmd = shlex.split(cmd)
        if isinstance(environment, dict):
            environment = [f"{k}={v}" for k, v in environment.items()]
        data = {"Container": _ident(container), "User": user, "Privileged": privileged, "Tty": tty,
                "AttachStdin": stdin, "AttachStdout": stdout, "AttachStderr": stderr, "Cmd": cmd,
                "Env": environment, "WorkingDir": workdir, "DetachKeys": detach_keys}
        return self._result(self._post_json(self._url("/containers/{0}/exec", _ident(container)), data), True)

    def exec_inspect(self, exec_id: Any) -> dict[str, Any]:
        """The exec instance (``ExitCode``, ``Running``, ``Pid`` …)."""
        exec_id = exec_id.get("Id") if isinstance(exec_id, dict) else exec_id
        return self._result(self._get(self._url("/exec/{0}/json", exec_id)), True)

    def exec_resize(self, exec_id: Any, height: int | None = None, width: int | None = None) -> None:
        """Resize the exec's tty."""
        exec_id = exec_id.get("Id") if isinstance(exec_id, dict) else exec_id
        self._raise_for_status(self._post(self._url("/exec/{0}/resize", exec_id),
                                          params={"h": height, "w": width}))

    def exec_start(self, exec_id: Any, detach: bool = False, tty: bool = False, stream: bool = False,
                   socket: bool = False, demux: bool = False) -> Any:
        """Start it: joined output, a generator (``stream``), the socket (``socket``), or ``b""`` detached."""
        exec_id = exec_id.get("Id") if isinstance(exec_id, dict) else exec_id
        data = {"Tty": tty, "Detach": detach}
        url = self._url("/exec/{0}/start", exec_id)
        if detach:
            return self._result(self._post_json(url, data), binary=True)
        if socket and stream:
            raise DockerException("socket and stream are mutually exclusive")
        sock = self._hijack(url, json=data, content_type="application/json")
        sock.tty = tty
        if socket:
            return sock
        return _read_socket(sock, stream, demux)
