"""Test images made by real tools (umoci, skopeo, GNU tar, debootstrap), never by Wharf.

Builders write OCI image layouts into a cache folder (``$WHARF_TEST_CACHE``,
default ``/var/cache/wharf-tests``), each under a name that carries a hash
of its inputs (this file, the busybox binary, the tools' versions), so a
second run reuses what has not changed. :func:`push_test_images` then copies
them into a registry in the formats real registries serve.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

BUSYBOX = Path("/bin/busybox")

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
IN_TOTO = "application/vnd.in-toto+json"

ACCEPT_ALL = ", ".join([OCI_INDEX, OCI_MANIFEST,
                        "application/vnd.docker.distribution.manifest.list.v2+json",
                        DOCKER_MANIFEST])

PASSWD = """root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
app:x:1000:1000:app user:/home/app:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
"""
GROUP = """root:x:0:
daemon:x:1:
app:x:1000:
staff:x:50:app
nogroup:x:65534:
"""


@dataclass(frozen=True)
class ImageRef:
    """An image pushed into a test registry.

    Attributes:
        registry: ``127.0.0.1:PORT``.
        repository: the path in the registry, e.g. ``busybox``.
        tag: the tag it was pushed under.
        digest: the digest of what the tag points at (manifest or index).
        media_type: the media type of that manifest or index.
    """

    registry: str
    repository: str
    tag: str
    digest: str
    media_type: str

    @property
    def reference(self) -> str:
        """``127.0.0.1:PORT/repository:tag``."""
        return f"{self.registry}/{self.repository}:{self.tag}"

    @property
    def by_digest(self) -> str:
        """``127.0.0.1:PORT/repository@sha256:…``."""
        return f"{self.registry}/{self.repository}@{self.digest}"


def cache_root() -> Path:
    """Where built layouts are kept between runs."""
    root = Path(os.environ.get("WHARF_TEST_CACHE", "/var/cache/wharf-tests"))
    root.mkdir(parents=True, exist_ok=True)
    return root


def run(*args: str | os.PathLike[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    """Run a tool; raise with its output when it fails."""
    done = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, args))} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout


def _tool_versions() -> str:
    return "|".join(run(tool, "--version").strip() for tool in ("umoci", "skopeo"))


def _inputs_key(build: Callable[[Path], None], *extra: str) -> str:
    digest = hashlib.sha256()
    digest.update(inspect.getsource(build).encode())
    digest.update(inspect.getsource(_populate_busybox_rootfs).encode())
    digest.update((PASSWD + GROUP).encode())
    digest.update(_tool_versions().encode())
    if BUSYBOX.exists():
        digest.update(hashlib.sha256(BUSYBOX.read_bytes()).digest())
    for item in extra:
        digest.update(item.encode())
    return digest.hexdigest()[:16]


def cached_layout(name: str, build: Callable[[Path], None], *extra_inputs: str) -> Path:
    """The OCI layout ``name`` from the cache, building it with ``build(path)`` if needed."""
    target = cache_root() / f"{name}-{_inputs_key(build, name, *extra_inputs)}"
    if (target / "index.json").exists():
        return target
    scratch = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=cache_root()))
    try:
        build(scratch / "layout")
        if target.exists():
            shutil.rmtree(target)
        (scratch / "layout").rename(target)
        for stale in cache_root().iterdir():
            if stale != target and re.fullmatch(rf"{re.escape(name)}-[0-9a-f]{{16}}", stale.name):
                shutil.rmtree(stale, ignore_errors=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def _populate_busybox_rootfs(rootfs: Path) -> None:
    (rootfs / "bin").mkdir(parents=True, exist_ok=True)
    shutil.copy2(BUSYBOX, rootfs / "bin" / "busybox")
    applets = run(BUSYBOX, "--list").split()
    for applet in applets:
        link = rootfs / "bin" / applet
        if applet != "busybox" and not link.exists():
            link.symlink_to("busybox")
    for folder in ("etc", "root", "home/app", "proc", "sys", "dev", "usr/bin", "var/log"):
        (rootfs / folder).mkdir(parents=True, exist_ok=True)
    (rootfs / "etc" / "passwd").write_text(PASSWD)
    (rootfs / "etc" / "group").write_text(GROUP)
    os.chown(rootfs / "home" / "app", 1000, 1000)
    tmp = rootfs / "tmp"
    tmp.mkdir(exist_ok=True)
    os.chmod(tmp, 0o1777)


def build_busybox(layout: Path) -> None:
    """A one-layer busybox image: static busybox, its applets, /etc/passwd with users."""
    run("umoci", "init", "--layout", layout)
    run("umoci", "new", "--image", f"{layout}:latest")
    with tempfile.TemporaryDirectory(dir=layout.parent) as work:
        bundle = Path(work) / "bundle"
        run("umoci", "unpack", "--image", f"{layout}:latest", bundle)
        _populate_busybox_rootfs(bundle / "rootfs")
        run("umoci", "repack", "--image", f"{layout}:latest",
            "--history.created_by", "wharf tests: busybox-static rootfs", bundle)
    run("umoci", "config", "--image", f"{layout}:latest", "--config.cmd", "/bin/sh",
        "--config.env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "--config.workingdir", "/", "--config.label", "org.wharf.test=busybox",
        "--config.exposedports", "80/tcp", "--author", "wharf tests")
    # An arm64-labelled twin for the multi-platform index.
    run("umoci", "config", "--image", f"{layout}:latest", "--tag", "arm64",
        "--architecture", "arm64", "--no-history")
    run("umoci", "gc", "--layout", layout)


def build_busybox_zstd(layout: Path) -> None:
    """The busybox image with its layer recompressed as zstd (by skopeo)."""
    source = busybox_layout()
    run("skopeo", "copy", "--dest-compress", "--dest-compress-format", "zstd",
        f"oci:{source}:latest", f"oci:{layout}:latest")


def _tar_layer(staging: Path, out: Path) -> None:
    run("tar", "--numeric-owner", "--xattrs", "--sort=name", "-C", staging, "-cf", out, ".")


def build_layered(layout: Path) -> None:
    """Busybox plus two layers: hardlinks, symlinks, setuid, ownership, a fifo, a device;
    then whiteouts (a deleted file) and an opaque directory over the first."""
    shutil.copytree(busybox_layout(), layout, symlinks=True)
    image = f"{layout}:latest"
    with tempfile.TemporaryDirectory(dir=layout.parent) as work:
        one = Path(work) / "one"
        (one / "data").mkdir(parents=True)
        (one / "data" / "keep.txt").write_text("kept\n")
        (one / "data" / "gone.txt").write_text("deleted in layer three\n")
        (one / "opaque" / "sub").mkdir(parents=True)
        (one / "opaque" / "old-1").write_text("hidden by the opaque marker\n")
        (one / "opaque" / "sub" / "old-2").write_text("hidden too\n")
        (one / "etc").mkdir()
        (one / "etc" / "hard-a").write_text("one inode, two names\n")
        os.link(one / "etc" / "hard-a", one / "etc" / "hard-b")
        (one / "etc" / "abs-link").symlink_to("/etc/passwd")
        (one / "etc" / "rel-link").symlink_to("hard-a")
        (one / "usr" / "bin").mkdir(parents=True)
        suid = one / "usr" / "bin" / "suid-tool"
        suid.write_text("#!/bin/sh\nid\n")
        os.chmod(suid, 0o4755)
        owned = one / "home" / "app" / "owned.txt"
        owned.parent.mkdir(parents=True)
        owned.write_text("belongs to app\n")
        os.chown(owned, 1000, 50)
        os.chown(owned.parent, 1000, 1000)
        os.mkfifo(one / "data" / "fifo")
        (one / "devices").mkdir()
        os.mknod(one / "devices" / "null", 0o20666, os.makedev(1, 3))
        _tar_layer(one, Path(work) / "one.tar")
        run("umoci", "raw", "add-layer", "--image", image,
            "--history.created_by", "wharf tests: links, setuid, owners, fifo, device",
            Path(work) / "one.tar")

        two = Path(work) / "two"
        (two / "data").mkdir(parents=True)
        (two / "data" / ".wh.gone.txt").write_text("")
        (two / "opaque").mkdir()
        (two / "opaque" / ".wh..wh..opq").write_text("")
        (two / "opaque" / "new").write_text("only this is visible\n")
        (two / "data" / "added.txt").write_text("added in layer three\n")
        _tar_layer(two, Path(work) / "two.tar")
        run("umoci", "raw", "add-layer", "--image", image,
            "--history.created_by", "wharf tests: a whiteout and an opaque directory",
            Path(work) / "two.tar")
    run("umoci", "config", "--image", image, "--config.cmd", "/bin/sh",
        "--config.label", "org.wharf.test=layered", "--no-history")
    run("umoci", "gc", "--layout", layout)


def build_big(layout: Path) -> None:
    """Busybox plus one 48 MB layer of seeded random bytes (does not compress):
    big enough to stop a registry, or kill an engine, in the middle of it."""
    import random  # noqa: PLC0415

    shutil.copytree(busybox_layout(), layout, symlinks=True)
    rng = random.Random(4242)
    with tempfile.TemporaryDirectory(dir=layout.parent) as work:
        staging = Path(work) / "big"
        (staging / "srv").mkdir(parents=True)
        for index in range(3):
            (staging / "srv" / f"part-{index}.bin").write_bytes(rng.randbytes(16 << 20))
        _tar_layer(staging, Path(work) / "big.tar")
        run("umoci", "raw", "add-layer", "--image", f"{layout}:latest",
            "--history.created_by", "wharf tests: 48 MB of random bytes", Path(work) / "big.tar")
    run("umoci", "gc", "--layout", layout)


def big_layout() -> Path:
    """The cached busybox + 48 MB layout."""
    return cached_layout("big", build_big)


def debian_mirror() -> str:
    """The Debian mirror the machine's apt sources name (debootstrap's source)."""
    sources = Path("/etc/apt/sources.list.d/debian.sources")
    if sources.exists():
        match = re.search(r"^URIs:\s*(\S+)", sources.read_text(), re.MULTILINE)
        if match:
            return match.group(1)
    legacy = Path("/etc/apt/sources.list")
    if legacy.exists():
        match = re.search(r"^deb\s+(\S+)\s+bookworm", legacy.read_text(), re.MULTILINE)
        if match:
            return match.group(1)
    return "http://deb.debian.org/debian"


def build_debian(layout: Path) -> None:
    """A Debian bookworm (minbase) image from debootstrap: libc, bash, apt, real users."""
    with tempfile.TemporaryDirectory(dir=layout.parent) as work:
        rootfs = Path(work) / "rootfs"
        run("debootstrap", "--variant=minbase", "bookworm", rootfs, debian_mirror())
        shutil.rmtree(rootfs / "var" / "cache" / "apt" / "archives", ignore_errors=True)
        (rootfs / "var" / "cache" / "apt" / "archives" / "partial").mkdir(parents=True)
        run("umoci", "init", "--layout", layout)
        run("umoci", "new", "--image", f"{layout}:latest")
        _tar_layer(rootfs, Path(work) / "rootfs.tar")
        run("umoci", "raw", "add-layer", "--image", f"{layout}:latest",
            "--history.created_by", "debootstrap --variant=minbase bookworm",
            Path(work) / "rootfs.tar")
    run("umoci", "config", "--image", f"{layout}:latest", "--config.cmd", "/bin/bash",
        "--config.env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "--config.label", "org.wharf.test=debian", "--no-history")
    run("umoci", "gc", "--layout", layout)


def busybox_layout() -> Path:
    """The cached busybox OCI layout (tags ``latest`` and ``arm64``)."""
    return cached_layout("busybox", build_busybox)


def busybox_zstd_layout() -> Path:
    """The cached busybox layout with a zstd layer."""
    return cached_layout("busybox-zstd", build_busybox_zstd)


def layered_layout() -> Path:
    """The cached multi-layer layout with whiteouts and special files."""
    return cached_layout("layered", build_layered)


def debian_layout() -> Path:
    """The cached Debian layout (built by debootstrap on first use: about a minute)."""
    return cached_layout("debian", build_debian, debian_mirror())


def skopeo_push(layout: Path, tag: str, registry: str, repository: str, target_tag: str, *,
                docker_v2s2: bool = False, creds: tuple[str, str] | None = None) -> None:
    """Copy ``layout:tag`` into ``registry/repository:target_tag`` with skopeo."""
    args = ["skopeo", "copy", "--quiet", "--dest-tls-verify=false"]
    if docker_v2s2:
        args += ["--format", "v2s2"]
    if creds:
        args += ["--dest-creds", f"{creds[0]}:{creds[1]}"]
    run(*args, f"oci:{layout}:{tag}", f"docker://{registry}/{repository}:{target_tag}")


def manifest_digest(registry: str, repository: str, reference: str,
                    auth: tuple[str, str] | None = None) -> tuple[str, str]:
    """``(digest, media type)`` of what ``reference`` points at, as the registry reports it."""
    answer = httpx.get(f"http://{registry}/v2/{repository}/manifests/{reference}",
                       headers={"Accept": ACCEPT_ALL}, auth=auth, timeout=30)
    answer.raise_for_status()
    digest = "sha256:" + hashlib.sha256(answer.content).hexdigest()
    media_type = json.loads(answer.content).get("mediaType") or answer.headers["Content-Type"]
    return digest, media_type


def _put_blob(client: httpx.Client, repository: str, data: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    start = client.post(f"/v2/{repository}/blobs/uploads/")
    start.raise_for_status()
    location = httpx.URL(start.headers["Location"]).copy_merge_params({"digest": digest})
    done = client.put(location, content=data, headers={"Content-Type": "application/octet-stream"})
    done.raise_for_status()
    return digest


def _put_manifest(client: httpx.Client, repository: str, reference: str, body: dict[str, object]) -> str:
    raw = json.dumps(body, indent=2).encode()
    answer = client.put(f"/v2/{repository}/manifests/{reference}", content=raw,
                        headers={"Content-Type": str(body["mediaType"])})
    answer.raise_for_status()
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def push_multiarch(registry: str, repository: str = "multiarch", tag: str = "latest") -> ImageRef:
    """An OCI index with linux/amd64, linux/arm64 and an ``unknown/unknown`` attestation,
    PUT as raw JSON after skopeo pushed the two images."""
    layout = busybox_layout()
    skopeo_push(layout, "latest", registry, repository, "amd64")
    skopeo_push(layout, "arm64", registry, repository, "arm64")
    children = {}
    with httpx.Client(base_url=f"http://{registry}", timeout=30) as client:
        for arch in ("amd64", "arm64"):
            digest, media_type = manifest_digest(registry, repository, arch)
            size = len(client.get(f"/v2/{repository}/manifests/{digest}",
                                  headers={"Accept": media_type}).content)
            children[arch] = {"mediaType": media_type, "digest": digest, "size": size,
                              "platform": {"architecture": arch, "os": "linux"}}
        statement = json.dumps({"_type": "https://in-toto.io/Statement/v0.1",
                                "predicateType": "https://spdx.dev/Document",
                                "subject": [{"digest": {"sha256": children["amd64"]["digest"][7:]}}],
                                "predicate": {}}).encode()
        config = json.dumps({"architecture": "unknown", "os": "unknown",
                             "config": {}, "rootfs": {"type": "layers", "diff_ids": [
                                 "sha256:" + hashlib.sha256(statement).hexdigest()]}}).encode()
        attestation = {
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": _put_blob(client, repository, config),
                       "size": len(config)},
            "layers": [{"mediaType": IN_TOTO, "digest": _put_blob(client, repository, statement),
                        "size": len(statement),
                        "annotations": {"in-toto.io/predicate-type": "https://spdx.dev/Document"}}],
        }
        raw = json.dumps(attestation, indent=2).encode()
        attestation_digest = _put_manifest(client, repository, "sha256:" + hashlib.sha256(raw).hexdigest(),
                                           attestation)
        index = {
            "schemaVersion": 2, "mediaType": OCI_INDEX,
            "manifests": [
                children["amd64"], children["arm64"],
                {"mediaType": OCI_MANIFEST, "digest": attestation_digest, "size": len(raw),
                 "platform": {"architecture": "unknown", "os": "unknown"},
                 "annotations": {"vnd.docker.reference.type": "attestation-manifest",
                                 "vnd.docker.reference.digest": children["amd64"]["digest"]}},
            ],
        }
        digest = _put_manifest(client, repository, tag, index)
    return ImageRef(registry, repository, tag, digest, OCI_INDEX)


def push_layout(layout: Path, registry: str, repository: str, tag: str, *,
                docker_v2s2: bool = False, creds: tuple[str, str] | None = None) -> ImageRef:
    """Push ``layout:latest`` and describe what landed."""
    skopeo_push(layout, "latest", registry, repository, tag, docker_v2s2=docker_v2s2, creds=creds)
    digest, media_type = manifest_digest(registry, repository, tag, auth=creds)
    return ImageRef(registry, repository, tag, digest, media_type)


@dataclass(frozen=True)
class TestImages:
    """The standard test images, pushed into one registry."""

    __test__ = False  # not a pytest test class

    busybox_oci: ImageRef
    """OCI manifest, one gzip layer."""
    busybox_v2s2: ImageRef
    """Docker schema2 manifest, one gzip layer."""
    busybox_zstd: ImageRef
    """OCI manifest, one zstd layer (in a repository with no gzip copy)."""
    multiarch: ImageRef
    """OCI index: linux/amd64, linux/arm64, and an unknown/unknown attestation."""
    layered: ImageRef
    """Three layers: special files, then a whiteout and an opaque directory."""


def push_test_images(registry: str) -> TestImages:
    """Push every standard test image (not Debian) into ``registry``."""
    return TestImages(
        busybox_oci=push_layout(busybox_layout(), registry, "busybox", "latest"),
        busybox_v2s2=push_layout(busybox_layout(), registry, "busybox-v2s2", "latest", docker_v2s2=True),
        busybox_zstd=push_layout(busybox_zstd_layout(), registry, "busybox-zstd", "latest"),
        multiarch=push_multiarch(registry),
        layered=push_layout(layered_layout(), registry, "layered", "latest"),
    )
