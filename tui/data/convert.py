"""Docker's JSON shapes turned into the console's dataclasses (pure functions)."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from tui.data.models import (
    Anatomy,
    ContainerRow,
    DiskUsage,
    EngineInfo,
    ImageRow,
    JournalEntry,
    LayerLine,
)

_METADATA = ("ENV", "CMD", "LABEL", "EXPOSE", "ENTRYPOINT", "WORKDIR", "USER", "ARG",
             "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL", "VOLUME", "MAINTAINER")


def epoch(value: Any) -> float:
    """Seconds since the epoch from an int or an RFC 3339 string (0 when unset)."""
    if isinstance(value, (int, float)):
        return float(value)
    if not isinstance(value, str) or not value or value.startswith("0001-"):
        return 0.0
    text = value.rstrip("Z")
    if "." in text:
        head, frac = text.split(".", 1)
        text = f"{head}.{''.join(ch for ch in frac if ch.isdigit())[:6]}"
    if "+" in text[10:]:
        text = text[: 10 + text[10:].index("+")]
    try:
        return datetime.datetime.fromisoformat(text).replace(tzinfo=datetime.timezone.utc).timestamp()
    except ValueError:
        return 0.0


def engine_info(version: Mapping[str, Any], info: Mapping[str, Any]) -> EngineInfo:
    """:class:`EngineInfo` from ``GET /version`` and ``GET /info``."""
    platform = str((version.get("Platform") or {}).get("Name") or "")
    names = " ".join(str(c.get("Name", "")) for c in version.get("Components") or ())
    is_wharf = "wharf" in f"{platform} {names}".lower()
    product = "Wharf" if is_wharf else (platform or "Docker Engine")
    return EngineInfo(
        product=product,
        version=str(version.get("Version", "?")),
        api_version=str(version.get("ApiVersion", "?")),
        os_arch=f"{version.get('Os', '')}/{version.get('Arch', '')}".strip("/"),
        ncpu=int(info.get("NCPU") or 1),
        mem_total=int(info.get("MemTotal") or 0),
        containers=int(info.get("Containers") or 0),
        images=int(info.get("Images") or 0),
        is_wharf=is_wharf,
    )


def disk_usage(df: Mapping[str, Any]) -> DiskUsage:
    """:class:`DiskUsage` from ``GET /system/df``."""
    return DiskUsage(
        images=sum(int(i.get("Size") or 0) for i in df.get("Images") or ()),
        containers=sum(int(c.get("SizeRw") or 0) for c in df.get("Containers") or ()),
        volumes=sum(int((v.get("UsageData") or {}).get("Size") or 0) for v in df.get("Volumes") or ()),
        build_cache=sum(int(b.get("Size") or 0) for b in df.get("BuildCache") or ()),
    )


def _ports(attrs: Mapping[str, Any]) -> str:
    listed = attrs.get("Ports")
    parts: list[str] = []
    if isinstance(listed, list):
        for port in listed:
            private = f"{port.get('PrivatePort')}/{port.get('Type', 'tcp')}"
            if port.get("PublicPort"):
                parts.append(f"{port.get('IP') or '0.0.0.0'}:{port['PublicPort']}->{private}")
            else:
                parts.append(private)
    else:
        bound = (attrs.get("NetworkSettings") or {}).get("Ports") or {}
        for private, bindings in bound.items():
            if not bindings:
                parts.append(private)
            for binding in bindings or ():
                parts.append(f"{binding.get('HostIp') or '0.0.0.0'}:{binding.get('HostPort')}->{private}")
    return ", ".join(dict.fromkeys(parts))


def container_row(attrs: Mapping[str, Any]) -> ContainerRow:
    """:class:`ContainerRow` from list JSON (``Names``, ``State`` string) or inspect JSON."""
    state = attrs.get("State")
    started = 0.0
    if isinstance(state, Mapping):
        started = epoch(state.get("StartedAt"))
        status = str(state.get("Status", ""))
        state_name = status
    else:
        state_name = str(state or "")
        status = str(attrs.get("Status", state_name))
    name = attrs.get("Name") or (attrs.get("Names") or [""])[0]
    config = attrs.get("Config") or {}
    image = attrs.get("Image", "") if "Names" in attrs else config.get("Image", attrs.get("Image", ""))
    image_id = attrs.get("ImageID") or (attrs.get("Image") if "Names" not in attrs else "")
    command = attrs.get("Command")
    if command is None:
        command = " ".join([attrs.get("Path", "")] + list(attrs.get("Args") or ())).strip()
    cid = str(attrs.get("Id", ""))
    return ContainerRow(
        id=cid,
        short_id=cid.removeprefix("sha256:")[:12],
        name=str(name).lstrip("/"),
        state=state_name,
        status=status,
        image=str(image),
        image_id=str(image_id or ""),
        ports=_ports(attrs),
        started_at=started,
        command=str(command),
        labels=dict(attrs.get("Labels") or config.get("Labels") or {}),
    )


def image_rows(attrs: Mapping[str, Any], used: Mapping[str, int]) -> list[ImageRow]:
    """One :class:`ImageRow` per tag of an image (one ``<none>:<none>`` row when untagged)."""
    image_id = str(attrs.get("Id", ""))
    tags = tuple(t for t in attrs.get("RepoTags") or () if t != "<none>:<none>")
    common = dict(id=image_id, short_id=image_id.removeprefix("sha256:")[:12], tags=tags,
                  size=int(attrs.get("Size") or 0), created=epoch(attrs.get("Created")),
                  used_by=int(used.get(image_id, 0)))
    return [ImageRow(reference=tag, **common) for tag in tags or ("<none>:<none>",)]


def layer_lines(history: Iterable[Mapping[str, Any]], attrs: Mapping[str, Any]) -> list[LayerLine]:
    """History lines, newest first, with diff IDs matched when the count of layer-making steps fits."""
    entries = list(history)
    diff_ids = list(((attrs.get("RootFS") or {}).get("Layers")) or ())

    def is_empty(entry: Mapping[str, Any]) -> bool:
        if entry.get("Size"):
            return False
        created_by = str(entry.get("CreatedBy", ""))
        words = created_by.replace("/bin/sh -c #(nop)", "").split()
        return bool(words) and words[0].upper() in _METADATA

    empties = [is_empty(e) for e in entries]
    makers = [i for i, empty in enumerate(empties) if not empty]
    matched: dict[int, str] = {}
    if len(makers) == len(diff_ids):
        for index, diff_id in zip(reversed(makers), diff_ids):
            matched[index] = diff_id
    return [
        LayerLine(created_by=str(e.get("CreatedBy", "")), created=epoch(e.get("Created")),
                  size=int(e.get("Size") or 0), diff_id=matched.get(i, ""), empty=empties[i],
                  comment=str(e.get("Comment", "")))
        for i, e in enumerate(entries)
    ]


def lines(chunks: Iterable[bytes | str]) -> Iterator[str]:
    """Whole lines from a byte stream cut anywhere."""
    pending = ""
    for chunk in chunks:
        text = chunk.decode("utf-8", "replace") if isinstance(chunk, bytes) else chunk
        pending += text
        *complete, pending = pending.split("\n")
        yield from (line.rstrip("\r") for line in complete)
    if pending:
        yield pending


def journal_entry(event: Mapping[str, Any]) -> JournalEntry:
    """:class:`JournalEntry` from one object of Wharf's ``api.journal()``."""
    return JournalEntry(
        seq=int(event.get("seq") or 0), time=float(event.get("time") or 0.0),
        kind=str(event.get("kind", "")), action=str(event.get("action", "")),
        component=str(event.get("component", "engine")), job_id=str(event.get("job_id", "")),
        subject=str(event.get("subject", "")), detail=dict(event.get("detail") or {}),
    )


def docker_event(event: Mapping[str, Any]) -> JournalEntry:
    """:class:`JournalEntry` from one of Docker's ``/events`` objects."""
    actor = event.get("Actor") or {}
    attributes = dict(actor.get("Attributes") or {})
    return JournalEntry(
        seq=0, time=float(event.get("time") or 0), kind="object",
        action=str(event.get("Action") or event.get("status") or ""),
        component="daemon", subject=f"{event.get('Type', '')} {str(actor.get('ID', ''))[:12]}".strip(),
        detail=attributes,
    )


def anatomy(container_id: str, answer: Mapping[str, Any]) -> Anatomy:
    """:class:`Anatomy` from Wharf's ``api.anatomy()``."""
    pids = answer.get("pids") or {}
    return Anatomy(
        container_id=container_id,
        host_pid=int(answer.get("host_pid") or pids.get("host") or 0),
        container_pid=int(answer.get("container_pid") or pids.get("container") or 0),
        namespaces=dict(answer.get("namespaces") or {}),
        cgroup=dict(answer.get("cgroup") or answer.get("cgroups") or {}),
        overlay=dict(answer.get("overlay") or answer.get("rootfs") or {}),
        network=dict(answer.get("network") or answer.get("endpoint") or {}),
        raw=dict(answer),
    )
