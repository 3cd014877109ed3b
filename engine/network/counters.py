"""Per-container network byte counters, read from the container's own namespace.

``/proc/<pid>/net/dev`` shows the interfaces of the namespace that process
lives in, so no namespace has to be entered. Loopback is left out, as in
Docker's stats.
"""

from __future__ import annotations

from pathlib import Path

from engine.errors import NetworkError


def read_counters(pid: int) -> dict[str, tuple[int, int]]:
    """Interface name → (rx bytes, tx bytes) in the network namespace of ``pid``.

    Raises:
        NetworkError: the process is gone.
    """
    try:
        text = Path(f"/proc/{pid}/net/dev").read_text()
    except OSError as error:
        raise NetworkError(f"cannot read the network counters of process {pid}: {error}") from error
    counters: dict[str, tuple[int, int]] = {}
    for line in text.splitlines()[2:]:
        name, _, rest = line.partition(":")
        fields = rest.split()
        name = name.strip()
        if name == "lo" or len(fields) < 9:
            continue
        counters[name] = (int(fields[0]), int(fields[8]))
    return counters
