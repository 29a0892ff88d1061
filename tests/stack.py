"""Starts the three parts as real processes on 127.0.0.1: GPU server, Home Assistant, satellite.

Test infrastructure, used by the end-to-end tests (tests/e2e/), tests/ha and the demo
(scripts/demo.py). Each part runs in its own environment exactly as a user would run it: the
GPU server and the satellite from .venvs/, Home Assistant 2026.11 on Python 3.14 from the
Debian sid root (scripts/ha_root.sh), which shares this machine's loopback. Only the HTTP API
and HA's own APIs connect them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
VENVS = ROOT / ".venvs"
HOST = "127.0.0.1"
# The newest supported Home Assistant, run inside the sid root (scripts/setup.sh builds it).
HASS = [str(ROOT / "scripts" / "ha_root.sh"), "run", "/opt/venvs/ha-2026.11/bin/hass"]
# Set inside the sid root (scripts/ha_root.sh): where the host's own tree is mounted there.
HOST_ROOT = os.environ.get("DALLE_FRAME_HOST_ROOT")


def host_program(args: list[str]) -> list[str]:
    """Return `args` to run a program of the host's .venvs/, from the host or the sid root.

    The HA tests run in the sid root, where the host's Python is not installed; they start
    the GPU server in the host's tree, which the root has at $DALLE_FRAME_HOST_ROOT (the
    checkout and /tmp have the same paths in both).
    """
    return ["chroot", HOST_ROOT, *args] if HOST_ROOT else args


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass
class Process:
    """A child process whose output goes to a log file."""

    name: str
    args: list[str]
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the process in its own process group."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
        self.popen = subprocess.Popen(
            self.args,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=ROOT,
            start_new_session=True,
        )
        log.close()

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self.popen is not None and self.popen.poll() is None

    def stop(self, timeout: float = 20.0) -> None:
        """Stop it with SIGTERM, then SIGKILL if it does not exit in time."""
        if not self.running or self.popen is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(5)

    def kill(self) -> None:
        """Kill it at once (a crash, for fault tests)."""
        if self.running and self.popen is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(5)

    def log_tail(self, lines: int = 40) -> str:
        """Return the last lines of the process's log."""
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


async def wait_for(
    check: Any, what: str, limit: float, process: Process | None = None, interval: float = 0.5
) -> Any:
    """Await `check()` until it returns a truthy value; raise TimeoutError naming `what`."""
    deadline = time.monotonic() + limit
    while True:
        with contextlib.suppress(aiohttp.ClientError, OSError, asyncio.TimeoutError):
            result = await check()
            if result:
                return result
        if process is not None and not process.running:
            raise RuntimeError(
                f"{process.name} exited while waiting for {what}:\n{process.log_tail()}"
            )
        if time.monotonic() > deadline:
            tail = f":\n{process.log_tail()}" if process else ""
            raise TimeoutError(f"timed out after {limit:.0f} s waiting for {what}{tail}")
        await asyncio.sleep(interval)


@dataclass
class GpuServer:
    """The GPU server (addon_inference) as `python -m dalle_frame_server`."""

    work_dir: Path
    model: str = "test"
    asr_model: str = "test"
    models_dir: Path | None = None
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    port: int = field(default_factory=free_port)
    process: Process | None = None

    @property
    def url(self) -> str:
        """Base URL of the server."""
        return f"http://{HOST}:{self.port}"

    async def start(self, session: aiohttp.ClientSession, limit: float = 300) -> None:
        """Start the server and wait until both models are ready."""
        models_dir = self.models_dir or self.work_dir / "models"
        token_file = self.work_dir / "server-token"
        token_file.write_text(self.token)
        token_file.chmod(0o600)
        self.process = Process(
            "GPU server",
            host_program([
                str(VENVS / "server/bin/python"), "-m", "dalle_frame_server",
                "--model", self.model, "--asr-model", self.asr_model,
                "--host", HOST, "--port", str(self.port),
                "--models-dir", str(models_dir), "--token-file", str(token_file),
            ]),
            self.work_dir / "server.log",
        )  # fmt: skip
        self.process.start()
        await wait_for(lambda: self.ready(session), "the GPU server's models", limit, self.process)

    async def ready(self, session: aiohttp.ClientSession) -> bool:
        """Whether /v1/health says both models are ready."""
        async with session.get(f"{self.url}/v1/health") as response:
            body = await response.json()
        return bool(body.get("status") == "ok")

    def stop(self) -> None:
        """Stop the server."""
        if self.process:
            self.process.stop()


@dataclass
class HomeAssistant:
    """A real Home Assistant process with a fresh config folder, onboarded over its REST API."""

    config_dir: Path
    port: int = field(default_factory=free_port)
    username: str = "demo"
    password: str = field(default_factory=lambda: secrets.token_urlsafe(9))
    access_token: str | None = None
    tokens: dict[str, Any] = field(default_factory=dict)
    """The owner's token response from /auth/token (access and refresh token, expiry)."""
    process: Process | None = None

    @property
    def url(self) -> str:
        """Base URL of Home Assistant."""
        return f"http://{HOST}:{self.port}"

    def write_config(self) -> None:
        """Write configuration.yaml and link the integration into custom_components/."""
        self.config_dir.mkdir(parents=True, exist_ok=True)
        (self.config_dir / "configuration.yaml").write_text(
            "\n".join(
                [
                    "homeassistant:",
                    "  name: dalle_frame demo",
                    "  time_zone: UTC",
                    "  country: US",
                    "  unit_system: metric",
                    "  external_url: " + self.url,
                    "  internal_url: " + self.url,
                    "http:",
                    f"  server_host: {HOST}",
                    f"  server_port: {self.port}",
                    "frontend:",
                    "config:",
                    "diagnostics:",
                    "onboarding:",
                    "media_source:",
                    "conversation:",
                    "assist_pipeline:",
                    "stt:",
                    "lovelace:",
                    "logger:",
                    "  default: warning",
                    "  logs:",
                    "    custom_components.dalle_frame: debug",
                    "",
                ]
            )
        )
        custom = self.config_dir / "custom_components"
        custom.mkdir(exist_ok=True)
        link = custom / "dalle_frame"
        if not link.exists():
            link.symlink_to(ROOT / "custom_components" / "dalle_frame")
        # The voice blueprint, as a user imports it (Settings > Blueprints > Import).
        blueprints = self.config_dir / "blueprints" / "automation" / "dalle_frame"
        blueprints.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "blueprints" / "automation" / "dalle_frame" / "paint_from_voice.yaml",
                    blueprints / "paint_from_voice.yaml")  # fmt: skip

    async def start(self, session: aiohttp.ClientSession, limit: float = 240) -> None:
        """Start Home Assistant and wait for its HTTP API."""
        self.write_config()
        self.process = Process(
            "Home Assistant",
            [*HASS, "-c", str(self.config_dir), "--skip-pip"],
            self.config_dir / "home-assistant.out",
        )
        self.process.start()

        async def http_up() -> bool:
            async with session.get(f"{self.url}/api/onboarding") as response:
                return response.status in (200, 401, 404)

        await wait_for(http_up, "Home Assistant's HTTP API", limit, self.process)

    async def onboard(self, session: aiohttp.ClientSession) -> str:
        """Create the owner user through the onboarding API and return an access token."""
        client_id = f"{self.url}/"
        async with session.post(
            f"{self.url}/api/onboarding/users",
            json={
                "client_id": client_id,
                "name": "Demo",
                "username": self.username,
                "password": self.password,
                "language": "en",
            },
        ) as response:
            response.raise_for_status()
            auth_code = (await response.json())["auth_code"]
        async with session.post(
            f"{self.url}/auth/token",
            data={"grant_type": "authorization_code", "code": auth_code, "client_id": client_id},
        ) as response:
            response.raise_for_status()
            self.tokens = await response.json()
            self.access_token = str(self.tokens["access_token"])
        for step, body in (
            ("core_config", {}),
            ("analytics", {}),
            (
                "integration",
                {"client_id": client_id, "redirect_uri": f"{client_id}?auth_callback=1"},
            ),
        ):
            async with session.post(
                f"{self.url}/api/onboarding/{step}", json=body, headers=self.headers
            ) as response:
                response.raise_for_status()
        await self.keep_http_config(session)
        return self.access_token

    async def keep_http_config(self, session: aiohttp.ClientSession) -> None:
        """Confirm the HTTP settings HA took over from configuration.yaml, as a user would.

        HA 2026.10+ moves `http:` from YAML into a pending setting on first start and, unless
        an admin confirms it within 5 minutes, restores the old one and restarts (the demo
        would die at minute 5). Releases without that settings store have nothing to keep.
        """
        try:
            config = await self.ws_command(session, {"type": "http/config"})
        except RuntimeError as error:
            if "unknown_command" in str(error):
                return
            raise
        if config.get("revert_at") is not None:
            await self.ws_command(session, {"type": "http/config/promote"})

    @property
    def headers(self) -> dict[str, str]:
        """Authorization header for REST calls."""
        return {"Authorization": f"Bearer {self.access_token}"}

    async def rest(
        self, session: aiohttp.ClientSession, method: str, path: str, body: Any = None
    ) -> Any:
        """Call HA's REST API and return the decoded JSON (raises with HA's message)."""
        async with session.request(
            method, f"{self.url}{path}", json=body, headers=self.headers
        ) as response:
            text = await response.text()
            if response.status >= 400:
                raise RuntimeError(f"{method} {path}: HTTP {response.status}: {text}")
            return json.loads(text) if text else None

    async def add_frame(
        self, session: aiohttp.ClientSession, server: GpuServer, name: str = "Frame"
    ) -> dict[str, Any]:
        """Add the integration through the real config flow REST API; return the result."""
        flow = await self.rest(
            session, "POST", "/api/config/config_entries/flow", {"handler": "dalle_frame"}
        )
        return await self.rest(
            session,
            "POST",
            f"/api/config/config_entries/flow/{flow['flow_id']}",
            {"name": name, "url": server.url, "token": server.token},
        )

    async def ws_command(self, session: aiohttp.ClientSession, command: dict[str, Any]) -> Any:
        """Run one command on HA's WebSocket API as the owner; return its result."""
        async with session.ws_connect(f"{self.url}/api/websocket") as ws:
            await ws.receive_json()  # auth_required
            await ws.send_json({"type": "auth", "access_token": self.access_token})
            auth = await ws.receive_json()
            if auth.get("type") != "auth_ok":
                raise RuntimeError(f"WebSocket auth failed: {auth}")
            await ws.send_json({"id": 1, **command})
            reply = await ws.receive_json()
        if not reply.get("success"):
            raise RuntimeError(f"{command['type']}: {reply.get('error')}")
        return reply.get("result")

    async def add_dashboard(
        self, session: aiohttp.ClientSession, url_path: str = "dalle-frame", prefix: str = "frame"
    ) -> str:
        """Create a dashboard with the frame's Art and Frame images; return its page's path."""
        await self.ws_command(
            session,
            {
                "type": "lovelace/dashboards/create",
                "url_path": url_path,
                "title": "Frame",
                "icon": "mdi:image-frame",
                "mode": "storage",
                "show_in_sidebar": True,
                "require_admin": False,
            },
        )
        cards: list[dict[str, Any]] = [
            {"type": "picture-entity", "entity": f"image.{prefix}_{key}", "show_state": False}
            for key in ("art", "frame")
        ]
        cards.append(
            {
                "type": "entities",
                "entities": [
                    f"text.{prefix}_prompt",
                    f"sensor.{prefix}_status",
                    f"button.{prefix}_new_prompt",
                    f"button.{prefix}_regenerate",
                    f"switch.{prefix}_auto_mode",
                    f"number.{prefix}_auto_interval",
                ],
            }
        )
        await self.ws_command(
            session,
            {
                "type": "lovelace/config/save",
                "url_path": url_path,
                "config": {"views": [{"title": "Frame", "path": "frame", "cards": cards}]},
            },
        )
        return f"/{url_path}/frame"

    async def long_lived_token(self, session: aiohttp.ClientSession, client_name: str) -> str:
        """Create a long-lived access token over the WebSocket API (for the satellite)."""
        command = {
            "type": "auth/long_lived_access_token",
            "client_name": client_name,
            "lifespan": 3650,
        }
        return str(await self.ws_command(session, command))

    def stop(self) -> None:
        """Stop Home Assistant."""
        if self.process:
            self.process.stop(timeout=60)


@dataclass
class Satellite:
    """The Pi satellite as `python -m dalle_frame_satellite`, with the `file` display and mock GPIO.

    Buttons are pressed through its control socket (a testing aid the satellite offers); the
    picture it "shows" is written to `output` and each refresh logs a "showing" line.
    """

    work_dir: Path
    ha_url: str
    token: str
    output: Path
    panel: str = "inky_impression_5_7"
    wav_file: Path | None = None
    process: Process | None = None

    @property
    def log_path(self) -> Path:
        """The satellite's log file."""
        return self.work_dir / "satellite.log"

    @property
    def control_socket(self) -> Path:
        """The UNIX socket that presses buttons."""
        return self.work_dir / "control.sock"

    def write_config(self) -> Path:
        """Write the satellite's YAML settings and its 0600 token file; return the YAML's path."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        token_file = self.work_dir / "token"
        token_file.write_text(self.token)
        token_file.chmod(0o600)
        settings = {
            "home_assistant": {
                "url": self.ha_url,
                "token_file": str(token_file),
                "reconnect_min_seconds": 0.5,
                "reconnect_max_seconds": 2,
            },
            "display": {"type": "file", "model": self.panel, "path": str(self.output)},
            "gpio": {"pin_factory": "mock"},
            "audio": {"seconds": 3, **({"wav_file": str(self.wav_file)} if self.wav_file else {})},
            "state_file": str(self.work_dir / "state.json"),
            "control_socket": str(self.control_socket),
        }
        path = self.work_dir / "satellite.yaml"
        # JSON is YAML: no YAML library is needed in this environment.
        path.write_text(json.dumps(settings, indent=2))
        return path

    def start(self) -> None:
        """Start the satellite process."""
        config = self.write_config()
        self.process = Process(
            "satellite",
            [
                str(VENVS / "satellite/bin/python"), "-m", "dalle_frame_satellite",
                "--config", str(config),
            ],
            self.log_path,
        )  # fmt: skip
        self.process.start()

    def log_lines(self, fragment: str) -> list[str]:
        """Lines of the satellite's log that contain `fragment`."""
        if not self.log_path.exists():
            return []
        return [
            line
            for line in self.log_path.read_text(errors="replace").splitlines()
            if fragment in line
        ]

    def refresh_count(self) -> int:
        """How many times the satellite has shown a picture (its "showing" log lines)."""
        return len(self.log_lines("showing "))

    async def wait_connected(self, limit: float = 60, after: int = 0) -> None:
        """Wait until the satellite logged more than `after` connections to Home Assistant."""

        async def connected() -> bool:
            return len(self.log_lines("Connected to Home Assistant")) > after

        await wait_for(connected, "the satellite to connect to Home Assistant", limit, self.process)

    async def press(self, button: str) -> str:
        """Press a frame button (A-D) through the control socket; return the satellite's answer."""

        async def socket_ready() -> bool:
            return self.control_socket.exists()

        await wait_for(socket_ready, "the satellite's control socket", 30, self.process)
        reader, writer = await asyncio.open_unix_connection(str(self.control_socket))
        try:
            writer.write(f"press {button}\n".encode())
            await writer.drain()
            answer = (await asyncio.wait_for(reader.readline(), 10)).decode().strip()
        finally:
            writer.close()
            await writer.wait_closed()
        if answer != "ok":
            raise RuntimeError(f"pressing {button}: {answer}")
        return answer

    async def wait_for_refresh(self, after: int, limit: float) -> None:
        """Wait until the satellite showed more than `after` pictures."""

        async def refreshed() -> bool:
            return self.refresh_count() > after and self.output.exists()

        await wait_for(refreshed, "the satellite to show a new picture", limit, self.process)

    def stop(self) -> None:
        """Stop the satellite."""
        if self.process:
            self.process.stop()


def reset_dir(path: Path) -> Path:
    """Empty `path` (or create it) and return it."""
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path
