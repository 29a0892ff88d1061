"""Headless Chromium (Debian's package) driven over the DevTools protocol with aiohttp.

Just enough of the protocol for the dashboard and options checks: open a page with HA's login
tokens already in localStorage, record the HTTP responses the page receives, click a control
by its label, wait for a text, take a screenshot.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

CHROMIUM = "/usr/bin/chromium"

# Without the background-networking flags Chromium tries Google's hosts, which this machine's
# closed network refuses many times a second.
_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1000",
    "--remote-debugging-port=0",
)


# Every element of the page, shadow roots included (JavaScript, used by the helpers below).
_ALL_ELEMENTS = """
const allElements = () => {
  const found = [];
  const walk = (root) => {
    for (const element of root.querySelectorAll('*')) {
      found.push(element);
      if (element.shadowRoot) walk(element.shadowRoot);
    }
  };
  walk(document);
  return found;
};
"""
# Click the first visible element labelled %s (a JSON string); else return the labels seen.
_CLICK_LABELLED = (
    "(() => {"
    + _ALL_ELEMENTS
    + """
  const wanted = %s;
  const labelOf = (element) => String(
    element.label || element.getAttribute('label') || element.getAttribute('aria-label')
    || (['BUTTON', 'HA-BUTTON', 'MWC-BUTTON'].includes(element.tagName)
        ? element.textContent : '') || '').trim();
  const labels = new Set();
  for (const element of allElements()) {
    const label = labelOf(element);
    if (!label) continue;
    labels.add(label);
    if (label === wanted && element.getClientRects().length > 0) {
      element.click();
      return true;
    }
  }
  return [...labels].slice(0, 80);
})()"""
)
# Whether text %s (a JSON string) is in the page, shadow roots included.
_HAS_TEXT = (
    "(() => {"
    + _ALL_ELEMENTS
    + """
  const wanted = %s;
  return allElements().some((element) => element.shadowRoot
    ? element.shadowRoot.textContent.includes(wanted)
    : false) || (document.body?.innerText ?? '').includes(wanted);
})()"""
)


@dataclass
class Response:
    """One HTTP response the page received."""

    url: str
    status: int


@dataclass
class Page:
    """A browser tab: send DevTools commands, collect responses."""

    ws: aiohttp.ClientWebSocketResponse
    responses: list[Response] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _pending: dict[int, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)
    _reader: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start reading DevTools messages."""
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self.ws:
            data = json.loads(message.data)
            if "id" in data and data["id"] in self._pending:
                self._pending.pop(data["id"]).set_result(data)
            elif data.get("method") == "Network.responseReceived":
                response = data["params"]["response"]
                self.responses.append(Response(response["url"], int(response["status"])))

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        """Run one DevTools command and return its result (raises on a protocol error)."""
        message_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[message_id] = future
        await self.ws.send_json({"id": message_id, "method": method, "params": params})
        reply = await asyncio.wait_for(future, 60)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return dict(reply.get("result", {}))

    async def wait_for_responses(self, fragments: list[str], limit: float) -> dict[str, Response]:
        """Wait until a response whose URL contains each fragment arrived; return them."""
        deadline = time.monotonic() + limit
        while True:
            found = {
                fragment: response
                for fragment in fragments
                for response in self.responses
                if fragment in response.url
            }
            if len(found) == len(fragments):
                return found
            if time.monotonic() > deadline:
                seen = "\n".join(f"{r.status} {r.url}" for r in self.responses[-30:])
                raise TimeoutError(f"no response for {set(fragments) - set(found)}; seen:\n{seen}")
            await asyncio.sleep(0.25)

    async def evaluate(self, expression: str) -> Any:
        """Run JavaScript in the page (promises awaited) and return its JSON value."""
        result = await self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"JavaScript failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def click_labelled(self, label: str, limit: float) -> None:
        """Click the first visible control labelled `label`, looking into shadow roots.

        HA's frontend is web components all the way down, so document.querySelector finds
        nothing of it; the controls' label is their text, `label` or `aria-label`.
        """
        deadline = time.monotonic() + limit
        while True:
            found = await self.evaluate(_CLICK_LABELLED % json.dumps(label))
            if found is True:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"no control labelled {label!r}; labels seen: {found}")
            await asyncio.sleep(0.5)

    async def wait_for_text(self, text: str, limit: float) -> None:
        """Wait until `text` is shown somewhere in the page, shadow roots included."""
        deadline = time.monotonic() + limit
        while not await self.evaluate(_HAS_TEXT % json.dumps(text)):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{text!r} did not appear in {limit:.0f} s")
            await asyncio.sleep(0.5)

    async def set_viewport(self, width: int, height: int) -> None:
        """Resize the page's viewport (the window is 1280x1000)."""
        await self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )

    async def screenshot(self) -> bytes:
        """Return a PNG screenshot of the page."""
        result = await self.send("Page.captureScreenshot", format="png")
        return base64.b64decode(result["data"])


@contextlib.asynccontextmanager
async def open_page(session: aiohttp.ClientSession) -> AsyncIterator[Page]:
    """Start a fresh headless Chromium and yield its first tab, ready for commands."""
    profile = Path(tempfile.mkdtemp(prefix="dalle-frame-chromium-"))
    process = await asyncio.create_subprocess_exec(
        CHROMIUM,
        *_FLAGS,
        f"--user-data-dir={profile}",
        "about:blank",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        port = await _devtools_port(profile, process)
        async with session.get(f"http://127.0.0.1:{port}/json/list") as response:
            targets = await response.json()
        url = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
        async with session.ws_connect(url, max_msg_size=0) as ws:
            page = Page(ws)
            page.start()
            await page.send("Network.enable")
            await page.send("Page.enable")
            yield page
    finally:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()
        shutil.rmtree(profile, ignore_errors=True)


async def _devtools_port(profile: Path, process: asyncio.subprocess.Process) -> int:
    """Read the DevTools port Chromium picked from the file it writes into its profile."""
    port_file = profile / "DevToolsActivePort"
    for _ in range(300):
        if process.returncode is not None:
            raise RuntimeError(f"Chromium exited with status {process.returncode}")
        with contextlib.suppress(OSError, ValueError, IndexError):
            return int(port_file.read_text().splitlines()[0])
        await asyncio.sleep(0.1)
    raise TimeoutError("Chromium did not open its DevTools port in 30 s")
