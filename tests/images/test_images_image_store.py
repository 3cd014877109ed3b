"""Image records: references, typed inspect and history, tag, remove, prune, import."""

from __future__ import annotations

import gzip
import io
import json
import tarfile

import pytest
from images.layer_tars import Member, make_tar, sha256

from engine.errors import ImageNotFound, InUse
from engine.images.importer import import_tarball
from engine.images.layers import chain_ids
from engine.images.records import LayerDescriptor, parse_created
from engine.images.store import ImageStore
from engine.model import ImageConfig, ImageDeleteItem

LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"


def make_image(stores, layer_members: list[list[Member]], reference: str | None = None,
               *, cmd: str = "sh", history: list[dict] | None = None):
    """Store layers, config and manifest as a pull would, then record the image."""
    diff_ids, descriptors, parent = [], [], None
    for members in layer_members:
        tar = make_tar(members)
        blob = gzip.compress(tar)
        digest = stores.content.put(blob)
        layer = stores.layers.apply(parent, sha256(tar), stores.content.open(digest))
        parent = layer.chain_id
        diff_ids.append(sha256(tar))
        descriptors.append(LayerDescriptor(digest, LAYER_TYPE, len(blob), sha256(tar)))
    config = {"architecture": "amd64", "os": "linux", "author": "tests",
              "created": "2024-05-06T07:08:09.123456789Z",
              "config": {"Cmd": [cmd], "Env": ["PATH=/bin"], "Labels": {"a": "b"}},
              "rootfs": {"type": "layers", "diff_ids": diff_ids},
              "history": history or [{"created": "2024-05-06T07:08:09Z",
                                      "created_by": f"layer {i}"} for i in range(len(diff_ids))]}
    config_digest = stores.content.put(json.dumps(config).encode())
    manifest = json.dumps({"schemaVersion": 2, "layers": [d.digest for d in descriptors]})
    manifest_digest = stores.content.put(manifest.encode())
    return stores.images.add(config_digest, manifest_digest=manifest_digest,
                             manifest_media_type="application/vnd.oci.image.manifest.v1+json",
                             layers=descriptors, reference=reference)


BASE = [Member("bin/", tarfile.DIRTYPE, mode=0o755), Member("bin/sh", data=b"#!sh" * 100)]
APP = [Member("app", data=b"application")]


def test_add_and_resolve_every_way(stores) -> None:
    record = make_image(stores, [BASE, APP], "127.0.0.1:5000/busybox:latest")
    assert record.tags == ["127.0.0.1:5000/busybox:latest"]
    assert record.repo_digests == [f"127.0.0.1:5000/busybox@{record.manifest_digest}"]
    assert record.chain_ids == chain_ids(record.diff_ids)
    hex_id = record.id.removeprefix("sha256:")
    for name in ("127.0.0.1:5000/busybox:latest", "127.0.0.1:5000/busybox", record.id,
                 hex_id, hex_id[:12], "sha256:" + hex_id[:8],
                 f"127.0.0.1:5000/busybox@{record.manifest_digest}"):
        assert stores.images.resolve(name).id == record.id, name
    for missing in ("busybox", "127.0.0.1:5000/busybox:other", "deadbeef", "NOT VALID"):
        with pytest.raises(ImageNotFound, match="No such image"):
            stores.images.resolve(missing)


def test_hub_references_are_normalised(stores) -> None:
    record = make_image(stores, [BASE], "busybox")
    assert record.tags == ["docker.io/library/busybox:latest"]
    assert stores.images.resolve("docker.io/library/busybox:latest").id == record.id
    assert stores.images.info("busybox").repo_tags == ["busybox:latest"]


def test_inspect_as_typed_info(stores) -> None:
    record = make_image(stores, [BASE, APP], "127.0.0.1:5000/app:v1")
    info = stores.images.info("127.0.0.1:5000/app:v1")
    assert info.id == record.id
    assert info.repo_tags == ["127.0.0.1:5000/app:v1"]
    assert info.repo_digests == [f"127.0.0.1:5000/app@{record.manifest_digest}"]
    assert info.created == 1714979289  # 2024-05-06T07:08:09.123456789Z, whole seconds
    assert info.config.cmd == ["sh"] and info.author == "tests"
    assert info.config.env == ["PATH=/bin"] and info.config.labels == {"a": "b"}
    assert (info.architecture, info.os) == ("amd64", "linux")
    assert info.diff_ids == record.diff_ids and info.manifest_digest == record.manifest_digest
    assert info.size == len(b"#!sh" * 100) + len(b"application")
    assert info.graph_driver == "overlay2"
    top, base = (stores.layers.get(cid) for cid in reversed(record.chain_ids))
    assert info.graph_data == stores.images.graph_data(record.id) == {
        "UpperDir": str(top.diff), "MergedDir": str(top.path / "merged"),
        "WorkDir": str(top.path / "work"), "LowerDir": str(base.diff)}
    assert info.graph_data["UpperDir"].endswith("/diff")
    summary = stores.images.summaries()[0]
    assert summary.id == record.id and summary.containers == -1 and summary.graph_data == {}
    assert summary.created == parse_created("2024-05-06T07:08:09Z")
    assert summary.config.labels == {"a": "b"}
    assert stores.images.summaries(lambda image_id: 3)[0].containers == 3


def test_history_with_empty_layers(stores) -> None:
    history = [{"created": "2024-01-01T00:00:00Z", "created_by": "ADD rootfs"},
               {"created": "2024-01-02T00:00:00Z", "created_by": "ENV X=1", "empty_layer": True},
               {"created": "2024-01-03T00:00:00Z", "created_by": "COPY app", "comment": "c"}]
    record = make_image(stores, [BASE, APP], "127.0.0.1:5000/h:1", history=history)
    entries = stores.images.history("127.0.0.1:5000/h:1")
    assert [e.created_by for e in entries] == ["COPY app", "ENV X=1", "ADD rootfs"]
    assert entries[0].id == record.id and entries[0].tags == ["127.0.0.1:5000/h:1"]
    assert [(e.id, e.tags) for e in entries[1:]] == [("", []), ("", [])]  # Docker's <missing>
    assert [e.size for e in entries] == [11, 0, 400]
    assert [e.empty_layer for e in entries] == [False, True, False]
    assert entries[0].comment == "c" and entries[2].created == 1704067200


def test_tag_moves_and_untag(stores) -> None:
    old = make_image(stores, [BASE], "127.0.0.1:5000/x:latest")
    new = make_image(stores, [BASE, APP], "127.0.0.1:5000/x:latest")
    assert stores.images.resolve("127.0.0.1:5000/x").id == new.id
    assert stores.images.resolve(old.id).dangling
    stores.images.tag(new.id, "other/name:t")
    assert stores.images.resolve("docker.io/other/name:t").id == new.id
    stores.images.untag("other/name:t")
    with pytest.raises(ImageNotFound):
        stores.images.resolve("other/name:t")
    assert [r.id for r in stores.images.list(dangling=True)] == [old.id]


def test_records_survive_a_restart(stores) -> None:
    record = make_image(stores, [BASE], "127.0.0.1:5000/persist:1")
    again = ImageStore(stores.root, stores.content, stores.layers)
    assert again.resolve("127.0.0.1:5000/persist:1").to_json() == record.to_json()


def test_remove_semantics(stores) -> None:
    record = make_image(stores, [BASE, APP], "127.0.0.1:5000/r:1")
    stores.images.tag(record.id, "127.0.0.1:5000/r:2")
    stores.images.tag(record.id, "127.0.0.1:5000/other:1")
    # by tag while others remain: only untagged
    assert stores.images.remove("127.0.0.1:5000/r:2") == [ImageDeleteItem(untagged="127.0.0.1:5000/r:2")]
    # by ID with several repositories: must force
    with pytest.raises(InUse, match="multiple repositories"):
        stores.images.remove(record.id)
    # used by a container: must force; forced, the image stays for the container
    with pytest.raises(InUse):
        stores.images.remove("127.0.0.1:5000/r:1", in_use=lambda image_id: True)
    stores.images.remove("127.0.0.1:5000/other:1")
    response = stores.images.remove("127.0.0.1:5000/r:1")
    assert ImageDeleteItem(untagged="127.0.0.1:5000/r:1") in response
    assert ImageDeleteItem(deleted=record.id) in response
    # the layers that went with it follow the image
    assert response[-3] == ImageDeleteItem(deleted=record.id)
    assert sorted(item.deleted for item in response[-2:]) == sorted(record.chain_ids)
    assert stores.images.list() == [] and stores.layers.list() == []
    assert list(stores.content.iter()) == []


def test_shared_layers_stay_until_the_last_image_goes(stores) -> None:
    one = make_image(stores, [BASE, APP], "127.0.0.1:5000/one:1")
    two = make_image(stores, [BASE], "127.0.0.1:5000/two:1")
    usage = {entry.id: entry for entry in stores.images.disk_usage()}
    assert usage[one.id].shared_size == 400 and usage[two.id].shared_size == 400
    assert usage[one.id].size == 411 and usage[one.id].containers == 0
    assert stores.images.layer_refcounts()[two.chain_ids[0]] == 2
    stores.images.remove("127.0.0.1:5000/one:1")
    assert stores.layers.has(two.chain_ids[0]) and not stores.layers.has(one.chain_ids[1])
    assert len(stores.layers.list()) == 1


def test_prune_dangling_and_forced_in_use(stores) -> None:
    keep = make_image(stores, [BASE], "127.0.0.1:5000/p:1")
    dangling = make_image(stores, [BASE, APP], "127.0.0.1:5000/p:1")  # steals the tag
    assert stores.images.resolve(keep.id).dangling
    result = stores.images.prune(in_use=lambda image_id: False)
    assert result.deleted == [keep.id] and result.untagged == []  # its only layer is shared
    assert result.space_reclaimed == 0
    assert stores.images.list() == [stores.images.resolve(dangling.id)]
    # forced removal of an image a container uses keeps it (dangling) for the container
    stores.images.remove("127.0.0.1:5000/p:1", force=True, in_use=lambda image_id: True)
    assert stores.images.resolve(dangling.id).dangling
    nothing = stores.images.prune(in_use=lambda image_id: True)
    assert (nothing.deleted, nothing.untagged, nothing.space_reclaimed) == ([], [], 0)


def test_hold_protects_a_pull_in_progress(stores) -> None:
    tar = make_tar(APP)
    layer = stores.layers.apply(None, sha256(tar), io.BytesIO(tar))
    blob = stores.content.put(b"blob of the pull")
    with stores.images.hold({layer.chain_id, blob}):
        stores.images.collect_garbage()
        assert stores.layers.has(layer.chain_id) and stores.content.has(blob)
    stores.images.collect_garbage()
    assert not stores.layers.has(layer.chain_id) and not stores.content.has(blob)


def test_import_rootfs_tarball(stores) -> None:
    tar = make_tar(BASE + [Member("etc/hostname", data=b"imported\n")])
    record = import_tarball(stores.images, io.BytesIO(gzip.compress(tar)),
                            reference="imported:v1", message="from a test",
                            config={"Cmd": ["/bin/sh"]})
    assert record.diff_ids == [sha256(tar)] and record.tags == ["docker.io/library/imported:v1"]
    info = stores.images.info("imported:v1")
    assert info.config == ImageConfig(cmd=["/bin/sh"]) and info.os == "linux"
    assert stores.images.history("imported:v1")[0].comment == "from a test"
    layer = stores.layers.get(record.chain_ids[0])
    assert (layer.diff / "etc/hostname").read_bytes() == b"imported\n"
    assert record.layers[0].media_type == LAYER_TYPE
    assert stores.content.has(record.layers[0].digest)
    manifest = json.loads(stores.content.read(record.manifest_digest))
    assert manifest["config"]["digest"] == record.id


def test_concurrent_adds_are_consistent_after_restart(stores) -> None:
    """Threads tagging images at once: every tag lands, and a reloaded store agrees."""
    import threading

    base = make_image(stores, [BASE])
    errors: list[BaseException] = []

    def tagger(index: int) -> None:
        try:
            for round_ in range(5):
                stores.images.tag(base.id, f"127.0.0.1:5000/t{index}:r{round_}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=tagger, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    again = ImageStore(stores.root, stores.content, stores.layers)
    assert len(again.resolve(base.id).tags) == 30
    assert sorted(again.resolve(base.id).tags) == sorted(stores.images.resolve(base.id).tags)
