"""Numbers a hostile tar can lie with: signs, underscores, negative sizes, huge metadata."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest
from images.layer_tars import Member, make_tar

from engine.errors import LayerError
from engine.images.tarstream import BLOCK, MAX_METADATA
from engine.images.unpack import apply_layer


def _with_field(data: bytes, start: int, value: bytes) -> bytes:
    """``data`` with the first header's field at ``start`` replaced and its checksum redone."""
    block = bytearray(data[:BLOCK])
    block[start:start + len(value)] = value
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\x00 " % sum(block)
    return bytes(block) + data[BLOCK:]


@pytest.mark.parametrize("size", [b"-000001\x00\x00\x00\x00\x00", b"0_0000000001",
                                  b"\xff" * 12])
def test_signed_or_underscored_size_is_refused(size: bytes, tmp_path: Path) -> None:
    """``int()`` would read ``-1`` or ``0_1``; a size field holds octal digits or base-256."""
    data = _with_field(make_tar([Member("f", data=b"x")], fmt=tarfile.GNU_FORMAT), 124, size)
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(LayerError):
        apply_layer(io.BytesIO(data), dest)


@pytest.mark.parametrize("record", ["size", "uid", "gid"])
def test_negative_pax_numbers_are_refused(record: str, tmp_path: Path) -> None:
    data = make_tar([Member("f", data=b"", pax={record: "-1"})])
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(LayerError, match="PAX"):
        apply_layer(io.BytesIO(data), dest)


def test_oversized_metadata_header_is_refused_before_it_is_read(tmp_path: Path) -> None:
    """A PAX header declaring gigabytes is refused at once, not buffered in memory."""
    header = bytearray(make_tar([Member("f", pax={"comment": "c"})])[:BLOCK])  # its PAX header
    assert header[156:157] == b"x"
    data = _with_field(bytes(header), 124, b"%011o\x00" % (8 << 30)) + bytes(2 * BLOCK)
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(LayerError, match=f"at most {MAX_METADATA}"):
        apply_layer(io.BytesIO(data), dest)
