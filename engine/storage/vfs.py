"""The vfs graph driver: copy every layer into the container's root (no overlay needed).

Slow and space-hungry, but works on any filesystem (for example an engine
root that is itself on overlayfs, where overlay mounts fail). Layers are
copied base first with ``cp -a`` (owners, modes, xattrs, hardlinks, devices);
before each copy its whiteouts delete paths, its opaque folders empty theirs,
and paths whose type changes are removed, all through confined fds.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

from engine.errors import LayerError, StorageError, UnsafeLayer
from engine.images.confined import ConfinedRoot, Parts
from engine.jobs import Component, Job
from engine.storage.changes import OPAQUE_XATTR, is_opaque, is_whiteout
from engine.storage.driver import Change, ChangeKind, GraphDriver, MountInfo


class VfsDriver(GraphDriver):
    """Assembles a root by copying layers into it; the root is also the "upper"."""

    name = "vfs"

    def mount(self, container_id: str, chain_ids: list[str], upper: str, work: str,
              target: str, *, job: Job | None = None) -> MountInfo:
        marker = Path(work or upper) / ".wharf-vfs-ready"
        lowers = [str(self.layers.get(cid).diff) for cid in chain_ids]
        if not os.path.exists(marker):  # copy once; later "mounts" reuse the copy
            for lower in lowers:
                self._apply(Path(lower), target)
            marker.touch()
        info = MountInfo("vfs", os.path.abspath(target), list(reversed(lowers)),
                         os.path.abspath(target), "", "", "copy")
        if job is not None:
            job.step("vfs copy", Component.GRAPH_DRIVER, subject=container_id,
                     layers=len(lowers), target=info.target)
        return info

    def _apply(self, lower: Path, target: str) -> None:
        with ConfinedRoot(target) as root:
            for folder, dirs, files in os.walk(lower):
                rel_folder = Path(folder).relative_to(lower)
                parts: Parts = tuple(p for p in rel_folder.parts if p != ".")
                try:
                    fd = root.dir(parts, "/".join(parts))
                except (LayerError, UnsafeLayer):
                    continue
                if parts and is_opaque(folder):
                    for name in os.listdir(fd):
                        root.remove(fd, name, parts + (name,))
                for name in dirs + files:
                    src = os.lstat(os.path.join(folder, name))
                    try:
                        dst = os.lstat(name, dir_fd=fd)
                    except FileNotFoundError:
                        continue
                    if is_whiteout(src) or stat.S_ISDIR(src.st_mode) != stat.S_ISDIR(
                            dst.st_mode) or not stat.S_ISDIR(src.st_mode):
                        root.remove(fd, name, parts + (name,))
        result = subprocess.run(["cp", "-a", "--preserve=all", "--no-target-directory",
                                 f"{lower}/.", target], capture_output=True, text=True,
                                check=False)
        if result.returncode != 0:
            raise StorageError(f"vfs copy of {lower} failed: {result.stderr.strip()}")
        self._strip_markers(lower, target)

    @staticmethod
    def _strip_markers(lower: Path, target: str) -> None:
        """Remove copied whiteout devices and opaque marks: the copy is already merged."""
        with ConfinedRoot(target) as root:
            for folder, dirs, files in os.walk(lower):
                parts: Parts = tuple(p for p in Path(folder).relative_to(lower).parts
                                     if p != ".")
                fd = root.dir(parts, "/".join(parts), create=False)
                if is_opaque(folder):
                    try:
                        os.removexattr(fd, OPAQUE_XATTR)
                    except OSError:
                        pass
                for name in dirs + files:
                    if is_whiteout(os.lstat(os.path.join(folder, name))):
                        os.unlink(name, dir_fd=fd)

    def unmount(self, target: str) -> None:
        """Nothing to undo: the copy stays (removing the container removes it)."""

    def remove(self, target: str) -> None:
        """Delete a container's copied root."""
        shutil.rmtree(target, ignore_errors=True)

    def diff(self, upper: str, chain_ids: list[str]) -> list[Change]:
        """Compare the container's root with its layers (type, size, mode, owner, mtime)."""
        merged = _merged_view([self.layers.get(cid).diff for cid in chain_ids])
        changes: list[Change] = []
        seen: set[str] = set()
        for folder, dirs, files in os.walk(upper):
            for name in sorted(dirs + files):
                path = os.path.join(folder, name)
                rel = "/" + os.path.relpath(path, upper)
                seen.add(rel)
                st = os.lstat(path)
                old = merged.get(rel)
                if old is None:
                    changes.append(Change(rel, ChangeKind.ADDED))
                elif _signature(st) != old and not stat.S_ISDIR(st.st_mode):
                    changes.append(Change(rel, ChangeKind.MODIFIED))
        for rel in merged:
            if rel not in seen and os.path.dirname(rel) in seen | {"/"}:
                changes.append(Change(rel, ChangeKind.DELETED))
        return sorted(changes, key=lambda c: c.path)


def _signature(st: os.stat_result) -> tuple[int, int, int, int, int]:
    return (stat.S_IFMT(st.st_mode), st.st_mode, st.st_size, st.st_uid, st.st_mtime_ns)


def _merged_view(lowers: list[Path]) -> dict[str, tuple[int, int, int, int, int]]:
    """Path -> stat signature of the layers merged base first (whiteouts applied)."""
    merged: dict[str, tuple[int, int, int, int, int]] = {}
    for lower in lowers:
        for folder, dirs, files in os.walk(lower):
            rel_folder = "/" + os.path.relpath(folder, lower) if folder != str(lower) else ""
            if rel_folder and is_opaque(folder):
                for key in [k for k in merged if k.startswith(rel_folder + "/")]:
                    del merged[key]
            for name in dirs + files:
                rel = f"{rel_folder}/{name}"
                st = os.lstat(os.path.join(folder, name))
                if is_whiteout(st) or (rel in merged and stat.S_ISDIR(merged[rel][0]) and
                                       not stat.S_ISDIR(st.st_mode)):
                    for key in [k for k in merged if k == rel or k.startswith(rel + "/")]:
                        del merged[key]
                if not is_whiteout(st):
                    merged[rel] = _signature(st)
    return merged
