"""GET /v1/health and GET /v1/openapi.json: never need the token."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .. import __version__
from ..asr.tiny_model import TEST_ASR_MODEL_NAME, TEST_ASR_NOTICE
from ..asr.whisper_tiny_model import TEST_MULTILINGUAL_MODEL_NAME, TEST_MULTILINGUAL_NOTICE
from ..generation.diffusion.presets import DIFFUSION_PRESETS, DIFFUSION_TEST_NOTICE
from ..generation.models.tiny_model import TEST_MODEL_NAME, TEST_MODEL_NOTICE
from ..memory_usage import memory_usage
from ..model_slot import SlotState
from .openapi import openapi_document
from .state import STATE, ServerState


async def handle_health(request: web.Request) -> web.Response:
    """Report whether both models are ready, and what the loaders are doing."""
    return web.json_response(health_body(request.app[STATE]))


async def handle_openapi(request: web.Request) -> web.Response:
    """Serve the OpenAPI document."""
    token_required = request.app[STATE].settings.token is not None
    return web.json_response(openapi_document(__version__, token_required=token_required))


def health_body(state: ServerState) -> dict[str, Any]:
    """Return the health document (see the Health schema in openapi.py)."""
    generator_slot, asr_slot = state.generator, state.transcriber
    if generator_slot.state is SlotState.FAILED:
        status = "error"
    elif SlotState.LOADING in (generator_slot.state, asr_slot.state):
        status = "loading"
    else:
        # The generator is ready; ASR is ready, disabled or failed (asr.ready/error say which).
        status = "ok"
    settings = state.settings
    generator: dict[str, Any] = {
        "model": generator_slot.name,
        "device": settings.device or "auto",
        "dtype": settings.dtype or "auto",
        "ready": generator_slot.state is SlotState.READY,
        "state": str(generator_slot.state),
        "detail": generator_slot.detail,
        "error": generator_slot.error,
        "backend": settings.backend,
        "int8_path": None,
        "capabilities": None,
        "upscaler": None,
        "queue": {
            "running": bool(state.queue.running),
            "waiting": state.queue.waiting,
            "size": state.queue.max_waiting,
        },
    }
    model = generator_slot.model
    if model is not None:
        generator["device"] = model.device
        generator["dtype"] = model.dtype
        generator["capabilities"] = model.capabilities.as_json()
        generator.update(model.describe())
    if generator_slot.name == TEST_MODEL_NAME:
        generator["notice"] = TEST_MODEL_NOTICE
    elif (preset := DIFFUSION_PRESETS.get(str(generator_slot.name))) is not None and preset.test:
        generator["notice"] = DIFFUSION_TEST_NOTICE
    asr: dict[str, Any] = {
        "model": asr_slot.name,
        "ready": asr_slot.state is SlotState.READY,
        "state": str(asr_slot.state),
        "detail": asr_slot.detail,
        "error": asr_slot.error,
        "languages": None,
    }
    if asr_slot.model is not None:
        asr["languages"] = list(asr_slot.model.languages)
    if asr_slot.name == TEST_ASR_MODEL_NAME:
        asr["notice"] = TEST_ASR_NOTICE
    elif asr_slot.name == TEST_MULTILINGUAL_MODEL_NAME:
        asr["notice"] = TEST_MULTILINGUAL_NOTICE
    return {
        "status": status,
        "version": __version__,
        "generator": generator,
        "asr": asr,
        "memory": memory_usage(),
    }
