"""Containers as objects: :class:`Container` and :class:`ContainerCollection` (``client.containers``)."""

from __future__ import annotations

from collections import namedtuple
from typing import Any

from engine.client.config import host_config
from engine.client.errors import ContainerError, ImageNotFound, NotFound
from engine.client.models_resource import Collection, Model

ExecResult = namedtuple("ExecResult", "exit_code,output")
"""What :meth:`Container.exec_run` returns."""

_CREATE_KWARGS = {"command", "detach", "domainname", "entrypoint", "environment", "healthcheck",
                  "hostname", "labels", "mac_address", "network_disabled", "stdin_open", "stop_signal",
                  "stop_timeout", "tty", "use_config_proxy", "user", "working_dir"}


class Container(Model):
    """One container; :attr:`attrs` is its inspect document (or list entry)."""

    @property
    def name(self) -> str | None:
        """The name without its leading slash."""
        name = self.attrs.get("Name") or (self.attrs.get("Names") or [None])[0]
        return name.lstrip("/") if name else None

    @property
    def status(self) -> str:
        """``created``, ``running``, ``paused``, ``exited`` …"""
        state = self.attrs.get("State")
        return state.get("Status", "") if isinstance(state, dict) else str(state or "")

    @property
    def labels(self) -> dict[str, str]:
        """Its labels."""
        config = self.attrs.get("Config") or {}
        return dict(config.get("Labels") or self.attrs.get("Labels") or {})

    @property
    def image(self) -> Any:
        """Its image as an :class:`~engine.client.models_images.Image` (``None`` if gone)."""
        image_id = self.attrs.get("ImageID") or self.attrs.get("Image")
        if not image_id:
            return None
        try:
            return self.client.images.get(image_id.split(":")[-1])
        except ImageNotFound:
            return None

    @property
    def ports(self) -> dict[str, Any]:
        """Published ports as inspect shows them."""
        return dict((self.attrs.get("NetworkSettings") or {}).get("Ports") or {})

    @property
    def health(self) -> str:
        """``healthy``, ``unhealthy``, ``starting``, or ``unknown`` without a check."""
        state = self.attrs.get("State")
        if isinstance(state, dict) and state.get("Health"):
            return str(state["Health"].get("Status", "unknown"))
        return "unknown"

    def _api(self) -> Any:
        return self.client.api

    def attach(self, **kwargs: Any) -> Any:
        """See :meth:`APIClient.attach`."""
        return self._api().attach(self.id, **kwargs)

    def attach_socket(self, **kwargs: Any) -> Any:
        """See :meth:`APIClient.attach_socket`."""
        return self._api().attach_socket(self.id, **kwargs)

    def commit(self, repository: str | None = None, tag: str | None = None, **kwargs: Any) -> Any:
        """Make an image of it (``message``, ``author``, ``changes``, ``pause``, ``conf``); the new Image."""
        created = self._api().commit(self.id, repository=repository, tag=tag, **kwargs)
        return self.client.images.get(created["Id"])

    def diff(self) -> list[dict[str, Any]]:
        """Changes to its filesystem."""
        return self._api().diff(self.id)

    def exec_run(self, cmd: Any, stdout: bool = True, stderr: bool = True, stdin: bool = False,
                 tty: bool = False, privileged: bool = False, user: str = "", detach: bool = False,
                 stream: bool = False, socket: bool = False, environment: Any = None,
                 workdir: str | None = None, demux: bool = False) -> ExecResult:
        """Run a command inside; ``ExecResult(exit_code, output)`` (exit code ``None`` when streaming)."""
        created = self._api().exec_create(self.id, cmd, stdout=stdout, stderr=stderr, stdin=stdin, tty=tty,
                                          privileged=privileged, user=user, environment=environment,
                                          workdir=workdir)
        output = self._api().exec_start(created["Id"], detach=detach, tty=tty, stream=stream,
                                        socket=socket, demux=demux)
        if socket or stream:
            return ExecResult(None, output)
        return ExecResult(self._api().exec_inspect(created["Id"])["ExitCode"], output)

    def get_archive(self, path: str, chunk_size: int = 2 * 1024 * 1024,
                    encode_stream: bool = False) -> tuple[Any, dict[str, Any]]:
        """A tar of ``path`` and its stat."""
        return self._api().get_archive(self.id, path, chunk_size, encode_stream)

    def put_archive(self, path: str, data: Any) -> bool:
        """Extract a tar into ``path``."""
        return self._api().put_archive(self.id, path, data)

    def kill(self, signal: str | int | None = None) -> None:
        """Send a signal."""
        self._api().kill(self.id, signal=signal)

    def logs(self, **kwargs: Any) -> Any:
        """See :meth:`APIClient.logs`."""
        return self._api().logs(self.id, **kwargs)

    def pause(self) -> None:
        """Freeze it."""
        self._api().pause(self.id)

    def unpause(self) -> None:
        """Thaw it."""
        self._api().unpause(self.id)

    def remove(self, **kwargs: Any) -> None:
        """Remove it (``force``, ``v``, ``link``)."""
        self._api().remove_container(self.id, **kwargs)

    def rename(self, name: str) -> None:
        """Rename it."""
        self._api().rename(self.id, name)

    def resize(self, height: int, width: int) -> None:
        """Resize its tty."""
        self._api().resize(self.id, height, width)

    def restart(self, **kwargs: Any) -> None:
        """Restart it."""
        self._api().restart(self.id, **kwargs)

    def start(self) -> None:
        """Start it."""
        self._api().start(self.id)

    def stats(self, **kwargs: Any) -> Any:
        """See :meth:`APIClient.stats`."""
        return self._api().stats(self.id, **kwargs)

    def stop(self, **kwargs: Any) -> None:
        """Stop it."""
        self._api().stop(self.id, **kwargs)

    def top(self, **kwargs: Any) -> dict[str, Any]:
        """Its processes."""
        return self._api().top(self.id, **kwargs)

    def update(self, **kwargs: Any) -> dict[str, Any]:
        """Change its limits."""
        return self._api().update_container(self.id, **kwargs)

    def wait(self, **kwargs: Any) -> dict[str, Any]:
        """Block until it stops; ``{"StatusCode": …}``."""
        return self._api().wait(self.id, **kwargs)

    def anatomy(self) -> dict[str, Any]:
        """Wharf's teaching view of this container."""
        return self._api().anatomy(self.id)


class ContainerCollection(Collection):
    """``client.containers``."""

    model = Container

    def run(self, image: Any, command: Any = None, stdout: bool = True, stderr: bool = False,
            remove: bool = False, **kwargs: Any) -> Any:
        """Create and start; wait and return the output, or return the container with ``detach``.

        Raises:
            ContainerError: it exited non-zero (without ``detach``).
            ImageNotFound: the image is neither local nor pullable.
        """
        image_name = getattr(image, "id", image)
        stream = kwargs.pop("stream", False)
        detach = kwargs.pop("detach", False)
        platform = kwargs.get("platform")
        if detach and remove:
            kwargs["auto_remove"] = True
        try:
            container = self.create(image_name, command=command, detach=detach, **kwargs)
        except ImageNotFound:
            self.client.images.pull(image_name, platform=platform)
            container = self.create(image_name, command=command, detach=detach, **kwargs)
        container.start()
        if detach:
            return container
        logging_driver = container.attrs["HostConfig"]["LogConfig"]["Type"]
        out: Any = None
        if logging_driver in ("json-file", "journald", "local"):
            out = container.logs(stdout=stdout, stderr=stderr, stream=True, follow=True)
        exit_status = container.wait()["StatusCode"]
        if exit_status != 0:
            out = None
            if not kwargs.get("auto_remove"):
                out = container.logs(stdout=False, stderr=True)
        if remove:
            container.remove()
        if exit_status != 0:
            raise ContainerError(container, exit_status, command, image_name, out)
        if stream or out is None:
            return out
        return b"".join(out)

    def create(self, image: Any, command: Any = None, **kwargs: Any) -> Container:
        """Create a container (docker-py's ``run`` arguments) and return it inspected."""
        image_name = getattr(image, "id", image)
        name = kwargs.pop("name", None)
        platform = kwargs.pop("platform", None)
        network = kwargs.pop("network", None)
        ports = kwargs.pop("ports", None)
        volumes = kwargs.pop("volumes", None)
        create_args = {k: kwargs.pop(k) for k in list(kwargs) if k in _CREATE_KWARGS}
        networking: dict[str, Any] | None = None
        if network:
            kwargs.setdefault("network_mode", network)
            networking = {"EndpointsConfig": {network: {}}}
        if ports:
            kwargs["port_bindings"] = ports
            create_args["ports"] = [k if isinstance(k, str) else str(k) for k in ports]
        if volumes:
            kwargs["binds"] = volumes
        created = self.client.api.create_container(
            image_name, command, name=name, platform=platform, host_config=host_config(**kwargs),
            networking_config=networking, **create_args)
        return self.get(created["Id"])

    def get(self, container_id: str) -> Container:
        """One container by name, ID or ID prefix.

        Raises:
            NotFound: no such container.
        """
        return self.prepare_model(self.client.api.inspect_container(container_id))  # type: ignore[return-value]

    def list(self, all: bool = False, before: str | None = None, filters: dict[str, Any] | None = None,
             limit: int = -1, since: str | None = None, sparse: bool = False,
             ignore_removed: bool = False) -> list[Container]:
        """Containers (running ones unless ``all``), inspected unless ``sparse``."""
        entries = self.client.api.containers(all=all, before=before, filters=filters, limit=limit,
                                             since=since)
        if sparse:
            return [self.prepare_model(e) for e in entries]  # type: ignore[misc]
        containers = []
        for entry in entries:
            try:
                containers.append(self.get(entry["Id"]))
            except NotFound:
                if not ignore_removed:
                    raise
        return containers

    def prune(self, filters: dict[str, Any] | None = None) -> dict[str, Any]:
        """Remove stopped containers."""
        return self.client.api.prune_containers(filters=filters)
