"""The layer store: ChainID names, overlay2's layout, shared work, removal."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import threading
import time
from pathlib import Path

import pytest
from images.layer_tars import Member, make_tar, sha256

from engine.errors import NotFound
from engine.images.layers import LayerStore, chain_id, chain_ids
from engine.jobs import Job


def test_chain_id_follows_the_spec() -> None:
    """ChainID(L0) = DiffID(L0); ChainID(L0|L1) = sha256 of "<chain> <diff>"."""
    a, b, c = sha256(b"a"), sha256(b"b"), sha256(b"c")
    ab = "sha256:" + hashlib.sha256(f"{a} {b}".encode()).hexdigest()
    abc = "sha256:" + hashlib.sha256(f"{ab} {c}".encode()).hexdigest()
    assert chain_ids([a, b, c]) == [a, ab, abc]
    assert chain_id(None, a) == a and chain_id(ab, c) == abc


def test_layout_like_overlay2(stores) -> None:
    data = make_tar([Member("hello", data=b"world")])
    layer = stores.layers.apply(None, sha256(data), io.BytesIO(gzip.compress(data)))
    hex_id = layer.chain_id.removeprefix("sha256:")
    assert layer.path == stores.root.layers / hex_id
    assert (layer.diff / "hello").read_bytes() == b"world"
    link = (layer.path / "link").read_text()
    assert len(link) == 26 and link == layer.short_id
    assert os.readlink(stores.root.links / link) == f"../layers/{hex_id}/diff"
    assert (stores.root.links / link / "hello").read_bytes() == b"world"
    assert stores.layers.get(layer.chain_id) == layer
    assert layer.size == 5 and layer.parent is None


def test_stack_and_parents(stores) -> None:
    diffs, parent = [], None
    for i in range(3):
        data = make_tar([Member(f"f{i}", data=b"x" * i)])
        layer = stores.layers.apply(parent, sha256(data), io.BytesIO(data))
        diffs.append(sha256(data))
        parent = layer.chain_id
    assert parent == chain_ids(diffs)[-1]
    stack = stores.layers.stack(parent)
    assert [layer.diff_id for layer in stack] == list(reversed(diffs))


def test_existing_layer_is_not_read_again(stores) -> None:
    data = make_tar([Member("f", data=b"1")])
    first = stores.layers.apply(None, sha256(data), io.BytesIO(data))
    opened = []
    again = stores.layers.apply(None, sha256(data), lambda: opened.append(1) or io.BytesIO(data))
    assert again == first and opened == []


class SlowStream(io.RawIOBase):
    """A stream that dribbles its bytes, so concurrent requests overlap."""

    def __init__(self, data: bytes) -> None:
        self.data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        time.sleep(0.01)
        return self.data.read(min(n if n > 0 else 65536, 65536))


def test_concurrent_requests_share_one_extraction(stores) -> None:
    """Four threads ask for the same layer: one unpacks, the others wait and get it."""
    data = make_tar([Member(f"f{i}", data=os.urandom(30000)) for i in range(40)])
    opened: list[int] = []
    results = []

    def opener() -> io.RawIOBase:
        opened.append(1)
        return SlowStream(data)

    def worker() -> None:
        with Job(stores.bus, "pull", "x") as job:
            results.append(stores.layers.apply(None, sha256(data), opener, job=job))

    with stores.bus.subscribe() as events:
        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        steps = []
        while (event := events.get(timeout=0.1)) is not None:
            steps.append(event.action)
    assert len(opened) == 1
    assert len({r.chain_id for r in results}) == 1 and len(results) == 4
    assert steps.count("extract layer") == 1
    assert steps.count("wait for layer") >= 1
    assert len(stores.layers.list()) == 1


def test_failed_extraction_lets_the_next_request_try(stores) -> None:
    data = make_tar([Member("f", data=b"1")])
    with pytest.raises(Exception):
        stores.layers.apply(None, sha256(data), io.BytesIO(data[:700]))
    layer = stores.layers.apply(None, sha256(data), io.BytesIO(data))
    assert (layer.diff / "f").read_bytes() == b"1"


def test_remove_and_gc(stores) -> None:
    a = make_tar([Member("a", data=b"a")])
    b = make_tar([Member("b", data=b"b")])
    la = stores.layers.apply(None, sha256(a), io.BytesIO(a))
    lb = stores.layers.apply(None, sha256(b), io.BytesIO(b))
    assert stores.layers.gc({la.chain_id}) == [lb.chain_id]
    assert not stores.layers.has(lb.chain_id)
    assert not (stores.root.links / lb.short_id).exists()
    with pytest.raises(NotFound):
        stores.layers.get(lb.chain_id)
    assert stores.layers.remove(la.chain_id) and not stores.layers.remove(la.chain_id)
    assert sorted(os.listdir(stores.root.layers)) == []


def test_crash_leftovers_are_cleaned_on_start(stores) -> None:
    """Temp folders of dead engines and dangling short links go away when a store opens."""
    dead = stores.root.layers / ".tmp-999999999-abc"
    (dead / "diff").mkdir(parents=True)
    mine = stores.root.layers / f".tmp-{os.getpid()}-inflight"
    mine.mkdir()
    os.symlink("../layers/" + "0" * 64 + "/diff", stores.root.links / ("Z" * 26))
    LayerStore(stores.root)
    assert not dead.exists() and mine.exists()
    assert not os.path.lexists(stores.root.links / ("Z" * 26))
    mine.rmdir()


def test_unpack_leaves_no_temp_on_failure(stores, tmp_path: Path) -> None:
    data = make_tar([Member("ok", data=b"1"), Member("../bad", data=b"2")])
    with pytest.raises(Exception):
        stores.layers.apply(None, sha256(data), io.BytesIO(data))
    assert os.listdir(stores.root.layers) == [] and os.listdir(stores.root.links) == []


def test_synced_store_unpacks_the_same(stores) -> None:
    """With ``sync=True`` the layer is flushed (syncfs) before it becomes visible."""
    data = make_tar([Member("f", data=b"durable")])
    synced = LayerStore(stores.root, sync=True)
    layer = synced.apply(None, sha256(data), io.BytesIO(data))
    assert (layer.diff / "f").read_bytes() == b"durable"
