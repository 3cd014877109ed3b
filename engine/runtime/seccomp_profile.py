"""Docker's default seccomp profile, compiled for one container with libseccomp.

The profile ships as ``seccomp_default.json`` in moby's format. Rules are
included or excluded by the container's capabilities, the machine's
architecture and the kernel version; syscall names libseccomp does not know
are skipped (as runc does), so a newer profile never breaks an older host.

libseccomp turns its rules into a BPF program on every ``seccomp_load``
(about 5 ms for Docker's profile: a good part of a container start). The
program is therefore generated once, when the profile is compiled (in the
launcher, before it forks), and each container process installs those
bytes with ``prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER)``, which is what
``seccomp_load`` itself does with the same program.
"""

from __future__ import annotations

import ctypes
import json
import os
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:  # Debian's python3-seccomp
    import seccomp as _seccomp  # type: ignore[import-not-found]
except ImportError:  # PyPI's API-compatible ctypes binding
    import pyseccomp as _seccomp  # type: ignore[import-not-found,no-redef]

PROFILE_PATH = Path(__file__).with_name("seccomp_default.json")
"""The shipped default profile."""

_NATIVE_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "s390x": "s390x",
                "ppc64le": "ppc64le", "riscv64": "riscv64", "i686": "x86"}
_SCMP_TO_DOCKER = {"SCMP_ARCH_X86_64": "amd64", "SCMP_ARCH_X86": "x86", "SCMP_ARCH_X32": "x32",
                   "SCMP_ARCH_AARCH64": "arm64", "SCMP_ARCH_ARM": "arm",
                   "SCMP_ARCH_S390X": "s390x", "SCMP_ARCH_S390": "s390",
                   "SCMP_ARCH_RISCV64": "riscv64", "SCMP_ARCH_PPC64LE": "ppc64le"}
_NR_SCMP_ERROR = -1
"""libseccomp's answer for a name it does not know (other negatives are pseudo-syscalls)."""
_OPS = {"SCMP_CMP_NE": "NE", "SCMP_CMP_LT": "LT", "SCMP_CMP_LE": "LE", "SCMP_CMP_EQ": "EQ",
        "SCMP_CMP_GE": "GE", "SCMP_CMP_GT": "GT", "SCMP_CMP_MASKED_EQ": "MASKED_EQ"}


PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
_BPF_INSN_SIZE = 8
"""``struct sock_filter``: u16 code, u8 jt, u8 jf, u32 k."""

_libc = ctypes.CDLL(None, use_errno=True)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


@dataclass
class CompiledProfile:
    """A filter ready to load, with what was left out.

    Attributes:
        filter: the ``seccomp.SyscallFilter``.
        rules: how many (name, args) rules were added.
        unknown: syscall names libseccomp does not know (skipped).
        program: the filter as libseccomp generates it (``seccomp_export_bpf``),
            ``b""`` when it could not be exported (then :meth:`load` lets
            libseccomp generate it again).
        no_new_privileges: whether loading sets ``PR_SET_NO_NEW_PRIVS`` first.
    """

    filter: Any
    rules: int
    unknown: list[str]
    program: bytes = b""
    no_new_privileges: bool = False

    def load(self) -> None:
        """Install the filter on the calling process (irreversible).

        Raises:
            OSError: the kernel refused it (without NNP it needs CAP_SYS_ADMIN).
        """
        if not self.program:
            self.filter.load()
            return
        if self.no_new_privileges and _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
        buffer = ctypes.create_string_buffer(self.program, len(self.program))
        prog = _SockFprog(len(self.program) // _BPF_INSN_SIZE, ctypes.addressof(buffer))
        if _libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"cannot load the seccomp filter: {os.strerror(errno)}")


def _export(filt: Any) -> bytes:
    """The BPF program libseccomp would load for ``filt`` (``b""`` if it cannot say)."""
    try:
        with os.fdopen(os.memfd_create("wharf-seccomp", os.MFD_CLOEXEC), "w+b") as out:
            filt.export_bpf(out)
            out.seek(0)
            program = out.read()
    except (OSError, AttributeError, RuntimeError, ValueError):
        return b""
    if not program or len(program) % _BPF_INSN_SIZE or len(program) // _BPF_INSN_SIZE > 0xFFFF:
        return b""
    return program


def _kernel_at_least(minimum: str) -> bool:
    def parts(text: str) -> tuple[int, ...]:
        return tuple(int(p) for p in text.split("-")[0].split(".")[:2] if p.isdigit())
    return parts(os.uname().release) >= parts(minimum)


def _applies(rule: dict[str, Any], caps: set[str], arch: str) -> bool:
    inc, exc = rule.get("includes") or {}, rule.get("excludes") or {}
    if inc.get("caps") and not set(inc["caps"]) <= caps:
        return False
    if inc.get("arches") and arch not in inc["arches"]:
        return False
    if inc.get("minKernel") and not _kernel_at_least(inc["minKernel"]):
        return False
    if exc.get("caps") and set(exc["caps"]) & caps:
        return False
    if exc.get("arches") and arch in exc["arches"]:
        return False
    return True


def _action(name: str, errno_ret: int | None, default_errno: int) -> int:
    if name == "SCMP_ACT_ALLOW":
        return _seccomp.ALLOW
    if name == "SCMP_ACT_ERRNO":
        return _seccomp.ERRNO(errno_ret if errno_ret is not None else default_errno)
    if name in ("SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD"):
        return _seccomp.KILL
    if name == "SCMP_ACT_KILL_PROCESS":
        return _seccomp.KILL_PROCESS
    if name == "SCMP_ACT_LOG":
        return _seccomp.LOG
    raise ValueError(f"unsupported seccomp action {name}")


def _args(raw: list[dict[str, Any]]) -> list[list[Any]]:
    """One arg list per libseccomp rule: same-index conditions become separate rules (OR)."""
    built = [_seccomp.Arg(a["index"], getattr(_seccomp, _OPS[a["op"]]), a["value"],
                          a.get("valueTwo", 0)) for a in raw]
    indexes = [a["index"] for a in raw]
    if len(set(indexes)) == len(indexes):
        return [built]
    return [[arg] for arg in built]


_CACHE: dict[tuple[tuple[str, ...], bool, Path], CompiledProfile] = {}


def compile_profile(capabilities: list[str], no_new_privileges: bool,
                    profile_path: Path = PROFILE_PATH) -> CompiledProfile:
    """The filter for a container with ``capabilities``, compiled once per process.

    The launcher compiles Docker's default case at start; every shim and
    init it forks inherits the compiled filter and only has to load it.
    Filters are never changed after compiling, so sharing them is safe.
    """
    key = (tuple(sorted(set(capabilities))), no_new_privileges, profile_path)
    if key not in _CACHE:
        _CACHE[key] = _compile(list(key[0]), no_new_privileges, profile_path)
    return _CACHE[key]


def _compile(capabilities: list[str], no_new_privileges: bool,
             profile_path: Path) -> CompiledProfile:
    """Build the filter for a container with ``capabilities``.

    Args:
        capabilities: the container's canonical ``CAP_`` names.
        no_new_privileges: whether the process sets NNP itself; when false
            the filter is loaded without NNP (Docker's default), which needs
            CAP_SYS_ADMIN at load time.
        profile_path: a profile in moby's JSON format.
    """
    profile = json.loads(profile_path.read_text())
    default_errno = profile.get("defaultErrnoRet", 1)
    native = _NATIVE_ARCH.get(platform.machine(), platform.machine())
    filt = _seccomp.SyscallFilter(_action(profile["defaultAction"], None, default_errno))
    filt.set_attr(_seccomp.Attr.CTL_NNP, 1 if no_new_privileges else 0)
    for entry in profile.get("archMap") or []:
        if _SCMP_TO_DOCKER.get(entry["architecture"]) != native:
            continue
        for sub in entry.get("subArchitectures") or []:
            arch = getattr(_seccomp.Arch, sub.removeprefix("SCMP_ARCH_"), None)
            if arch is not None and not filt.exist_arch(arch):
                filt.add_arch(arch)
    caps, rules, unknown = set(capabilities), 0, []
    for rule in profile["syscalls"]:
        if not _applies(rule, caps, native):
            continue
        action = _action(rule["action"], rule.get("errnoRet"), default_errno)
        for name in rule["names"]:
            try:
                number = _seccomp.resolve_syscall(_seccomp.Arch.NATIVE, name)
            except (OSError, ValueError, RuntimeError):
                number = _NR_SCMP_ERROR
            if number == _NR_SCMP_ERROR:
                unknown.append(name)
                continue
            for args in _args(rule.get("args") or []):
                filt.add_rule(action, number, *args)
                rules += 1
    return CompiledProfile(filt, rules, sorted(set(unknown)), _export(filt), no_new_privileges)
