"""``docker rmi`` and ``docker image prune`` over the image store, with Docker's rules.

Untagging a name that other tags share only untags; deleting by ID an image
in several repositories needs force; an image a container uses is never
deleted: forced, it loses its tags and stays (dangling) for the container.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.errors import InUse, InvalidReference
from engine.images.content import digest_hex
from engine.images.records import ImageRecord, familiar
from engine.registry.reference import parse_reference

if TYPE_CHECKING:
    from engine.images.store import ImageStore, InUsePredicate


def remove_image(store: ImageStore, name: str, *, force: bool, prune: bool,
                 in_use: InUsePredicate) -> list[dict[str, str]]:
    """``docker rmi``: untag, and delete the image when nothing else names it.

    Args:
        store: the image store (its lock is held throughout).
        name: a tag, repo digest or ID.
        force: untag an image that has several repositories or is used by a
            container (such an image stays, dangling, for its containers).
        prune: also delete layers and blobs nothing references any more.
        in_use: whether a container uses an image ID.

    Returns:
        Docker's delete response: ``[{"Untagged": …}, {"Deleted": …}]``.

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
        response: list[dict[str, str]] = []
        if not by_id:
            store.untag(name)
            response.append({"Untagged": familiar(str(parse_reference(name)))})
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
                response.append({"Untagged": familiar(tag)})
            record.tags = []
            if used:
                store._save(record)
                store._save_tags()
                return response
        for digest in record.repo_digests:
            response.append({"Untagged": familiar(digest)})
        store._forget(record)
        response.append({"Deleted": record.id})
        if prune:
            response.extend({"Deleted": cid} for cid in store.collect_garbage()["layers"])
        return response


def _is_reference_to(name: str, record: ImageRecord) -> bool:
    try:
        ref = parse_reference(name)
    except InvalidReference:
        return False
    return f"{ref.name}:{ref.tag}" in record.tags or (
        ref.digest is not None and f"{ref.name}@{ref.digest}" in record.repo_digests)


def prune_images(store: ImageStore, *, all_images: bool,
                 in_use: InUsePredicate) -> dict[str, Any]:
    """Delete dangling images (``all_images``: every unused one).

    Returns:
        Docker's prune body: ``{"ImagesDeleted": [...] or None, "SpaceReclaimed": n}``.
    """
    deleted: list[dict[str, str]] = []
    reclaimed = 0
    with store._lock:
        for record in store.list():
            if in_use(record.id) or (record.tags and not all_images):
                continue
            for tag in record.tags:
                deleted.append({"Untagged": familiar(tag)})
            store._forget(record)
            deleted.append({"Deleted": record.id})
        garbage = store.collect_garbage()
        reclaimed = garbage["bytes"]
        deleted.extend({"Deleted": cid} for cid in garbage["layers"])
    return {"ImagesDeleted": deleted or None, "SpaceReclaimed": reclaimed}
