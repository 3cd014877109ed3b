"""The images part of the engine facade: the API's image operations over the image graph."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

from engine.model import (
    Cancel,
    HistoryEntry,
    ImageDeleteItem,
    ImageInfo,
    ImportSpec,
    LoginResult,
    Progress,
    PushResult,
    PruneFilter,
    PruneResult,
    RegistryAuth,
)
from engine.containers.manager import ContainerManager
from engine.errors import WharfError
from engine.images import archive
from engine.images.blobio import ChunkReader
from engine.images.commit import commit_image
from engine.images.content import ContentStore
from engine.images.importer import import_tarball
from engine.images.layers import LayerStore
from engine.images.push import Pusher
from engine.images.pull import Puller
from engine.images.store import ImageStore
from engine.jobs import Component, Event, EventBus, Job
from engine.registry.client import RegistryClient
from engine.registry.credentials import Credentials, StaticCredentials
from engine.registry.login import login
from engine.registry.reference import parse_reference

_END = object()


class ImageService:
    """``EngineBackend``'s image operations (mixed into :class:`engine.engine.Engine`)."""

    bus: EventBus
    images: ImageStore
    content: ContentStore
    layers: LayerStore
    registry: RegistryClient
    insecure_registries: list[str]
    puller: Puller
    containers: ContainerManager

    def _users_of(self, image_id: str) -> int:
        return sum(1 for record in self.containers.list() if record.image_id == image_id)

    def list_images(self, all: bool = False) -> list[ImageInfo]:  # noqa: A002 - the API's name
        """Every image, newest first."""
        return self.images.summaries(self._users_of)

    def inspect_image(self, ref: str) -> ImageInfo:
        """One image (``No such image: <ref>`` otherwise)."""
        record = self.images.resolve(ref)
        return self.images.info(record.id, self._users_of(record.id))

    def image_history(self, ref: str) -> list[HistoryEntry]:
        """The image's history, newest first."""
        return self.images.history(ref)

    def tag_image(self, ref: str, repo: str, tag: str) -> None:
        """Give an image another reference."""
        self.images.tag(ref, f"{repo}:{tag or 'latest'}")
        with Job(self.bus, "tag", ref) as job:
            job.emit("tag", self.images.resolve(ref).id, name=f"{repo}:{tag or 'latest'}")

    def remove_image(self, ref: str, force: bool = False, prune: bool = True) -> list[ImageDeleteItem]:
        """``docker rmi``."""
        answer = self.images.remove(ref, force=force, prune=prune,
                                    in_use=lambda image_id: self._users_of(image_id) > 0)
        with Job(self.bus, "delete", ref) as job:
            deleted = [item.deleted for item in answer if item.deleted]
            for item in answer:
                if item.untagged:
                    job.emit("untag", item.untagged, name=item.untagged)
            if deleted:
                job.emit("delete", deleted[0], name=ref)  # the image's ID; its layers follow it
        return answer

    def prune_images(self, filters: PruneFilter) -> PruneResult:
        """Remove dangling (or, with ``dangling=False``, all unused) images."""
        result = self.images.prune(all_images=not filters.dangling,
                                   in_use=lambda image_id: self._users_of(image_id) > 0)
        with Job(self.bus, "prune", "images") as job:
            job.emit("prune", "images", reclaimed=str(result.space_reclaimed))
        return result

    def _stream(self, job: Job, work: Callable[[Job], Any], cancel: Cancel | None) -> Iterator[Event | Any]:
        """Run ``work(job)`` in a thread, yielding the job's progress events as they come,
        then the work's result; an error raises here, in the reader's thread."""
        updates: list[Any] = []
        ready = threading.Condition()
        outcome: dict[str, Any] = {}

        def on_event(event: Event) -> None:
            if event.job_id == job.id and event.kind == "progress":
                with ready:
                    updates.append(event)
                    ready.notify()

        def run() -> None:
            try:
                with job:
                    outcome["result"] = work(job)
            except BaseException as exc:  # noqa: BLE001 - handed to the streaming thread
                outcome["error"] = exc
            with ready:
                updates.append(_END)
                ready.notify()

        remove = self.bus.listen(on_event)
        threading.Thread(target=run, name=f"{job.name} {job.subject}", daemon=True).start()
        try:
            while True:
                with ready:
                    while not updates:
                        ready.wait(0.5)
                        if cancel is not None and cancel.is_set():
                            return
                    batch, updates[:] = list(updates), []
                for item in batch:
                    if item is _END:
                        if "error" in outcome:
                            raise outcome["error"]
                        yield _Result(outcome["result"])
                        return
                    yield item
        finally:
            remove()

    def pull_image(self, ref: str, platform: str = "", auth: RegistryAuth | None = None,
                   cancel: Cancel | None = None) -> Iterator[Progress]:
        """Pull, yielding Docker's progress messages; an error raises mid-stream."""
        reference = parse_reference(ref)
        before = self.images.resolve(str(reference)).id if self.images.exists(str(reference)) else None
        puller = self.puller if auth is None or not auth.username else Puller(
            self._registry_for(auth, reference.domain), self.content, self.layers, self.images)

        def work(job: Job) -> Any:
            result = puller.pull(reference, job, platform=platform or None)
            job.emit("pull", str(reference), name=str(reference))
            return result

        path = reference.familiar_name() if reference.domain == "docker.io" else reference.path
        yield Progress(f"Pulling from {path}", reference.tag or str(reference.digest or ""))
        for item in self._stream(Job(self.bus, "pull", str(reference), Component.REGISTRY), work, cancel):
            if isinstance(item, _Result):
                yield Progress(f"Digest: {item.value.digest}")
                verdict = "Image is up to date" if before == item.value.image_id else "Downloaded newer image"
                yield Progress(f"Status: {verdict} for {reference.familiar()}")
                return
            yield _progress(item)

    def push_image(self, ref: str, auth: RegistryAuth | None = None,
                   cancel: Cancel | None = None) -> Iterator[Progress]:
        """Push, yielding Docker's progress; the last message carries the pushed digest."""
        reference = parse_reference(ref)
        registry = self.registry if auth is None or not auth.username else self._registry_for(auth, reference.domain)
        pusher = Pusher(registry, self.content, self.images)

        def work(job: Job) -> Any:
            result = pusher.push(reference, job)
            job.emit("push", str(reference), name=str(reference))
            return result

        for item in self._stream(Job(self.bus, "push", str(reference), Component.REGISTRY), work, cancel):
            if isinstance(item, _Result):
                result = item.value
                yield Progress(result.status_line, pushed=PushResult(result.tag, result.digest, result.size))
                return
            yield _progress(item)

    def _registry_for(self, auth: RegistryAuth, domain: str) -> RegistryClient:
        """A distribution client using the credentials a request carried (``X-Registry-Auth``)."""
        return RegistryClient(credentials=StaticCredentials({domain: Credentials(auth.username, auth.password)}),
                              insecure_registries=self.insecure_registries)

    def login(self, auth: RegistryAuth) -> LoginResult:
        """``/auth``: check credentials against a registry (the CLI stores them itself)."""
        server = auth.server_address or "docker.io"
        for prefix in ("https://", "http://"):
            server = server.removeprefix(prefix)
        server = server.split("/", 1)[0]
        if server == "index.docker.io":
            server = "docker.io"
        login(server, auth.username, auth.password, save=False, insecure_registries=self.insecure_registries)
        return LoginResult()

    def commit_container(self, ref: str, repo: str = "", tag: str = "", author: str = "", comment: str = "",
                         changes: dict[str, Any] | None = None, pause: bool = True) -> str:
        """``docker commit``: the container's writable layer as a new image (paused while read)."""
        record = self.containers.get(ref)
        paused = False
        if pause and record.status.value == "running":
            self.containers.pause(record.id)
            paused = True
        try:
            upper = self.containers.store.folder(record.id) / "upper"
            reference = f"{repo}:{tag or 'latest'}" if repo else None
            with Job(self.bus, "commit", record.id, Component.GRAPH_DRIVER) as job:
                image_id = commit_image(self.images, self.content, self.layers, record.image_id, upper,
                                        reference=reference, author=author, comment=comment, changes=changes,
                                        created_by=" ".join(record.args), job=job)
                job.emit("commit", record.id, name=record.name, image=image_id)
        finally:
            if paused:
                self.containers.unpause(record.id)
        return image_id

    def save_images(self, names: list[str]) -> Iterator[bytes]:
        """``docker save``: Docker's archive (with an OCI layout inside) of the named images."""
        reader = archive.save(self.images, self.content, self.layers, names)
        return iter(lambda: reader.read(1 << 20), b"")

    def load_images(self, tar: Iterator[bytes]) -> list[str]:
        """``docker load``: the tags (or IDs) of the images loaded."""
        with Job(self.bus, "load", "-", Component.GRAPH_DRIVER) as job:
            loaded = archive.load(self.images, self.content, self.layers, ChunkReader(tar), job=job)
            for name in loaded:
                job.emit("load", name, name=name)
        return loaded

    def export_container(self, ref: str) -> Iterator[bytes]:
        """``docker export``: the container's filesystem as a tar."""
        record = self.containers.get(ref)
        mounted = self._rootfs(record)  # type: ignore[attr-defined]
        rootfs = mounted.__enter__()

        def chunks() -> Iterator[bytes]:
            try:
                reader = archive.export_container(rootfs)
                yield from iter(lambda: reader.read(1 << 20), b"")
            finally:
                mounted.__exit__(None, None, None)

        return chunks()

    def import_image(self, spec: ImportSpec, tar: Iterator[bytes], cancel: Cancel | None = None) -> Iterator[Progress]:
        """``docker import``: the body (a rootfs tarball) as a one-layer image."""
        if spec.source not in ("", "-"):
            raise WharfError("importing from a URL is not supported: pipe the tarball to docker import -")
        reference = None
        if spec.repo:  # the CLI sends "name:tag" in repo and no tag
            reference = f"{spec.repo}:{spec.tag}" if spec.tag else str(parse_reference(spec.repo))
        with Job(self.bus, "import", reference or "-", Component.GRAPH_DRIVER) as job:
            record = import_tarball(self.images, ChunkReader(tar), reference=reference, message=spec.message,
                                    job=job)
            job.emit("import", record.id, name=reference or record.id)
        yield Progress(record.id)


class _Result:
    """The value a streamed job returned."""

    def __init__(self, value: Any) -> None:
        self.value = value


def _progress(event: Event) -> Progress:
    """Docker's progress message for one of a job's progress events."""
    moving = event.action in ("Downloading", "Extracting", "Pushing")
    return Progress(event.action, event.subject, event.detail.get("current") if moving else None,
                    event.detail.get("total", 0))
