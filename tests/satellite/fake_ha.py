"""A local stand-in for Home Assistant's WebSocket and REST APIs, as documented.

https://developers.home-assistant.io/docs/api/websocket and .../api/rest: auth_required ->
auth -> auth_ok/auth_invalid, result messages, subscribe_entities with compressed "a"/"c"/"r"
events, call_service with return_response, config/entity_registry/get, the integration's
dalle_frame/satellite/report (or unknown_command, as an older integration answers), GET
/api/image_proxy/<entity_id> and POST /api/stt/<entity_id>. It can drop its connections, stop
and start again on the same port, and serve broken pictures, to test how the satellite copes.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web
from PIL import Image

FRAME = "image.frame_frame"
AUTO = "switch.frame_auto_mode"
STT = "stt.frame_speech_to_text"
ENTRY_ID = "01JFRAMEENTRY"


def palette_png(indices: list[list[int]] | None = None, *, size=(600, 448), seed: int = 0) -> bytes:
    """Return a 7-colour palette PNG like HA's Frame image (indices 0-6, inky's 0.5 blend)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    pixels = (
        np.array(indices, dtype=np.uint8)
        if indices is not None
        else rng.integers(0, 7, size=(size[1], size[0]), dtype=np.uint8)
    )
    image = Image.frombytes("P", (pixels.shape[1], pixels.shape[0]), pixels.tobytes())
    blend = [
        (28, 24, 28), (255, 255, 255), (29, 173, 35), (30, 29, 174),
        (205, 36, 37), (231, 222, 35), (216, 123, 36),
    ]  # fmt: skip
    image.putpalette([c for rgb in blend for c in rgb])
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@dataclass
class ServiceCall:
    """One call_service message as received."""

    domain: str
    service: str
    data: dict[str, Any]
    target: dict[str, Any]
    return_response: bool


@dataclass
class FakeHomeAssistant:
    """The stand-in's state and controls."""

    token: str
    version: str = "2025.4.4"
    frame_png: bytes | None = None
    frame_state: str = "unknown"
    auto_mode: str = "off"
    image_status: int = 200
    image_content_type: str = "image/png"
    image_body: bytes | None = None
    stt_text: str = "a lighthouse in a storm"
    stt_result: str = "success"
    registry_admin: bool = True
    generate_seconds: float = 0.0
    generated_png: bytes | None = None
    service_error: str | None = None
    calls: list[ServiceCall] = field(default_factory=list)
    commands: list[dict[str, Any]] = field(default_factory=list)
    image_requests: int = 0
    stt_requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    auth_attempts: int = 0
    satellite_reports: list[dict[str, Any]] = field(default_factory=list)
    reports_supported: bool = True
    report_error: tuple[str, str] | None = None
    port: int = 0
    _runner: web.AppRunner | None = None
    _sockets: set[web.WebSocketResponse] = field(default_factory=set)
    _subscribers: list[tuple[web.WebSocketResponse, int, list[str]]] = field(default_factory=list)
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: set[asyncio.Task] = field(default_factory=set)

    @property
    def url(self) -> str:
        """Base URL."""
        return f"http://127.0.0.1:{self.port}"

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Serve on 127.0.0.1 (the same port again after a stop)."""
        app = web.Application()
        app.router.add_get("/api/websocket", self._websocket)
        app.router.add_get("/api/image_proxy/{entity_id}", self._image_proxy)
        app.router.add_post("/api/stt/{entity_id}", self._stt)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        if not self.port:
            self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Close every connection and stop serving (Home Assistant going down)."""
        for task in list(self._tasks):
            task.cancel()
        await self.drop_connections()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def drop_connections(self) -> None:
        """Close every WebSocket (what a restarting Home Assistant does)."""
        self.connected.clear()
        for socket in list(self._sockets):
            with contextlib.suppress(Exception):
                await socket.close()
        self._sockets.clear()
        self._subscribers.clear()

    # --- state changes -----------------------------------------------------------------------

    async def set_frame(self, png: bytes | None, *, state: str | None = None) -> None:
        """Give the Frame image a new picture; subscribers get a "c" diff of the state."""
        self.frame_png = png
        self.frame_state = state or f"2026-01-01T00:00:{time.monotonic():09.6f}+00:00"
        await self._push(FRAME, {"c": {FRAME: {"+": {"s": self.frame_state, "lu": time.time()}}}})

    async def rotate_access_token(self) -> None:
        """Change only an attribute (HA rotates an image's access_token every 5 minutes)."""
        change = {"+": {"a": {"access_token": f"t{time.monotonic()}"}}}
        await self._push(FRAME, {"c": {FRAME: change}})

    async def set_auto_mode(self, state: str) -> None:
        """Change the auto mode switch."""
        self.auto_mode = state
        await self._push(AUTO, {"c": {AUTO: {"+": {"s": state}}}})

    async def _push(self, entity_id: str, event: dict[str, Any]) -> None:
        """Send an event to every subscription that follows entity_id."""
        for socket, ident, entity_ids in list(self._subscribers):
            if entity_id in entity_ids and not socket.closed:
                with contextlib.suppress(ConnectionError):
                    await socket.send_json({"id": ident, "type": "event", "event": event})

    def _full_state(self, entity_id: str) -> dict[str, Any] | None:
        """Compressed full state of an entity for an "a" event."""
        if entity_id == FRAME:
            return {
                "s": self.frame_state,
                "a": {"access_token": "abc", "entity_picture": f"/api/image_proxy/{FRAME}"},
                "c": "ctx",
                "lc": 1.0,
            }
        if entity_id == AUTO:
            return {"s": self.auto_mode, "a": {}, "c": "ctx", "lc": 1.0}
        return None

    # --- WebSocket API -----------------------------------------------------------------------

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        """Serve one WebSocket client."""
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self._sockets.add(socket)
        await socket.send_json({"type": "auth_required", "ha_version": self.version})
        auth = await socket.receive_json()
        self.auth_attempts += 1
        if auth.get("type") != "auth" or auth.get("access_token") != self.token:
            await socket.send_json({"type": "auth_invalid", "message": "Invalid access token"})
            await socket.close()
            return socket
        await socket.send_json({"type": "auth_ok", "ha_version": self.version})
        self.connected.set()
        async for message in socket:
            if message.type != WSMsgType.TEXT:
                continue
            command = json.loads(message.data)
            self.commands.append(command)
            task = asyncio.create_task(self._answer(socket, command))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        self._sockets.discard(socket)
        self._subscribers = [s for s in self._subscribers if s[0] is not socket]
        return socket

    async def _answer(self, socket: web.WebSocketResponse, command: dict[str, Any]) -> None:
        """Answer one command."""
        ident, kind = command["id"], command.get("type")
        try:
            if kind == "ping":
                await socket.send_json({"id": ident, "type": "pong"})
            elif kind == "subscribe_entities":
                await self._subscribe(socket, ident, command.get("entity_ids") or [])
            elif kind == "config/entity_registry/get":
                await self._registry_get(socket, ident, command.get("entity_id"))
            elif kind == "call_service":
                await self._call_service(socket, ident, command)
            elif kind == "dalle_frame/satellite/report" and self.reports_supported:
                await self._satellite_report(socket, ident, command)
            else:
                await _error(socket, ident, "unknown_command", "Unknown command.")
        except ConnectionError:
            pass

    async def _subscribe(self, socket: web.WebSocketResponse, ident: int, ids: list[str]) -> None:
        """Result, then an "a" event with the current states of the existing entities."""
        self._subscribers.append((socket, ident, ids))
        await socket.send_json({"id": ident, "type": "result", "success": True, "result": None})
        states = {eid: state for eid in ids if (state := self._full_state(eid)) is not None}
        await socket.send_json({"id": ident, "type": "event", "event": {"a": states}})

    async def _registry_get(
        self, socket: web.WebSocketResponse, ident: int, entity_id: Any
    ) -> None:
        """config/entity_registry/get (admin only)."""
        if not self.registry_admin:
            await _error(socket, ident, "unauthorized", "Unauthorized")
        elif entity_id != FRAME:
            await _error(socket, ident, "not_found", "Entity not found")
        else:
            result = {"entity_id": FRAME, "config_entry_id": ENTRY_ID, "platform": "dalle_frame"}
            await socket.send_json(
                {"id": ident, "type": "result", "success": True, "result": result}
            )

    async def _satellite_report(
        self, socket: web.WebSocketResponse, ident: int, command: dict[str, Any]
    ) -> None:
        """Record the report; answer like the integration (or with report_error)."""
        if self.report_error is not None:
            await _error(socket, ident, *self.report_error)
            return
        self.satellite_reports.append(command)
        result = {"config_entry_id": ENTRY_ID, "online": True}
        await socket.send_json({"id": ident, "type": "result", "success": True, "result": result})

    async def _call_service(self, socket: web.WebSocketResponse, ident: int, command: dict) -> None:
        """Record the call; dalle_frame services "generate" and change the Frame image."""
        call = ServiceCall(
            domain=command["domain"],
            service=command["service"],
            data=command.get("service_data") or {},
            target=command.get("target") or {},
            return_response=bool(command.get("return_response")),
        )
        self.calls.append(call)
        if self.service_error:
            await _error(socket, ident, "home_assistant_error", self.service_error)
            return
        response = None
        if call.domain == "dalle_frame":
            if not call.return_response:
                await _error(socket, ident, "service_validation_error", "needs return_response")
                return
            await asyncio.sleep(self.generate_seconds)
            prompt = call.data.get("prompt", "a red car")
            response = {
                "prompt": prompt,
                "seed": 42,
                "seconds": 1.5,
                "entity_id": "image.frame_art",
            }
            if self.generated_png is not None:
                await self.set_frame(self.generated_png)
        elif (call.domain, call.service) == ("switch", "toggle"):
            await self.set_auto_mode("on" if self.auto_mode == "off" else "off")
        result = (
            {"context": {"id": "ctx"}, "response": response}
            if call.return_response
            else {"context": {"id": "ctx"}}
        )
        await socket.send_json({"id": ident, "type": "result", "success": True, "result": result})

    # --- REST API ----------------------------------------------------------------------------

    def _authorized(self, request: web.Request) -> bool:
        """Bearer token check."""
        return request.headers.get("Authorization") == f"Bearer {self.token}"

    async def _image_proxy(self, request: web.Request) -> web.StreamResponse:
        """GET /api/image_proxy/<entity_id>."""
        self.image_requests += 1
        if not self._authorized(request):
            return web.Response(status=401)
        if request.match_info["entity_id"] != FRAME or self.frame_png is None:
            return web.Response(status=404)
        if self.image_status != 200 or self.image_body is not None:
            return web.Response(
                status=self.image_status,
                body=self.image_body if self.image_body is not None else b"",
                content_type=self.image_content_type,
            )
        return web.Response(body=self.frame_png, content_type="image/png")

    async def _stt(self, request: web.Request) -> web.Response:
        """POST /api/stt/<entity_id>: records the headers and the PCM body."""
        if not self._authorized(request):
            return web.Response(status=401)
        if request.match_info["entity_id"] != STT:
            return web.Response(status=404)
        body = await request.read()
        self.stt_requests.append((dict(request.headers), body))
        text = self.stt_text if self.stt_result == "success" else None
        return web.json_response({"text": text, "result": self.stt_result})


async def _error(socket: web.WebSocketResponse, ident: int, code: str, message: str) -> None:
    """Send a failed result."""
    error = {"code": code, "message": message}
    await socket.send_json({"id": ident, "type": "result", "success": False, "error": error})
