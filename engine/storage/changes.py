"""``docker diff`` for overlay: read a container's upper dir against its lower layers.

In an upper dir a char device 0/0 is a deletion (overlay's whiteout), a folder
marked ``trusted.overlay.opaque=y`` replaced the lower one; anything else was
added (not in any lower layer) or modified (it shadows a lower path). Folders
that only hold changes are reported modified, as Docker does.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from engine.storage.driver import Change, ChangeKind

OPAQUE_XATTR = "trusted.overlay.opaque"


def is_whiteout(st: os.stat_result) -> bool:
    """Whether ``st`` describes an overlay whiteout (char device 0/0)."""
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def is_opaque(path: str) -> bool:
    """Whether the folder ``path`` carries ``trusted.overlay.opaque=y``."""
    try:
        return os.getxattr(path, OPAQUE_XATTR, follow_symlinks=False) == b"y"
    except OSError:
        return False


def in_lowers(rel: str, lowers: list[Path]) -> bool:
    """Whether ``rel`` (relative, ``/``-separated) is visible in the lower stack (top first)."""
    parts = rel.split("/")
    for lower in lowers:
        hidden_below = False
        for depth in range(1, len(parts)):
            ancestor = lower.joinpath(*parts[:depth])
            try:
                st = os.lstat(ancestor)
            except FileNotFoundError:
                break
            if not stat.S_ISDIR(st.st_mode):
                return False  # a non-folder (or whiteout) hides the path below it
            if is_opaque(str(ancestor)):
                hidden_below = True
        try:
            st = os.lstat(lower.joinpath(*parts))
        except (FileNotFoundError, NotADirectoryError):
            if hidden_below:
                return False
            continue
        return not is_whiteout(st)
    return False


def overlay_changes(upper: str | os.PathLike[str], lowers: list[Path]) -> list[Change]:
    """The changes recorded in ``upper`` over ``lowers`` (uppermost first), sorted by path."""
    changes: list[Change] = []
    root = Path(upper)

    def walk(folder: Path, rel: str, parent_added: bool) -> None:
        with os.scandir(folder) as entries:
            items = sorted(entries, key=lambda e: e.name)
        for entry in items:
            child_rel = f"{rel}/{entry.name}" if rel else entry.name
            st = entry.stat(follow_symlinks=False)
            if is_whiteout(st):
                changes.append(Change("/" + child_rel, ChangeKind.DELETED))
                continue
            added = parent_added or not in_lowers(child_rel, lowers)
            changes.append(Change("/" + child_rel,
                                  ChangeKind.ADDED if added else ChangeKind.MODIFIED))
            if stat.S_ISDIR(st.st_mode):
                walk(Path(entry.path), child_rel, added)

    walk(root, "", False)
    return changes
