"""POST /v1/transcribe: a WAV body in, {"text", "audio_seconds", "processing_seconds"} out."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Final

from aiohttp import web

from ..asr.wav_audio import MAX_WAV_BYTES, read_wav, to_model_input
from ..errors import ModelFailedError, UnsupportedMediaError
from .body_reading import read_body
from .state import STATE

_LOGGER = logging.getLogger(__name__)

AUDIO_TYPES: Final = frozenset(
    {"audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave", "application/octet-stream"}
)


async def handle_transcribe(request: web.Request) -> web.Response:
    """Check the audio, then transcribe it (one transcription at a time, beside generation)."""
    state = request.app[STATE]
    content_type = request.headers.get("Content-Type", "")
    if content_type and request.content_type not in AUDIO_TYPES:
        raise UnsupportedMediaError(
            f"the body must be a WAV file (Content-Type: audio/wav), not {request.content_type}"
        )
    body = await read_body(request, MAX_WAV_BYTES)
    audio = await asyncio.to_thread(read_wav, body)
    transcriber = state.transcriber.require()
    async with state.asr_lock:
        started = time.monotonic()
        try:
            samples = await asyncio.to_thread(to_model_input, audio)
            text = await asyncio.to_thread(transcriber.transcribe, samples)
        except Exception as error:
            _LOGGER.exception("Transcription failed")
            raise ModelFailedError(
                f"the ASR model failed on this audio ({type(error).__name__}: {error})"
            ) from error
        seconds = time.monotonic() - started
    _LOGGER.info("Transcribed %.1f s of audio in %.2f s", audio.seconds, seconds)
    return web.json_response(
        {
            "text": text,
            "audio_seconds": round(audio.seconds, 3),
            "processing_seconds": round(seconds, 3),
        }
    )
