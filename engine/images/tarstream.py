"""A streaming tar reader over decompressed chunks: headers out, data straight to fds.

Header blocks are decoded with one ``struct`` unpack (checksum verified,
octal or GNU base-256 numbers, the ustar prefix). PAX records (``path``,
``linkpath``, ``size``, ``uid``, ``gid``, ``mtime``, ``atime``, and
``SCHILY.xattr.*`` kept as raw bytes), GNU long names (``L``/``K``) and
global headers are handled here too. Python's ``tarfile`` is not used at all.
File data is written to a file descriptor from the chunks themselves,
without an intermediate copy.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

from engine.errors import LayerError

BLOCK = 512

REGULAR = b"0"
HARDLINK = b"1"
SYMLINK = b"2"
CHARDEV = b"3"
BLOCKDEV = b"4"
DIRECTORY = b"5"
FIFO = b"6"
CONTIGUOUS = b"7"

_SKIPPED_META = (b"x", b"g", b"L", b"K")
MAX_METADATA = 1 << 20
"""Largest PAX or GNU long-name record accepted (Go's archive/tar has the same bound)."""
_KNOWN = (HARDLINK, SYMLINK, CHARDEV, BLOCKDEV, DIRECTORY, FIFO)


@dataclass
class TarEntry:
    """One member of the archive, with its PAX overrides applied.

    Attributes:
        name: the path as written in the archive (not yet checked or cleaned).
        type: the tar type flag (``REGULAR``, ``DIRECTORY``, ``SYMLINK``, …).
        size: bytes of data that follow (regular files only).
        mode: permission bits incl. setuid, setgid, sticky.
        uid: owner user id.
        gid: owner group id.
        mtime_ns: modification time in nanoseconds (PAX keeps sub-second parts).
        atime_ns: access time in nanoseconds from PAX, or ``None``.
        linkname: symlink target or hardlink source.
        devmajor: device major number.
        devminor: device minor number.
        xattrs: extended attributes from ``SCHILY.xattr.*`` records, raw bytes.
    """

    name: str
    type: bytes
    size: int
    mode: int
    uid: int
    gid: int
    mtime_ns: int
    atime_ns: int | None = None
    linkname: str = ""
    devmajor: int = 0
    devminor: int = 0
    xattrs: dict[str, bytes] = field(default_factory=dict)


def _parse_pax(data: bytes) -> dict[str, bytes]:
    records: dict[str, bytes] = {}
    pos = 0
    while pos < len(data):
        if data[pos] == 0:
            break
        space = data.find(b" ", pos)
        if space < 0:
            raise LayerError("malformed PAX header")
        try:
            length = int(data[pos:space])
        except ValueError:
            raise LayerError("malformed PAX header length") from None
        end = pos + length
        if length <= 0 or end > len(data) or data[end - 1:end] != b"\n":
            raise LayerError("malformed PAX record")
        key, sep, value = data[space + 1:end - 1].partition(b"=")
        if not sep:
            raise LayerError("malformed PAX record (no '=')")
        records[key.decode("utf-8", "surrogateescape")] = value
        pos = end
    return records


_ZERO_BLOCK = bytes(BLOCK)
_HEADER = struct.Struct("100s8s8s8s12s12s8sc100s8s32s32s8s8s155s12x")
_SIGNED = struct.Struct("148b8x356b")


def _number(field: bytes, what: str, offset: int) -> int:
    """A numeric header field: octal (NUL/space terminated) or GNU base-256."""
    text = field.rstrip(b" \x00").lstrip(b" ")
    if not text.isdigit():  # empty, base-256, or junk after a NUL: the careful way
        if field and field[0] in (0x80, 0xFF):  # GNU base-256: huge sizes, negative times
            value = int.from_bytes(field[1:], "big")
            return value if field[0] == 0x80 else value - (1 << (8 * (len(field) - 1)))
        text = field.split(b"\x00", 1)[0].strip()
    try:
        if text and not text.isdigit():  # int() would take signs and underscores
            raise ValueError
        return int(text, 8) if text else 0
    except ValueError:
        raise LayerError(f"corrupt tar header at byte {offset}: bad {what} field "
                         f"{field!r}") from None


def _parse_header(block: bytes, offset: int) -> TarEntry:
    """Decode one 512-byte header block (checksum verified).

    Raises:
        LayerError: a truncated block, a bad checksum or a malformed number.
    """
    if len(block) != BLOCK:
        raise LayerError(f"layer tar is truncated inside a header at byte {offset}")
    (name, mode, uid, gid, size, mtime, chksum, kind, linkname, magic, _uname, _gname,
     devmajor, devminor, prefix) = _HEADER.unpack(block)
    stored = _number(chksum, "checksum", offset)
    unsigned = sum(block) - sum(chksum) + 256
    if stored != unsigned and stored != sum(_SIGNED.unpack(block)) + 256:
        raise LayerError(f"corrupt tar header at byte {offset}: bad checksum")
    path = name.split(b"\x00", 1)[0]
    if magic == b"ustar\x0000" and prefix[0]:
        path = prefix.split(b"\x00", 1)[0] + b"/" + path
    return TarEntry(name=_text(path), type=kind, size=_number(size, "size", offset),
                    mode=_number(mode, "mode", offset), uid=_number(uid, "uid", offset),
                    gid=_number(gid, "gid", offset),
                    mtime_ns=_number(mtime, "mtime", offset) * 1_000_000_000,
                    linkname=_text(linkname.split(b"\x00", 1)[0]),
                    devmajor=_number(devmajor, "devmajor", offset),
                    devminor=_number(devminor, "devminor", offset))


def _pax_time_ns(value: bytes) -> int:
    """``b"1700000000.123456789"`` as integer nanoseconds, without float rounding."""
    text = value.decode("ascii").strip()
    negative = text.startswith("-")
    whole, _, frac = text.lstrip("-").partition(".")
    ns = int(whole or "0") * 1_000_000_000 + int((frac + "000000000")[:9])
    return -ns if negative else ns


def _pax_count(value: bytes) -> int:
    """A PAX size or id: decimal digits only (``int`` alone would take ``-1`` or ``1_0``)."""
    text = value.strip()
    if not text.isdigit():
        raise ValueError(value)
    return int(text)


def _text(value: bytes) -> str:
    return value.decode("utf-8", "surrogateescape")


class TarReader:
    """Reads tar members from an iterator of byte chunks.

    Args:
        chunks: decompressed bytes in order, in chunks of any size.
    """

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._view = memoryview(b"")
        self._pending = 0  # data + padding bytes of the current member not yet read
        self.offset = 0
        """Bytes of tar consumed so far."""

    def _fill(self) -> bool:
        for chunk in self._chunks:
            if chunk:
                self._view = memoryview(chunk)
                return True
        return False

    def _read(self, n: int) -> bytes:
        parts = []
        while n:
            if not self._view and not self._fill():
                break
            take = self._view[:n]
            parts.append(bytes(take))
            self._view = self._view[len(take):]
            n -= len(take)
        data = b"".join(parts)
        self.offset += len(data)
        return data

    def _skip(self, n: int) -> None:
        while n:
            if not self._view and not self._fill():
                raise LayerError("layer tar is truncated")
            step = min(n, len(self._view))
            self._view = self._view[step:]
            n -= step
            self.offset += step

    def write_data(self, fd: int, entry: TarEntry) -> None:
        """Write the current member's data to ``fd`` (call right after it is yielded).

        Raises:
            LayerError: the archive ends inside the data.
            OSError: the write failed.
        """
        remaining = entry.size
        while remaining:
            if not self._view and not self._fill():
                raise LayerError(f"layer tar is truncated inside {entry.name!r}")
            piece = self._view[:remaining]
            written = os.write(fd, piece)
            self._view = self._view[written:]
            remaining -= written
            self.offset += written
        self._pending -= entry.size

    def _data_block(self, size: int, what: str) -> bytes:
        data = self._read(size)
        if len(data) != size:
            raise LayerError(f"layer tar is truncated inside a {what} header")
        self._skip(-size % BLOCK)
        return data

    def entries(self) -> Iterator[TarEntry]:
        """Members in archive order; data not written by :meth:`write_data` is skipped.

        Stops at the end-of-archive block (or a clean end of stream); the caller
        drains whatever follows for the digest.

        Raises:
            LayerError: a corrupt or truncated header, or an unsupported member.
        """
        pax_global: dict[str, bytes] = {}
        pax: dict[str, bytes] = {}
        long_name: str | None = None
        long_link: str | None = None
        while True:
            if self._pending:
                self._skip(self._pending)
                self._pending = 0
            block = self._read(BLOCK)
            if not block:
                return
            if block == _ZERO_BLOCK:
                return
            header = _parse_header(block, self.offset - len(block))
            if header.type in _SKIPPED_META:
                if not 0 <= header.size <= MAX_METADATA:
                    raise LayerError(f"tar metadata header at byte {self.offset - BLOCK} "
                                     f"declares {header.size} bytes (at most {MAX_METADATA})")
                data = self._data_block(header.size, "metadata")
                if header.type == b"x":
                    pax.update(_parse_pax(data))
                elif header.type == b"g":
                    pax_global.update(_parse_pax(data))
                elif header.type == b"L":
                    long_name = _text(data.rstrip(b"\x00"))
                else:
                    long_link = _text(data.rstrip(b"\x00"))
                continue
            records = {**pax_global, **pax} if pax_global else pax
            raw_size = header.size
            entry = self._checked(self._entry(header, records, long_name, long_link))
            pax, long_name, long_link = {}, None, None
            if entry.type in (REGULAR, CONTIGUOUS):
                data_size = entry.size
            elif entry.type in _KNOWN:
                data_size = entry.size = 0
            else:
                data_size = raw_size
            self._pending = data_size + (-data_size % BLOCK)
            yield entry

    @staticmethod
    def _entry(entry: TarEntry, pax: dict[str, bytes], long_name: str | None,
               long_link: str | None) -> TarEntry:
        if entry.type == b"S" or any(k.startswith("GNU.sparse") for k in pax):
            raise LayerError(f"sparse tar member {entry.name!r} is not supported")
        if long_name is not None:
            entry.name = long_name
        if long_link is not None:
            entry.linkname = long_link
        if entry.type == b"\x00":
            entry.type = DIRECTORY if entry.name.endswith("/") else REGULAR
        if not pax:
            return entry
        try:
            if "path" in pax:
                entry.name = _text(pax["path"])
            if "linkpath" in pax:
                entry.linkname = _text(pax["linkpath"])
            if "size" in pax:
                entry.size = _pax_count(pax["size"])
            if "uid" in pax:
                entry.uid = _pax_count(pax["uid"])
            if "gid" in pax:
                entry.gid = _pax_count(pax["gid"])
            if "mtime" in pax:
                entry.mtime_ns = _pax_time_ns(pax["mtime"])
            if "atime" in pax:
                entry.atime_ns = _pax_time_ns(pax["atime"])
        except (ValueError, UnicodeDecodeError):
            raise LayerError(f"malformed PAX value for {entry.name!r}") from None
        for key, value in pax.items():
            if key.startswith("SCHILY.xattr."):
                entry.xattrs[key[len("SCHILY.xattr."):]] = value
        return entry

    @staticmethod
    def _checked(entry: TarEntry) -> TarEntry:
        if entry.size < 0 or entry.uid < 0 or entry.gid < 0:
            raise LayerError(f"layer entry {entry.name!r} has a negative size or owner")
        return entry
