"""Push end to end against the real registry, read back by skopeo (a tool nobody here wrote).

Pull → change files in a real overlay → commit → push → a fresh state root
pulls it → the changes, deletions included, are there in a real overlay mount.
Layers the repository has are skipped, layers another repository has are
mounted, layers whose blob is gone are compressed again from the unpacked files.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from harness.images import TestImages
from harness.registry import Registry
from pull.engine_parts import Engine
from push.conftest import overlay, readonly_overlay
from registry.registry_helpers.proxy import TamperProxy

from engine.errors import InvalidArgument
from engine.images.commit import commit_image
from engine.images.push import Pusher, PushResult
from engine.jobs import Event, Job


def _pull(engine: Engine, reference: str, platform: str | None = None) -> str:
    with Job(engine.bus, "pull", reference) as job:
        return engine.puller.pull(reference, job, platform=platform).image_id


def _push(engine: Engine, reference: str, **options: object) -> tuple[PushResult, list[Event]]:
    events: list[Event] = []
    remove = engine.bus.listen(events.append)
    try:
        with Job(engine.bus, "push", reference) as job:
            result = Pusher(engine.registry, engine.content, engine.images).push(reference, job, **options)
    finally:
        remove()
    return result, events


def _statuses(events: list[Event]) -> list[str]:
    return [e.action for e in events if e.kind == "progress"]


def _skopeo(*args: str) -> str:
    return subprocess.run(["skopeo", *args], capture_output=True, text=True, check=True).stdout


def _copy_verifies(reference: str, target: Path, *creds: str) -> None:
    """``skopeo copy`` to an OCI layout checks every blob's digest on the way."""
    _skopeo("copy", "--quiet", "--src-tls-verify=false", *creds, f"docker://{reference}", f"oci:{target}:x")


def test_commit_push_fresh_pull_keeps_changes_and_deletions(tmp_path: Path, make_state,
                                                           test_images: TestImages, registry: Registry) -> None:
    """The whole loop, with adds, edits, deletions (files, symlink, folder) and an opaque folder."""
    engine: Engine = make_state("a")
    base = _pull(engine, test_images.layered.reference)
    record = engine.images.get(base)
    lowers = [engine.layers.get(cid).diff for cid in reversed(record.chain_ids)]
    upper = tmp_path / "c" / "upper"
    with overlay(lowers, upper, tmp_path / "c" / "work", tmp_path / "c" / "merged") as merged:
        (merged / "added.txt").write_text("new file\n")
        os.chown(merged / "added.txt", 1000, 50)
        with open(merged / "etc" / "passwd", "a") as passwd:
            passwd.write("pushed:x:4242:4242::/:/bin/sh\n")
        (merged / "data" / "keep.txt").unlink()
        (merged / "bin" / "vi").unlink()
        subprocess.run(["rm", "-rf", str(merged / "opaque")], check=True)
        subprocess.run(["rm", "-rf", str(merged / "home" / "app")], check=True)
        (merged / "home" / "app").mkdir()
        (merged / "home" / "app" / "fresh.txt").write_text("only me\n")
    assert os.getxattr(upper / "home" / "app", "trusted.overlay.opaque") == b"y"
    image_id = commit_image(engine.images, engine.content, engine.layers, base, upper,
                            reference=f"{registry.host}/committed/layered:v1", comment="loop")
    result, events = _push(engine, f"{registry.host}/committed/layered:v1")
    statuses = _statuses(events)
    assert "Pushed" in statuses and "Preparing" in statuses
    assert any(s.startswith("Mounted from layered") for s in statuses)  # the base layers
    assert statuses[-1] == result.status_line == f"v1: digest: {result.digest} size: {result.size}"
    assert result.digest == engine.images.get(image_id).manifest_digest  # pushed as committed

    inspected = json.loads(_skopeo("inspect", "--tls-verify=false",
                                   f"docker://{registry.host}/committed/layered:v1"))
    assert inspected["Digest"] == result.digest and len(inspected["Layers"]) == 4
    _copy_verifies(f"{registry.host}/committed/layered:v1", tmp_path / "oci")

    fresh: Engine = make_state("b")
    pulled = _pull(fresh, f"{registry.host}/committed/layered:v1")
    assert pulled == image_id
    stack = [fresh.layers.get(cid).diff for cid in reversed(fresh.images.get(pulled).chain_ids)]
    with readonly_overlay(stack, tmp_path / "check") as root:
        assert (root / "added.txt").read_text() == "new file\n"
        assert (os.stat(root / "added.txt").st_uid, os.stat(root / "added.txt").st_gid) == (1000, 50)
        assert "pushed:x:4242" in (root / "etc" / "passwd").read_text()
        assert not (root / "data" / "keep.txt").exists()
        assert not os.path.lexists(root / "bin" / "vi")
        assert not (root / "opaque").exists()
        assert sorted(os.listdir(root / "home" / "app")) == ["fresh.txt"]  # owned.txt stays hidden
        assert (root / "data" / "added.txt").exists()  # the base's own content is still there
        assert os.path.realpath(root / "bin" / "sh").endswith("busybox")


def test_existing_layers_are_skipped_and_other_repositories_mounted(make_state, registry: Registry,
                                                                  test_images: TestImages) -> None:
    """Through a recording proxy: a mount POST with from=, no layer upload; then HEADs only."""
    proxy = TamperProxy(registry.url)
    try:
        engine: Engine = make_state()
        _pull(engine, f"{proxy.host}/busybox:latest")
        engine.images.tag(f"{proxy.host}/busybox:latest", f"{proxy.host}/second/busybox:v1")
        result, events = _push(engine, f"{proxy.host}/second/busybox:v1")
        assert "Mounted from busybox" in _statuses(events)
        assert result.mounted == 1 and result.pushed == 0
        assert [e for e in events if e.action == "blob mounted"]
        mounts = proxy.requests("POST", r"/v2/second/busybox/blobs/uploads/\?.*mount=sha256")
        assert mounts and "from=busybox" in mounts[0].path
        assert not proxy.requests("PATCH")
        again, events = _push(engine, f"{proxy.host}/second/busybox:v1")
        assert "Layer already exists" in _statuses(events)
        assert again.digest == result.digest == test_images.busybox_oci.digest
    finally:
        proxy.stop()


def test_a_committed_layer_whose_blob_is_gone_is_recreated_identically(tmp_path: Path, make_state,
                                                                       registry: Registry,
                                                                       test_images: TestImages) -> None:
    """Wharf writes its own layers reproducibly: from the unpacked files, the same gzip blob again."""
    engine: Engine = make_state()
    base = _pull(engine, test_images.busybox_oci.reference)
    upper = tmp_path / "upper"
    (upper / "srv").mkdir(parents=True)
    (upper / "srv" / "data.bin").write_bytes(os.urandom(200_000))
    image_id = commit_image(engine.images, engine.content, engine.layers, base, upper,
                            reference=f"{registry.host}/regen/commit:v1")
    record = engine.images.get(image_id)
    assert engine.content.delete(record.layers[-1].digest)
    result, events = _push(engine, f"{registry.host}/regen/commit:v1")
    assert [e for e in events if e.action == "layer re-created" and e.detail["same_diff_id"]]
    assert result.digest == record.manifest_digest and not result.rewritten
    _copy_verifies(f"{registry.host}/regen/commit:v1", tmp_path / "oci")


def test_multi_platform_pushes_the_pulled_platform_unless_all_are_here(tmp_path: Path, make_state,
                                                                       registry: Registry,
                                                                       test_images: TestImages) -> None:
    """podman's --all-platforms: the index only when every platform's content is present."""
    engine: Engine = make_state()
    _pull(engine, test_images.multiarch.reference, platform="linux/amd64")
    target = f"{registry.host}/multi/copy:v1"
    engine.images.tag(test_images.multiarch.reference, target)
    result, events = _push(engine, target)
    assert any(s.startswith("Pushing only linux/amd64") for s in _statuses(events))
    assert json.loads(_skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{target}"))["layers"]
    with pytest.raises(InvalidArgument, match="linux/arm64"):
        _push(engine, target, all_platforms=True)
    _pull(engine, test_images.multiarch.reference, platform="linux/arm64")
    engine.images.tag(test_images.multiarch.reference, target)
    result, events = _push(engine, target, all_platforms=True)
    index = json.loads(_skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{target}"))
    assert sorted(m["platform"]["architecture"] for m in index["manifests"]) == ["amd64", "arm64"]
    assert sorted(result.platforms) == ["linux/amd64", "linux/arm64"]
    assert any("attestation" in s for s in _statuses(events))
    _skopeo("copy", "--quiet", "--all", "--src-tls-verify=false", f"docker://{target}", f"oci:{tmp_path / 'all'}:x")
