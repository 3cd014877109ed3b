"""The console in a real terminal: tmux (TERM=tmux-256color), 80x24, keys sent, quit with q, terminal restored."""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness.tmux import Tmux

REPO = Path(__file__).resolve().parents[2]
PROMPT = "WHARF-TEST$ "

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    """A private tmux server, killed afterwards."""
    server = Tmux(f"wharf-tui-{os.getpid()}-{time.monotonic_ns()}", PROMPT)
    try:
        server.start()
        yield server
    finally:
        server.kill()


def _after_quit(tmux: Tmux, command_word: str) -> None:
    """The app is gone, the prompt is back, and the terminal is out of the alternate screen with no mouse mode."""
    screen = tmux.wait_for(lambda s: s.rstrip().endswith(PROMPT.strip()))
    assert tmux.flag("alternate_on") == "0"
    assert tmux.flag("mouse_any_flag") == "0"
    lines = [line for line in screen.splitlines() if line.strip()]
    assert lines[0].startswith(PROMPT.strip()) and command_word in "".join(lines[:-1])  # what we typed
    assert lines[-1].strip() == PROMPT.strip()
    ui = ("Containers", "Repository", "│", "╭", "▁")
    assert not any(mark in "\n".join(lines[1:]) for mark in ui), screen


def test_fake_engine_console_keys_and_clean_quit(tmux: Tmux):
    """Start on the fake engine, switch panes, open and close help, quit with q."""
    tmux.send(f"cd {REPO} && {sys.executable} tests/tui/fake_app.py", "Enter")
    tmux.wait_for(lambda s: "3 Containers" in s and "web" in s and "running" in s)
    assert tmux.flag("alternate_on") == "1"
    time.sleep(1.0)  # keys typed while the app is still starting are not the app's yet
    tmux.send("2")  # images pane
    tmux.wait_for(lambda s: "REPOSITORY:TAG" in s and "postgres:16" in s)
    tmux.send("?")  # help
    tmux.wait_for(lambda s: "Keys" in s and "Inspect" in s)
    tmux.send("Escape")
    tmux.wait_for(lambda s: "Keys ·" not in s)
    tmux.send("3")  # containers pane
    tmux.wait_for(lambda s: "╭─ Containers" in s)
    time.sleep(0.3)  # the pane takes focus right after it is drawn
    tmux.send("l")  # logs of web
    tmux.wait_for(lambda s: "Logs of web" in s and "GET /api/items" in s)
    tmux.send("Escape")
    tmux.wait_for(lambda s: "NAME" in s and "STATE" in s)
    tmux.send("q")
    _after_quit(tmux, "fake_app.py")


def test_host_pointing_nowhere_says_so_and_quits_cleanly(tmux: Tmux, tmp_path: Path):
    """`python -m tui.launch --host unix://<missing socket>`: banner, no freeze, q quits."""
    if not hasattr(pytest.importorskip("engine.client"), "DockerClient"):
        pytest.skip("engine.client.DockerClient is not written yet")
    missing = tmp_path / "nobody-here.sock"
    tmux.send(f"cd {REPO} && {sys.executable} -m tui.launch --host unix://{missing}", "Enter")
    tmux.wait_for(lambda s: "Engine not answering" in s or "unreachable" in s)
    time.sleep(1.0)
    tmux.send("2")  # the console still reacts
    tmux.wait_for(lambda s: "REPOSITORY:TAG" in s)
    tmux.send("q")
    _after_quit(tmux, "tui.launch")
