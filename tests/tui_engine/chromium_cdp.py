"""Headless Debian chromium driven over the DevTools protocol (aiohttp websocket), loopback only."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import aiohttp

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1280,800",
         # the page asks fonts.googleapis.com for a font: nothing but loopback resolves
         "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
         "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0"]
"""How chromium runs: headless, quiet, and unable to reach anything but 127.0.0.1."""

RECORD_TERMINAL = """
(() => {
  const Native = window.WebSocket;
  window.__wharfOut = "";
  const decoder = new TextDecoder();
  window.WebSocket = function (...args) {
    const socket = new Native(...args);
    socket.addEventListener("message", (event) => {
      if (event.data instanceof ArrayBuffer) {
        window.__wharfOut += decoder.decode(event.data, {stream: true});
      }
    });
    return socket;
  };
  window.WebSocket.prototype = Native.prototype;
  Object.assign(window.WebSocket, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3});
})();
"""
"""Installed before the page's scripts: keeps every byte of terminal output the page's xterm.js draws."""

ANSI = re.compile(r"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-B]|\x1b[=>78]")


def chromium() -> str | None:
    """The chromium binary, if installed."""
    return shutil.which("chromium")


def plain(output: str) -> str:
    """Terminal output without escape sequences."""
    return ANSI.sub("", output)


class Browser:
    """One headless chromium with its own profile; :meth:`close` ends it (and its process group)."""

    def __init__(self, profile: Path) -> None:
        self.process = subprocess.Popen([chromium() or "chromium", *FLAGS, f"--user-data-dir={profile}",
                                         "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        start_new_session=True)
        self.profile = profile
        self.port = self._devtools_port()

    def _devtools_port(self, timeout: float = 30) -> int:
        marker = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if marker.exists() and marker.read_text().strip():
                return int(marker.read_text().split()[0])
            if self.process.poll() is not None:
                raise RuntimeError(f"chromium exited: {self.process.stderr.read().decode()[-2000:]}")
            time.sleep(0.1)
        raise RuntimeError("chromium did not open its DevTools port")

    def close(self) -> None:
        """End chromium (it was started in its own session: its helpers go with it)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        with_leftovers = subprocess.run(["pgrep", "-g", str(self.process.pid)], capture_output=True, text=True)
        for pid in with_leftovers.stdout.split():
            os.kill(int(pid), signal.SIGKILL)
        if self.process.stderr:
            self.process.stderr.close()


class Page:
    """A DevTools session with the browser's first page."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self.socket = socket
        self._ids = itertools.count(1)

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send a command and return its result (events are skipped)."""
        ident = next(self._ids)
        await self.socket.send_str(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads((await self.socket.receive(timeout=30)).data)
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    async def evaluate(self, expression: str) -> Any:
        """Evaluate JavaScript in the page; its value."""
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")


async def load_console(browser: Browser, url: str, wanted: list[str], timeout: float = 30.0,
                       ) -> tuple[str, str, bytes]:
    """Open ``url``, wait until the terminal output shows every string in ``wanted``.

    Returns:
        (plain terminal text, the page's DOM, a PNG screenshot of the page).
    """
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{browser.port}/json/list") as answer:
            pages = [p for p in await answer.json() if p.get("type") == "page"]
        async with http.ws_connect(pages[0]["webSocketDebuggerUrl"], max_msg_size=0) as socket:
            page = Page(socket)
            await page.call("Page.enable")
            await page.call("Page.addScriptToEvaluateOnNewDocument", source=RECORD_TERMINAL)
            await page.call("Page.navigate", url=url)
            deadline = asyncio.get_running_loop().time() + timeout
            text = ""
            while asyncio.get_running_loop().time() < deadline:
                text = plain(await page.evaluate("window.__wharfOut || ''") or "")
                if all(w in text for w in wanted):
                    break
                await asyncio.sleep(0.3)
            await asyncio.sleep(0.5)  # let xterm.js paint the last frames
            dom = await page.evaluate("document.documentElement.outerHTML") or ""
            shot = await page.call("Page.captureScreenshot", format="png")
            import base64  # noqa: PLC0415
            return text, dom, base64.b64decode(shot["data"])


DRAWN_PIXELS = """
(() => {
  const canvas = document.querySelector("canvas.xterm-text-layer");
  if (!canvas) return -1;
  const context = canvas.getContext("2d");
  if (!context) return -2;
  const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
  let drawn = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) drawn++;
  return drawn;
})()
"""
"""JavaScript: how many pixels of xterm.js's text canvas are painted (-1: no canvas)."""
