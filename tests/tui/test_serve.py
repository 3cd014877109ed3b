"""``wharf serve`` (textual-serve): loopback only, and the page it serves mentions the console."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tui.serve import LOOPBACK, console_command

REPO = Path(__file__).resolve().parents[2]


def test_console_command_passes_root_and_host():
    """Each tab runs ``python -m tui.launch`` with the same root and host."""
    command = console_command("/srv/wharf", "unix:///run/x.sock")
    assert command.endswith("-m tui.launch --root /srv/wharf --host unix:///run/x.sock")


def test_serves_on_loopback():
    """The server answers on 127.0.0.1 with the console's page."""
    pytest.importorskip("textual_serve")
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        port = probe.getsockname()[1]
    code = f"from tui.serve import serve_console; serve_console({port})"
    server = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                page = httpx.get(f"http://{LOOPBACK}:{port}/", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
        assert page.status_code == 200
        assert "Wharf" in page.text
    finally:
        server.terminate()
        server.wait(10)
