"""List filters applied in the API layer over the engine's records (``ps --filter`` …)."""

from __future__ import annotations

import re
from collections.abc import Callable

from engine.model import ContainerInfo, ImageInfo, NetworkInfo, PruneFilter, VolumeInfo
from engine.api.query import Filters, filter_bool, labels_match, timestamp
from engine.errors import InvalidArgument

CONTAINER_FILTERS = {"id", "name", "label", "status", "exited", "ancestor", "before", "since",
                     "network", "health", "volume", "is-task", "publish", "expose"}
IMAGE_FILTERS = {"reference", "dangling", "label", "before", "since", "until"}
NETWORK_FILTERS = {"id", "name", "label", "driver", "type", "scope", "dangling"}
VOLUME_FILTERS = {"name", "label", "driver", "dangling"}
_STATUSES = {"created", "restarting", "running", "removing", "paused", "exited", "dead"}


def _reference_matches(pattern: str, tags: list[str]) -> bool:
    """Docker's ``reference`` filter: a glob over ``repo[:tag]`` (the tag part optional)."""
    regex = re.compile("^" + re.escape(pattern).replace(r"\*", "[^/]*") + "$")
    for tag in tags:
        repo = tag.rsplit(":", 1)[0] if ":" in tag.rsplit("/", 1)[-1] else tag
        if regex.match(tag) or regex.match(repo):
            return True
    return False


def containers(records: list[ContainerInfo], wanted: Filters) -> list[ContainerInfo]:
    """The containers matching every filter in ``wanted``.

    Raises:
        InvalidArgument: an unknown status value.
    """
    for status in wanted.get("status", []):
        if status not in _STATUSES:
            raise InvalidArgument(f"invalid filter 'status={status}'")

    def created_of(ref: str) -> float:
        for r in records:
            if r.id.startswith(ref) or r.name.lstrip("/") == ref.lstrip("/"):
                return r.created
        raise InvalidArgument(f"no such container: {ref}")

    before = min((created_of(r) for r in wanted.get("before", [])), default=None)
    since = max((created_of(r) for r in wanted.get("since", [])), default=None)

    def ok(r: ContainerInfo) -> bool:
        name = r.name.lstrip("/")
        if wanted.get("id") and not any(r.id.startswith(v) for v in wanted["id"]):
            return False
        if wanted.get("name") and not any(re.search(v.lstrip("/"), name) for v in wanted["name"]):
            return False
        if wanted.get("label") and not labels_match(r.spec.labels, wanted["label"]):
            return False
        if wanted.get("status") and r.state.status not in wanted["status"]:
            return False
        if wanted.get("exited") and not (r.state.status == "exited"
                                         and str(r.state.exit_code) in wanted["exited"]):
            return False
        if wanted.get("ancestor") and not any(
                a in (r.image, r.image_id) or r.image_id.removeprefix("sha256:").startswith(a)
                or _reference_matches(a, [r.image]) for a in wanted["ancestor"]):
            return False
        if wanted.get("network") and not {n.network for n in r.networks} & set(wanted["network"]):
            return False
        if wanted.get("health") and (r.state.health or "none") not in wanted["health"]:
            return False
        if wanted.get("volume") and not any(m.name in wanted["volume"] or m.destination in wanted["volume"]
                                            for m in r.mounts):
            return False
        if before is not None and r.created >= before:
            return False
        if since is not None and r.created <= since:
            return False
        return True

    return [r for r in records if ok(r)]


def images(records: list[ImageInfo], wanted: Filters) -> list[ImageInfo]:
    """The images matching every filter in ``wanted``."""
    dangling = filter_bool(wanted.get("dangling"), "dangling")

    def created_of(ref: str) -> float:
        for r in records:
            if r.id.removeprefix("sha256:").startswith(ref.removeprefix("sha256:")) or ref in r.repo_tags:
                return r.created
        raise InvalidArgument(f"No such image: {ref}")

    before = min((created_of(r) for r in wanted.get("before", [])), default=None)
    since = max((created_of(r) for r in wanted.get("since", [])), default=None)
    until = min((timestamp(v, "until") or 0 for v in wanted.get("until", [])), default=None)

    def ok(r: ImageInfo) -> bool:
        if wanted.get("reference") and not any(_reference_matches(p, r.repo_tags) for p in wanted["reference"]):
            return False
        if dangling is not None and dangling != (not r.repo_tags):
            return False
        if wanted.get("label") and not labels_match(r.config.labels, wanted["label"]):
            return False
        if before is not None and r.created >= before:
            return False
        if since is not None and r.created <= since:
            return False
        return not (until is not None and r.created >= until)

    return [r for r in records if ok(r)]


def networks(records: list[NetworkInfo], wanted: Filters) -> list[NetworkInfo]:
    """The networks matching every filter in ``wanted``."""
    builtin = {"bridge", "host", "none"}
    dangling = filter_bool(wanted.get("dangling"), "dangling")
    checks: list[Callable[[NetworkInfo], bool]] = [
        lambda n: not wanted.get("id") or any(n.id.startswith(v) for v in wanted["id"]),
        lambda n: not wanted.get("name") or any(v in n.name for v in wanted["name"]),
        lambda n: not wanted.get("label") or labels_match(n.labels, wanted["label"]),
        lambda n: not wanted.get("driver") or n.driver in wanted["driver"],
        lambda n: not wanted.get("scope") or n.scope in wanted["scope"],
        lambda n: not wanted.get("type") or ("builtin" if n.name in builtin else "custom") in wanted["type"],
        lambda n: dangling is None or dangling == (not n.endpoints),
    ]
    return [n for n in records if all(check(n) for check in checks)]


def volumes(records: list[VolumeInfo], wanted: Filters) -> list[VolumeInfo]:
    """The volumes matching every filter in ``wanted``."""
    dangling = filter_bool(wanted.get("dangling"), "dangling")
    return [v for v in records
            if (not wanted.get("name") or any(x in v.name for x in wanted["name"]))
            and (not wanted.get("label") or labels_match(v.labels, wanted["label"]))
            and (not wanted.get("driver") or v.driver in wanted["driver"])
            and (dangling is None or dangling == (v.ref_count == 0))]


def prune_filter(wanted: Filters) -> PruneFilter:
    """``until``, ``label``, ``label!``, ``dangling`` and ``all`` of a prune request.

    Raises:
        InvalidArgument: any other key.
    """
    for key in wanted:
        if key not in ("until", "label", "label!", "dangling", "all"):
            raise InvalidArgument(f"invalid filter '{key}'")
    untils = [timestamp(v, "until") for v in wanted.get("until", [])]
    dangling = filter_bool(wanted.get("dangling"), "dangling")
    return PruneFilter(until=min((u for u in untils if u is not None), default=None),
                       labels=list(wanted.get("label", [])), labels_absent=list(wanted.get("label!", [])),
                       dangling=True if dangling is None else dangling,
                       all=bool(filter_bool(wanted.get("all"), "all")))
