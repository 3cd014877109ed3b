"""Unpack a layer in a child process, so that layers unpack in parallel on every core.

An unpack is mostly small steps in Python between system calls (a tar header,
then ``openat``, ``write``, ``futimens``, ``close``); threads of one process
take turns at the GIL for each of them, so two layers unpacked in two threads
barely overlap. :func:`apply_layer_in_worker` runs the very same
:func:`~engine.images.unpack.apply_layer` in ``python -m engine.images.unpackworker``
instead: the calling thread only pumps the blob into the child's stdin (a
pipe, in large writes) and reads one JSON line of result from its stdout.

The child has no other input: it unpacks into the folder it is given, with
every protection of :mod:`engine.images.unpack`, and answers with the result
or with the :mod:`engine.errors` class and message of its failure, which the
parent raises again. If the blob stream fails (a download error), the child
is killed by its PID and waited for before the error is raised, so nothing
writes into the folder once the caller starts removing it.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from engine import errors
from engine.errors import LayerError
from engine.images.decompress import CHUNK
from engine.images.unpack import UnpackResult, apply_layer
from engine.runtime import syscalls

_PIPE_SIZE = 1 << 20
"""Pipe buffer asked for (Linux ``F_SETPIPE_SZ``; capped by ``fs.pipe-max-size``)."""

_RELAYED = {"LayerError": errors.LayerError, "UnsafeLayer": errors.UnsafeLayer,
            "DigestMismatch": errors.DigestMismatch}
"""Error classes a worker may report; anything else becomes a :class:`LayerError`."""

_ENGINE_PARENT = str(Path(__file__).resolve().parents[2])


def worker_available() -> bool:
    """Whether a child Python can be started (``sys.executable`` is known)."""
    return bool(sys.executable)


def apply_layer_in_worker(source: BinaryIO, dest: str | os.PathLike[str], *,
                          expected_diff_id: str | None = None,
                          compressed_digest: str | None = None,
                          on_progress: Callable[[int], None] | None = None) -> UnpackResult:
    """:func:`~engine.images.unpack.apply_layer` in a child process; same arguments and errors.

    Args:
        source: the layer blob; read to its end in the calling thread.
        dest: an existing, empty folder.
        expected_diff_id: checked by the child after the whole stream.
        compressed_digest: if given, the raw blob must hash to it too.
        on_progress: called with raw bytes handed to the child so far.

    Raises:
        UnsafeLayer, DigestMismatch, LayerError: as ``apply_layer``; also LayerError
            when the worker cannot start or dies; whatever ``source.read`` raises.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_ENGINE_PARENT, env.get("PYTHONPATH")) if p)
    # -P: the module path must not start with the working folder ("/"), where a
    # stray ``engine`` package would shadow Wharf's own.
    command = [sys.executable, "-P", "-m", "engine.images.unpackworker", os.path.abspath(dest),
               expected_diff_id or "", compressed_digest or "", str(os.getpid())]
    with tempfile.TemporaryFile() as errors_file:  # a file, not a pipe nobody reads while pumping
        try:
            child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=errors_file, cwd="/", env=env, close_fds=True)
        except OSError as exc:
            raise LayerError(f"cannot start the unpack worker: {exc.strerror or exc}") from exc
        assert child.stdin is not None and child.stdout is not None
        try:
            try:
                fcntl.fcntl(child.stdin.fileno(), fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
            except OSError:
                pass  # a smaller pipe only means more, shorter writes
            _pump(source, child.stdin.fileno(), on_progress)
            _close_input(child)
            out, _ = child.communicate()
        finally:
            if child.returncode is None:  # any failure (or interruption) above: nothing may go on writing
                _close_input(child)
                _kill(child)
        errors_file.seek(0)
        return _result(child.returncode, out, errors_file.read()[-65536:])


def _pump(source: BinaryIO, fd: int, on_progress: Callable[[int], None] | None) -> None:
    """Copy ``source`` into the pipe ``fd`` until its end, or until the child stops reading."""
    total = 0
    while True:
        data = source.read(CHUNK)
        if not data:
            return
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(fd, view):]
        except BrokenPipeError:
            return  # the child gave up (its answer says why)
        total += len(data)
        if on_progress is not None:
            on_progress(total)


def _close_input(child: subprocess.Popen[bytes]) -> None:
    """End the child's stdin (it then sees the end of the blob)."""
    if child.stdin is not None:
        try:
            child.stdin.close()
        except BrokenPipeError:
            pass
        child.stdin = None


def _kill(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is None:
        try:
            os.kill(child.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    child.communicate()


def _result(returncode: int, out: bytes, err: bytes) -> UnpackResult:
    """The child's answer as a result, or its error raised again."""
    try:
        answer = json.loads(out.decode().strip().splitlines()[-1]) if out.strip() else None
    except (ValueError, UnicodeDecodeError):
        answer = None
    if isinstance(answer, dict) and "diff_id" in answer and returncode == 0:
        return UnpackResult(answer["diff_id"], answer["size"], answer["entries"],
                            answer["tar_size"], answer["compression"], answer["seconds"])
    if isinstance(answer, dict) and "error" in answer:
        raise _RELAYED.get(str(answer["error"]), LayerError)(str(answer.get("message", "")))
    last = err.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
    how = f"signal {-returncode}" if returncode < 0 else f"status {returncode}"
    raise LayerError(f"the unpack worker died ({how}): {last[0]}".rstrip(": "))


def main(argv: list[str]) -> int:
    """The child: unpack stdin into ``argv[0]``; print one JSON line (result or error)."""
    dest, expected, compressed, parent = argv[0], argv[1] or None, argv[2] or None, int(argv[3])
    # Die with the engine: a killed engine's next start removes unfinished layer folders,
    # and nothing may still be writing into them then.
    syscalls.prctl(syscalls.PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        return 1  # the engine died before the line above took effect
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    source = os.fdopen(0, "rb", buffering=0)
    try:
        result = apply_layer(source, dest, expected_diff_id=expected,
                             compressed_digest=compressed)  # type: ignore[arg-type]
    except errors.WharfError as exc:
        print(json.dumps({"error": type(exc).__name__, "message": str(exc)}), flush=True)
        return 1
    print(json.dumps({"diff_id": result.diff_id, "size": result.size, "entries": result.entries,
                      "tar_size": result.tar_size, "compression": result.compression,
                      "seconds": result.seconds}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
