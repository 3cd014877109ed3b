"""The images part of the engine facade: the API's image operations over the image graph."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from engine.api.model import (
    Cancel,
    HistoryEntry,
    ImageConfig,
    ImageDeleteItem,
    ImageInfo,
    ImportSpec,
    Progress,
    PruneFilter,
    PruneResult,
    RegistryAuth,
)
from engine.containers.manager import ContainerManager
from engine.errors import WharfError
from engine.images.importer import import_tarball
from engine.images.pull import Puller
from engine.images.records import ImageRecord, familiar, parse_created
from engine.images.store import ImageStore
from engine.jobs import Component, Event, EventBus, Job
from engine.registry.reference import parse_reference

_END = object()


def image_info(record: ImageRecord, config: dict[str, Any], containers: int = -1,
               graph: dict[str, str] | None = None) -> ImageInfo:
    """The API's view of one image record and its config blob."""
    settings = config.get("config") or {}
    exposed = []
    for key in settings.get("ExposedPorts") or {}:
        port, _, proto = str(key).partition("/")
        if port.isdigit():
            exposed.append((int(port), proto or "tcp"))
    return ImageInfo(
        id=record.id, repo_tags=[familiar(t) for t in record.tags],
        repo_digests=[familiar(d) for d in record.repo_digests],
        created=float(parse_created(config.get("created"))), size=record.size,
        config=ImageConfig(cmd=settings.get("Cmd"), entrypoint=settings.get("Entrypoint"),
                           env=list(settings.get("Env") or []), workdir=settings.get("WorkingDir") or "",
                           user=settings.get("User") or "", exposed_ports=exposed,
                           volumes=list(settings.get("Volumes") or {}),
                           labels=dict(settings.get("Labels") or {}),
                           stop_signal=settings.get("StopSignal") or "",
                           shell=list(settings.get("Shell") or [])),
        architecture=config.get("architecture", ""), os=config.get("os", ""),
        variant=config.get("variant", ""), author=config.get("author", ""),
        comment=config.get("comment", ""), docker_version=config.get("docker_version", ""),
        diff_ids=list(record.diff_ids), containers=containers, graph_driver="overlay2",
        graph_data=graph or {}, manifest_digest=record.manifest_digest)


class ImageService:
    """``EngineBackend``'s image operations (mixed into :class:`engine.engine.Engine`)."""

    bus: EventBus
    images: ImageStore
    puller: Puller
    containers: ContainerManager

    def _users_of(self, image_id: str) -> int:
        return sum(1 for record in self.containers.list() if record.image_id == image_id)

    def list_images(self, all: bool = False) -> list[ImageInfo]:  # noqa: A002 - the API's name
        """Every image, newest first."""
        return [image_info(record, self.images.config(record.id), self._users_of(record.id))
                for record in self.images.list()]

    def inspect_image(self, ref: str) -> ImageInfo:
        """One image (``No such image: <ref>`` otherwise)."""
        record = self.images.resolve(ref)
        view = self.images.inspect(record.id)
        return image_info(record, self.images.config(record.id), self._users_of(record.id),
                          dict(view.get("GraphDriver", {}).get("Data") or {}))

    def image_history(self, ref: str) -> list[HistoryEntry]:
        """The image's history, newest first."""
        return [HistoryEntry(id=entry["Id"], created=float(entry["Created"]), created_by=entry["CreatedBy"],
                             size=int(entry["Size"]), tags=list(entry.get("Tags") or []),
                             comment=entry.get("Comment", ""), empty_layer=entry["Id"] == "<missing>"
                             and int(entry["Size"]) == 0)
                for entry in self.images.history(ref)]

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
            for item in answer:
                if "Untagged" in item:
                    job.emit("untag", item["Untagged"], name=item["Untagged"])
                elif item["Deleted"].startswith("sha256:") and item is answer[-1]:
                    job.emit("delete", item["Deleted"], name=ref)
        return [ImageDeleteItem(untagged=i.get("Untagged", ""), deleted=i.get("Deleted", "")) for i in answer]

    def prune_images(self, filters: PruneFilter) -> PruneResult:
        """Remove dangling (or, with ``dangling=False``, all unused) images."""
        answer = self.images.prune(all_images=not filters.dangling,
                                   in_use=lambda image_id: self._users_of(image_id) > 0)
        items = answer["ImagesDeleted"] or []
        with Job(self.bus, "prune", "images") as job:
            job.emit("prune", "images", reclaimed=str(answer["SpaceReclaimed"]))
        return PruneResult(deleted=[i["Deleted"] for i in items if "Deleted" in i],
                           untagged=[i["Untagged"] for i in items if "Untagged" in i],
                           space_reclaimed=answer["SpaceReclaimed"])

    def pull_image(self, ref: str, platform: str = "", auth: RegistryAuth | None = None,
                   cancel: Cancel | None = None) -> Iterator[Progress]:
        """Pull, yielding Docker's progress messages; an error raises mid-stream."""
        reference = parse_reference(ref)
        job = Job(self.bus, "pull", str(reference), Component.REGISTRY)
        updates: list[Any] = []
        ready = threading.Condition()
        outcome: dict[str, Any] = {}
        tag_existed = self.images.exists(str(reference))
        before = self.images.resolve(str(reference)).id if tag_existed else None

        def on_event(event: Event) -> None:
            if event.job_id == job.id and event.kind == "progress":
                with ready:
                    updates.append(event)
                    ready.notify()

        def work() -> None:
            try:
                with job:
                    outcome["result"] = self.puller.pull(reference, job, platform=platform or None)
                    job.emit("pull", str(reference), name=str(reference))
            except BaseException as exc:  # noqa: BLE001 - handed to the streaming thread
                outcome["error"] = exc
            with ready:
                updates.append(_END)
                ready.notify()

        remove = self.bus.listen(on_event)
        worker = threading.Thread(target=work, name=f"pull {reference}", daemon=True)
        worker.start()
        path = reference.familiar_name() if reference.domain == "docker.io" else reference.path
        try:
            yield Progress(f"Pulling from {path}", reference.tag or str(reference.digest or ""))
            while True:
                with ready:
                    while not updates:
                        ready.wait(0.5)
                        if cancel is not None and cancel.is_set():
                            return
                    batch, updates[:] = list(updates), []
                for item in batch:
                    if item is _END:
                        raise_from = outcome.get("error")
                        if raise_from is not None:
                            raise raise_from
                        result = outcome["result"]
                        yield Progress(f"Digest: {result.digest}")
                        name = reference.familiar()
                        if before == result.image_id:
                            yield Progress(f"Status: Image is up to date for {name}")
                        else:
                            yield Progress(f"Status: Downloaded newer image for {name}")
                        return
                    detail = item.detail
                    moving = item.action in ("Downloading", "Extracting")
                    yield Progress(item.action, item.subject,
                                   detail.get("current") if moving else None, detail.get("total", 0))
        finally:
            remove()

    def import_image(self, spec: ImportSpec, tar: Iterator[bytes], cancel: Cancel | None = None) -> Iterator[Progress]:
        """``docker import``: the body (a rootfs tarball) as a one-layer image."""
        if spec.source not in ("", "-"):
            raise WharfError("importing from a URL is not supported: pipe the tarball to docker import -")
        reference = f"{spec.repo}:{spec.tag or 'latest'}" if spec.repo else None
        with Job(self.bus, "import", reference or "-", Component.GRAPH_DRIVER) as job:
            record = import_tarball(self.images, _IterReader(tar), reference=reference, message=spec.message,
                                    job=job)
            job.emit("import", record.id, name=reference or record.id)
        yield Progress(record.id)


class _IterReader:
    """A file-like ``read`` over an iterator of byte chunks (a request body)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = iter(chunks)
        self._buffer = b""

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            try:
                self._buffer += next(self._chunks)
            except StopIteration:
                break
        if size < 0:
            out, self._buffer = self._buffer, b""
        else:
            out, self._buffer = self._buffer[:size], self._buffer[size:]
        return out
