"""A stand-in for the GPU server's HTTP API: a real aiohttp server on 127.0.0.1.

It speaks the v1 API of docs/ARCHITECTURE.md (health, generate as PNG or NDJSON stream, JSON
errors) and paints real PNGs with Pillow, so the integration's client, rendering and history
run for real. Knobs let a test make it slow, fail, or die in the middle of a generation.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from PIL import Image, ImageDraw

from .fake_transcribe import FakeTranscribeRoute

HOST = "127.0.0.1"


def make_art_png(seed: int, size: int = 256) -> bytes:
    """Paint a deterministic test picture for `seed`: a gradient with a coloured disc."""
    image = Image.new("RGB", (size, size))
    pixels = image.load()
    red, green, blue = (seed * 37) % 256, (seed * 91) % 256, (seed * 53) % 256
    for y in range(size):
        for x in range(size):
            pixels[x, y] = ((x + red) % 256, (y + green) % 256, (x + y + blue) % 256)
    ImageDraw.Draw(image).ellipse((64, 64, 192, 192), fill=(255 - red, 255 - green, 255 - blue))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass
class ErrorAnswer:
    """One error the server gives instead of a picture."""

    status: int
    code: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)
    in_stream: bool = False  # send it as a stream "error" line after a progress line


class FakeGpuServer:
    """The GPU server stand-in; start() binds a free port on 127.0.0.1."""

    def __init__(self, token: str | None = None) -> None:
        self.token = token if token is not None else secrets.token_urlsafe(16)
        self.port = 0
        self.health_status = "ok"
        self.health_http_status = 200  # anything else: answer like a server that is not ours
        self.generator_ready = True
        self.version = "1.0.0-test"
        self.progress_total = 256
        self.progress_every = 32
        self.seconds = 1.25
        self.errors: list[ErrorAnswer] = []
        self.raw_generate_body: bytes | None = None  # answer exactly these bytes (NDJSON)
        self.ignore_accept = False  # answer image/png even when a stream was asked for
        self.gate: asyncio.Event | None = None  # a generation waits here after its first line
        self.generation_started = asyncio.Event()
        self.die_mid_stream = False  # stop the whole server after the first progress line
        self.requests: list[dict[str, Any]] = []
        self.auth_headers: list[str | None] = []
        self._runner: web.AppRunner | None = None
        self._stop_task: asyncio.Task[None] | None = None
        self._next_seed = 1000
        self.transcribe = FakeTranscribeRoute(lambda: self.token)  # /v1/transcribe's knobs

    @property
    def url(self) -> str:
        """Base URL."""
        return f"http://{HOST}:{self.port}"

    async def start(self) -> None:
        """Start serving (on the same port as before after a stop; no-op while running)."""
        if self._runner is not None:
            return
        app = web.Application()
        app.router.add_get("/v1/health", self._health)
        app.router.add_post("/v1/generate", self._generate)
        app.router.add_post("/v1/transcribe", self.transcribe.handle)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, HOST, self.port)
        await site.start()
        if not self.port:
            self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Stop serving at once (like a killed process): open streams are cut."""
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def _health(self, request: web.Request) -> web.Response:
        """GET /v1/health."""
        if self.health_http_status != 200:
            return web.Response(status=self.health_http_status, text="<html>not here</html>")
        return web.json_response(
            {
                "status": self.health_status,
                "version": self.version,
                "generator": {
                    "model": "test",
                    "device": "cpu",
                    "dtype": "float32",
                    "ready": self.generator_ready,
                },
                "asr": {"model": "test", "ready": True},
            }
        )

    @staticmethod
    def _error(
        status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> web.Response:
        """An API error response."""
        return web.json_response(
            {"error": {"code": code, "message": message}}, status=status, headers=headers
        )

    async def _generate(self, request: web.Request) -> web.StreamResponse:
        """POST /v1/generate."""
        self.auth_headers.append(request.headers.get("Authorization"))
        if self.token and request.headers.get("Authorization") != f"Bearer {self.token}":
            return self._error(401, "unauthorized", "missing or wrong token")
        try:
            body = await request.json()
        except ValueError:
            return self._error(400, "bad_request", "the body is not JSON")
        prompt = body.get("prompt") if isinstance(body, dict) else None
        if not isinstance(prompt, str) or not prompt.strip():
            return self._error(400, "bad_request", "prompt must be 1 to 255 characters")
        self.requests.append(body)
        if self.errors and not self.errors[0].in_stream:
            error = self.errors.pop(0)
            return self._error(error.status, error.code, error.message, error.headers)
        seed = body.get("seed")
        if seed is None:
            seed = self._next_seed
            self._next_seed += 1
        png = make_art_png(int(seed))
        wants_stream = "application/x-ndjson" in request.headers.get("Accept", "")
        if not wants_stream or self.ignore_accept:
            return web.Response(
                body=png,
                content_type="image/png",
                headers={"X-Seed": str(seed), "X-Generation-Seconds": str(self.seconds)},
            )
        return await self._stream(request, png, int(seed))

    async def _stream(self, request: web.Request, png: bytes, seed: int) -> web.StreamResponse:
        """Answer as NDJSON: progress lines, then the result (or an error line)."""
        response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await response.prepare(request)
        if self.raw_generate_body is not None:
            await response.write(self.raw_generate_body)
            await response.write_eof()
            return response

        async def line(data: dict[str, Any]) -> None:
            await response.write(json.dumps(data).encode() + b"\n")

        for step in range(0, self.progress_total + 1, self.progress_every):
            await line({"type": "progress", "step": step, "total": self.progress_total})
            if step == 0:
                self.generation_started.set()
                if self.die_mid_stream:
                    self._stop_task = asyncio.get_running_loop().create_task(self.stop())
                    await asyncio.sleep(10)
                if self.gate is not None:
                    await self.gate.wait()
                if self.errors and self.errors[0].in_stream:
                    error = self.errors.pop(0)
                    detail = {"code": error.code, "message": error.message}
                    await line({"type": "error", "error": detail})
                    await response.write_eof()
                    return response
        await line(
            {
                "type": "result",
                "seed": seed,
                "seconds": self.seconds,
                "png_base64": base64.b64encode(png).decode(),
            }
        )
        await response.write_eof()
        return response
