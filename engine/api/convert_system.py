"""Docker JSON for the system routes: version, info, events, journal entries, auth."""

from __future__ import annotations

import json
from typing import Any

from engine.model import RegistryAuth, SystemInfo, VersionInfo
from engine.jobs import Component, Event

_TYPE_BY_COMPONENT = {
    Component.REGISTRY: "image",
    Component.GRAPH_DRIVER: "image",
    Component.NETWORK_DRIVER: "network",
    Component.EXEC_DRIVER: "container",
    Component.ENGINE: "container",
    Component.DAEMON: "daemon",
}

EVENT_TYPES = ("container", "image", "network", "volume", "daemon", "plugin", "builder")
"""The ``Type`` values Docker's events use."""


def version_json(info: VersionInfo) -> dict[str, Any]:
    """``GET /version``."""
    details = {"ApiVersion": info.api_version, "MinAPIVersion": info.min_api_version,
               "GitCommit": info.git_commit, "GoVersion": info.runtime_version, "Os": info.os,
               "Arch": info.arch, "KernelVersion": info.kernel_version, "BuildTime": info.build_time,
               "Experimental": str(info.experimental).lower()}
    components = [{"Name": "Engine", "Version": info.version, "Details": details}]
    components += [{"Name": name, "Version": version, "Details": dict(extra)}
                   for name, version, extra in info.components]
    return {
        "Platform": {"Name": "Wharf Engine"},
        "Components": components,
        "Version": info.version,
        "ApiVersion": info.api_version,
        "MinAPIVersion": info.min_api_version,
        "GitCommit": info.git_commit,
        "GoVersion": info.runtime_version,
        "Os": info.os,
        "Arch": info.arch,
        "KernelVersion": info.kernel_version,
        "BuildTime": info.build_time,
        "Experimental": info.experimental,
    }


def info_json(info: SystemInfo) -> dict[str, Any]:
    """``GET /info``."""
    return {
        "ID": info.id,
        "Name": info.name,
        "Containers": info.containers,
        "ContainersRunning": info.containers_running,
        "ContainersPaused": info.containers_paused,
        "ContainersStopped": info.containers_stopped,
        "Images": info.images,
        "Driver": info.driver,
        "DriverStatus": [list(pair) for pair in info.driver_status],
        "Plugins": {"Volume": ["local"], "Network": ["bridge", "host", "null"],
                    "Authorization": None, "Log": ["json-file"]},
        "MemoryLimit": info.memory_limit,
        "SwapLimit": info.swap_limit,
        "CpuCfsPeriod": True,
        "CpuCfsQuota": True,
        "CPUShares": True,
        "CPUSet": True,
        "PidsLimit": info.pids_limit,
        "OomKillDisable": False,
        "IPv4Forwarding": info.ipv4_forwarding,
        "Debug": info.debug,
        "NFd": 0,
        "NGoroutines": 0,
        "SystemTime": _rfc3339(info.system_time),
        "LoggingDriver": info.logging_driver,
        "CgroupDriver": info.cgroup_driver,
        "CgroupVersion": info.cgroup_version,
        "NEventsListener": 0,
        "KernelVersion": info.kernel_version,
        "OperatingSystem": info.operating_system,
        "OSVersion": info.os_version,
        "OSType": "linux",
        "Architecture": info.architecture,
        "IndexServerAddress": info.index_server,
        "RegistryConfig": {"InsecureRegistryCIDRs": ["127.0.0.0/8", "::1/128"],
                           "IndexConfigs": {}, "Mirrors": [],
                           "AllowNondistributableArtifactsCIDRs": None},
        "NCPU": info.ncpu,
        "MemTotal": info.mem_total,
        "GenericResources": None,
        "DockerRootDir": info.root_dir,
        "HttpProxy": info.http_proxy,
        "HttpsProxy": info.https_proxy,
        "NoProxy": info.no_proxy,
        "Labels": list(info.labels),
        "ExperimentalBuild": info.experimental,
        "ServerVersion": info.server_version,
        "Runtimes": {name: {"path": name} for name in info.runtimes},
        "DefaultRuntime": info.default_runtime,
        "Swarm": {"NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive",
                  "ControlAvailable": False, "Error": "", "RemoteManagers": None},
        "LiveRestoreEnabled": info.live_restore,
        "Isolation": "",
        "InitBinary": info.init_binary,
        "ContainerdCommit": {"ID": ""},
        "RuncCommit": {"ID": ""},
        "InitCommit": {"ID": ""},
        "SecurityOptions": list(info.security_options),
        "CDISpecDirs": [],
        "Warnings": list(info.warnings) or None,
    }


def _rfc3339(seconds: float) -> str:
    import datetime  # noqa: PLC0415

    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%f000Z")


_IMAGE_ACTIONS = {"pull", "push", "tag", "untag", "delete", "import", "load", "save"}
_NETWORK_ACTIONS = {"connect", "disconnect"}
_NETWORK_DRIVERS = {"bridge", "host", "null", "overlay", "macvlan", "ipvlan"}


def event_type(event: Event) -> str:
    """Docker's ``Type`` of an object event.

    In order: an ``event_type`` detail (``"volume"``, …); a ``type`` detail that
    names a Docker type; the component (registry and graph driver → image,
    network driver → network, daemon → daemon); a network driver's ``type``
    attribute (Docker's network events carry ``type=bridge``); image-only or
    network-only actions; otherwise ``container``.
    """
    for key in ("event_type", "type"):
        declared = event.detail.get(key)
        if declared in EVENT_TYPES:
            return str(declared)
    if event.component in _TYPE_BY_COMPONENT and event.component not in (Component.ENGINE,
                                                                          Component.EXEC_DRIVER):
        return _TYPE_BY_COMPONENT[event.component]
    if event.detail.get("type") in _NETWORK_DRIVERS or event.action in _NETWORK_ACTIONS:
        return "network"
    if event.action in _IMAGE_ACTIONS:
        return "image"
    return "container"


def event_attributes(event: Event) -> dict[str, str]:
    """The event's attributes as Docker's string map (without the keys that chose its type)."""
    hidden = {"event_type"} | ({"type"} if event.detail.get("type") in EVENT_TYPES else set())
    return {str(k): v if isinstance(v, str) else json.dumps(v) if isinstance(v, (dict, list)) else str(v)
            for k, v in event.detail.items() if k not in hidden}


def docker_event_json(event: Event) -> dict[str, Any]:
    """An object event in the shape of ``GET /events``."""
    kind = event_type(event)
    attributes = event_attributes(event)
    nanos = int(event.time * 1_000_000_000)
    shaped: dict[str, Any] = {
        "Type": kind,
        "Action": event.action,
        "Actor": {"ID": event.subject, "Attributes": attributes},
        "scope": "local",
        "time": nanos // 1_000_000_000,
        "timeNano": nanos,
    }
    if kind in ("container", "image"):  # the legacy fields older clients read
        shaped["status"] = event.action
        shaped["id"] = event.subject
        if "image" in attributes:
            shaped["from"] = attributes["image"]
    return shaped


def journal_json(event: Event) -> dict[str, Any]:
    """Any engine event (job, step, progress, object) for ``GET /wharf/journal``."""
    return {
        "seq": event.seq,
        "time": event.time,
        "kind": event.kind,
        "action": event.action,
        "job": event.job_id,
        "component": event.component.value,
        "subject": event.subject,
        "detail": json.loads(json.dumps(dict(event.detail), default=str)),
    }


def auth_from_json(body: dict[str, Any]) -> RegistryAuth:
    """``/auth`` bodies and decoded ``X-Registry-Auth`` headers."""
    return RegistryAuth(
        username=str(body.get("username") or body.get("Username") or ""),
        password=str(body.get("password") or body.get("Password") or ""),
        server_address=str(body.get("serveraddress") or body.get("ServerAddress") or ""),
        identity_token=str(body.get("identitytoken") or body.get("IdentityToken") or ""),
        registry_token=str(body.get("registrytoken") or body.get("RegistryToken") or ""),
    )


def auth_from_header(value: str | None) -> RegistryAuth | None:
    """Decode ``X-Registry-Auth`` (base64url JSON; ``e30=`` is anonymous); ``None`` if absent/empty."""
    import base64  # noqa: PLC0415

    if not value:
        return None
    text = value.strip()
    try:
        padded = text + "=" * (-len(text) % 4)
        decoded = json.loads(base64.urlsafe_b64decode(padded.replace("+", "-").replace("/", "_")))
    except (ValueError, TypeError):
        return None
    if not isinstance(decoded, dict) or not decoded:
        return None
    return auth_from_json(decoded)
