"""Linux capabilities by name, and the drop to a container's set.

The set a container keeps is its bounding = effective = permitted set;
inheritable and ambient are always empty (CVE-2022-24769).
"""

from __future__ import annotations

from engine.errors import InvalidSpec
from engine.runtime import syscalls

CAPABILITIES: dict[str, int] = {name: number for number, name in enumerate((
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
    "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
    "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
))}
"""Capability names (``CAP_…``) to their numbers."""


def last_cap() -> int:
    """The highest capability number the running kernel knows."""
    try:
        with open("/proc/sys/kernel/cap_last_cap") as f:
            return int(f.read())
    except OSError:
        return max(CAPABILITIES.values())


def all_capabilities() -> list[str]:
    """Every capability the kernel knows and this process may still hold (its bounding set):
    what a privileged container gets."""
    top = last_cap()
    result = []
    for name, number in CAPABILITIES.items():
        if number <= top and syscalls.prctl(syscalls.PR_CAPBSET_READ, number) == 1:
            result.append(name)
    return result


def normalize(names: list[str]) -> list[str]:
    """``["chown", "CAP_KILL", "ALL"]`` → canonical ``CAP_`` names; unknown names raise."""
    result: list[str] = []
    for raw in names:
        name = raw.upper()
        if name == "ALL":
            result.extend(all_capabilities())
            continue
        if not name.startswith("CAP_"):
            name = "CAP_" + name
        if name not in CAPABILITIES:
            raise InvalidSpec(f"unknown capability {raw!r}")
        result.append(name)
    return sorted(set(result), key=CAPABILITIES.__getitem__)


def mask(names: list[str]) -> int:
    """The 64-bit mask of ``names``."""
    value = 0
    for name in normalize(names):
        value |= 1 << CAPABILITIES[name]
    return value


def drop_bounding(keep: int) -> None:
    """Drop every capability not in ``keep`` from the bounding set (needs CAP_SETPCAP)."""
    for number in range(last_cap() + 1):
        if not keep & (1 << number):
            syscalls.prctl(syscalls.PR_CAPBSET_DROP, number)


def apply(keep: int) -> None:
    """Set effective = permitted = ``keep``; inheritable and ambient empty.

    Call after the uid switch (with ``PR_SET_KEEPCAPS``) and after
    :func:`drop_bounding`.

    Raises:
        InvalidSpec: ``keep`` asks for capabilities this process does not have.
    """
    _effective, permitted, _inheritable = syscalls.capget()
    missing = keep & ~permitted
    if missing:
        names = [n for n, b in CAPABILITIES.items() if missing & (1 << b)]
        raise InvalidSpec(f"capabilities not available to the engine: {', '.join(names)}")
    syscalls.capset(keep, keep, 0)
    syscalls.prctl(syscalls.PR_CAP_AMBIENT, syscalls.PR_CAP_AMBIENT_CLEAR_ALL)
