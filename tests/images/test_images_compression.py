"""Compression is sniffed from the bytes; the diff_id covers the whole decompressed stream."""

from __future__ import annotations

import gzip
import io
import os
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
import zstandard
from images.layer_tars import Member, make_tar, sha256, tree_listing

from engine.errors import DigestMismatch, LayerError
from engine.images import decompress
from engine.images.unpack import apply_layer


@pytest.fixture
def tar_data() -> bytes:
    return make_tar([Member("a/", b"5", mode=0o755)] +
                    [Member(f"a/f{i}", data=os.urandom(5000) + bytes(70000)) for i in range(30)])


def unpack(data: bytes, dest: Path, **kwargs):
    dest.mkdir()
    return apply_layer(io.BytesIO(data), dest, **kwargs)


def test_plain_tar(tar_data: bytes, tmp_path: Path) -> None:
    result = unpack(tar_data, tmp_path / "d", expected_diff_id=sha256(tar_data))
    assert result.compression == "tar" and result.entries == 31
    assert len(tree_listing(tmp_path / "d")) == 31


def inflaters() -> list:
    """The stdlib's zlib, and ISA-L when installed (the faster default)."""
    found = [zlib]
    try:
        from isal import isal_zlib
        found.append(isal_zlib)
    except ImportError:
        pass
    return found


@pytest.fixture(params=inflaters(), ids=lambda m: m.__name__)
def inflater(request, monkeypatch):
    monkeypatch.setattr(decompress, "_inflate_module", request.param)
    return request.param


def test_gzip_multi_member(tar_data: bytes, tmp_path: Path, inflater) -> None:
    """Several gzip members (as estargz or pigz write) decode as one stream."""
    cut = len(tar_data) // 3
    blob = (gzip.compress(tar_data[:cut]) + gzip.compress(tar_data[cut:2 * cut]) +
            gzip.compress(tar_data[2 * cut:]))
    result = unpack(blob, tmp_path / "d", expected_diff_id=sha256(tar_data),
                    compressed_digest=sha256(blob))
    assert result.compression == "gzip"
    assert (tmp_path / "d/a/f29").stat().st_size == 75000


def test_gzip_from_the_gzip_tool_with_zero_padding(tar_data: bytes, tmp_path: Path, inflater) -> None:
    """The real gzip tool's output, with NUL padding after it (tape-style writers)."""
    blob = subprocess.run(["gzip", "-c", "-6"], input=tar_data, capture_output=True,
                          check=True).stdout + bytes(1024)
    result = unpack(blob, tmp_path / "d", expected_diff_id=sha256(tar_data))
    assert result.compression == "gzip"


def test_zstd_multi_frame_with_skippable_frames(tar_data: bytes, tmp_path: Path) -> None:
    """Several zstd frames plus skippable ones (zstd:chunked's footer) decode fully."""
    c = zstandard.ZstdCompressor()
    half = len(tar_data) // 2
    skippable = struct.pack("<II", 0x184D2A50, 16) + b"manifest-ish!!!!"
    footer = struct.pack("<II", 0x184D2A5E, 72) + bytes(64) + b"GNUlInUx"
    blob = c.compress(tar_data[:half]) + skippable + c.compress(tar_data[half:]) + footer
    result = unpack(blob, tmp_path / "d", expected_diff_id=sha256(tar_data))
    assert result.compression == "zstd"
    assert len(tree_listing(tmp_path / "d")) == 31


def test_zstd_from_the_zstd_tool(tar_data: bytes, tmp_path: Path) -> None:
    blob = subprocess.run(["zstd", "-q", "-c", "-3"], input=tar_data, capture_output=True,
                          check=True).stdout
    result = unpack(blob, tmp_path / "d", expected_diff_id=sha256(tar_data))
    assert result.compression == "zstd"


@pytest.mark.parametrize("compress", [lambda b: b, gzip.compress,
                                      lambda b: zstandard.ZstdCompressor().compress(b)],
                         ids=["tar", "gzip", "zstd"])
def test_trailing_data_after_tar_end_is_hashed(tar_data: bytes, tmp_path: Path,
                                               compress) -> None:
    """Bytes after the end-of-archive blocks are part of the diff_id (tarfile stops early)."""
    padded = tar_data + bytes(30000) + b"trailing garbage"
    result = unpack(compress(padded), tmp_path / "d", expected_diff_id=sha256(padded))
    assert result.tar_size == len(padded)
    with pytest.raises(DigestMismatch):
        unpack(compress(padded), tmp_path / "e", expected_diff_id=sha256(tar_data))


def test_diff_id_mismatch_is_refused(tar_data: bytes, stores) -> None:
    """A layer whose content does not hash to its diff_id is not kept."""
    blob = gzip.compress(tar_data)
    with pytest.raises(DigestMismatch, match="diff_id"):
        stores.layers.apply(None, sha256(b"something else"), io.BytesIO(blob))
    assert stores.layers.list() == []
    assert [p.name for p in stores.root.layers.iterdir()] == []


def test_compressed_digest_mismatch_is_refused(tar_data: bytes, tmp_path: Path) -> None:
    blob = gzip.compress(tar_data)
    with pytest.raises(LayerError, match="hashes to"):
        unpack(blob, tmp_path / "d", compressed_digest=sha256(b"other"))


def test_garbage_after_gzip_member_is_refused(tar_data: bytes, tmp_path: Path, inflater) -> None:
    with pytest.raises(LayerError, match="after a gzip member"):
        unpack(gzip.compress(tar_data) + b"NOT GZIP AT ALL", tmp_path / "d")


def test_truncated_gzip_is_refused(tar_data: bytes, tmp_path: Path, inflater) -> None:
    blob = gzip.compress(tar_data)
    with pytest.raises(LayerError):
        unpack(blob[: len(blob) // 2], tmp_path / "d")


def test_corrupt_zstd_is_refused(tar_data: bytes, tmp_path: Path) -> None:
    blob = bytearray(zstandard.ZstdCompressor().compress(tar_data))
    blob[len(blob) // 2] ^= 0xFF
    blob[len(blob) // 2 + 1] ^= 0xFF
    with pytest.raises((LayerError, DigestMismatch)):
        unpack(bytes(blob), tmp_path / "d", expected_diff_id=sha256(tar_data))


@pytest.mark.parametrize("module", ["lzma", "bz2"])
def test_xz_and_bzip2_concatenated_streams(tar_data: bytes, tmp_path: Path, module: str) -> None:
    """pbzip2 and ``xz -T`` write several streams: all of them are the layer (no diff_id to catch a cut)."""
    codec = __import__(module)
    cut = len(tar_data) // 2
    blob = codec.compress(tar_data[:cut]) + codec.compress(tar_data[cut:])
    result = unpack(blob, tmp_path / "d", compressed_digest=sha256(blob))
    assert result.diff_id == sha256(tar_data)
    assert (tmp_path / "d/a/f29").stat().st_size == 75000


@pytest.mark.parametrize("module", ["lzma", "bz2"])
def test_xz_and_bzip2_garbage_after_the_stream_is_refused(tar_data: bytes, tmp_path: Path, module: str) -> None:
    codec = __import__(module)
    blob = codec.compress(tar_data) + b"not a stream"
    with pytest.raises(LayerError, match="unexpected data after"):
        unpack(blob, tmp_path / "d")
