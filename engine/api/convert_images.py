"""Docker JSON of images: summaries, inspect documents, history, delete results, progress."""

from __future__ import annotations

from typing import Any

from engine.model import HistoryEntry, ImageDeleteItem, ImageInfo, Progress
from engine.api.timefmt import rfc3339_nano


def summary_json(image: ImageInfo) -> dict[str, Any]:
    """One entry of ``GET /images/json``."""
    return {
        "Id": image.id,
        "ParentId": image.parent,
        "RepoTags": list(image.repo_tags),
        "RepoDigests": list(image.repo_digests),
        "Created": int(image.created),
        "Size": image.size,
        "SharedSize": image.shared_size,
        "VirtualSize": image.size,
        "Labels": dict(image.config.labels) or None,
        "Containers": image.containers,
    }


def inspect_json(image: ImageInfo) -> dict[str, Any]:
    """``GET /images/{name}/json``."""
    c = image.config
    config: dict[str, Any] = {
        "Hostname": "", "Domainname": "", "User": c.user,
        "AttachStdin": False, "AttachStdout": False, "AttachStderr": False,
        "ExposedPorts": {f"{p}/{proto}": {} for p, proto in c.exposed_ports} or None,
        "Tty": False, "OpenStdin": False, "StdinOnce": False,
        "Env": list(c.env), "Cmd": c.cmd, "Image": "",
        "Volumes": {v: {} for v in c.volumes} or None,
        "WorkingDir": c.workdir, "Entrypoint": c.entrypoint, "OnBuild": None,
        "Labels": dict(c.labels) or None,
    }
    if c.stop_signal:
        config["StopSignal"] = c.stop_signal
    if c.shell:
        config["Shell"] = list(c.shell)
    if c.healthcheck:
        h = c.healthcheck
        config["Healthcheck"] = {"Test": h.test, "Interval": h.interval, "Timeout": h.timeout,
                                 "Retries": h.retries, "StartPeriod": h.start_period}
    document: dict[str, Any] = {
        "Id": image.id,
        "RepoTags": list(image.repo_tags),
        "RepoDigests": list(image.repo_digests),
        "Parent": image.parent,
        "Comment": image.comment,
        "Created": rfc3339_nano(image.created),
        "DockerVersion": image.docker_version,
        "Author": image.author,
        "Config": config,
        "Architecture": image.architecture,
        "Os": image.os,
        "Size": image.size,
        "VirtualSize": image.size,
        "GraphDriver": {"Name": image.graph_driver, "Data": dict(image.graph_data) or None},
        "RootFS": {"Type": "layers", "Layers": list(image.diff_ids)},
        "Metadata": {"LastTagTime": "0001-01-01T00:00:00Z"},
    }
    if image.variant:
        document["Variant"] = image.variant
    if image.manifest_digest:
        document["Descriptor"] = {"mediaType": "application/vnd.oci.image.manifest.v1+json",
                                  "digest": image.manifest_digest}
    return document


def history_json(entries: list[HistoryEntry]) -> list[dict[str, Any]]:
    """``GET /images/{name}/history``."""
    return [{"Id": e.id or "<missing>", "Created": int(e.created), "CreatedBy": e.created_by,
             "Tags": list(e.tags) or None, "Size": e.size, "Comment": e.comment} for e in entries]


def delete_json(items: list[ImageDeleteItem]) -> list[dict[str, str]]:
    """``DELETE /images/{name}``: ``[{"Untagged": …}, {"Deleted": …}]``."""
    return [{"Untagged": i.untagged} if i.untagged else {"Deleted": i.deleted} for i in items]


def _bar(current: int, total: int, width: int = 50) -> str:
    def size(n: float) -> str:
        for unit in ("B", "kB", "MB", "GB", "TB"):
            if n < 1000 or unit == "TB":
                return f"{n:.3g}{unit}" if unit != "B" else f"{int(n)}B"
            n /= 1000
        return f"{n}B"

    if total <= 0:
        return size(current)
    filled = min(width, int(width * current / total))
    arrow = "=" * max(0, filled - 1) + (">" if filled < width else "=") if filled else ">"
    return f"[{arrow:<{width}}] {size(current):>8}/{size(total)}"


def progress_json(message: Progress) -> dict[str, Any]:
    """One line of a pull/push/import stream."""
    line: dict[str, Any] = {"status": message.status}
    if message.id:
        line["id"] = message.id
    if message.current is not None:
        line["progressDetail"] = {"current": message.current, "total": message.total}
        line["progress"] = _bar(message.current, message.total)
    elif message.id:
        line["progressDetail"] = {}
    if message.pushed is not None:
        line = {"progressDetail": {},
                "aux": {"Tag": message.pushed.tag, "Digest": message.pushed.digest,
                        "Size": message.pushed.size}}
    return line
