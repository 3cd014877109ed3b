"""Reading a container's json-file log: tail, since/until, follow, across rotated files.

The shim writes ``<id>-json.log`` (rotated to ``.1``, ``.2`` … by size);
each line is ``{"log": …, "stream": "stdout"|"stderr", "time": RFC 3339}``.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from engine.model import STDERR, STDOUT, LogOptions, LogRecord

FOLLOW_POLL = 0.05
"""Seconds between looks at a followed log file."""


def parse_time(text: str) -> float:
    """Seconds since the epoch for the log's RFC 3339 time (nanoseconds allowed)."""
    head, _, fraction = text.rstrip("Z").partition(".")
    moment = dt.datetime.strptime(head, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=dt.timezone.utc)
    return moment.timestamp() + (float(f"0.{fraction}") if fraction else 0.0)


def _record(line: str) -> LogRecord | None:
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    stream = STDERR if entry.get("stream") == "stderr" else STDOUT
    return LogRecord(stream, entry.get("log", "").encode("utf-8", "surrogateescape"),
                     parse_time(entry["time"]) if entry.get("time") else 0.0)


def _files(path: Path, max_file: int) -> list[Path]:
    rotated = [path.with_name(f"{path.name}.{index}") for index in range(max_file - 1, 0, -1)]
    return [p for p in rotated if p.exists()] + [path]


def _wanted(record: LogRecord, options: LogOptions) -> bool:
    if record.stream == STDOUT and not options.stdout:
        return False
    if record.stream == STDERR and not options.stderr:
        return False
    if options.since is not None and record.time < options.since:
        return False
    return options.until is None or record.time < options.until


def read_logs(path: Path, options: LogOptions, *, max_file: int = 1,
              alive: Callable[[], bool] = lambda: False,
              cancelled: Callable[[], bool] = lambda: False) -> Iterator[LogRecord]:
    """The log's records as ``options`` select them; with ``follow``, new ones as they come,
    until the container stops (``alive`` turns false) or the reader is cancelled."""
    records: collections.deque[LogRecord] | list[LogRecord]
    records = collections.deque(maxlen=options.tail) if options.tail is not None else []
    if options.tail != 0:
        for name in _files(path, max_file):
            try:
                with open(name, encoding="utf-8", errors="surrogateescape") as handle:
                    for line in handle:
                        record = _record(line)
                        if record is not None and _wanted(record, options):
                            records.append(record)
            except FileNotFoundError:
                continue
    yield from records
    if not options.follow:
        return
    try:
        position = path.stat().st_size
        inode = path.stat().st_ino
    except FileNotFoundError:
        position, inode = 0, 0
    pending = ""
    while not cancelled():
        try:
            stat = path.stat()
        except FileNotFoundError:
            stat = None
        if stat is not None and (stat.st_ino != inode or stat.st_size < position):
            position, inode, pending = 0, stat.st_ino, ""  # rotated or truncated: a new file
        if stat is not None and stat.st_size > position:
            with open(path, "rb") as handle:
                handle.seek(position)
                chunk = handle.read(stat.st_size - position)
            position += len(chunk)
            pending += chunk.decode("utf-8", "surrogateescape")
            *lines, pending = pending.split("\n")
            for line in lines:
                record = _record(line)
                if record is not None and _wanted(record, options):
                    yield record
            continue
        if not alive():
            return
        time.sleep(FOLLOW_POLL)


def log_size(path: Path) -> int:
    """Bytes of the current log file (0 if none yet)."""
    try:
        return os.path.getsize(path)
    except OSError:
        return 0
