"""POST /v1/generate: a PNG, or an NDJSON stream of progress lines and the result."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from typing import Any, Final

from aiohttp import web

from ..errors import ApiError, ClientGoneError
from ..generation.text_to_image import GenerationRequest
from .body_reading import read_body
from .generate_request import MAX_BODY_BYTES, check_capabilities, parse_generate_body
from .generation_queue import GenerationJob, GenerationResult
from .state import STATE

_LOGGER = logging.getLogger(__name__)

NDJSON: Final = "application/x-ndjson"
CLIENT_CHECK_SECONDS: Final = 0.5
"""How often a handler waiting for its turn checks that its client is still connected."""


async def handle_generate(request: web.Request) -> web.StreamResponse:
    """Check the request, queue it, and answer with the image or a progress stream."""
    state = request.app[STATE]
    body = await read_body(request, MAX_BODY_BYTES)
    generation, given = parse_generate_body(body, request.content_type if body else "")
    model = state.generator.require()
    check_capabilities(generation, given, state.generator.name, model.capabilities)
    if NDJSON in request.headers.get("Accept", ""):
        return await _stream(request, generation)
    job = state.queue.submit(generation)
    job.on_progress = lambda _step, _total: _abandon_if_gone(request, job)
    result = await _wait(request, job)
    _LOGGER.info(
        "Generated %r (seed %d, grid %d) in %.1f s",
        generation.prompt,
        result.seed,
        generation.grid_size,
        result.seconds,
    )
    headers = {
        "X-Seed": str(result.seed),
        "X-Generation-Seconds": f"{result.seconds:.3f}",
        "X-Image-Width": str(result.width),
        "X-Image-Height": str(result.height),
        "Cache-Control": "no-store",
    }
    if result.upscale_seconds is not None:
        headers["X-Upscale-Seconds"] = f"{result.upscale_seconds:.3f}"
    return web.Response(body=result.png, content_type="image/png", headers=headers)


async def _stream(request: web.Request, generation: GenerationRequest) -> web.StreamResponse:
    """Answer with NDJSON: a progress line per decoder step, then the result or an error."""
    events: asyncio.Queue[tuple[int, int] | None] = asyncio.Queue()
    job = request.app[STATE].queue.submit(
        generation, on_progress=lambda step, total: events.put_nowait((step, total))
    )
    job.future.add_done_callback(lambda _future: events.put_nowait(None))
    response = web.StreamResponse(
        headers={
            "Content-Type": NDJSON,
            "Cache-Control": "no-store",
            "X-Seed": str(generation.seed),
        }
    )
    try:
        await response.prepare(request)
        while (event := await _next_event(request, events)) is not None:
            step, total = event
            await _write_line(response, {"type": "progress", "step": step, "total": total})
        await _write_line(response, _final_line(job))
        await response.write_eof()
    except ConnectionResetError:
        job.abandon()
        _LOGGER.info("A client left its generation stream; its generation is dropped")
    except asyncio.CancelledError:
        job.abandon()
        raise
    return response


def _final_line(job: GenerationJob) -> dict[str, Any]:
    """Return the stream's last line: the result, or the error that ended the job."""
    if job.future.cancelled():
        return _error_line("cancelled", "the generation was stopped")
    error = job.future.exception()
    if isinstance(error, ApiError):
        return _error_line(error.code, error.message)
    if error is not None:
        return _error_line("internal_error", "the server failed unexpectedly; see its log")
    result: GenerationResult = job.future.result()
    _LOGGER.info("Generated (stream) seed %d in %.1f s", result.seed, result.seconds)
    return {
        "type": "result",
        "seed": result.seed,
        "seconds": round(result.seconds, 3),
        "width": result.width,
        "height": result.height,
        "upscale_seconds": None
        if result.upscale_seconds is None
        else round(result.upscale_seconds, 3),
        "png_base64": base64.b64encode(result.png).decode("ascii"),
    }


def _error_line(code: str, message: str) -> dict[str, Any]:
    """Return an error line of the stream."""
    return {"type": "error", "error": {"code": code, "message": message}}


async def _write_line(response: web.StreamResponse, line: dict[str, Any]) -> None:
    """Write one JSON object and a newline."""
    await response.write(json.dumps(line, separators=(",", ":")).encode() + b"\n")


async def _wait(request: web.Request, job: GenerationJob) -> GenerationResult:
    """Await the job, abandoning it when the client disconnects or the handler is cancelled."""
    try:
        while True:
            try:
                return await asyncio.wait_for(asyncio.shield(job.future), CLIENT_CHECK_SECONDS)
            except TimeoutError:
                if _client_gone(request):
                    raise ClientGoneError from None
    except (asyncio.CancelledError, ClientGoneError):
        job.abandon()
        raise


async def _next_event(
    request: web.Request, events: asyncio.Queue[tuple[int, int] | None]
) -> tuple[int, int] | None:
    """Return the stream's next event; ConnectionResetError when the client left meanwhile."""
    while True:
        try:
            return await asyncio.wait_for(events.get(), CLIENT_CHECK_SECONDS)
        except TimeoutError:
            if _client_gone(request):
                raise ConnectionResetError("the client closed the connection") from None


def _abandon_if_gone(request: web.Request, job: GenerationJob) -> None:
    """Progress hook for PNG requests: stop the generation when the client disconnected."""
    if _client_gone(request):
        job.abandon()


def _client_gone(request: web.Request) -> bool:
    """Whether the client's connection is closed."""
    transport = request.transport
    return transport is None or transport.is_closing()
