"""Build a container's filesystem view inside its new mount namespace.

Runs in the container init, single-threaded, before ``execve``. Order as in
runc: propagation, rootfs self-bind, /proc, /dev (+ nodes, symlinks, devpts,
shm, mqueue), /sys (ro), /sys/fs/cgroup, /etc files, user mounts,
``pivot_root(".", ".")``; after the pivot: sysctls, read-only paths, masked
paths, read-only root. Every target is opened confined to the rootfs
(:mod:`engine.runtime.safepath`) and mounted on ``/proc/self/fd/N``.
"""

from __future__ import annotations

import glob
import os
import stat
from pathlib import Path

from engine.errors import InvalidSpec, RuntimeFailure
from engine.runtime import syscalls as sc
from engine.runtime.safepath import clean_path, fd_path, open_in_root
from engine.runtime.spec import INIT_PATH, TINI_HOST_PATH, MountSpec, RuntimeSpec

DEVICES = (("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8),
           ("urandom", 1, 9), ("tty", 5, 0))
"""Device nodes created in every container's ``/dev``: (name, major, minor)."""

DEV_SYMLINKS = (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2"),
                ("ptmx", "pts/ptmx"))

_PROPAGATION = {"private": sc.MS_PRIVATE, "rprivate": sc.MS_PRIVATE | sc.MS_REC,
                "slave": sc.MS_SLAVE, "rslave": sc.MS_SLAVE | sc.MS_REC,
                "shared": sc.MS_SHARED, "rshared": sc.MS_SHARED | sc.MS_REC}
_FLAG_OPTIONS = {"ro": sc.MS_RDONLY, "nosuid": sc.MS_NOSUID, "nodev": sc.MS_NODEV,
                 "noexec": sc.MS_NOEXEC, "noatime": sc.MS_NOATIME,
                 "relatime": sc.MS_RELATIME, "strictatime": sc.MS_STRICTATIME}


def _mount_at(root_fd: int, dest: str, source: str | None, fstype: str | None, flags: int,
              data: str | None = None, create: str = "dir", mode: int = 0o755,
              follow: bool = True) -> None:
    if not follow and clean_path(root_fd, dest) != dest:
        # /proc, /sys, /dev … behind a symlink (CVE-2019-19921 class): refuse outright
        raise InvalidSpec(f"{dest} in the image is a symlink; refusing to mount there")
    fd = open_in_root(root_fd, dest, create=create, mode=mode)
    try:
        sc.mount(source, fd_path(fd), fstype, flags, data)
    except OSError as exc:
        raise RuntimeFailure(f"cannot mount {fstype or source} on {dest} in the container: "
                             f"{os.strerror(exc.errno or 0)}") from exc
    finally:
        os.close(fd)


def _remount(root_fd: int, dest: str, flags: int) -> None:
    """Remount the mount now at ``dest`` (re-opened: the old fd points below it)."""
    fd = open_in_root(root_fd, dest)
    try:
        sc.mount(None, fd_path(fd), None, sc.MS_BIND | sc.MS_REMOUNT | flags)
    finally:
        os.close(fd)


def _split_options(options: list[str]) -> tuple[int, str]:
    flags, data = 0, []
    for opt in options:
        if opt in _FLAG_OPTIONS:
            flags |= _FLAG_OPTIONS[opt]
        elif opt not in _PROPAGATION and opt not in ("rw", "bind", "rbind"):
            data.append(opt)
    return flags, ",".join(data)


def setup_dev(root_fd: int, console: bool) -> None:
    """tmpfs /dev with the standard nodes and links, a private devpts, shm and mqueue."""
    _mount_at(root_fd, "/dev", "tmpfs", "tmpfs", sc.MS_NOSUID | sc.MS_STRICTATIME,
              "mode=755,size=65536k", follow=False)
    dev = open_in_root(root_fd, "/dev", flags=os.O_RDONLY | os.O_DIRECTORY)
    try:
        old_umask = os.umask(0)
        try:
            for name, major, minor in DEVICES:
                os.mknod(name, 0o666 | stat.S_IFCHR, os.makedev(major, minor), dir_fd=dev)
            for name in ("pts", "shm", "mqueue"):
                os.mkdir(name, 0o755, dir_fd=dev)
            if console:
                os.close(os.open("console", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600,
                                 dir_fd=dev))
        finally:
            os.umask(old_umask)
        for name, target in DEV_SYMLINKS:
            os.symlink(target, name, dir_fd=dev)
        if os.path.exists("/proc/kcore"):
            os.symlink("/proc/kcore", "core", dir_fd=dev)
    finally:
        os.close(dev)
    _mount_at(root_fd, "/dev/pts", "devpts", "devpts", sc.MS_NOSUID | sc.MS_NOEXEC,
              "newinstance,ptmxmode=0666,mode=0620,gid=5", follow=False)


def setup_shm_mqueue(root_fd: int, shm_size: int, shm: str = "private",
                     shm_tree: int | None = None) -> None:
    """/dev/shm and /dev/mqueue (the mqueue of the IPC namespace the container is in).

    Args:
        shm: ``"private"`` a tmpfs of ``shm_size`` bytes, ``"none"`` nothing, ``"host"``
            the host's ``/dev/shm``, ``"join"`` the detached mount ``shm_tree``.
    """
    if shm == "join" and shm_tree is None:
        raise RuntimeFailure("/dev/shm is to be shared with another container, but its mount is missing")
    if shm == "join" and shm_tree is not None:
        if clean_path(root_fd, "/dev/shm") != "/dev/shm":
            raise InvalidSpec("/dev/shm in the image is a symlink; refusing to mount there")
        fd = open_in_root(root_fd, "/dev/shm", create="dir")
        try:
            sc.move_mount(shm_tree, fd)
        except OSError as exc:
            raise RuntimeFailure(f"cannot attach the IPC donor's /dev/shm: "
                                 f"{os.strerror(exc.errno or 0)}") from exc
        finally:
            os.close(fd)
            os.close(shm_tree)
    elif shm == "host":
        _mount_at(root_fd, "/dev/shm", "/dev/shm", None, sc.MS_BIND | sc.MS_REC, follow=False)
    elif shm != "none":
        _mount_at(root_fd, "/dev/shm", "shm", "tmpfs", sc.MS_NOSUID | sc.MS_NOEXEC | sc.MS_NODEV,
                  f"mode=1777,size={shm_size}", follow=False)
    _mount_at(root_fd, "/dev/mqueue", "mqueue", "mqueue",
              sc.MS_NOSUID | sc.MS_NOEXEC | sc.MS_NODEV, follow=False)


def setup_sys(root_fd: int, privileged: bool, cgroup_dirs: dict[str, str]) -> None:
    """/sys (read-only unless privileged) and /sys/fs/cgroup with the container's own dirs."""
    ro = 0 if privileged else sc.MS_RDONLY
    _mount_at(root_fd, "/sys", "sysfs", "sysfs", sc.MS_NOSUID | sc.MS_NOEXEC | sc.MS_NODEV | ro,
              follow=False)
    if not cgroup_dirs:
        return
    if "" in cgroup_dirs:  # pure v2: the container's own directory is the whole tree
        _mount_at(root_fd, "/sys/fs/cgroup", cgroup_dirs[""], None, sc.MS_BIND | sc.MS_REC,
                  follow=False)
        _remount(root_fd, "/sys/fs/cgroup", sc.MS_RDONLY | sc.MS_NOSUID | sc.MS_NOEXEC
                 | sc.MS_NODEV)
        return
    _mount_at(root_fd, "/sys/fs/cgroup", "tmpfs", "tmpfs",
              sc.MS_NOSUID | sc.MS_NOEXEC | sc.MS_NODEV, "mode=755", follow=False)
    for name, host_dir in sorted(cgroup_dirs.items()):
        _mount_at(root_fd, f"/sys/fs/cgroup/{name}", host_dir, None, sc.MS_BIND | sc.MS_REC)
        _remount(root_fd, f"/sys/fs/cgroup/{name}",
                 sc.MS_RDONLY | sc.MS_NOSUID | sc.MS_NOEXEC | sc.MS_NODEV)
        if "," in name:  # co-mounted controllers, e.g. cpu,cpuacct
            cg = open_in_root(root_fd, "/sys/fs/cgroup", flags=os.O_RDONLY | os.O_DIRECTORY)
            try:
                for part in name.split(","):
                    os.symlink(name, part, dir_fd=cg)
            finally:
                os.close(cg)
    _remount(root_fd, "/sys/fs/cgroup", sc.MS_RDONLY | sc.MS_NOSUID | sc.MS_NOEXEC
             | sc.MS_NODEV)


def bind(root_fd: int, mount: MountSpec) -> None:
    """A bind mount from the host into the container, with its propagation and ro flag."""
    try:
        source = os.open(mount.source, os.O_PATH | os.O_CLOEXEC)
    except OSError as exc:
        raise InvalidSpec(f"bind source path does not exist: {mount.source}") from exc
    try:
        is_dir = stat.S_ISDIR(os.fstat(source).st_mode)
        target = open_in_root(root_fd, mount.destination, create="dir" if is_dir else "file")
        try:
            if stat.S_ISDIR(os.fstat(target).st_mode) != is_dir:
                raise InvalidSpec(f"cannot bind {mount.source} on {mount.destination}: one is a "
                                  "directory and the other is not")
            flags = sc.MS_BIND | (sc.MS_REC if mount.recursive else 0)
            try:
                sc.mount(fd_path(source), fd_path(target), None, flags)
            except OSError as exc:
                raise RuntimeFailure(f"cannot bind {mount.source} on {mount.destination}: "
                                     f"{os.strerror(exc.errno or 0)}") from exc
        finally:
            os.close(target)
    finally:
        os.close(source)
    extra, _ = _split_options(mount.options)
    if mount.readonly or extra:
        _remount(root_fd, mount.destination,
                 extra | (sc.MS_RDONLY if mount.readonly else 0))
    propagation = _PROPAGATION.get(mount.propagation)
    if propagation:
        fd = open_in_root(root_fd, mount.destination)
        try:
            sc.mount(None, fd_path(fd), None, propagation)
        finally:
            os.close(fd)


def user_mount(root_fd: int, mount: MountSpec) -> None:
    """One of the spec's mounts: ``bind`` or a filesystem such as ``tmpfs``."""
    if mount.type == "bind":
        bind(root_fd, mount)
        return
    flags, data = _split_options(mount.options)
    if mount.readonly:
        flags |= sc.MS_RDONLY
    if mount.type == "tmpfs":
        flags |= sc.MS_NOSUID | sc.MS_NODEV
    _mount_at(root_fd, mount.destination, mount.source or mount.type, mount.type, flags,
              data or None)


def prepare(spec: RuntimeSpec, cgroup_dirs: dict[str, str], console: bool,
            shm_tree: int | None = None) -> None:
    """Everything before the pivot: after it, the host's paths are out of reach.

    ``shm_tree``: the IPC donor's detached ``/dev/shm`` (see :mod:`engine.runtime.nsjoin`).
    """
    sc.mount(None, "/", None, sc.MS_SLAVE | sc.MS_REC)
    sc.mount(spec.rootfs, spec.rootfs, None, sc.MS_BIND | sc.MS_REC)
    sc.mount(None, spec.rootfs, None, sc.MS_PRIVATE)
    root_fd = os.open(spec.rootfs, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        _mount_at(root_fd, "/proc", "proc", "proc", sc.MS_NOSUID | sc.MS_NOEXEC | sc.MS_NODEV,
                  follow=False)
        setup_dev(root_fd, console)
        setup_shm_mqueue(root_fd, spec.shm_size, spec.namespaces.shm, shm_tree)
        setup_sys(root_fd, spec.privileged, cgroup_dirs)
        etc_ro = sc.MS_RDONLY if spec.readonly_rootfs else 0
        for dest, source in sorted(spec.etc_files.items()):
            bind(root_fd, MountSpec(destination=dest, source=source, readonly=bool(etc_ro)))
        if spec.init:
            bind(root_fd, MountSpec(destination=INIT_PATH, source=TINI_HOST_PATH, readonly=True))
        for mount in spec.mounts:
            user_mount(root_fd, mount)
    finally:
        os.close(root_fd)


def pivot(rootfs: str) -> None:
    """Switch root: ``pivot_root(".", ".")`` then detach the old root stacked on top."""
    old_root = os.open("/", os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
    new_root = os.open(rootfs, os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fchdir(new_root)
        sc.pivot_root(".", ".")
        os.fchdir(old_root)
        sc.mount(None, ".", None, sc.MS_SLAVE | sc.MS_REC)
        sc.umount2(".", sc.MNT_DETACH)
        os.chdir("/")
    finally:
        os.close(old_root)
        os.close(new_root)


def _verified_dev_null() -> int:
    fd = os.open("/dev/null", os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC)
    st = os.fstat(fd)
    if not stat.S_ISCHR(st.st_mode) or st.st_rdev != os.makedev(1, 3):
        os.close(fd)
        raise RuntimeFailure("/dev/null in the container is not the null device; refusing "
                             "to mask with it")
    return fd


def mask_paths(paths: list[str]) -> None:
    """Hide files behind a verified /dev/null and directories behind an empty ro tmpfs."""
    paths = list(paths) + sorted(glob.glob("/sys/devices/system/cpu/cpu*/thermal_throttle"))
    null = _verified_dev_null()
    root = os.open("/", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for path in paths:
            try:
                fd = sc.openat2(root, path, os.O_PATH | os.O_NOFOLLOW)
            except OSError:
                continue
            try:
                if stat.S_ISDIR(os.fstat(fd).st_mode):
                    try:
                        sc.mount("tmpfs", fd_path(fd), "tmpfs", sc.MS_RDONLY,
                                 "nr_blocks=1,nr_inodes=1")
                    except OSError:
                        sc.mount("tmpfs", fd_path(fd), "tmpfs", sc.MS_RDONLY,
                                 "nr_blocks=1,nr_inodes=2")
                else:
                    sc.mount(fd_path(null), fd_path(fd), None, sc.MS_BIND)
            finally:
                os.close(fd)
    finally:
        os.close(null)
        os.close(root)


def readonly_paths(paths: list[str]) -> None:
    """Self-bind each path and remount it read-only, keeping nosuid/nodev/noexec."""
    root = os.open("/", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for path in paths:
            try:
                fd = sc.openat2(root, path, os.O_PATH | os.O_NOFOLLOW)
            except OSError:
                continue
            try:
                sc.mount(fd_path(fd), fd_path(fd), None, sc.MS_BIND | sc.MS_REC)
            finally:
                os.close(fd)
            keep = os.statvfs(path).f_flag & (sc.MS_NOSUID | sc.MS_NODEV | sc.MS_NOEXEC)
            _remount(root, path, sc.MS_RDONLY | keep)
    finally:
        os.close(root)


def write_sysctls(sysctls: dict[str, str]) -> None:
    """Write ``net.ipv4.x=…`` style keys under the container's /proc/sys (before it goes ro)."""
    for key, value in sysctls.items():
        path = Path("/proc/sys") / key.replace(".", "/")
        if ".." in key.split("."):
            raise InvalidSpec(f"invalid sysctl {key!r}")
        try:
            path.write_text(str(value))
        except OSError as exc:
            raise InvalidSpec(f"cannot set sysctl {key}={value}: {exc.strerror}") from exc


PRIVATE_NETNS_SYSCTLS = {"net.ipv4.ip_unprivileged_port_start": "0",
                         "net.ipv4.ping_group_range": "0 2147483647"}
"""moby's defaults for a container with its own network namespace (set when present)."""


def finalize(spec: RuntimeSpec) -> None:
    """After the pivot: sysctls, read-only and masked paths, read-only root."""
    if sc.fs_magic("/proc") != sc.PROC_SUPER_MAGIC:
        raise RuntimeFailure("/proc in the container is not procfs")
    if spec.namespaces.net != "host":
        for key, value in PRIVATE_NETNS_SYSCTLS.items():
            if key not in spec.sysctls:
                try:
                    write_sysctls({key: value})
                except InvalidSpec:
                    pass
    write_sysctls(spec.sysctls)
    if not spec.privileged:
        readonly_paths(spec.readonly_paths)
        mask_paths(spec.masked_paths)
    if spec.readonly_rootfs:
        sc.mount(None, "/", None, sc.MS_BIND | sc.MS_REMOUNT | sc.MS_RDONLY)
    os.umask(0o022)


def is_devpts(fd: int) -> bool:
    """Whether ``fd`` lives on a devpts filesystem (a real pty, not a planted file)."""
    return sc.fs_magic(fd) == sc.DEVPTS_SUPER_MAGIC
