"""Shell (``s``) and attach (``a``) against a real ``wharf daemon``, in tmux (TERM=tmux-256color, 100x30).

The console suspends, the real terminal is relayed to an exec with a tty (or
an attach), and when the session ends the console comes back and still
answers keys; ``q`` then restores the terminal.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness.tmux import Tmux
from compat.conftest import Daemon
from harness.images import TestImages

REPO = Path(__file__).resolve().parents[2]
PROMPT = "WHARF-TERM$ "
COLUMNS, ROWS = 100, 30

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None or shutil.which("docker") is None,
                                reason="needs tmux and the docker CLI")


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    """A private tmux server, killed afterwards."""
    server = Tmux(f"wharf-term-{os.getpid()}-{time.monotonic_ns()}", PROMPT, COLUMNS, ROWS)
    try:
        server.start()
        yield server
    finally:
        server.kill()


def _select(tmux: Tmux, name: str) -> None:
    """Filter the containers pane down to ``name`` so its row has the cursor."""
    tmux.type("/")
    time.sleep(0.3)
    tmux.type(name)
    tmux.send("Enter")
    tmux.wait_for(lambda s: name in s and "running" in s)
    time.sleep(0.3)


def _console_is_back(tmux: Tmux, name: str) -> None:
    """The console redrew its screen (alternate screen on) and still answers keys."""
    tmux.wait_for(lambda s: "Containers" in s and name in s and "NAME" in s, timeout=15)
    assert tmux.flag("alternate_on") == "1"
    tmux.send("2")  # the images pane: the app reacts
    tmux.wait_for(lambda s: "REPOSITORY:TAG" in s)
    tmux.send("3")
    tmux.wait_for(lambda s: "╭─ Containers" in s and name in s)
    time.sleep(0.3)


def test_shell_and_attach_on_a_real_engine(daemon: Daemon, tmux: Tmux, test_images: TestImages,
                                           tmp_path: Path):
    """``s`` runs /bin/sh in the container with the window's size; ``a`` attaches and detaches."""
    image = test_images.busybox_oci.reference
    before, after = tmp_path / "stty-before", tmp_path / "stty-after"
    tmux.type(f"stty -g > {before}")
    tmux.send("Enter")
    tmux.wait_for(lambda s: s.count(PROMPT.strip()) >= 2)
    daemon.docker("run", "-d", "--name", "shelly", image, "sleep", "300")
    daemon.docker("run", "-d", "-t", "--name", "ticker", image,
                  "sh", "-c", "i=0; while true; do i=$((i+1)); echo tick-$i; sleep 0.2; done")
    tmux.send(f"cd {REPO} && {sys.executable} -m tui.launch --host {daemon.host}", "Enter")
    tmux.wait_for(lambda s: "Containers" in s or "Repository" in s)
    time.sleep(1.0)  # keys typed while the app is still starting are not the app's yet
    tmux.send("3")
    tmux.wait_for(lambda s: "╭─ Containers" in s and "shelly" in s and "ticker" in s)
    time.sleep(0.3)

    # -- shell ------------------------------------------------------------
    _select(tmux, "shelly")
    tmux.send("s")
    tmux.wait_for(lambda s: "Shell to run" in s and "/bin/sh" in s)
    tmux.send("Enter")  # /bin/sh is highlighted first
    tmux.wait_for(lambda s: "[wharf] /bin/sh in shelly" in s and "Containers" not in s)
    assert tmux.flag("alternate_on") == "0"
    tmux.type("echo shell-$((6*7))")
    tmux.send("Enter")
    tmux.wait_for(lambda s: "shell-42" in s)
    tmux.type("stty size")
    tmux.send("Enter")
    tmux.wait_for(lambda s: f"{ROWS} {COLUMNS}" in s)
    tmux.run("resize-window", "-t", tmux.target, "-x", str(COLUMNS - 12), "-y", str(ROWS - 6))
    time.sleep(0.5)  # SIGWINCH -> exec resize
    tmux.type("clear; stty size")
    tmux.send("Enter")
    tmux.wait_for(lambda s: f"{ROWS - 6} {COLUMNS - 12}" in s)
    tmux.run("resize-window", "-t", tmux.target, "-x", str(COLUMNS), "-y", str(ROWS))
    time.sleep(0.5)
    tmux.type("exit")
    tmux.send("Enter")
    _console_is_back(tmux, "shelly")

    # -- attach -----------------------------------------------------------
    _select(tmux, "ticker")
    tmux.send("a")
    screen = tmux.wait_for(lambda s: "[wharf] attach in ticker" in s and s.count("tick-") >= 3)
    first = max(int(word[5:]) for word in screen.split() if word.startswith("tick-") and word[5:].isdigit())
    tmux.wait_for(lambda s: f"tick-{first + 3}" in s)  # still streaming
    tmux.send("C-p")
    tmux.send("C-q")
    _console_is_back(tmux, "ticker")
    time.sleep(1.0)
    assert "tick-" not in tmux.screen()  # the relay stopped writing over the console
    state = daemon.docker("inspect", "-f", "{{.State.Status}}", "ticker").stdout.strip()
    assert state == "running"

    tmux.send("q")
    screen = tmux.wait_for(lambda s: s.rstrip().endswith(PROMPT.strip()))
    assert tmux.flag("alternate_on") == "0"
    assert tmux.flag("mouse_any_flag") == "0"
    assert "╭" not in screen.split("tui.launch", 1)[-1]
    assert tmux.flag("cursor_flag") == "1"
    tmux.type(f"stty -g > {after}")  # the modes the shell gets back, compared with those before
    tmux.send("Enter")
    deadline = time.monotonic() + 10
    while not (after.exists() and after.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert before.read_text().strip() and after.read_text() == before.read_text()
