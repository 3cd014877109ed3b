"""The overlay graph driver: image layers as overlayfs lower dirs, one upper per container.

``lowerdir`` lists the layers **uppermost first, base last**, by their short
``l/<short-id>`` links. The mount goes through the new mount API with one
``lowerdir+`` per layer when the kernel has it (no option-page limit at all);
otherwise through ``mount(8)`` run with the state root as its working
directory, so the options use relative ``l/…`` paths and 128 layers fit in a
page (moby's overlay2 trick, done in a child process since ``chdir`` is
process-wide). ``index=off`` is set when the module has that parameter.
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
import subprocess
from pathlib import Path

from engine.errors import StorageError
from engine.images.layers import LayerStore
from engine.jobs import Component, Job
from engine.storage import mountapi
from engine.storage.changes import overlay_changes
from engine.storage.driver import Change, GraphDriver, MountInfo

MAX_LAYERS = 128
"""As overlay2: deeper stacks are refused."""

_INDEX_PARAM = "/sys/module/overlay/parameters/index"


def _page_size() -> int:
    return os.sysconf("SC_PAGESIZE")


class OverlayDriver(GraphDriver):
    """Mounts layer stacks with overlayfs.

    Args:
        layers: the layer store (its state root holds ``l/``).
        use_new_api: try ``fsconfig`` with ``lowerdir+`` first (default); ``False``
            forces the ``mount(2)`` path with relative options.
    """

    name = "overlay2"

    def __init__(self, layers: LayerStore, use_new_api: bool = True) -> None:
        super().__init__(layers)
        self.root = layers.root.path
        self.use_new_api = use_new_api and mountapi.new_api_available()
        self.index_off = os.path.exists(_INDEX_PARAM)

    def _links(self, chain_ids: list[str]) -> list[str]:
        if len(chain_ids) > MAX_LAYERS:
            raise StorageError(f"an image with {len(chain_ids)} layers is deeper than "
                               f"overlay's limit of {MAX_LAYERS}")
        links = []
        for cid in reversed(chain_ids):  # uppermost first
            links.append(self.layers.link_path(self.layers.get(cid)))
        return links

    def _relative(self, path: str) -> str:
        absolute = os.path.abspath(path)
        rel = os.path.relpath(absolute, self.root)
        return absolute if rel.startswith("..") else rel

    def mount(self, container_id: str, chain_ids: list[str], upper: str, work: str,
              target: str, *, job: Job | None = None) -> MountInfo:
        links = self._links(chain_ids)
        if not links:
            links = [self._empty_lower()]
        extra = [("index", "off")] if self.index_off else []
        info = None
        if self.use_new_api:
            options = ([("lowerdir+", str(self.root / link)) for link in links]
                       + [("upperdir", os.path.abspath(upper)),
                          ("workdir", os.path.abspath(work))] + extra)
            try:
                mountapi.fs_mount("overlay", options, os.path.abspath(target), source="overlay")
                info = MountInfo("overlay", os.path.abspath(target), links,
                                 os.path.abspath(upper), os.path.abspath(work),
                                 _option_string(links, upper, work, self.index_off),
                                 "fsconfig")
            except OSError as exc:
                if exc.errno not in (errno.ENOSYS, errno.EINVAL):
                    raise StorageError(f"overlay mount on {target} failed: {exc}") from exc
                # no new API, or no lowerdir+ (kernel < 6.8): mount(2) below decides
                self.use_new_api = exc.errno != errno.ENOSYS
        if info is None:
            info = self._mount_legacy(links, upper, work, target)
        if job is not None:
            job.step("overlay mount", Component.GRAPH_DRIVER, subject=container_id,
                     lowerdir=":".join(info.lowerdir), upperdir=info.upperdir,
                     workdir=info.workdir, target=info.target, layers=len(chain_ids),
                     method=info.method, options=info.options)
        return info

    def _mount_legacy(self, links: list[str], upper: str, work: str, target: str) -> MountInfo:
        data = _option_string(links, self._relative(upper), self._relative(work),
                              self.index_off)
        if len(data) > _page_size() - 1:
            raise StorageError(f"overlay options for {len(links)} layers are "
                               f"{len(data)} bytes, over the page size")
        result = subprocess.run(["mount", "-t", "overlay", "overlay", "-o", data,
                                 os.path.abspath(target)], cwd=self.root,
                                capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise StorageError(f"overlay mount on {target} failed: "
                               f"{result.stderr.strip() or result.returncode} "
                               f"(options {data[:200]}…)")
        return MountInfo("overlay", os.path.abspath(target), links, os.path.abspath(upper),
                         os.path.abspath(work), data, "mount(2)")

    def _empty_lower(self) -> str:
        empty = self.root / "l" / "empty"
        empty.mkdir(exist_ok=True)
        return "l/empty"

    def unmount(self, target: str) -> None:
        unmount(target)

    def metadata(self, info: MountInfo) -> dict[str, str]:
        """``GraphDriver.Data`` with absolute paths (the ``l/`` links resolved)."""
        lowers = [os.path.realpath(self.root / link) for link in info.lowerdir]
        return {"LowerDir": ":".join(lowers), "UpperDir": info.upperdir,
                "WorkDir": info.workdir, "MergedDir": info.target}

    def diff(self, upper: str, chain_ids: list[str]) -> list[Change]:
        lowers = [self.layers.get(cid).diff for cid in reversed(chain_ids)]
        return overlay_changes(upper, lowers)


def unmount(target: str) -> None:
    """Unmount ``target``; lazily (MNT_DETACH) when busy; nothing mounted is fine.

    Raises:
        StorageError: the kernel refused for another reason.
    """
    try:
        mountapi.umount(os.path.abspath(target))
    except OSError as exc:
        if exc.errno == errno.EINVAL and not mountapi.is_mountpoint(target):
            return
        if exc.errno == errno.ENOENT:
            return
        if exc.errno == errno.EBUSY:
            try:
                mountapi.umount(os.path.abspath(target), detach=True)
                return
            except OSError as again:
                exc = again
        raise StorageError(f"cannot unmount {target}: {exc}") from exc


def _option_string(links: list[str], upper: str, work: str, index_off: bool) -> str:
    options = f"lowerdir={':'.join(links)},upperdir={upper},workdir={work}"
    return options + (",index=off" if index_off else "")


def overlay_works(root: str | os.PathLike[str]) -> tuple[bool, str]:
    """Whether overlay mounts work with upper and work dirs on ``root``'s filesystem.

    Tries a real mount in a scratch folder under ``root`` (overlay on overlay,
    or a filesystem without d_type, fails here).

    Returns:
        ``(True, "")`` or ``(False, reason)``.
    """
    root = Path(root)
    try:
        if mountapi.fs_magic(str(root)) == mountapi.OVERLAYFS_SUPER_MAGIC:
            return False, f"{root} is itself on overlayfs"
    except OSError:
        pass
    scratch = root / f".overlay-check-{secrets.token_hex(4)}"
    try:
        for name in ("lower", "upper", "work", "merged"):
            (scratch / name).mkdir(parents=True)
        (scratch / "lower" / "probe").write_text("lower")
        options = [("lowerdir", str(scratch / "lower")), ("upperdir", str(scratch / "upper")),
                   ("workdir", str(scratch / "work"))]
        merged = str(scratch / "merged")
        try:
            if mountapi.new_api_available():
                mountapi.fs_mount("overlay", options, merged, source="overlay")
            else:
                data = ",".join(f"{k}={v}" for k, v in options)
                subprocess.run(["mount", "-t", "overlay", "overlay", "-o", data, merged],
                               check=True, capture_output=True)
        except (OSError, subprocess.CalledProcessError) as exc:
            return False, f"overlay mount failed on {root}: {exc}"
        try:
            ok = (scratch / "merged" / "probe").read_text() == "lower"
        finally:
            unmount(merged)
        return (ok, "" if ok else "overlay mount showed the wrong content")
    except OSError as exc:
        return False, f"cannot probe overlay on {root}: {exc}"
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
