"""Docker JSON of containers: list summaries and inspect documents from :class:`ContainerInfo`."""

from __future__ import annotations

import time
from typing import Any

from engine.model import ContainerInfo, MountSpec, PortBinding
from engine.api.timefmt import human_duration, rfc3339_nano


def _command_line(info: ContainerInfo) -> str:
    return " ".join([info.path, *info.args]).strip()


def status_text(info: ContainerInfo, now: float | None = None) -> str:
    """Docker's human ``Status``: ``Up 5 minutes``, ``Exited (0) 2 seconds ago``, ``Created``."""
    now = time.time() if now is None else now
    state = info.state
    if state.status in ("running", "paused", "restarting") and state.started_at:
        if state.status == "restarting":
            return f"Restarting ({state.exit_code}) {human_duration(now - (state.finished_at or now))} ago"
        text = f"Up {human_duration(now - state.started_at)}"
        if state.health:
            text += f" ({'health: starting' if state.health == 'starting' else state.health})"
        return text + (" (Paused)" if state.status == "paused" else "")
    if state.status == "exited" or (state.status == "dead" and state.finished_at):
        if not state.finished_at:
            return "Exited"
        return f"Exited ({state.exit_code}) {human_duration(now - state.finished_at)} ago"
    if state.status == "removing":
        return "Removal In Progress"
    if state.status == "dead":
        return "Dead"
    return "Created"


def _exposed_now(info: ContainerInfo) -> list[tuple[int, str]]:
    """The exposed ports dockerd shows: only while the container runs on a network with endpoints.

    A stopped container has no sandbox, and ``none``, ``host`` and
    ``container:`` modes have no port mapping, so dockerd lists none there.
    """
    if info.state.status not in ("running", "paused", "restarting"):
        return []
    mode = info.spec.network_mode or "bridge"
    if mode in ("none", "host") or mode.startswith("container:"):
        return []
    return list(info.exposed_ports)


def _ports_list(info: ContainerInfo) -> list[dict[str, Any]]:
    ports: list[dict[str, Any]] = []
    bound = {(b.container_port, b.protocol) for b in info.ports}
    for binding in info.ports:
        ip = binding.host_ip or "0.0.0.0"
        ports.append({"IP": ip, "PrivatePort": binding.container_port,
                      "PublicPort": binding.host_port, "Type": binding.protocol})
    for port, proto in _exposed_now(info):
        if (port, proto) not in bound:
            ports.append({"PrivatePort": port, "Type": proto})
    return ports


def _ports_map(bindings: list[PortBinding], exposed: list[tuple[int, str]]) -> dict[str, Any]:
    ports: dict[str, Any] = {f"{p}/{proto}": None for p, proto in exposed}
    for binding in bindings:
        key = f"{binding.container_port}/{binding.protocol}"
        entries = ports.get(key) or []
        entries.append({"HostIp": binding.host_ip or "0.0.0.0",
                        "HostPort": str(binding.host_port) if binding.host_port else ""})
        ports[key] = entries
    return ports


def _mounts(info: ContainerInfo) -> list[dict[str, Any]]:
    mounts = []
    for m in info.mounts:
        entry: dict[str, Any] = {"Type": m.type, "Source": m.source, "Destination": m.destination,
                                 "Mode": m.mode, "RW": not m.read_only, "Propagation": m.propagation}
        if m.type == "volume":
            entry["Name"] = m.name
            entry["Driver"] = m.driver or "local"
        mounts.append(entry)
    return mounts


def _networks(info: ContainerInfo) -> dict[str, Any]:
    return {
        n.network: {
            "IPAMConfig": None, "Links": None, "Aliases": n.aliases or None,
            "MacAddress": n.mac_address, "DriverOpts": None, "NetworkID": n.network_id,
            "EndpointID": n.endpoint_id, "Gateway": n.gateway, "IPAddress": n.ip_address,
            "IPPrefixLen": n.ip_prefix_len, "IPv6Gateway": "", "GlobalIPv6Address": n.ipv6_address,
            "GlobalIPv6PrefixLen": 0, "DNSNames": [info.name.lstrip("/"), info.id[:12], *n.aliases],
        }
        for n in info.networks
    }


def summary_json(info: ContainerInfo) -> dict[str, Any]:
    """One entry of ``GET /containers/json``."""
    summary: dict[str, Any] = {
        "Id": info.id,
        "Names": ["/" + info.name.lstrip("/")],
        "Image": info.image,
        "ImageID": info.image_id,
        "Command": _command_line(info),
        "Created": int(info.created),
        "Ports": _ports_list(info),
        "Labels": dict(info.spec.labels),
        "State": info.state.status,
        "Status": status_text(info),
        "HostConfig": {"NetworkMode": info.spec.network_mode},
        "NetworkSettings": {"Networks": _networks(info)},
        "Mounts": _mounts(info),
    }
    if info.size_rw is not None:
        summary["SizeRw"] = info.size_rw
    if info.size_root_fs is not None:
        summary["SizeRootFs"] = info.size_root_fs
    return summary


def _mount_spec_json(m: MountSpec) -> dict[str, Any]:
    entry: dict[str, Any] = {"Type": m.type, "Source": m.source, "Target": m.target}
    if m.read_only:
        entry["ReadOnly"] = True
    if m.propagation:
        entry["BindOptions"] = {"Propagation": m.propagation}
    return entry


def host_config_json(info: ContainerInfo) -> dict[str, Any]:
    """``HostConfig`` of an inspect document (with ``LogConfig.Type``, which docker-py reads)."""
    spec = info.spec
    r = spec.resources
    binds = [f"{m.source}:{m.target}{':ro' if m.read_only else ''}" for m in spec.mounts
             if m.type in ("bind", "volume") and m.source and not m.options and not m.propagation]
    return {
        "Binds": binds or None,
        "ContainerIDFile": "",
        "LogConfig": {"Type": spec.log_driver, "Config": dict(spec.log_options)},
        "NetworkMode": spec.network_mode,
        "PortBindings": {k: v for k, v in _ports_map(spec.port_bindings, []).items() if v} or {},
        "RestartPolicy": {"Name": spec.restart_policy.name,
                          "MaximumRetryCount": spec.restart_policy.maximum_retry_count},
        "AutoRemove": spec.auto_remove,
        "VolumeDriver": "",
        "VolumesFrom": None,
        "ConsoleSize": list(spec.console_size or (0, 0)),
        "CapAdd": spec.cap_add or None,
        "CapDrop": spec.cap_drop or None,
        "CgroupnsMode": "private",
        "Dns": spec.dns,
        "DnsOptions": spec.dns_options,
        "DnsSearch": spec.dns_search,
        "ExtraHosts": spec.extra_hosts or None,
        "GroupAdd": spec.group_add or None,
        "IpcMode": spec.ipc_mode or "private",
        "Cgroup": "",
        "Links": None,
        "OomScoreAdj": spec.oom_score_adj,
        "PidMode": spec.pid_mode,
        "Privileged": spec.privileged,
        "PublishAllPorts": spec.publish_all_ports,
        "ReadonlyRootfs": spec.readonly_rootfs,
        "SecurityOpt": spec.security_opt or None,
        "UTSMode": spec.uts_mode,
        "UsernsMode": spec.userns_mode,
        "ShmSize": spec.shm_size or 67108864,
        "Runtime": "wharf",
        "Isolation": "",
        "CpuShares": r.cpu_shares,
        "Memory": r.memory,
        "NanoCpus": r.nano_cpus,
        "CgroupParent": "wharf",
        "BlkioWeight": r.blkio_weight,
        "CpuPeriod": r.cpu_period,
        "CpuQuota": r.cpu_quota,
        "CpusetCpus": r.cpuset_cpus,
        "CpusetMems": r.cpuset_mems,
        "Devices": [{"PathOnHost": d.host_path, "PathInContainer": d.container_path,
                     "CgroupPermissions": d.permissions} for d in r.devices],
        "MemoryReservation": r.memory_reservation,
        "MemorySwap": r.memory_swap,
        "OomKillDisable": r.oom_kill_disable,
        "PidsLimit": r.pids_limit,
        "Ulimits": [{"Name": u.name, "Soft": u.soft, "Hard": u.hard} for u in r.ulimits],
        "Mounts": [_mount_spec_json(m) for m in spec.mounts if m.type != "tmpfs" and not (
            m.source and not m.options and not m.propagation)] or None,
        "Tmpfs": {m.target: ",".join(m.options) for m in spec.mounts if m.type == "tmpfs"} or None,
        "Init": spec.init,
        "Sysctls": spec.sysctls or None,
    }


def inspect_json(info: ContainerInfo) -> dict[str, Any]:
    """``GET /containers/{id}/json``."""
    spec = info.spec
    state = info.state
    health = None
    if state.health:
        health = {"Status": state.health, "FailingStreak": 0, "Log": []}
    config: dict[str, Any] = {
        "Hostname": spec.hostname or info.id[:12],
        "Domainname": spec.domainname,
        "User": spec.user,
        "AttachStdin": spec.attach_stdin,
        "AttachStdout": spec.attach_stdout,
        "AttachStderr": spec.attach_stderr,
        "ExposedPorts": {f"{p}/{proto}": {} for p, proto in info.exposed_ports} or None,
        "Tty": spec.tty,
        "OpenStdin": spec.open_stdin,
        "StdinOnce": spec.stdin_once,
        "Env": list(info.env or spec.env),
        "Cmd": spec.cmd,
        "Image": info.image,
        "Volumes": {v: {} for v in spec.volumes} or None,
        "WorkingDir": spec.workdir,
        "Entrypoint": spec.entrypoint,
        "OnBuild": None,
        "Labels": dict(spec.labels),
    }
    if spec.stop_signal:
        config["StopSignal"] = spec.stop_signal
    if spec.stop_timeout is not None:
        config["StopTimeout"] = spec.stop_timeout
    if spec.healthcheck:
        h = spec.healthcheck
        config["Healthcheck"] = {"Test": h.test, "Interval": h.interval, "Timeout": h.timeout,
                                 "Retries": h.retries, "StartPeriod": h.start_period}
    document: dict[str, Any] = {
        "Id": info.id,
        "Created": rfc3339_nano(info.created),
        "Path": info.path,
        "Args": list(info.args),
        "State": {
            "Status": state.status,
            "Running": state.status in ("running", "paused", "restarting"),
            "Paused": state.status == "paused",
            "Restarting": state.status == "restarting",
            "OOMKilled": state.oom_killed,
            "Dead": state.status == "dead",
            "Pid": state.pid,
            "ExitCode": state.exit_code,
            "Error": state.error,
            "StartedAt": rfc3339_nano(state.started_at),
            "FinishedAt": rfc3339_nano(state.finished_at),
            **({"Health": health} if health else {}),
        },
        "Image": info.image_id,
        "ResolvConfPath": info.resolv_conf_path,
        "HostnamePath": info.hostname_path,
        "HostsPath": info.hosts_path,
        "LogPath": info.log_path,
        "Name": "/" + info.name.lstrip("/"),
        "RestartCount": info.restart_count,
        "Driver": info.driver,
        "Platform": "linux",
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "ExecIDs": list(info.exec_ids) or None,
        "HostConfig": host_config_json(info),
        "GraphDriver": {"Name": info.driver, "Data": {
            "LowerDir": info.graph_lower_dir, "UpperDir": info.graph_upper_dir,
            "MergedDir": info.graph_merged_dir, "WorkDir": info.graph_work_dir}},
        "Mounts": _mounts(info),
        "Config": config,
        "NetworkSettings": {
            "Bridge": "", "SandboxID": "", "SandboxKey": "", "HairpinMode": False,
            "LinkLocalIPv6Address": "", "LinkLocalIPv6PrefixLen": 0,
            "Ports": _ports_map(info.ports, _exposed_now(info)),
            "SecondaryIPAddresses": None, "SecondaryIPv6Addresses": None,
            "EndpointID": info.networks[0].endpoint_id if info.networks else "",
            "Gateway": info.networks[0].gateway if info.networks else "",
            "IPAddress": info.networks[0].ip_address if info.networks else "",
            "IPPrefixLen": info.networks[0].ip_prefix_len if info.networks else 0,
            "MacAddress": info.networks[0].mac_address if info.networks else "",
            "Networks": _networks(info),
        },
    }
    if info.size_rw is not None:
        document["SizeRw"] = info.size_rw
    if info.size_root_fs is not None:
        document["SizeRootFs"] = info.size_root_fs
    return document
