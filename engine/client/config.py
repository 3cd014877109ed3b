"""Docker JSON bodies from docker-py-style arguments: container config, host config, updates."""

from __future__ import annotations

import shlex
from typing import Any

from engine.client.errors import DockerException

_UNITS = {"b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def parse_bytes(value: int | str | None) -> int | None:
    """``"512m"`` → 536870912; ints pass through."""
    if value is None or isinstance(value, int):
        return value
    text = value.strip().lower()
    unit = text[-1] if text and text[-1] in _UNITS else "b"
    number = text[:-1] if text and text[-1] in _UNITS else text
    if number.endswith("b") and unit != "b":
        number = number[:-1]
    try:
        return int(float(number) * _UNITS[unit])
    except ValueError:
        raise DockerException(f"invalid size {value!r}") from None


def _ports(ports: Any) -> dict[str, dict[str, Any]] | None:
    if not ports:
        return None
    exposed: dict[str, dict[str, Any]] = {}
    for port in ports:
        if isinstance(port, tuple):
            exposed[f"{port[0]}/{port[1]}"] = {}
        else:
            text = str(port)
            exposed[text if "/" in text else f"{text}/tcp"] = {}
    return exposed


def _env(environment: Any) -> list[str] | None:
    if environment is None:
        return None
    if isinstance(environment, dict):
        return [f"{k}={v}" if v is not None else k for k, v in environment.items()]
    return list(environment)


def port_bindings(ports: dict[Any, Any]) -> dict[str, list[dict[str, str]]]:
    """docker-py's ``ports={"80/tcp": 8080, "53/udp": ("127.0.0.1", 5353), "22": None}``."""
    result: dict[str, list[dict[str, str]]] = {}
    for key, value in ports.items():
        name = str(key) if "/" in str(key) else f"{key}/tcp"
        values = value if isinstance(value, list) else [value]
        entries = []
        for v in values:
            if v is None:
                entries.append({"HostIp": "", "HostPort": ""})
            elif isinstance(v, tuple):
                entries.append({"HostIp": str(v[0]), "HostPort": str(v[1]) if len(v) > 1 and v[1] else ""})
            elif isinstance(v, dict):
                entries.append({"HostIp": str(v.get("HostIp", "")), "HostPort": str(v.get("HostPort", ""))})
            else:
                entries.append({"HostIp": "", "HostPort": str(v)})
        result[name] = entries
    return result


def _binds(volumes: Any) -> list[str] | None:
    if volumes is None:
        return None
    if isinstance(volumes, dict):
        binds = []
        for source, spec in volumes.items():
            if isinstance(spec, dict):
                binds.append(f"{source}:{spec['bind']}:{spec.get('mode', 'rw')}")
            else:
                binds.append(f"{source}:{spec}")
        return binds
    return list(volumes)


def host_config(**kwargs: Any) -> dict[str, Any]:
    """docker-py's ``create_host_config`` for the common arguments (unknown ones are refused)."""
    mapping = {
        "auto_remove": "AutoRemove", "privileged": "Privileged", "network_mode": "NetworkMode",
        "cap_add": "CapAdd", "cap_drop": "CapDrop", "dns": "Dns", "dns_search": "DnsSearch",
        "dns_opt": "DnsOptions", "security_opt": "SecurityOpt", "sysctls": "Sysctls",
        "read_only": "ReadonlyRootfs", "publish_all_ports": "PublishAllPorts", "init": "Init",
        "nano_cpus": "NanoCpus", "cpu_shares": "CpuShares", "cpu_period": "CpuPeriod",
        "cpu_quota": "CpuQuota", "cpuset_cpus": "CpusetCpus", "cpuset_mems": "CpusetMems",
        "pids_limit": "PidsLimit", "oom_kill_disable": "OomKillDisable", "group_add": "GroupAdd",
        "ipc_mode": "IpcMode", "pid_mode": "PidMode", "userns_mode": "UsernsMode", "uts_mode": "UTSMode",
        "oom_score_adj": "OomScoreAdj", "blkio_weight": "BlkioWeight", "runtime": "Runtime",
        "mounts": "Mounts", "devices": "Devices", "log_config": "LogConfig", "ulimits": "Ulimits",
    }
    config: dict[str, Any] = {}
    for key, value in kwargs.items():
        if value is None:
            continue
        if key in mapping:
            config[mapping[key]] = value
        elif key in ("mem_limit", "memswap_limit", "mem_reservation", "shm_size"):
            config[{"mem_limit": "Memory", "memswap_limit": "MemorySwap",
                    "mem_reservation": "MemoryReservation", "shm_size": "ShmSize"}[key]] = parse_bytes(value)
        elif key == "binds":
            config["Binds"] = _binds(value)
        elif key == "port_bindings":
            config["PortBindings"] = port_bindings(value)
        elif key == "restart_policy":
            config["RestartPolicy"] = {"Name": value.get("Name", "no"),
                                       "MaximumRetryCount": value.get("MaximumRetryCount", 0)}
        elif key == "tmpfs":
            config["Tmpfs"] = dict(value) if isinstance(value, dict) else {t: "" for t in value}
        elif key == "extra_hosts":
            config["ExtraHosts"] = ([f"{k}:{v}" for k, v in value.items()] if isinstance(value, dict)
                                    else list(value))
        elif key == "devices" and value:
            config["Devices"] = value
        else:
            raise DockerException(f"unsupported host config argument {key!r}")
    return config


def container_config(image: str, command: Any = None, *, hostname: str | None = None,
                     user: str | None = None, detach: bool = False, stdin_open: bool = False,
                     tty: bool = False, ports: Any = None, environment: Any = None,
                     volumes: Any = None, network_disabled: bool = False, entrypoint: Any = None,
                     working_dir: str | None = None, domainname: str | None = None,
                     host_config: dict[str, Any] | None = None, mac_address: str | None = None,
                     labels: Any = None, stop_signal: str | None = None,
                     networking_config: dict[str, Any] | None = None, healthcheck: Any = None,
                     stop_timeout: int | None = None, runtime: str | None = None,
                     use_config_proxy: bool = True) -> dict[str, Any]:
    """The ``POST /containers/create`` body, as docker-py's ``create_container`` builds it."""
    if isinstance(command, str):
        command = shlex.split(command)
    if isinstance(entrypoint, str):
        entrypoint = shlex.split(entrypoint)
    if isinstance(labels, list):
        labels = {label: "" for label in labels}
    anonymous: dict[str, dict[str, Any]] | None = None
    if isinstance(volumes, (list, str)):
        anonymous = {v: {} for v in ([volumes] if isinstance(volumes, str) else volumes)}
    attach = not detach
    config: dict[str, Any] = {
        "Hostname": hostname, "Domainname": domainname, "User": user, "Tty": tty,
        "OpenStdin": stdin_open, "StdinOnce": stdin_open and attach, "AttachStdin": stdin_open and attach,
        "AttachStdout": attach, "AttachStderr": attach, "Env": _env(environment), "Cmd": command,
        "Image": image, "Volumes": anonymous, "NetworkDisabled": network_disabled or None,
        "Entrypoint": entrypoint, "WorkingDir": working_dir, "ExposedPorts": _ports(ports),
        "MacAddress": mac_address, "Labels": labels, "StopSignal": stop_signal,
        "Healthcheck": healthcheck, "StopTimeout": stop_timeout,
        "HostConfig": host_config, "NetworkingConfig": networking_config,
    }
    if runtime:
        config.setdefault("HostConfig", {})
        config["HostConfig"] = {**(host_config or {}), "Runtime": runtime}
    return {k: v for k, v in config.items() if v is not None}


def update_config(**kwargs: Any) -> dict[str, Any]:
    """The ``POST /containers/{id}/update`` body from docker-py's ``update_container`` names."""
    body = host_config(**{k: v for k, v in kwargs.items() if k != "kernel_memory"})
    return body
