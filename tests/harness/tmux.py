"""A private tmux server for terminal tests: one window with a bare bash and a known prompt.

Each server has its own socket (``tmux -L``), so tests never touch a user's
tmux; ``kill`` stops only that server.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable


class Tmux:
    """A tmux server with one ``columns`` x ``rows`` window (TERM=tmux-256color) running ``bash``.

    Args:
        name: the server's socket name (unique per test).
        prompt: the shell's ``PS1``, to tell when the shell is back.
        columns, rows: the window's size.
    """

    def __init__(self, name: str, prompt: str, columns: int = 80, rows: int = 24) -> None:
        self.socket = name
        self.target = f"{name}:0"
        self.prompt = prompt
        self.columns, self.rows = columns, rows

    def run(self, *args: str) -> str:
        """A tmux command on this server; returns stdout."""
        return subprocess.run(["tmux", "-L", self.socket, *args], check=True, capture_output=True,
                              text=True, timeout=10).stdout

    def start(self) -> None:
        """A detached session running ``bash --norc`` with the prompt; waits for the prompt."""
        subprocess.run(["tmux", "-L", self.socket, "-f", "/dev/null", "new-session", "-d", "-s", self.socket,
                        "-x", str(self.columns), "-y", str(self.rows),
                        f"env PS1='{self.prompt}' TERM=tmux-256color bash --norc --noprofile"],
                       check=True, timeout=10, env={**os.environ, "PS1": self.prompt, "TERM": "tmux-256color"})
        self.run("set-option", "-t", self.socket, "default-terminal", "tmux-256color")
        self.wait_for(lambda screen: self.prompt.strip() in screen)

    def send(self, *keys: str) -> None:
        """Send keys (tmux key names, or literal text without spaces)."""
        self.run("send-keys", "-t", self.target, *keys)

    def type(self, text: str) -> None:
        """Send literal text."""
        self.run("send-keys", "-l", "-t", self.target, text)

    def screen(self) -> str:
        """What the window shows now."""
        return self.run("capture-pane", "-p", "-t", self.target)

    def flag(self, name: str) -> str:
        """A pane format variable (``alternate_on``, ``mouse_any_flag``, …)."""
        return self.run("display-message", "-p", "-t", self.target, f"#{{{name}}}").strip()

    def wait_for(self, condition: Callable[[str], bool], timeout: float = 20.0) -> str:
        """Poll the screen until ``condition(screen)``; fail with the last screen."""
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if condition(screen):
                return screen
            time.sleep(0.15)
        raise AssertionError(f"timed out; the screen was:\n{screen}")

    def kill(self) -> None:
        """Stop this tmux server only."""
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=10)
