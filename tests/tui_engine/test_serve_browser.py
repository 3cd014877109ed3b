"""``wharf serve`` in a real browser: headless chromium loads the page and shows the containers pane."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytest.importorskip("textual_serve", reason="wharf serve needs textual-serve (the 'serve' extra)")
pytest.importorskip("aiohttp", reason="the DevTools client uses aiohttp (a textual-serve dependency)")

from chromium_cdp import DRAWN_PIXELS, Browser, Page, chromium, load_console  # noqa: E402

from tui.serve import LOOPBACK  # noqa: E402

pytestmark = pytest.mark.timeout(120)

REPO = Path(__file__).resolve().parents[2]
PROBE = "wh-serve-probe"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def _console_processes(server: subprocess.Popen[bytes]) -> list[str]:
    """Command lines of the console processes textual-serve started for browser tabs."""
    found = subprocess.run(["pgrep", "-a", "-g", str(server.pid)], capture_output=True, text=True).stdout
    return [line for line in found.splitlines() if "-m tui.launch" in line]


@pytest.fixture
def probe_container(engine, test_images):  # noqa: ANN001
    """A created (not started) container whose name the containers pane must show."""
    client = engine.client
    reference = test_images.busybox_oci.reference
    if reference not in {t for image in client.images.list() for t in image.tags}:
        client.images.pull(reference)
    container = client.containers.create(reference, ["true"], name=PROBE, network_mode="none")
    yield container
    container.remove(force=True)


def test_chromium_shows_the_containers_pane(engine, probe_container, tmp_path):  # noqa: ANN001
    """The page's terminal (xterm.js, drawn on a canvas) gets the console's containers pane over the websocket."""
    if chromium() is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    port = _free_port()
    code = f"from tui.serve import serve_console; serve_console({port}, {str(engine.root)!r}, {engine.url!r})"
    log = open(tmp_path / "serve.log", "wb")
    server = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=log, stderr=log,
                              stdin=subprocess.DEVNULL, start_new_session=True)
    browser = None
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                httpx.get(f"http://{LOOPBACK}:{port}/", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
        browser = Browser(tmp_path / "profile")
        text, dom, shot = asyncio.run(load_console(
            browser, f"http://{LOOPBACK}:{port}/", ["3 Containers", PROBE, "created"]))
        (tmp_path / "page.png").write_bytes(shot)
        assert "3 Containers" in text and "1 Repository" in text, text[-3000:]
        assert PROBE in text and "created" in text, text[-3000:]
        assert "textual-terminal -connected" in dom or "-connected" in dom
        assert shot.startswith(b"\x89PNG") and len(shot) > 20_000, len(shot)
        drawn = asyncio.run(_drawn_pixels(browser))
        assert drawn > 5000, f"xterm.js drew {drawn} pixels"
        consoles = _console_processes(server)
        assert consoles and engine.url in consoles[0], consoles
    finally:
        if browser is not None:
            browser.close()
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(10)
        leftovers = subprocess.run(["pgrep", "-g", str(server.pid)], capture_output=True, text=True).stdout.split()
        for pid in leftovers:
            os.kill(int(pid), signal.SIGKILL)
        log.close()


async def _drawn_pixels(browser: Browser) -> int:
    import aiohttp  # noqa: PLC0415

    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{browser.port}/json/list") as answer:
            pages = [p for p in await answer.json() if p.get("type") == "page"]
        async with http.ws_connect(pages[0]["webSocketDebuggerUrl"], max_msg_size=0) as socket_:
            return int(await Page(socket_).evaluate(DRAWN_PIXELS))
