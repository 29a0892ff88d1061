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
# The v1 fields a server from before the API additions of issues 18 and 20 knows; it refuses
# any other field (400 unknown_field), as the real one did.
OLD_GENERATE_FIELDS = frozenset(
    {"prompt", "seed", "grid_size", "temperature", "top_k", "supercondition_factor"}
)
# generator.capabilities as the real server states them (docs/ARCHITECTURE.md).
MIN_DALLE_CAPABILITIES: dict[str, Any] = {
    "family": "min-dalle",
    "default_size": [256, 256],
    "min_side": 256,
    "max_side": 768,
    "multiple": 256,
    "max_pixels": 768 * 768,
    "grid_sizes": [1, 2, 3],
    "steps": None,
    "guidance": None,
    "sampling": True,
    "licence": "MIT",
}
DIFFUSION_CAPABILITIES: dict[str, Any] = {
    "family": "diffusion",
    "default_size": [512, 512],
    "min_side": 256,
    "max_side": 1024,
    "multiple": 64,
    "max_pixels": 512 * 512,
    "grid_sizes": [1],
    "steps": {"min": 1, "max": 8, "default": 4},
    "guidance": {"min": 0.0, "max": 10.0, "default": 3.5},
    "sampling": False,
    "licence": "test licence",
}


def make_art_png(seed: int, size: int = 256, height: int | None = None) -> bytes:
    """Paint a deterministic test picture for `seed`: a gradient with a coloured disc.

    `size` is the width (and the height, unless `height` is given).
    """
    width, height = size, height or size
    image = Image.new("RGB", (width, height))
    pixels = image.load()
    red, green, blue = (seed * 37) % 256, (seed * 91) % 256, (seed * 53) % 256
    for y in range(height):
        for x in range(width):
            pixels[x, y] = ((x + red) % 256, (y + green) % 256, (x + y + blue) % 256)
    disc = (width // 4, height // 4, width * 3 // 4, height * 3 // 4)
    ImageDraw.Draw(image).ellipse(disc, fill=(255 - red, 255 - green, 255 - blue))
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
        # generator.capabilities / upscaler in health; None: a server from before issue 18
        # (no such keys; it refuses width, height, steps and guidance_scale).
        self.capabilities: dict[str, Any] | None = None
        self.upscaler: dict[str, Any] | None = None  # set: pictures come at the asked size
        self.generator_model = "test"
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
        generator: dict[str, Any] = {
            "model": self.generator_model,
            "device": "cpu",
            "dtype": "float32",
            "ready": self.generator_ready,
        }
        if self.capabilities is not None:
            generator["capabilities"] = self.capabilities
            generator["upscaler"] = self.upscaler
        asr: dict[str, Any] = {"model": "test", "ready": True}
        if self.transcribe.languages is not None:
            asr["languages"] = self.transcribe.languages
        return web.json_response(
            {
                "status": self.health_status,
                "version": self.version,
                "generator": generator,
                "asr": asr,
            }
        )

    def _painted_size(self, body: dict[str, Any]) -> tuple[int, int] | str:
        """Return the size the model paints for `body`, or why the request is refused."""
        capabilities = self.capabilities
        if capabilities is None:
            unknown = sorted(set(body) - OLD_GENERATE_FIELDS)
            return f"unknown field {', '.join(map(repr, unknown))}" if unknown else (256, 256)
        for field_name, setting in (("steps", "steps"), ("guidance_scale", "guidance")):
            allowed = capabilities[setting]
            if field_name in body and allowed is None:
                return f"the model has no {field_name} setting"
            if field_name in body and not allowed["min"] <= body[field_name] <= allowed["max"]:
                return f"{field_name} is outside {allowed['min']}..{allowed['max']}"
        width, height = body.get("width"), body.get("height")
        if width is not None and height is not None and self.upscaler is not None:
            return int(width), int(height)  # upscaled and cropped to the asked size
        if width is None or capabilities["family"] == "min-dalle":
            side = capabilities["default_size"]
            return int(side[0]), int(side[1])
        scale = min(1.0, (capabilities["max_pixels"] / (width * height)) ** 0.5)
        multiple = capabilities["multiple"]
        return (
            max(capabilities["min_side"], round(width * scale / multiple) * multiple),
            max(capabilities["min_side"], round(height * scale / multiple) * multiple),
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
        painted = self._painted_size(body)
        if isinstance(painted, str):
            code = "unknown_field" if self.capabilities is None else "bad_parameter"
            return self._error(400, code, painted)
        seed = body.get("seed")
        if seed is None:
            seed = self._next_seed
            self._next_seed += 1
        png = make_art_png(int(seed), *painted)
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
