"""POST /v1/transcribe: a WAV body in, {"text", "language", "audio_seconds", ...} out.

`?language=xx` (ISO 639-1) transcribes in that language; one the model does not list answers
400 unsupported_language. Without it a multilingual model detects the language.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Final

from aiohttp import web

from ..asr.language_codes import check_supported, parse_language
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
    language = parse_language(request.query.get("language"))
    body = await read_body(request, MAX_WAV_BYTES)
    audio = await asyncio.to_thread(read_wav, body)
    transcriber = state.transcriber.require()
    check_supported(language, transcriber.languages, transcriber.model_name)
    async with state.asr_lock:
        started = time.monotonic()
        try:
            samples = await asyncio.to_thread(to_model_input, audio)
            heard = await asyncio.to_thread(transcriber.transcribe_speech, samples, language)
        except Exception as error:
            _LOGGER.exception("Transcription failed")
            raise ModelFailedError(
                f"the ASR model failed on this audio ({type(error).__name__}: {error})"
            ) from error
        seconds = time.monotonic() - started
    _LOGGER.info(
        "Transcribed %.1f s of audio (%s) in %.2f s", audio.seconds, heard.language, seconds
    )
    return web.json_response(
        {
            "text": heard.text,
            "language": heard.language,
            "audio_seconds": round(audio.seconds, 3),
            "processing_seconds": round(seconds, 3),
        }
    )
