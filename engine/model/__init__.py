"""The engine's typed specs and records, which the API layer converts Docker's JSON to and from.

These dataclasses are the engine's own vocabulary: no Docker JSON field
names. ``engine.api.convert_*`` translates Docker's JSON to these and back;
:class:`engine.api.backend.EngineBackend` speaks only in them. Times are
seconds since the epoch (``float``); durations are nanoseconds where Docker
uses nanoseconds (health checks) and seconds elsewhere.

Modules: ``common`` (Cancel, stream numbers), ``specs`` (ContainerCreateSpec
and its parts), ``containers`` (ContainerInfo, logs, stats, …), ``execs``,
``images``, ``networks`` (and volumes), ``system``.
"""

from engine.model.common import (
    Cancel,
    STDERR,
    STDIN,
    STDOUT,
    SYSTEMERR,
)
from engine.model.specs import (
    ContainerCreateSpec,
    DeviceMapping,
    EndpointSpec,
    HealthcheckSpec,
    MountSpec,
    PortBinding,
    Resources,
    RestartPolicy,
    Ulimit,
)
from engine.model.containers import (
    AttachOptions,
    ContainerInfo,
    ContainerState,
    FileChange,
    LogOptions,
    LogRecord,
    MountPoint,
    NetStats,
    NetworkAttachment,
    PathStat,
    ProcessTable,
    PruneFilter,
    PruneResult,
    StatsSample,
    UpdateSpec,
    WaitResult,
)
from engine.model.execs import (
    ExecInfo,
    ExecSpec,
)
from engine.model.images import (
    HistoryEntry,
    ImageConfig,
    ImageDeleteItem,
    ImageInfo,
    ImportSpec,
    Progress,
    PushResult,
    RegistryAuth,
)
from engine.model.networks import (
    IPAMPool,
    NetworkCreateSpec,
    NetworkEndpoint,
    NetworkInfo,
    VolumeCreateSpec,
    VolumeInfo,
)
from engine.model.system import (
    Anatomy,
    DiskUsage,
    LoginResult,
    SystemInfo,
    VersionInfo,
)

__all__ = [
    "Anatomy",
    "AttachOptions",
    "Cancel",
    "ContainerCreateSpec",
    "ContainerInfo",
    "ContainerState",
    "DeviceMapping",
    "DiskUsage",
    "EndpointSpec",
    "ExecInfo",
    "ExecSpec",
    "FileChange",
    "HealthcheckSpec",
    "HistoryEntry",
    "IPAMPool",
    "ImageConfig",
    "ImageDeleteItem",
    "ImageInfo",
    "ImportSpec",
    "LogOptions",
    "LogRecord",
    "LoginResult",
    "MountPoint",
    "MountSpec",
    "NetStats",
    "NetworkAttachment",
    "NetworkCreateSpec",
    "NetworkEndpoint",
    "NetworkInfo",
    "PathStat",
    "PortBinding",
    "ProcessTable",
    "Progress",
    "PruneFilter",
    "PruneResult",
    "PushResult",
    "RegistryAuth",
    "Resources",
    "RestartPolicy",
    "STDERR",
    "STDIN",
    "STDOUT",
    "SYSTEMERR",
    "StatsSample",
    "SystemInfo",
    "Ulimit",
    "UpdateSpec",
    "VersionInfo",
    "VolumeCreateSpec",
    "VolumeInfo",
    "WaitResult",
]
