"""File-level logic of the exec driver: cgroup v2 files, json-file log, users, paths, seccomp."""

from __future__ import annotations

import json
import os
import resource
from pathlib import Path

import pytest

from engine.errors import InvalidSpec
from engine.runtime import caps, cgroups
from engine.runtime.logs import PARTIAL_SIZE, JsonFileLog, read_log
from engine.runtime.safepath import clean_path, open_in_root
from engine.runtime.seccomp_profile import compile_profile
from engine.runtime.spec import (DEFAULT_CAPABILITIES, MountSpec, ProcessSpec, ResourceSpec,
                                 Rlimit, RuntimeSpec, clamp_rlimits, spec_from_dict,
                                 spec_to_dict)
from engine.runtime.users import resolve_user


def _fake_v2(root: Path) -> Path:
    """A directory laid out like a cgroup2 mount: root with controllers and empty files."""
    (root / "cgroup.controllers").write_text("cpuset cpu io memory hugetlb pids rdma\n")
    (root / "cgroup.subtree_control").write_text("")
    return root


def _precreate(directory: Path, *names: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        (directory / name).write_text("")


V2_FILES = ("cgroup.procs", "cgroup.controllers", "cgroup.subtree_control", "memory.max",
            "memory.swap.max", "memory.low", "cpu.max", "cpu.weight", "cpuset.cpus",
            "cpuset.mems", "pids.max", "cgroup.freeze", "cgroup.events", "memory.events")


def test_cgroup_v2_limits(tmp_path: Path) -> None:
    """v2: controllers enabled down the tree, memory/swap/cpu/weight/pids in v2 files."""
    root = _fake_v2(tmp_path)
    _precreate(root / "wharf", "cgroup.controllers", "cgroup.subtree_control")
    (root / "wharf" / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    _precreate(root / "wharf" / "c1", *V2_FILES)
    cg = cgroups.for_container("c1", root=root, version=2)
    quota, period = ResourceSpec.from_cpus(1.5)
    cg.create(ResourceSpec(memory=100 << 20, cpu_quota=quota, cpu_period=period,
                           cpu_shares=1024, pids_limit=64, memory_reservation=50 << 20))
    d = root / "wharf" / "c1"
    assert (d / "memory.max").read_text() == str(100 << 20)
    assert (d / "memory.swap.max").read_text() == str(100 << 20)  # memsw 2x → swap = memory
    assert (d / "memory.low").read_text() == str(50 << 20)
    assert (d / "cpu.max").read_text() == "150000 100000"
    assert (d / "cpu.weight").read_text() == "100"  # the default 1024 maps to the default 100
    assert (d / "pids.max").read_text() == "64"
    assert (root / "cgroup.subtree_control").read_text() == "+cpu +cpuset +io +memory +pids"
    assert (root / "wharf" / "cgroup.subtree_control").read_text() == \
        "+cpu +cpuset +io +memory +pids"
    cg.join(4242)
    assert (d / "cgroup.procs").read_text() == "4242"


def test_cgroup_v2_swap_unlimited_and_equal(tmp_path: Path) -> None:
    """memory_swap -1 → swap max; memory_swap == memory → no swap (0)."""
    root = _fake_v2(tmp_path)
    for name, swap, expected in (("a", -1, "max"), ("b", 64 << 20, "0")):
        _precreate(root / "wharf" / name, *V2_FILES)
        cgroups.for_container(name, root=root, version=2).create(
            ResourceSpec(memory=64 << 20, memory_swap=swap))
        assert (root / "wharf" / name / "memory.swap.max").read_text() == expected


def test_cgroup_v2_freeze_and_oom(tmp_path: Path) -> None:
    """v2 freezer writes cgroup.freeze and reads cgroup.events; OOM from memory.events."""
    root = _fake_v2(tmp_path)
    d = root / "wharf" / "c2"
    _precreate(d, *V2_FILES)
    cg = cgroups.for_container("c2", root=root, version=2)
    (d / "cgroup.events").write_text("populated 1\nfrozen 1\n")
    cg.freeze()
    assert (d / "cgroup.freeze").read_text() == "1"
    assert cg.frozen()
    (d / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    assert cg.oom_kills() == 1


@pytest.mark.parametrize(("shares", "weight"), [(2, 1), (1024, 100), (262144, 10000),
                                                (512, 59)])
def test_shares_to_weight(shares: int, weight: int) -> None:
    """runc's current (quadratic in log2) conversion of cpu.shares to cpu.weight."""
    assert cgroups.shares_to_weight(shares) == weight


def test_cgroup_version_detected_here() -> None:
    """This hybrid host: /sys/fs/cgroup is a tmpfs of v1 hierarchies."""
    if not Path("/sys/fs/cgroup/memory").is_dir():
        pytest.skip("not a v1 host")
    assert cgroups.detect_version() == 1
    cg = cgroups.for_container("whprobe")
    assert "memory" in cg.dirs and "unified" not in cg.dirs


def test_json_log_lines_partials_and_rotation(tmp_path: Path) -> None:
    """Lines become entries; >16 KiB lines split into partials; max-size/max-file rotate."""
    path = tmp_path / "c-json.log"
    log = JsonFileLog(path)
    log.write("stdout", b"one\ntw")
    log.write("stdout", b"o\n")
    log.write("stderr", b"x" * (PARTIAL_SIZE + 10) + b"\n")
    log.write("stdout", b"tail")
    log.close()
    entries = list(read_log(path))
    assert [e["log"] for e in entries[:2]] == ["one\n", "two\n"]
    assert entries[2]["log"] == "x" * PARTIAL_SIZE and entries[2]["stream"] == "stderr"
    assert entries[3]["log"] == "x" * 10 + "\n"
    assert entries[4]["log"] == "tail"
    assert entries[0]["time"].endswith("Z") and len(entries[0]["time"]) == 30

    rotating = tmp_path / "r-json.log"
    log = JsonFileLog(rotating, max_size=500, max_file=3)
    for i in range(40):
        log.write("stdout", f"line {i}\n".encode())
    log.close()
    assert rotating.with_name("r-json.log.1").exists()
    assert rotating.with_name("r-json.log.2").exists()
    assert not rotating.with_name("r-json.log.3").exists()
    assert all(p.stat().st_size <= 500 for p in tmp_path.glob("r-json.log*"))
    kept = [e["log"] for e in read_log(rotating, max_file=3)]
    assert kept[-1] == "line 39\n"
    assert kept == sorted(kept, key=lambda s: int(s.split()[1]))


def _root_fd(rootfs: Path) -> int:
    return os.open(rootfs, os.O_PATH | os.O_DIRECTORY)


def test_users_resolved_in_container_files(rootfs: Path) -> None:
    """Names, numbers, name:group, unknown numeric ids, and unknown names."""
    fd = _root_fd(rootfs)
    try:
        app = resolve_user("app", fd)
        assert (app.uid, app.gid, app.groups, app.home) == (1000, 1000, [1000, 2000], "/home/app")
        assert resolve_user("", fd).uid == 0
        assert resolve_user("1000:extra", fd).groups == [2000]
        stranger = resolve_user("12345", fd)
        assert (stranger.uid, stranger.gid, stranger.home) == (12345, 0, "/")
        assert resolve_user("nobody", fd, ["app"]).groups == [65534, 1000]
        with pytest.raises(InvalidSpec, match="unable to find user ghost"):
            resolve_user("ghost", fd)
        with pytest.raises(InvalidSpec, match="unable to find group nope"):
            resolve_user("app:nope", fd)
    finally:
        os.close(fd)


def test_passwd_symlink_cannot_reach_host(rootfs: Path, tmp_path: Path) -> None:
    """/etc/passwd → /../../../etc/passwd resolves inside the rootfs, never the host's."""
    (rootfs / "etc" / "passwd").unlink()
    (rootfs / "etc" / "passwd").symlink_to("/../../../../../../etc/passwd")
    fd = _root_fd(rootfs)
    try:
        with pytest.raises(InvalidSpec):
            resolve_user("root", fd)  # the host has a root user; the container now has none
        assert resolve_user("0", fd).uid == 0
    finally:
        os.close(fd)


def test_safe_paths(rootfs: Path) -> None:
    """Absolute links restart at the rootfs; climbing out through .. is refused."""
    (rootfs / "usr").mkdir()
    (rootfs / "usr" / "lib").mkdir()
    (rootfs / "lib").symlink_to("/usr/lib")
    (rootfs / "up").symlink_to("../..")
    fd = _root_fd(rootfs)
    try:
        assert clean_path(fd, "/lib/x/../y") == "/usr/lib/y"
        with pytest.raises(InvalidSpec, match="escapes"):
            clean_path(fd, "/up/etc")
        made = open_in_root(fd, "/lib/new/dir", create="dir")
        os.close(made)
        assert (rootfs / "usr" / "lib" / "new" / "dir").is_dir()
        made = open_in_root(fd, "/lib/file", create="file")
        os.close(made)
        assert (rootfs / "usr" / "lib" / "file").is_file()
    finally:
        os.close(fd)


def test_seccomp_profile_compiles_for_docker_caps() -> None:
    """Docker's default profile: hundreds of rules, unknown names skipped, cap-gated rules."""
    default = compile_profile(list(DEFAULT_CAPABILITIES), no_new_privileges=False)
    admin = compile_profile([*DEFAULT_CAPABILITIES, "CAP_SYS_ADMIN"], no_new_privileges=False)
    assert default.rules > 300
    assert admin.rules > default.rules  # mount, unshare, setns … only with CAP_SYS_ADMIN
    assert "read" not in default.unknown and "mount" not in default.unknown
    profile = json.loads((Path(__file__).parents[2] / "engine" / "runtime" /
                          "seccomp_default.json").read_text())
    assert profile["defaultAction"] == "SCMP_ACT_ERRNO"
    assert all(name in {n for r in profile["syscalls"] for n in r["names"]}
               for name in default.unknown)


def test_capability_masks() -> None:
    """The 14 defaults are Docker's 0xa80425fb; names are normalised."""
    assert caps.mask(list(DEFAULT_CAPABILITIES)) == 0xA80425FB
    assert caps.normalize(["chown", "CAP_KILL"]) == ["CAP_CHOWN", "CAP_KILL"]
    with pytest.raises(InvalidSpec):
        caps.normalize(["CAP_FLY"])


def test_spec_round_trip_and_validation(tmp_path: Path) -> None:
    """Specs survive JSON; validate refuses what cannot work."""
    spec = RuntimeSpec(id="abc", rootfs=str(tmp_path),
                       process=ProcessSpec(args=["sh"], rlimits=[Rlimit("nofile", 10, 20)],
                                           console_size=(24, 80)),
                       mounts=[MountSpec("/m", type="tmpfs")],
                       resources=ResourceSpec(memory=1 << 20))
    again = spec_from_dict(json.loads(json.dumps(spec_to_dict(spec))))
    assert again == spec
    spec.mounts.append(MountSpec("/data", source=str(tmp_path / "missing")))
    with pytest.raises(InvalidSpec, match="bind source path does not exist"):
        spec.validate()
    with pytest.raises(InvalidSpec):
        RuntimeSpec(id="../x", rootfs=str(tmp_path), process=ProcessSpec(args=["sh"])).validate()


def test_rlimits_clamped_with_warning() -> None:
    """An rlimit above the engine's hard limit is lowered to it, with a warning."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        pytest.skip("no hard limit to clamp to")
    proc = ProcessSpec(args=["sh"], rlimits=[Rlimit("nofile", hard + 1, hard * 4)])
    warnings = clamp_rlimits(proc)
    assert (proc.rlimits[0].soft, proc.rlimits[0].hard) == (hard, hard)
    assert len(warnings) == 2 and "clamped" in warnings[0]


def test_public_surface() -> None:
    """The names the containers layer builds on are exported from engine.runtime."""
    import engine.runtime as rt  # noqa: PLC0415
    assert set(rt.__all__) == {
        "ContainerProcess", "ContainerState", "ExecProcess", "LogSpec", "MountSpec",
        "NamespaceSpec", "ProcessInfo", "ProcessSpec", "ProcessStream", "ResourceSpec",
        "Rlimit", "Runtime", "RuntimeSpec", "Sample", "StatsSampler", "cpu_percent"}
    for name in rt.__all__:
        assert getattr(rt, name).__doc__, f"{name} has no docstring"
