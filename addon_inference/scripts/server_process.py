"""Starting `python -m dalle_frame_server` as a child process and talking to it (for the tools)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp


def free_port() -> int:
    """Return a port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServerProcess:
    """The server as a child process with its log in a file."""

    arguments: list[str]
    log_path: Path
    port: int = field(default_factory=free_port)
    popen: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start the process."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.popen = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "dalle_frame_server",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    *self.arguments,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )

    async def wait_ready(self, session: aiohttp.ClientSession) -> float:
        """Wait (at most 30 minutes) until health says ok; return the seconds since start."""
        started = time.monotonic()
        limit = 1800
        while time.monotonic() - started < limit:
            if self.popen is not None and self.popen.poll() is not None:
                raise RuntimeError(f"the server exited; see {self.log_path}")
            try:
                async with session.get(f"{self.url}/v1/health") as response:
                    health = await response.json()
                if health["status"] == "ok":
                    return time.monotonic() - started
                if health["status"] == "error":
                    raise RuntimeError(f"the server failed to load: {health}")
            except aiohttp.ClientConnectionError:
                pass
            await _sleep(0.2)
        raise TimeoutError(f"not ready after {limit} s; see {self.log_path}")

    def rss_mib(self) -> float:
        """Return the process's resident memory in MiB (Linux)."""
        assert self.popen is not None
        for line in Path(f"/proc/{self.popen.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS line")

    def stop(self) -> None:
        """Stop it with SIGTERM (SIGKILL after 30 s)."""
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(30)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(5)


async def generate(
    session: aiohttp.ClientSession, url: str, prompt: str, seed: int
) -> tuple[float, float]:
    """Generate one image; return (seconds seen by the client, X-Generation-Seconds)."""
    started = time.monotonic()
    async with session.post(
        f"{url}/v1/generate", json={"prompt": prompt, "seed": seed}
    ) as response:
        if response.status != 200:
            raise RuntimeError(f"generate answered {response.status}: {await response.text()}")
        await response.read()
        return time.monotonic() - started, float(response.headers["X-Generation-Seconds"])


async def _sleep(seconds: float) -> None:
    """asyncio.sleep, imported late to keep this module's imports short."""
    import asyncio

    await asyncio.sleep(seconds)
