"""Docker's ``POST /containers/create`` body → :class:`ContainerCreateSpec` (and update bodies)."""

from __future__ import annotations

from typing import Any

from engine.model import (
    ContainerCreateSpec,
    DeviceMapping,
    EndpointSpec,
    HealthcheckSpec,
    MountSpec,
    PortBinding,
    Resources,
    RestartPolicy,
    Ulimit,
    UpdateSpec,
)
from engine.errors import InvalidSpec

_PROPAGATIONS = {"private", "rprivate", "shared", "rshared", "slave", "rslave"}


def _strings(value: Any, field: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise InvalidSpec(f"invalid {field}: expected a list of strings")


def _command(value: Any, field: str) -> list[str] | None:
    if value is None:
        return None
    return _strings(value, field)


def parse_port(key: str) -> tuple[int, str]:
    """``"80/tcp"`` → ``(80, "tcp")``; protocol defaults to tcp.

    Raises:
        InvalidSpec: not a port.
    """
    port, _, proto = key.partition("/")
    try:
        number = int(port)
    except ValueError:
        raise InvalidSpec(f"invalid port {key!r}") from None
    if not 0 < number < 65536:
        raise InvalidSpec(f"invalid port {key!r}: out of range")
    return number, (proto or "tcp").lower()


def parse_bind(text: str) -> MountSpec:
    """A ``-v`` bind string ``src:dst[:opts]``; a src without ``/`` names a volume.

    Raises:
        InvalidSpec: malformed.
    """
    parts = text.split(":")
    if len(parts) == 1:
        return MountSpec("volume", parts[0])
    if len(parts) > 3:
        raise InvalidSpec(f"invalid volume specification: {text!r}")
    source, target = parts[0], parts[1]
    options = parts[2].split(",") if len(parts) == 3 and parts[2] else []
    if not target.startswith("/"):
        raise InvalidSpec(f"invalid volume specification: {text!r}: the target must be absolute")
    kind = "bind" if source.startswith("/") or source.startswith(".") else "volume"
    read_only = "ro" in options
    propagation = next((o for o in options if o in _PROPAGATIONS), "")
    rest = [o for o in options if o not in ("ro", "rw") and o not in _PROPAGATIONS]
    return MountSpec(kind, target, source, read_only, rest, propagation)


def parse_mount(item: dict[str, Any]) -> MountSpec:
    """One ``HostConfig.Mounts`` entry.

    Raises:
        InvalidSpec: unknown type or missing target.
    """
    kind = str(item.get("Type") or "volume")
    if kind not in ("bind", "volume", "tmpfs"):
        raise InvalidSpec(f"mount type {kind!r} is not supported")
    target = str(item.get("Target") or item.get("Destination") or "")
    if not target.startswith("/"):
        raise InvalidSpec("invalid mount: Target must be an absolute path")
    options: list[str] = []
    propagation = ""
    if kind == "bind":
        propagation = str((item.get("BindOptions") or {}).get("Propagation") or "")
    elif kind == "volume" and (item.get("VolumeOptions") or {}).get("NoCopy"):
        options.append("nocopy")
    elif kind == "tmpfs":
        tmpfs = item.get("TmpfsOptions") or {}
        if tmpfs.get("SizeBytes"):
            options.append(f"size={int(tmpfs['SizeBytes'])}")
        if tmpfs.get("Mode"):
            options.append(f"mode={int(tmpfs['Mode']):o}")
    return MountSpec(kind, target, str(item.get("Source") or ""), bool(item.get("ReadOnly")),
                     options, propagation)


def parse_resources(host: dict[str, Any]) -> Resources:
    """The cgroup fields of a HostConfig (or an update body)."""
    def num(key: str) -> int:
        value = host.get(key)
        return int(value) if value not in (None, "") else 0

    pids = host.get("PidsLimit")
    return Resources(
        memory=num("Memory"), memory_swap=num("MemorySwap"),
        memory_reservation=num("MemoryReservation"), nano_cpus=num("NanoCpus"),
        cpu_shares=num("CpuShares"), cpu_period=num("CpuPeriod"), cpu_quota=num("CpuQuota"),
        cpuset_cpus=str(host.get("CpusetCpus") or ""), cpuset_mems=str(host.get("CpusetMems") or ""),
        pids_limit=int(pids) if pids not in (None, "") else None,
        blkio_weight=num("BlkioWeight"), oom_kill_disable=bool(host.get("OomKillDisable")),
        ulimits=[Ulimit(str(u.get("Name")), int(u.get("Soft", 0)), int(u.get("Hard", 0)))
                 for u in host.get("Ulimits") or []],
        devices=[DeviceMapping(str(d.get("PathOnHost")), str(d.get("PathInContainer") or d.get("PathOnHost")),
                               str(d.get("CgroupPermissions") or "rwm"))
                 for d in host.get("Devices") or []],
    )


def parse_restart_policy(value: Any) -> RestartPolicy:
    """``{"Name": "on-failure", "MaximumRetryCount": 3}``.

    Raises:
        InvalidSpec: an unknown policy.
    """
    if not value:
        return RestartPolicy()
    name = str(value.get("Name") or "no")
    if name not in ("no", "always", "unless-stopped", "on-failure"):
        raise InvalidSpec(f"invalid restart policy {name!r}")
    return RestartPolicy(name, int(value.get("MaximumRetryCount") or 0))


def _healthcheck(value: Any) -> HealthcheckSpec | None:
    if not value:
        return None
    return HealthcheckSpec(_strings(value.get("Test"), "Healthcheck.Test"),
                           int(value.get("Interval") or 0), int(value.get("Timeout") or 0),
                           int(value.get("Retries") or 0), int(value.get("StartPeriod") or 0))


def _network_mode(value: Any) -> str:
    mode = str(value or "bridge")
    return "bridge" if mode == "default" else mode


def create_spec(body: dict[str, Any], name: str | None, platform: str = "") -> ContainerCreateSpec:
    """The container create body as a typed spec.

    Raises:
        InvalidSpec: a field with the wrong shape or an impossible value.
    """
    if not isinstance(body, dict):
        raise InvalidSpec("invalid container config: expected a JSON object")
    image = body.get("Image")
    if not image or not isinstance(image, str):
        raise InvalidSpec("config has no image specified")
    host = body.get("HostConfig") or {}
    networking = (body.get("NetworkingConfig") or {}).get("EndpointsConfig") or {}
    try:
        mounts = [parse_bind(b) for b in _strings(host.get("Binds"), "HostConfig.Binds")]
        mounts += [parse_mount(m) for m in host.get("Mounts") or []]
        mounts += [MountSpec("tmpfs", target, "", False, [o for o in (opts or "").split(",") if o])
                   for target, opts in (host.get("Tmpfs") or {}).items()]
        bindings = [PortBinding(*parse_port(key), str(b.get("HostIp") or ""), int(b.get("HostPort") or 0))
                    for key, binds in (host.get("PortBindings") or {}).items() for b in binds or [{}]]
        console = host.get("ConsoleSize")
        spec = ContainerCreateSpec(
            image=image, name=name or None,
            cmd=_command(body.get("Cmd"), "Cmd"), entrypoint=_command(body.get("Entrypoint"), "Entrypoint"),
            env=_strings(body.get("Env"), "Env"), user=str(body.get("User") or ""),
            workdir=str(body.get("WorkingDir") or ""), hostname=str(body.get("Hostname") or ""),
            domainname=str(body.get("Domainname") or ""),
            labels={str(k): str(v) for k, v in (body.get("Labels") or {}).items()},
            tty=bool(body.get("Tty")), open_stdin=bool(body.get("OpenStdin")),
            stdin_once=bool(body.get("StdinOnce")), attach_stdin=bool(body.get("AttachStdin")),
            attach_stdout=bool(body.get("AttachStdout")), attach_stderr=bool(body.get("AttachStderr")),
            console_size=(int(console[0]), int(console[1])) if console and any(console) else None,
            auto_remove=bool(host.get("AutoRemove")),
            stop_signal=body.get("StopSignal") or None,
            stop_timeout=int(body["StopTimeout"]) if body.get("StopTimeout") is not None else None,
            restart_policy=parse_restart_policy(host.get("RestartPolicy")),
            resources=parse_resources(host), mounts=mounts,
            volumes=list((body.get("Volumes") or {}).keys()),
            shm_size=int(host.get("ShmSize") or 0),
            cap_add=_strings(host.get("CapAdd"), "CapAdd"), cap_drop=_strings(host.get("CapDrop"), "CapDrop"),
            privileged=bool(host.get("Privileged")), init=host.get("Init"),
            readonly_rootfs=bool(host.get("ReadonlyRootfs")),
            security_opt=_strings(host.get("SecurityOpt"), "SecurityOpt"),
            sysctls={str(k): str(v) for k, v in (host.get("Sysctls") or {}).items()},
            group_add=_strings(host.get("GroupAdd"), "GroupAdd"),
            oom_score_adj=int(host.get("OomScoreAdj") or 0),
            network_mode=_network_mode(host.get("NetworkMode")),
            networks={str(n): EndpointSpec(
                aliases=_strings(e.get("Aliases"), "Aliases") if e else [],
                ipv4_address=str(((e or {}).get("IPAMConfig") or {}).get("IPv4Address") or ""),
                ipv6_address=str(((e or {}).get("IPAMConfig") or {}).get("IPv6Address") or ""),
                mac_address=str((e or {}).get("MacAddress") or ""))
                for n, e in networking.items()},
            port_bindings=bindings, publish_all_ports=bool(host.get("PublishAllPorts")),
            exposed_ports=[parse_port(k) for k in (body.get("ExposedPorts") or {})],
            dns=_strings(host.get("Dns"), "Dns"), dns_search=_strings(host.get("DnsSearch"), "DnsSearch"),
            dns_options=_strings(host.get("DnsOptions"), "DnsOptions"),
            extra_hosts=_strings(host.get("ExtraHosts"), "ExtraHosts"),
            mac_address=str(body.get("MacAddress") or ""),
            ipc_mode=str(host.get("IpcMode") or ""), pid_mode=str(host.get("PidMode") or ""),
            uts_mode=str(host.get("UTSMode") or ""), userns_mode=str(host.get("UsernsMode") or ""),
            log_driver=str((host.get("LogConfig") or {}).get("Type") or "json-file"),
            log_options={str(k): str(v) for k, v in ((host.get("LogConfig") or {}).get("Config") or {}).items()},
            healthcheck=_healthcheck(body.get("Healthcheck")), platform=platform,
        )
    except (TypeError, ValueError, AttributeError, IndexError) as exc:
        raise InvalidSpec(f"invalid container config: {exc}") from None
    return spec


def update_spec(body: dict[str, Any]) -> UpdateSpec:
    """``POST /containers/{id}/update``."""
    try:
        policy = parse_restart_policy(body["RestartPolicy"]) if body.get("RestartPolicy") else None
        return UpdateSpec(parse_resources(body), policy)
    except (TypeError, ValueError, AttributeError) as exc:
        raise InvalidSpec(f"invalid update: {exc}") from None
