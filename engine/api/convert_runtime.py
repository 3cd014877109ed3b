"""Docker JSON of running things: stats samples, exec instances, top, changes, path stats."""

from __future__ import annotations

import base64
import json
from typing import Any

from engine.model import ExecInfo, ExecSpec, FileChange, PathStat, ProcessTable, StatsSample
from engine.api.timefmt import ZERO_TIME, rfc3339_nano
from engine.errors import InvalidSpec


def _cpu(sample: StatsSample | None) -> dict[str, Any]:
    if sample is None:
        return {"cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
                "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}}
    usage: dict[str, Any] = {"total_usage": sample.cpu_total, "usage_in_kernelmode": sample.cpu_kernel,
                             "usage_in_usermode": sample.cpu_user}
    if sample.percpu:
        usage["percpu_usage"] = list(sample.percpu)
    periods, throttled, throttled_time = sample.throttling
    return {"cpu_usage": usage, "system_cpu_usage": sample.system_cpu, "online_cpus": sample.online_cpus,
            "throttling_data": {"periods": periods, "throttled_periods": throttled,
                                "throttled_time": throttled_time}}


def stats_json(sample: StatsSample, previous: StatsSample | None, container_id: str,
               name: str) -> dict[str, Any]:
    """One ``GET /containers/{id}/stats`` object; ``previous`` fills ``precpu_stats``."""
    memory: dict[str, Any] = {"usage": sample.memory_usage, "limit": sample.memory_limit,
                              "stats": dict(sample.memory_stat)}
    if sample.memory_max_usage:
        memory["max_usage"] = sample.memory_max_usage
    return {
        "name": "/" + name.lstrip("/"),
        "id": container_id,
        "read": rfc3339_nano(sample.time),
        "preread": rfc3339_nano(previous.time) if previous else ZERO_TIME,
        "pids_stats": {"current": sample.pids, **({"limit": sample.pids_limit} if sample.pids_limit else {})},
        "blkio_stats": {
            "io_service_bytes_recursive": [{"major": 0, "minor": 0, "op": op, "value": value}
                                           for op, value in sample.blkio],
            "io_serviced_recursive": None, "io_queue_recursive": None,
            "io_service_time_recursive": None, "io_wait_time_recursive": None,
            "io_merged_recursive": None, "io_time_recursive": None, "sectors_recursive": None,
        },
        "num_procs": 0,
        "storage_stats": {},
        "cpu_stats": _cpu(sample),
        "precpu_stats": _cpu(previous),
        "memory_stats": memory,
        "networks": {
            name_: {"rx_bytes": n.rx_bytes, "rx_packets": n.rx_packets, "rx_errors": n.rx_errors,
                    "rx_dropped": n.rx_dropped, "tx_bytes": n.tx_bytes, "tx_packets": n.tx_packets,
                    "tx_errors": n.tx_errors, "tx_dropped": n.tx_dropped}
            for name_, n in sample.networks.items()
        },
    }


def exec_spec(body: dict[str, Any]) -> ExecSpec:
    """``POST /containers/{id}/exec`` body.

    Raises:
        InvalidSpec: no command, or wrong shapes.
    """
    cmd = body.get("Cmd")
    if isinstance(cmd, str):
        cmd = [cmd]
    if not cmd or not isinstance(cmd, list) or not all(isinstance(c, str) for c in cmd):
        raise InvalidSpec("no exec command specified")
    console = body.get("ConsoleSize")
    try:
        return ExecSpec(
            cmd=list(cmd), env=[str(e) for e in body.get("Env") or []], user=str(body.get("User") or ""),
            workdir=str(body.get("WorkingDir") or ""), tty=bool(body.get("Tty")),
            attach_stdin=bool(body.get("AttachStdin")),
            attach_stdout=bool(body.get("AttachStdout", True)),
            attach_stderr=bool(body.get("AttachStderr", True)),
            privileged=bool(body.get("Privileged")), detach_keys=str(body.get("DetachKeys") or ""),
            console_size=(int(console[0]), int(console[1])) if console and any(console) else None,
        )
    except (TypeError, ValueError) as exc:
        raise InvalidSpec(f"invalid exec config: {exc}") from None


def exec_json(info: ExecInfo) -> dict[str, Any]:
    """``GET /exec/{id}/json``."""
    spec = info.spec
    return {
        "ID": info.id,
        "Running": info.running,
        "ExitCode": info.exit_code,
        "ProcessConfig": {"tty": spec.tty, "entrypoint": spec.cmd[0], "arguments": spec.cmd[1:],
                          "privileged": spec.privileged, "user": spec.user},
        "OpenStdin": spec.attach_stdin,
        "OpenStderr": spec.attach_stderr,
        "OpenStdout": spec.attach_stdout,
        "CanRemove": info.can_remove,
        "ContainerID": info.container_id,
        "DetachKeys": spec.detach_keys,
        "Pid": info.pid,
    }


def top_json(table: ProcessTable) -> dict[str, Any]:
    """``GET /containers/{id}/top``."""
    return {"Titles": list(table.titles), "Processes": [list(p) for p in table.processes]}


def changes_json(changes: list[FileChange]) -> list[dict[str, Any]]:
    """``GET /containers/{id}/changes``."""
    return [{"Path": c.path, "Kind": c.kind} for c in changes]


def path_stat_header(stat: PathStat) -> str:
    """The ``X-Docker-Container-Path-Stat`` header: base64 of the stat's JSON."""
    document = {"name": stat.name, "size": stat.size, "mode": stat.mode,
                "mtime": rfc3339_nano(stat.mtime), "linkTarget": stat.link_target}
    return base64.b64encode(json.dumps(document).encode()).decode()
