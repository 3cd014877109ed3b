"""The content store: verified before visible, resumable after SIGKILL, one writer per blob."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from images.layer_tars import sha256

from engine.errors import DigestMismatch, InvalidArgument, NotFound, SizeMismatch, StorageError
from engine.images.content import ContentStore

MAIN = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(tmp_path: Path) -> ContentStore:
    return ContentStore(tmp_path / "content")


def test_blob_is_visible_only_after_commit(store: ContentStore) -> None:
    data = os.urandom(300_000)
    digest = sha256(data)
    with store.ingest(digest, len(data)) as ing:
        ing.write(data[:100_000])
        assert not store.has(digest)
        ing.write(data[100_000:])
        assert not store.has(digest)
        path = ing.commit()
    assert store.has(digest) and path == store.path(digest)
    assert store.read(digest) == data and store.size(digest) == len(data)
    assert path == store.root / "blobs" / "sha256" / digest.removeprefix("sha256:")
    assert store.ingests() == []
    assert [b.digest for b in store.iter()] == [digest]


def test_digest_mismatch_discards(store: ContentStore) -> None:
    digest = sha256(b"expected")
    with store.ingest(digest, 8) as ing:
        ing.write(b"tampered")
        with pytest.raises(DigestMismatch):
            ing.commit()
    assert not store.has(digest) and store.ingests() == []


def test_size_mismatch_long_and_short(store: ContentStore) -> None:
    data = b"0123456789"
    with store.ingest(sha256(data), 5) as ing, pytest.raises(SizeMismatch):
        ing.write(data)
    assert store.ingests() == []
    with store.ingest(sha256(data), len(data)) as ing:
        ing.write(data[:4])
        with pytest.raises(SizeMismatch):
            ing.commit()
    # the short partial is kept for a resume
    with store.ingest(sha256(data), len(data)) as ing:
        assert ing.offset == 4
        assert b"".join(ing.read_back()) == data[:4]
        ing.write(data[4:])
        ing.commit()
    assert store.read(sha256(data)) == data


def test_invalid_digest_is_refused(store: ContentStore) -> None:
    for bad in ("sha256:../../etc/passwd", "md5:abc", "sha256:" + "A" * 64):
        with pytest.raises(InvalidArgument):
            store.ingest(bad, 1)
    with pytest.raises(NotFound):
        store.open(sha256(b"missing"))


def test_put_put_stream_delete_garbage(store: ContentStore, tmp_path: Path) -> None:
    a = store.put(b"manifest")
    assert store.put(b"manifest") == a  # idempotent
    with pytest.raises(DigestMismatch):
        store.put(b"x", sha256(b"y"))
    src = tmp_path / "src"
    src.write_bytes(os.urandom(2_500_000))
    with open(src, "rb") as f:
        blob = store.put_stream(f)
    assert blob.digest == sha256(src.read_bytes()) and blob.size == 2_500_000
    assert {g.digest for g in store.garbage({a})} == {blob.digest}
    assert store.delete(blob.digest) and not store.delete(blob.digest)
    assert [b.digest for b in store.iter()] == [a]


def test_second_writer_waits_then_sees_the_blob(store: ContentStore) -> None:
    data = os.urandom(1000)
    digest = sha256(data)
    first = store.ingest(digest, len(data))
    with pytest.raises(StorageError, match="someone else"):
        store.ingest(digest, len(data), wait=False)
    seen = {}

    def second() -> None:
        with store.ingest(digest, len(data)) as ing:
            seen["committed"] = ing.committed

    thread = threading.Thread(target=second)
    thread.start()
    time.sleep(0.2)
    assert thread.is_alive()  # blocked on the first writer's lock
    first.write(data)
    first.commit()
    thread.join(5)
    assert seen == {"committed": True}


def test_a_digest_mismatch_inside_the_ingest_discards_the_partial(store: ContentStore) -> None:
    data = os.urandom(1000)
    digest = sha256(data)
    with pytest.raises(DigestMismatch):
        with store.ingest(digest, len(data)) as ing:
            ing.write(os.urandom(1000))  # what a lying registry sent; the writer finds out
            raise DigestMismatch("the writer's own check failed")
    again = store.ingest(digest, len(data))
    assert again.offset == 0  # never resumed from the wrong bytes
    again.write(data)
    assert again.commit().read_bytes() == data


def test_a_writer_waiting_on_one_that_aborts_starts_afresh(store: ContentStore) -> None:
    data = os.urandom(1000)
    digest = sha256(data)
    first = store.ingest(digest, len(data))
    first.write(data[:300])
    taken: dict[str, object] = {}

    def second() -> None:
        try:
            ing = store.ingest(digest, len(data))
            taken["offset"] = ing.offset
            ing.write(data[ing.offset:])
            taken["path"] = ing.commit()
        except Exception as exc:  # noqa: BLE001 - reported below
            taken["error"] = exc

    thread = threading.Thread(target=second)
    thread.start()
    time.sleep(0.2)
    assert thread.is_alive()  # blocked on the first writer's lock
    first.abort()
    thread.join(5)
    assert "error" not in taken, taken
    assert taken["offset"] == 0  # not the aborted partial, and not a file already unlinked
    assert store.has(digest) and Path(str(taken["path"])).read_bytes() == data


WRITER = textwrap.dedent("""
    import os, sys, time
    sys.path.insert(0, {main!r})
    from engine.images.content import ContentStore
    store = ContentStore({root!r})
    data = open({src!r}, "rb").read()
    ing = store.ingest({digest!r}, len(data))
    position = ing.offset
    while position < len(data):
        ing.write(data[position:position + 65536])
        position += 65536
        if position >= {stop_after}:
            print(position, flush=True)
            time.sleep(60)   # the test SIGKILLs us here
""")


def test_sigkill_mid_ingest_then_resume(store: ContentStore, tmp_path: Path) -> None:
    """A writer killed with SIGKILL leaves a partial that the next ingest resumes and verifies."""
    data = os.urandom(3_000_000)
    src = tmp_path / "blob"
    src.write_bytes(data)
    digest = sha256(data)
    script = WRITER.format(main=str(MAIN), root=str(store.root), src=str(src), digest=digest,
                           stop_after=1_000_000)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        assert int(line) >= 1_000_000
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        proc.stdout.close()  # type: ignore[union-attr]
    assert proc.returncode == -signal.SIGKILL
    assert not store.has(digest)
    [partial] = store.ingests()
    assert partial.digest == digest and partial.offset >= 1_000_000
    with store.ingest(digest, len(data), wait=False) as ing:  # the dead writer's lock is gone
        assert ing.offset == partial.offset
        ing.write(data[ing.offset:])  # as an HTTP Range request would continue
        ing.commit()
    assert store.read(digest) == data and store.ingests() == []


def test_resume_with_corrupted_partial_fails_verification(store: ContentStore) -> None:
    """If a crash left bad bytes, the resumed blob fails its digest and is discarded."""
    data = os.urandom(200_000)
    digest = sha256(data)
    with store.ingest(digest, len(data)) as ing:
        ing.write(data[:50_000])
    partial = store.ingest_root / digest.removeprefix("sha256:") / "data"
    with open(partial, "r+b") as f:
        f.write(b"XXXX")
    with store.ingest(digest, len(data)) as ing:
        ing.write(data[ing.offset:])
        with pytest.raises(DigestMismatch):
            ing.commit()
    assert not store.has(digest) and store.ingests() == []


def test_sha512_blobs(store: ContentStore) -> None:
    """Registries may serve sha512 content (the conformance suite pushes some)."""
    import hashlib

    data = os.urandom(70_000)
    digest = "sha512:" + hashlib.sha512(data).hexdigest()
    with store.ingest(digest, len(data)) as ing:
        ing.write(data[:1000])
    [partial] = store.ingests()
    assert partial.digest == digest and partial.offset == 1000
    with store.ingest(digest, len(data)) as ing:
        ing.write(data[ing.offset:])
        ing.commit()
    assert store.path(digest) == store.root / "blobs" / "sha512" / digest[7:]
    assert store.read(digest) == data
    assert digest in {b.digest for b in store.iter()}
