"""The console's data layer: stats arithmetic, pull progress, run specs, conversions, errors."""

from __future__ import annotations

import httpx
import pytest

from tui.data import convert
from tui.data.errors import EngineGone, EngineRefused, InvalidInput, Missing, translate
from tui.data.pull import PullState
from tui.data.registry import default_registries, pull_reference, repository_name
from tui.data.runspec import build_spec, parse_size
from tui.data.stats import StatsHistory, block_io, cpu_percent, memory_usage, rate


def _stats(total: int, system: int, online: int = 4, pre: tuple[int, int] | None = None) -> dict:
    stats = {"cpu_stats": {"cpu_usage": {"total_usage": total}, "system_cpu_usage": system, "online_cpus": online}}
    if pre:
        stats["precpu_stats"] = {"cpu_usage": {"total_usage": pre[0]}, "system_cpu_usage": pre[1]}
    return stats


class TestCpu:
    def test_docker_convention_and_host_share(self):
        """Half of all four cores' time is 200% (docker stats) and 50% of the host."""
        one_core, host, online = cpu_percent(_stats(3_000, 10_000, 4, pre=(1_000, 6_000)), None)
        assert (one_core, host, online) == (200.0, 50.0, 4)

    def test_first_interval_is_unknown_not_zero(self):
        """Without precpu and without a previous sample the figure is None (shown as –)."""
        assert cpu_percent(_stats(3_000, 10_000), None)[:2] == (None, None)

    def test_previous_sample_stands_in_for_precpu(self):
        """one_shot samples carry no precpu: the history's previous sample gives the delta."""
        history = StatsHistory()
        history.ingest("c", _stats(1_000, 6_000, 2))
        sample = history.ingest("c", _stats(2_000, 10_000, 2))
        assert sample.cpu_percent == pytest.approx(50.0)
        assert sample.cpu_host_percent == pytest.approx(25.0)

    def test_counter_reset_gives_unknown(self):
        """A restarted container's counter goes backwards: no negative CPU."""
        assert cpu_percent(_stats(10, 20_000, pre=(5_000, 10_000)), None)[0] is None


def test_memory_subtracts_inactive_file_v2_and_v1():
    """usage − inactive_file (v2) or total_inactive_file (v1), like docker stats."""
    v2 = {"memory_stats": {"usage": 100, "limit": 1000, "stats": {"inactive_file": 30}}}
    v1 = {"memory_stats": {"usage": 100, "limit": 1000, "stats": {"total_inactive_file": 40}}}
    assert memory_usage(v2) == (70, 1000)
    assert memory_usage(v1) == (60, 1000)


def test_block_io_op_names_case_insensitive():
    """cgroup v2 says "read", v1 says "Read": both count."""
    stats = {"blkio_stats": {"io_service_bytes_recursive": [
        {"op": "read", "value": 5}, {"op": "Read", "value": 7}, {"op": "WRITE", "value": 3}, {"op": "Total", "value": 15}]}}
    assert block_io(stats) == (12, 3)


def test_rates_from_timestamped_samples():
    """Per-second rates come from sample times, not from the tick count."""
    history = StatsHistory()
    for second, rx in ((0, 0), (2, 4000), (3, 4000)):
        raw = _stats(0, 0)
        raw["read"] = f"2025-12-01T08:00:0{second}.000000000Z"
        raw["networks"] = {"eth0": {"rx_bytes": rx, "tx_bytes": 0}}
        history.ingest("c", raw)
    assert rate(history.series("c"), "net_rx") == [2000.0, 0.0]


def test_pull_progress_phases_speed_and_eta(monkeypatch):
    """Download, verify, extract per layer; speed from bytes over time; ETA from what is left."""
    from tui import clock
    times = iter([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])
    monkeypatch.setattr(clock, "monotonic", lambda: next(times))
    state = PullState("alpine:3.20")
    state.feed({"status": "Pulling from library/alpine", "id": "3.20"})
    state.feed({"status": "Pulling fs layer", "id": "aaa", "progressDetail": {}})
    state.feed({"status": "Downloading", "id": "aaa", "progressDetail": {"current": 500, "total": 1000}})
    assert state.layers["aaa"].fraction == 0.25
    assert state.speed == pytest.approx(250.0)  # 500 bytes in 2 s
    assert state.eta == pytest.approx(2.0)
    state.feed({"status": "Verifying Checksum", "id": "aaa", "progressDetail": {}})
    state.feed({"status": "Extracting", "id": "aaa", "progressDetail": {"current": 500, "total": 1000}})
    assert state.layers["aaa"].fraction == 0.75
    state.feed({"status": "Pull complete", "id": "aaa", "progressDetail": {}})
    state.finish()
    assert state.fraction == 1.0 and state.messages == ["3.20: Pulling from library/alpine"]


def test_pull_error_is_kept():
    """An error object ends the pull with the engine's message."""
    state = PullState("x")
    state.feed({"errorDetail": {"message": "manifest unknown"}, "error": "manifest unknown"})
    assert state.error == "manifest unknown"


class TestRunSpec:
    def test_fields_become_docker_py_kwargs(self):
        """Every field of the run dialog maps to containers.run's keyword arguments."""
        spec = build_spec("nginx:1.27", name="web", command="nginx -g 'daemon off;'", env="A=1, B=two",
                          ports="8080:80, 5353:53/udp", volumes="/srv:/data:ro", network="front",
                          memory="256m", cpus="0.5", restart="unless-stopped")
        assert spec.run_kwargs() == {
            "detach": True, "command": ["nginx", "-g", "daemon off;"], "name": "web",
            "environment": ["A=1", "B=two"], "ports": {"80/tcp": 8080, "53/udp": 5353},
            "volumes": {"/srv": {"bind": "/data", "mode": "ro"}}, "network": "front",
            "mem_limit": 256 * 1024 * 1024, "nano_cpus": 500_000_000,
            "restart_policy": {"Name": "unless-stopped"},
        }

    @pytest.mark.parametrize("field,value,word", [
        ("ports", "80", "ports"), ("volumes", "data", "volumes"), ("env", "NOVALUE", "env"),
        ("memory", "lots", "memory"), ("cpus", "-1", "cpus"),
    ])
    def test_bad_fields_name_themselves(self, field, value, word):
        """Each bad field raises InvalidInput naming the field."""
        with pytest.raises(InvalidInput, match=word):
            build_spec("alpine", **{field: value})

    def test_sizes(self):
        """Sizes in Docker's units."""
        assert [parse_size(s) for s in ("", "1k", "1.5g", "512")] == [0, 1024, int(1.5 * 1024**3), 512]


class TestConvert:
    def test_list_shape_container(self):
        """The sparse list JSON (Names, State string, Ports list) becomes a row."""
        row = convert.container_row({
            "Id": "a" * 64, "Names": ["/web"], "Image": "nginx", "ImageID": "sha256:" + "b" * 64,
            "State": "running", "Status": "Up 3 hours", "Command": "nginx",
            "Ports": [{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
                      {"IP": "::", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"}, {"PrivatePort": 443, "Type": "tcp"}],
        })
        assert (row.name, row.state, row.short_id) == ("web", "running", "a" * 12)
        assert row.ports == "0.0.0.0:8080->80/tcp, :::8080->80/tcp, 443/tcp"

    def test_inspect_shape_container(self):
        """The inspect JSON (Name, State object, NetworkSettings.Ports) becomes the same kind of row."""
        row = convert.container_row({
            "Id": "c" * 64, "Name": "/db", "Image": "sha256:" + "d" * 64, "Path": "postgres", "Args": ["-c", "x"],
            "State": {"Status": "exited", "StartedAt": "2025-12-01T08:00:00.123456789Z"},
            "Config": {"Image": "postgres:16"},
            "NetworkSettings": {"Ports": {"5432/tcp": [{"HostIp": "127.0.0.1", "HostPort": "15432"}]}},
        })
        assert (row.name, row.state, row.image, row.command) == ("db", "exited", "postgres:16", "postgres -c x")
        assert row.ports == "127.0.0.1:15432->5432/tcp"
        assert row.started_at == pytest.approx(1764576000.123456)

    def test_history_lines_match_layers(self):
        """Layer-making steps get the diff IDs bottom-up; metadata steps are marked empty."""
        history = [{"CreatedBy": "/bin/sh -c #(nop)  CMD [\"sh\"]", "Size": 0, "Created": 3},
                   {"CreatedBy": "/bin/sh -c apk add curl", "Size": 10, "Created": 2},
                   {"CreatedBy": "/bin/sh -c #(nop) ADD file:abc in /", "Size": 100, "Created": 1}]
        lines = convert.layer_lines(history, {"RootFS": {"Layers": ["sha256:base", "sha256:curl"]}})
        assert [(line.empty, line.diff_id) for line in lines] == [(True, ""), (False, "sha256:curl"), (False, "sha256:base")]

    def test_lines_rejoin_cut_chunks(self):
        """A log stream cut mid-line still yields whole lines."""
        assert list(convert.lines([b"one\ntw", b"o\nthree"])) == ["one", "two", "three"]


class TestErrors:
    def test_connection_errors_mean_engine_gone(self):
        """Refused sockets and httpx transport errors are EngineGone."""
        assert isinstance(translate(ConnectionRefusedError(111, "refused")), EngineGone)
        assert isinstance(translate(httpx.ConnectError("nope")), EngineGone)

    def test_status_codes(self):
        """404 is Missing; other statuses are EngineRefused with the explanation."""
        class APIError(Exception):
            def __init__(self, status: int) -> None:
                super().__init__("x")
                self.status_code, self.explanation = status, "no such container: web"
        missing = translate(APIError(404))
        assert isinstance(missing, Missing) and missing.message == "no such container: web"
        refused = translate(APIError(409))
        assert type(refused) is EngineRefused and refused.status == 409


def test_registries_from_environment():
    """Docker Hub plus WHARF_REGISTRIES, deduplicated."""
    hosts = [r.host for r in default_registries({"WHARF_REGISTRIES": "localhost:5000, reg.lan:443,localhost:5000"})]
    assert hosts == ["docker.io", "localhost:5000", "reg.lan:443"]


def test_reference_helpers():
    """Docker Hub's official images live under library/ but pull without the host."""
    assert repository_name("docker.io", "alpine") == "docker.io/library/alpine"
    assert pull_reference("docker.io/library/alpine", "3.20") == ("alpine", "3.20")
    assert pull_reference("localhost:5000/tools/curl", "8") == ("localhost:5000/tools/curl", "8")
