"""Thin ctypes wrappers for mount syscalls: the new mount API, umount2, statfs magic.

The new API (``fsopen``/``fsconfig``/``fsmount``/``move_mount``, Linux ≥ 5.2;
overlay's per-layer ``lowerdir+`` since 6.8) takes each option separately, so
a hundred lower layers never hit the one-page limit of ``mount(2)``'s data.
Errors come back as :class:`OSError` with the errno; callers translate them.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform

_SYSCALLS = {  # x86_64 and aarch64 share these numbers (generic table since 5.x)
    "fsopen": 430, "fsconfig": 431, "fsmount": 432, "move_mount": 429,
}

FSOPEN_CLOEXEC = 0x1
FSCONFIG_SET_STRING = 1
FSCONFIG_CMD_CREATE = 6
FSMOUNT_CLOEXEC = 0x1
MOVE_MOUNT_F_EMPTY_PATH = 0x4
AT_FDCWD = -100
MNT_DETACH = 0x2
OVERLAYFS_SUPER_MAGIC = 0x794C7630

_libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]


def _check(result: int, what: str) -> int:
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return result


def new_api_available() -> bool:
    """Whether this machine's architecture uses the syscall numbers above."""
    return platform.machine() in ("x86_64", "aarch64")


def fs_mount(fstype: str, options: list[tuple[str, str]], target: str,
             source: str = "") -> None:
    """Mount ``fstype`` at ``target`` with options set one by one (fsconfig).

    Args:
        fstype: e.g. ``"overlay"``.
        options: ``(key, value)`` pairs in order; each value at most 255 bytes.
        target: where to attach the new mount.
        source: the source name shown in mountinfo.

    Raises:
        OSError: the kernel refused a step (errno kept; message names the step).
    """
    fs_fd = _check(_libc.syscall(_SYSCALLS["fsopen"], fstype.encode(), FSOPEN_CLOEXEC),
                   "fsopen")
    mnt_fd = -1
    try:
        settings = ([("source", source)] if source else []) + options
        for key, value in settings:
            _check(_libc.syscall(_SYSCALLS["fsconfig"], fs_fd, FSCONFIG_SET_STRING,
                                 key.encode(), os.fsencode(value), 0), f"fsconfig {key}")
        _check(_libc.syscall(_SYSCALLS["fsconfig"], fs_fd, FSCONFIG_CMD_CREATE, None, None, 0),
               "fsconfig create")
        mnt_fd = _check(_libc.syscall(_SYSCALLS["fsmount"], fs_fd, FSMOUNT_CLOEXEC, 0),
                        "fsmount")
        _check(_libc.syscall(_SYSCALLS["move_mount"], mnt_fd, b"", AT_FDCWD,
                             os.fsencode(target), MOVE_MOUNT_F_EMPTY_PATH), "move_mount")
    finally:
        os.close(fs_fd)
        if mnt_fd >= 0:
            os.close(mnt_fd)


def umount(target: str, detach: bool = False) -> None:
    """``umount2(target, MNT_DETACH if detach else 0)``.

    Raises:
        OSError: EINVAL when nothing is mounted there, EBUSY when in use, …
    """
    _check(_libc.umount2(os.fsencode(target), MNT_DETACH if detach else 0), "umount")


def is_mountpoint(path: str) -> bool:
    """Whether ``path`` is listed as a mount point in ``/proc/self/mountinfo``."""
    real = os.path.realpath(path)
    with open("/proc/self/mountinfo", "rb") as f:
        for line in f:
            fields = line.split(b" ")
            if len(fields) > 4 and _unescape(fields[4]) == real:
                return True
    return False


def _unescape(field: bytes) -> str:
    text = os.fsdecode(field)
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        text = text.replace(code, char)
    return text


class _StatFs(ctypes.Structure):
    _fields_ = [("f_type", ctypes.c_long), ("f_bsize", ctypes.c_long),
                ("f_blocks", ctypes.c_ulong), ("f_bfree", ctypes.c_ulong),
                ("f_bavail", ctypes.c_ulong), ("f_files", ctypes.c_ulong),
                ("f_ffree", ctypes.c_ulong), ("f_fsid", ctypes.c_int * 2),
                ("f_namelen", ctypes.c_long), ("f_frsize", ctypes.c_long),
                ("f_flags", ctypes.c_long), ("f_spare", ctypes.c_long * 4)]


def fs_magic(path: str) -> int:
    """The filesystem type magic (``statfs.f_type``) of ``path``."""
    buf = _StatFs()
    _libc.statfs.argtypes = [ctypes.c_char_p, ctypes.POINTER(_StatFs)]
    _check(_libc.statfs(os.fsencode(path), ctypes.byref(buf)), "statfs")
    return buf.f_type & 0xFFFFFFFF
