"""A deterministic, docker-py-shaped fake engine: the ONLY fake, for UI snapshots and key tests.

Fixed IDs, timestamps and stats; every call is recorded in ``client.calls``.
``client.gone = True`` makes every call raise a connection error, like an
engine whose socket vanished. ``wharf=False`` answers like a real dockerd
(no journal, no anatomy: 404).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from typing import Any

from tui.data.registry import CatalogPage, ImageConfigInfo, LayerInfo, ManifestInfo, PlatformInfo

BASE_TIME = 1_764_576_000.0
"""2025-12-01T08:00:00Z: every timestamp of the fake counts from here."""


def _hex(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()


def _iso(seconds: float) -> str:
    import datetime
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class FakeConnectionError(ConnectionError):
    """What the fake raises when the engine is 'gone'."""


class FakeAPIError(Exception):
    """An engine error with docker-py's ``status_code`` and ``explanation``."""

    def __init__(self, message: str, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.explanation = message


class FakeNotFound(FakeAPIError):
    """404."""

    def __init__(self, message: str) -> None:
        super().__init__(message, 404)


IMAGES = [
    # (repo tags, size, created offset (s before BASE_TIME))
    (["nginx:1.27", "nginx:latest"], 192_000_000, 86400 * 12),
    (["postgres:16"], 438_000_000, 86400 * 30),
    (["redis:7"], 117_000_000, 86400 * 3),
    (["alpine:3.20"], 7_800_000, 86400 * 60),
    (["localhost:5000/tools/busybox:1.36"], 4_300_000, 86400 * 90),
    ([], 55_000_000, 86400 * 5),
]

CONTAINERS = [
    # (name, image, state, status, ports, started offset)
    ("web", "nginx:1.27", "running", "Up 3 hours", [(8080, 80)], 3 * 3600),
    ("db", "postgres:16", "running", "Up 2 days", [(None, 5432)], 2 * 86400),
    ("cache", "redis:7", "paused", "Up 5 hours (Paused)", [(None, 6379)], 5 * 3600),
    ("worker", "alpine:3.20", "exited", "Exited (0) 10 minutes ago", [], 0),
    ("builder", "alpine:3.20", "created", "Created", [], 0),
    ("api", "nginx:1.27", "running", "Up 40 minutes", [(8081, 80), (8443, 443)], 2400),
]


class FakeImage:
    """docker-py's ``Image`` shape."""

    def __init__(self, client: FakeDockerClient, attrs: dict[str, Any]) -> None:
        self.client = client
        self.attrs = attrs
        self.id = attrs["Id"]
        self.short_id = self.id[:19]
        self.tags = list(attrs["RepoTags"])

    def history(self) -> list[dict[str, Any]]:
        self.client._call("image.history", self.id)
        created = self.attrs["Created"]
        return [
            {"Id": self.id, "Created": created, "CreatedBy": '/bin/sh -c #(nop)  CMD ["serve"]', "Size": 0, "Comment": ""},
            {"Id": "<missing>", "Created": created - 60, "CreatedBy": "/bin/sh -c #(nop)  EXPOSE 80", "Size": 0, "Comment": ""},
            {"Id": "<missing>", "Created": created - 120, "CreatedBy": "/bin/sh -c apk add --no-cache tini curl", "Size": self.attrs["Size"] // 3, "Comment": ""},
            {"Id": "<missing>", "Created": created - 180, "CreatedBy": "/bin/sh -c #(nop) ENV PATH=/usr/local/bin:/usr/bin:/bin", "Size": 0, "Comment": ""},
            {"Id": "<missing>", "Created": created - 240, "CreatedBy": "/bin/sh -c #(nop) ADD file:8e1c3b2 in / ", "Size": self.attrs["Size"] - self.attrs["Size"] // 3, "Comment": "base"},
        ]

    def tag(self, repository: str, tag: str | None = None) -> bool:
        self.client._call("image.tag", self.id, repository, tag)
        return True

    def save(self, chunk_size: int | None = 2 * 1024 * 1024, named: str | bool = False) -> Iterator[bytes]:
        """A fake archive: a magic line, then the JSON of the names it keeps."""
        self.client._call("image.save", self.id, named)
        yield ARCHIVE_MAGIC
        yield json.dumps({"Id": self.id, "RepoTags": [named] if isinstance(named, str) else self.tags}).encode()


ARCHIVE_MAGIC = b"wharf-fake-archive\n"
"""How the fake's ``save`` archives start (``load`` refuses anything else)."""


class FakeContainer:
    """docker-py's ``Container`` shape."""

    def __init__(self, client: FakeDockerClient, index: int, name: str, image: str, state: str,
                 status: str, ports: list[tuple[int | None, int]], started: int) -> None:
        self.client = client
        self.index = index
        self.id = _hex(f"container-{name}")
        self.short_id = self.id[:12]
        self.name = name
        self.status = state
        self.image_ref = image
        self.image_id = client._image_id(image)
        self.ports = ports
        self.started = started
        self.status_text = status
        self.labels = {"com.example.role": name}

    @property
    def attrs(self) -> dict[str, Any]:
        """The list JSON (``Names`` and a string ``State``)."""
        return {
            "Id": self.id, "Names": [f"/{self.name}"], "Image": self.image_ref, "ImageID": self.image_id,
            "Command": "/docker-entrypoint.sh serve", "Created": int(BASE_TIME - 86400 * 3),
            "State": self.status, "Status": self.status_text, "Labels": self.labels,
            "Ports": [{"IP": "0.0.0.0" if pub else "", "PrivatePort": priv, "PublicPort": pub, "Type": "tcp"}
                      if pub else {"PrivatePort": priv, "Type": "tcp"} for pub, priv in self.ports],
        }

    def inspect(self) -> dict[str, Any]:
        """The inspect JSON."""
        return {
            "Id": self.id, "Name": f"/{self.name}", "Image": self.image_id, "Path": "/docker-entrypoint.sh",
            "Args": ["serve"], "Created": _iso(BASE_TIME - 86400 * 3),
            "State": {"Status": self.status, "Running": self.status == "running", "Pid": 4000 + self.index,
                      "StartedAt": _iso(BASE_TIME - self.started) if self.started else "0001-01-01T00:00:00Z"},
            "Config": {"Image": self.image_ref, "Env": ["PATH=/usr/bin:/bin"], "Labels": self.labels},
            "HostConfig": {"Memory": 536870912, "NanoCpus": 0, "RestartPolicy": {"Name": "no"}},
            "NetworkSettings": {"IPAddress": f"172.17.0.{self.index + 2}",
                                "Ports": {f"{p}/tcp": ([{"HostIp": "0.0.0.0", "HostPort": str(h)}] if h else None)
                                          for h, p in self.ports}},
        }

    def _act(self, action: str, new_state: str | None = None) -> None:
        self.client._call(f"container.{action}", self.name)
        if new_state:
            self.status = new_state
            self.status_text = {"running": "Up Less than a second", "exited": "Exited (0) Less than a second ago",
                                "paused": "Up (Paused)"}.get(new_state, new_state)

    def start(self) -> None:
        self._act("start", "running")

    def stop(self, timeout: int | None = None) -> None:
        self._act("stop", "exited")

    def restart(self, timeout: int | None = None) -> None:
        self._act("restart", "running")

    def kill(self, signal: str | None = None) -> None:
        self._act("kill", "exited")

    def pause(self) -> None:
        self._act("pause", "paused")

    def unpause(self) -> None:
        self._act("unpause", "running")

    def remove(self, force: bool = False) -> None:
        self._act("remove")
        self.client._containers.remove(self)

    def reload(self) -> None:
        self.client._call("container.reload", self.name)

    def logs(self, stream: bool = False, follow: bool = False, tail: int | str = "all",
             timestamps: bool = False) -> Iterator[bytes]:
        self.client._call("container.logs", self.name, tail)
        lines = []
        for i in range(120):
            stamp = _iso(BASE_TIME + i)
            level = "ERROR" if i % 17 == 5 else "INFO"
            text = f"{level} {self.name}[{i:03d}] GET /api/items/{i} 200 {i * 3 % 97}ms"
            if i % 9 == 0:
                text += " user-agent=Mozilla/5.0 (X11; Linux x86_64) a deliberately long line to show wrapping in the log view"
            lines.append((f"{stamp} " if timestamps else "") + text + "\n")
        if isinstance(tail, int):
            lines = lines[-tail:]
        return iter([line.encode() for line in lines])

    def top(self) -> dict[str, Any]:
        self.client._call("container.top", self.name)
        return {"Titles": ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"],
                "Processes": [["root", str(4000 + self.index), "3990", "0", "08:00", "?", "00:00:01", "nginx: master process"],
                              ["101", str(4100 + self.index), str(4000 + self.index), "0", "08:00", "?", "00:00:00", "nginx: worker process"]]}

    def commit(self, repository: str | None = None, tag: str | None = None, **kwargs: Any) -> FakeImage:
        """A new image named ``repository:tag``, listed from now on."""
        self.client._call("container.commit", self.id, repository, tag, kwargs)
        reference = f"{repository}:{tag or 'latest'}"
        image = FakeImage(self.client, {"Id": f"sha256:{_hex('commit-' + self.id + reference)}",
                                        "RepoTags": [reference], "Size": 1_234_000, "Created": int(BASE_TIME),
                                        "RootFS": {"Layers": [f"sha256:{_hex(reference)}"]}})
        self.client._images.append(image)
        return image

    def diff(self) -> list[dict[str, Any]]:
        self.client._call("container.diff", self.name)
        return [{"Path": "/var", "Kind": 0}, {"Path": "/var/cache/nginx", "Kind": 1},
                {"Path": "/etc/nginx/conf.d/default.conf", "Kind": 0}, {"Path": "/tmp/old.pid", "Kind": 2}]


class _Containers:
    def __init__(self, client: FakeDockerClient) -> None:
        self.client = client

    def list(self, all: bool = False, sparse: bool = False) -> list[FakeContainer]:
        self.client._call("containers.list")
        return [c for c in self.client._containers if all or c.status == "running"]

    def get(self, container_id: str) -> Any:
        self.client._call("containers.get", container_id)
        for c in self.client._containers:
            if container_id in (c.id, c.name, c.short_id):
                view = _InspectView(c)
                return view
        raise FakeNotFound(f"No such container: {container_id}")

    def run(self, image: str, command: Any = None, **kwargs: Any) -> Any:
        self.client._call("containers.run", image, command, kwargs)
        name = kwargs.get("name") or f"fake-{len(self.client._containers)}"
        c = FakeContainer(self.client, len(self.client._containers), name, image, "running",
                          "Up Less than a second", [(h, int(p.split('/')[0])) for p, h in (kwargs.get("ports") or {}).items()], 1)
        self.client._containers.append(c)
        return _InspectView(c)


class _InspectView:
    """A container fetched with ``get``: attrs is the inspect JSON, methods act on the original."""

    def __init__(self, container: FakeContainer) -> None:
        self._container = container
        self.id = container.id
        self.short_id = container.short_id
        self.name = container.name

    @property
    def attrs(self) -> dict[str, Any]:
        return self._container.inspect()

    @property
    def status(self) -> str:
        return self._container.status

    def __getattr__(self, name: str) -> Any:
        return getattr(self._container, name)


class _Images:
    def __init__(self, client: FakeDockerClient) -> None:
        self.client = client

    def list(self) -> list[FakeImage]:
        self.client._call("images.list")
        return list(self.client._images)

    def get(self, image_id: str) -> FakeImage:
        self.client._call("images.get", image_id)
        for image in self.client._images:
            if image_id == image.id or image_id in image.tags:
                return image
        raise FakeNotFound(f"No such image: {image_id}")

    def remove(self, image: str, force: bool = False) -> None:
        self.client._call("images.remove", image)

    def push(self, repository: str, tag: str | None = None, stream: bool = False, decode: bool = False,
             auth_config: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Docker's push progress: two uploads, one layer already there, then the digest."""
        self.client._call("images.push", repository, tag)
        yield {"status": f"The push refers to repository [{repository}]"}
        layers = [("a1b2c3d4e5f6", 3_400_000), ("0f9e8d7c6b5a", 12_800_000), ("5566778899aa", 900)]
        for lid, _ in layers:
            yield {"status": "Preparing", "id": lid, "progressDetail": {}}
        yield {"status": "Layer already exists", "id": layers[2][0], "progressDetail": {}}
        for lid, size in layers[:2]:
            for part in (1, 2, 4):
                yield {"status": "Pushing", "id": lid, "progressDetail": {"current": size * part // 4, "total": size}}
            yield {"status": "Pushed", "id": lid, "progressDetail": {}}
        if self.client.push_fails:
            yield {"errorDetail": {"message": "denied: requested access to the resource is denied"},
                   "error": "denied: requested access to the resource is denied"}
            return
        yield {"status": f"{tag}: digest: sha256:{_hex('push-' + repository)} size: 1234"}

    def load(self, data: Any) -> list[FakeImage]:
        """Read a fake archive; its image is listed from now on."""
        raw = bytes(data) if isinstance(data, (bytes, bytearray)) else b"".join(data)
        self.client._call("images.load", len(raw))
        if not raw.startswith(ARCHIVE_MAGIC):
            raise FakeAPIError("invalid tar header", 500)
        saved = json.loads(raw[len(ARCHIVE_MAGIC):])
        tags = [f"loaded/{t}" for t in saved["RepoTags"]]
        image = FakeImage(self.client, {"Id": f"sha256:{_hex('loaded-' + saved['Id'])}", "RepoTags": tags,
                                        "Size": 2_000_000, "Created": int(BASE_TIME),
                                        "RootFS": {"Layers": [f"sha256:{_hex(saved['Id'])}"]}})
        self.client._images.append(image)
        return [image]

    def prune(self, filters: Any = None) -> dict[str, Any]:
        self.client._call("images.prune")
        return {"ImagesDeleted": [{"Deleted": self.client._images[-1].id}], "SpaceReclaimed": 55_000_000}


class _API:
    """The low-level ``client.api``."""

    def __init__(self, client: FakeDockerClient) -> None:
        self.client = client
        self._ticks: dict[str, int] = {}

    def stats(self, container: str, decode: bool | None = None, stream: bool = True,
              one_shot: bool | None = None) -> dict[str, Any]:
        self.client._call("api.stats", container)
        c = next(c for c in self.client._containers if c.id == container)
        tick = self._ticks[container] = self._ticks.get(container, 0) + 1
        # each tick: 1 s of a 2-CPU host; the container burns (index+1)*7 % of one core, wobbling
        busy = ((c.index + 1) * 7 + (tick * 13 + c.index * 5) % 23) / 100
        total = int(sum(((c.index + 1) * 7 + (t * 13 + c.index * 5) % 23) / 100 for t in range(1, tick + 1)) * 1e9)
        return {
            "read": _iso(BASE_TIME + tick), "preread": "0001-01-01T00:00:00Z",
            "cpu_stats": {"cpu_usage": {"total_usage": total}, "system_cpu_usage": int(2e9 * tick), "online_cpus": 2},
            "precpu_stats": {"cpu_usage": {"total_usage": 0}, "system_cpu_usage": 0},
            "memory_stats": {"usage": (40 + c.index * 25 + tick % 5) * 1024 * 1024,
                             "limit": 512 * 1024 * 1024, "stats": {"inactive_file": 8 * 1024 * 1024}},
            "networks": {"eth0": {"rx_bytes": tick * 15_000 * (c.index + 1), "tx_bytes": tick * 4_000 * (c.index + 1)}},
            "blkio_stats": {"io_service_bytes_recursive": [{"op": "read", "value": tick * 8192},
                                                           {"op": "write", "value": tick * 4096 * (tick % 3)}]},
            "pids_stats": {"current": 2 + c.index + tick % 2},
            "_busy": busy,
        }

    def logs(self, container: str, stdout: bool = True, stderr: bool = True, stream: bool = False,
             timestamps: bool = False, tail: int | str = "all", follow: bool = False, **kwargs: Any) -> Iterator[bytes]:
        c = next(c for c in self.client._containers if container in (c.id, c.name))
        return c.logs(stream=stream, follow=follow, tail=tail, timestamps=timestamps)

    def pull(self, repository: str, tag: str | None = None, stream: bool = False,
             decode: bool = False, **kwargs: Any) -> Iterator[dict[str, Any]]:
        self.client._call("api.pull", repository, tag)
        yield {"status": f"Pulling from {repository}", "id": tag}
        layers = [("a1b2c3d4e5f6", 3_400_000), ("0f9e8d7c6b5a", 12_800_000), ("5566778899aa", 900)]
        for lid, _ in layers:
            yield {"status": "Pulling fs layer", "id": lid, "progressDetail": {}}
        yield {"status": "Already exists", "id": layers[2][0], "progressDetail": {}}
        for lid, size in layers[:2]:
            for part in (1, 2, 4):
                yield {"status": "Downloading", "id": lid, "progressDetail": {"current": size * part // 4, "total": size}}
            if lid == layers[0][0]:
                yield {"status": "Verifying Checksum", "id": lid, "progressDetail": {}}
                yield {"status": "Download complete", "id": lid, "progressDetail": {}}
                yield {"status": "Extracting", "id": lid, "progressDetail": {"current": size // 2, "total": size}}
        if self.client.pull_completes:
            yield {"status": "Extracting", "id": layers[0][0], "progressDetail": {"current": layers[0][1], "total": layers[0][1]}}
            yield {"status": "Pull complete", "id": layers[0][0], "progressDetail": {}}
            yield {"status": "Pull complete", "id": layers[1][0], "progressDetail": {}}
            yield {"status": "Digest: sha256:" + _hex("pull")}
            yield {"status": f"Status: Downloaded newer image for {repository}:{tag}"}
        else:
            self.client.pull_gate.wait(1.5)

    def events(self, decode: bool = False, **kwargs: Any) -> Iterator[dict[str, Any]]:
        self.client._call("api.events")
        for i, (kind, action, name) in enumerate([("container", "start", "web"), ("container", "die", "worker"),
                                                  ("image", "pull", "redis:7")]):
            yield {"Type": kind, "Action": action, "Actor": {"ID": _hex(name), "Attributes": {"name": name}},
                   "time": int(BASE_TIME) + i}
        self.client.events_gate.wait(0.3)

    def journal(self, since: int = 0) -> Iterator[dict[str, Any]]:
        self.client._call("api.journal", since)
        if not self.client.wharf:
            raise FakeNotFound("page not found")
        steps = [
            ("job", "begin", "registry", "pull alpine:3.20", {}),
            ("step", "resolve", "registry", "alpine:3.20", {"digest": "sha256:" + _hex("idx")[:16]}),
            ("step", "fetch-blob", "registry", "sha256:" + _hex("l1")[:12], {"bytes": 3_400_000}),
            ("step", "verify", "registry", "sha256:" + _hex("l1")[:12], {"ok": True}),
            ("step", "unpack", "graph driver", "sha256:" + _hex("l1")[:12], {"dir": "layers/8c1d/diff"}),
            ("job", "end", "registry", "pull alpine:3.20", {"state": "succeeded"}),
            ("job", "begin", "engine", "create web", {}),
            ("step", "mount", "graph driver", "web", {"lowerdir": "l/AB12:l/CD34", "upperdir": "containers/web/upper"}),
            ("step", "veth", "network driver", "web", {"host": "wh3fa1c2", "addr": "172.17.0.2/16"}),
            ("step", "cgroup", "exec driver", "web", {"path": "/sys/fs/cgroup/wharf/web", "memory.max": "536870912"}),
            ("step", "spawn", "exec driver", "web", {"pid": 4000, "clone": "NEWNS|NEWPID|NEWNET|NEWUTS|NEWIPC"}),
            ("job", "end", "engine", "create web", {"state": "succeeded"}),
        ]
        for seq, (kind, action, component, subject, detail) in enumerate(steps, start=1):
            if seq > since:
                yield {"kind": kind, "action": action, "job_id": f"job-{1 + (seq > 6)}", "component": component,
                       "subject": subject, "detail": detail, "time": BASE_TIME + seq * 0.25, "seq": seq}
        self.client.events_gate.wait(0.3)

    def anatomy(self, container_id: str) -> dict[str, Any]:
        self.client._call("api.anatomy", container_id)
        if not self.client.wharf:
            raise FakeNotFound("page not found")
        c = next(c for c in self.client._containers if c.id == container_id)
        return {
            "host_pid": 4000 + c.index, "container_pid": 1,
            "namespaces": {"pid": 4026532301 + c.index, "mnt": 4026532298 + c.index, "net": 4026532304 + c.index,
                           "uts": 4026532299 + c.index, "ipc": 4026532300 + c.index, "cgroup": 4026532305 + c.index,
                           "user": 4026531837},
            "cgroup": {"path": f"/sys/fs/cgroup/wharf/{c.id[:12]}", "memory.max": 536870912,
                       "memory.current": 44040192, "cpu.max": "max 100000", "pids.max": 512, "pids.current": 3},
            "overlay": {"lowerdir": ["/var/lib/wharf/layers/l/AB12CD", "/var/lib/wharf/layers/l/EF34GH"],
                        "upperdir": f"/var/lib/wharf/containers/{c.id[:12]}/upper",
                        "workdir": f"/var/lib/wharf/containers/{c.id[:12]}/work",
                        "merged": f"/var/lib/wharf/containers/{c.id[:12]}/merged"},
            "network": {"address": f"172.17.0.{c.index + 2}/16", "gateway": "172.17.0.1", "bridge": "wharf0",
                        "veth": f"wh{c.id[:6]}", "mac": f"02:42:ac:11:00:{c.index + 2:02x}"},
        }

    def exec_create(self, container: str, cmd: Any, **kwargs: Any) -> dict[str, str]:
        self.client._call("api.exec_create", container, cmd)
        return {"Id": _hex(f"exec-{container}")}

    def exec_start(self, exec_id: str, **kwargs: Any) -> Any:
        self.client._call("api.exec_start", exec_id)
        raise FakeAPIError("the fake engine has no terminals", 501)

    def exec_resize(self, exec_id: str, height: int | None = None, width: int | None = None) -> None:
        self.client._call("api.exec_resize", exec_id)


class FakeDockerClient:
    """``DockerClient``'s shape with fixed data.

    Args:
        extra_containers: add this many more running containers (for the 200-row test).
        wharf: answer as Wharf (journal, anatomy) or as a real dockerd (404).
        gone: start with the engine unreachable.
    """

    def __init__(self, extra_containers: int = 0, wharf: bool = True, gone: bool = False) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.gone = gone
        self.wharf = wharf
        self.pull_completes = True
        self.push_fails = False
        self.pull_gate = threading.Event()
        self.events_gate = threading.Event()
        self._lock = threading.Lock()
        self._images = [
            FakeImage(self, {"Id": f"sha256:{_hex('image-' + (tags[0] if tags else 'dangling'))}",
                             "RepoTags": tags, "Size": size, "Created": int(BASE_TIME - age),
                             "RootFS": {"Layers": [f"sha256:{_hex(f'{tags}-base')}", f"sha256:{_hex(f'{tags}-apk')}"]}})
            for tags, size, age in IMAGES
        ]
        self._containers: list[FakeContainer] = [FakeContainer(self, i, *spec) for i, spec in enumerate(CONTAINERS)]
        for n in range(extra_containers):
            i = len(self._containers)
            self._containers.append(FakeContainer(self, i, f"svc-{n:03d}", "alpine:3.20", "running", "Up 1 hour", [], 3600))
        self.containers = _Containers(self)
        self.images = _Images(self)
        self.api = _API(self)

    def _image_id(self, reference: str) -> str:
        for image in self._images:
            if reference in image.tags:
                return image.id
        return ""

    def _call(self, *call: Any) -> None:
        if self.gone:
            raise FakeConnectionError("[Errno 111] Connection refused")
        with self._lock:
            self.calls.append(call)

    def called(self, name: str) -> list[tuple[Any, ...]]:
        """Every recorded call named ``name``."""
        with self._lock:
            return [c for c in self.calls if c[0] == name]

    def version(self) -> dict[str, Any]:
        self._call("version")
        if self.wharf:
            return {"Platform": {"Name": "Wharf"}, "Components": [{"Name": "Wharf Engine", "Version": "0.1.0"}],
                    "Version": "0.1.0", "ApiVersion": "1.50", "Os": "linux", "Arch": "amd64"}
        return {"Platform": {"Name": "Docker Engine - Community"}, "Components": [{"Name": "Engine"}],
                "Version": "28.1.1", "ApiVersion": "1.49", "Os": "linux", "Arch": "amd64"}

    def info(self) -> dict[str, Any]:
        self._call("info")
        return {"NCPU": 2, "MemTotal": 8 * 1024**3, "Containers": len(self._containers), "Images": len(self._images)}

    def ping(self) -> bool:
        self._call("ping")
        return True

    def df(self) -> dict[str, Any]:
        self._call("df")
        return {"Images": [{"Size": i.attrs["Size"]} for i in self._images], "Containers": [], "Volumes": []}

    def login(self, username: str, password: str, registry: str | None = None, **kwargs: Any) -> dict[str, str]:
        self._call("login", username, registry)
        return {"Status": "Login Succeeded"}


class FakeRegistryBrowser:
    """A :class:`tui.data.registry.RegistryBrowser` with fixed repositories."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.repositories = sorted(["alpine", "busybox", "nginx", "postgres", "redis", "tools/busybox",
                                    "tools/curl", "team/api", "team/web"] + [f"bulk/r{i:02d}" for i in range(40)])

    def catalog(self, host: str, n: int = 100, last: str | None = None) -> CatalogPage:
        self.calls.append(("catalog", host, n, last))
        if host == "docker.io":
            raise FakeAPIError("Docker Hub does not serve /v2/_catalog", 401)
        names = [r for r in self.repositories if last is None or r > last][:n]
        more = names and names[-1] != self.repositories[-1]
        return CatalogPage(tuple(names), names[-1] if more else None)

    def tags(self, repository: str) -> tuple[str, ...]:
        self.calls.append(("tags", repository))
        return ("1.36", "1.37", "latest") if "busybox" in repository else ("3.19", "3.20", "latest")

    def inspect(self, reference: str) -> ManifestInfo:
        self.calls.append(("inspect", reference))
        return ManifestInfo(
            reference=reference, digest="sha256:" + _hex(reference),
            media_type="application/vnd.oci.image.index.v1+json",
            platforms=(PlatformInfo("linux", "amd64", "", "sha256:" + _hex("amd64")),
                       PlatformInfo("linux", "arm64", "v8", "sha256:" + _hex("arm64"))),
            layers=(LayerInfo("sha256:" + _hex("l1"), 3_400_000, "application/vnd.oci.image.layer.v1.tar+gzip"),
                    LayerInfo("sha256:" + _hex("l2"), 12_800_000, "application/vnd.oci.image.layer.v1.tar+zstd")),
            config=ImageConfigInfo(created="2025-11-20T10:00:00Z", entrypoint=("/docker-entrypoint.sh",),
                                   cmd=("sh",), env=("PATH=/usr/local/sbin:/usr/local/bin:/usr/bin:/bin",),
                                   exposed_ports=("80/tcp",)),
            config_digest="sha256:" + _hex("cfg"),
        )

    def delete_tag(self, reference: str) -> None:
        self.calls.append(("delete_tag", reference))
