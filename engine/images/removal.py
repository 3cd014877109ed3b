"""``docker rmi`` and ``docker image prune`` over the image store, with Docker's rules.

Untagging a name that other tags share only untags; deleting by ID an image
in several repositories needs force; an image a container uses is never
deleted: forced, it loses its tags and stays (dangling) for the container.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.errors import InUse, InvalidReference
from engine.images.content import digest_hex
from engine.images.records import ImageRecord, familiar
from engine.model import ImageDeleteItem, PruneResult
from engine.registry.reference import parse_reference

if TYPE_CHECKING:
    from engine.images.store import ImageStore, InUsePredicate


def remove_image(store: ImageStore, name: str, *, force: bool, prune: bool,
                 in_use: InUsePredicate) -> list[ImageDeleteItem]:
    """``docker rmi``: untag, and delete the image when nothing else names it.

    Args:
        store: the image store (its lock is held throughout).
        name: a tag, repo digest or ID.
        force: untag an image that has several repositories or is used by a
            container (such an image stays, dangling, for its containers).
        prune: also delete layers and blobs nothing references any more.
        in_use: whether a container uses an image ID.

    Returns:
        What happened, in order: each reference untagged, then the image's ID
        and the chain ID of each layer that went with it (as ``deleted``).

    Raises:
        ImageNotFound: no such image.
        InUse: a container uses it and ``force`` is false, or it is referenced
            in several repositories and was named by ID.
    """
    with store._lock:
        record = store.resolve(name)
        by_id = not _is_reference_to(name, record)
        used = in_use(record.id)
        if used and not force:
            raise InUse(f"conflict: unable to remove repository reference {name!r} "
                        f"(must force) - a container is using its referenced image "
                        f"{digest_hex(record.id)[:12]}")
        response: list[ImageDeleteItem] = []
        if not by_id:
            store.untag(name)
            response.append(ImageDeleteItem(untagged=familiar(str(parse_reference(name)))))
            if record.tags or used:
                return response
        else:
            repos = {t.rsplit(":", 1)[0] for t in record.tags}
            if len(repos) > 1 and not force:
                raise InUse(f"conflict: unable to delete {digest_hex(record.id)[:12]} "
                            "(must be forced) - image is referenced in multiple "
                            "repositories")
            for tag in list(record.tags):
                store._tags.pop(tag, None)
                response.append(ImageDeleteItem(untagged=familiar(tag)))
            record.tags = []
            if used:
                store._save(record)
                store._save_tags()
                return response
        for digest in record.repo_digests:
            response.append(ImageDeleteItem(untagged=familiar(digest)))
        store._forget(record)
        response.append(ImageDeleteItem(deleted=record.id))
        if prune:
            response.extend(ImageDeleteItem(deleted=cid) for cid in store.collect_garbage()["layers"])
        return response


def _is_reference_to(name: str, record: ImageRecord) -> bool:
    try:
        ref = parse_reference(name)
    except InvalidReference:
        return False
    return f"{ref.name}:{ref.tag}" in record.tags or (
        ref.digest is not None and f"{ref.name}@{ref.digest}" in record.repo_digests)


def prune_images(store: ImageStore, *, all_images: bool,
                 in_use: InUsePredicate) -> PruneResult:
    """Delete dangling images (``all_images``: every unused one).

    Returns:
        The tags untagged; the image IDs deleted, then the chain IDs of the
        layers that went with them; and the bytes those layers held.
    """
    result = PruneResult()
    with store._lock:
        for record in store.list():
            if in_use(record.id) or (record.tags and not all_images):
                continue
            result.untagged.extend(familiar(tag) for tag in record.tags)
            store._forget(record)
            result.deleted.append(record.id)
        garbage = store.collect_garbage()
        result.space_reclaimed = garbage["bytes"]
        result.deleted.extend(garbage["layers"])
    return result
