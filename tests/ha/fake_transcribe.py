"""POST /v1/transcribe of the stand-in GPU server (mounted by fake_server.FakeGpuServer).

It checks the token and the WAV file like the real server (RIFF header, 16-bit PCM, 1-2
channels, 8-48 kHz, at most 30 s) with the standard library's wave module, records what it
received, and answers a configurable text or error.
"""

from __future__ import annotations

import asyncio
import io
import wave
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web


@dataclass(frozen=True)
class ReceivedAudio:
    """One WAV file the stand-in received."""

    wav: bytes
    content_type: str
    channels: int
    sample_rate: int
    sample_width: int
    frames: bytes

    @property
    def seconds(self) -> float:
        """Duration of the audio."""
        return len(self.frames) / (self.channels * self.sample_width * self.sample_rate)


@dataclass
class TranscribeError:
    """One error the stand-in answers instead of a text."""

    status: int
    code: str
    message: str


class FakeTranscribeRoute:
    """The /v1/transcribe handler; knobs: `text`, `errors` (answered in order), `delay`."""

    def __init__(self, token: Callable[[], str | None]) -> None:
        self._token = token
        self.text = "a lighthouse in a storm"
        self.errors: list[TranscribeError] = []
        self.delay = 0.0  # seconds to think before answering
        self.received: list[ReceivedAudio] = []
        # health's asr.languages; None: a server from before issue 20 (no such key, English)
        self.languages: list[str] | None = None
        self.asked_languages: list[str | None] = []  # each request's ?language=

    @staticmethod
    def _error(status: int, code: str, message: str) -> web.Response:
        """An API error response."""
        return web.json_response({"error": {"code": code, "message": message}}, status=status)

    async def handle(self, request: web.Request) -> web.Response:
        """POST /v1/transcribe."""
        token = self._token()
        if token and request.headers.get("Authorization") != f"Bearer {token}":
            return self._error(401, "unauthorized", "missing or wrong token")
        body = await request.read()
        try:
            with wave.open(io.BytesIO(body), "rb") as reader:
                audio = ReceivedAudio(
                    wav=body,
                    content_type=request.content_type,
                    channels=reader.getnchannels(),
                    sample_rate=reader.getframerate(),
                    sample_width=reader.getsampwidth(),
                    frames=reader.readframes(reader.getnframes()),
                )
        except (wave.Error, EOFError) as err:
            return self._error(415, "not_wav", f"the body is not a WAV file: {err}")
        if audio.sample_width != 2 or not 8000 <= audio.sample_rate <= 48000:
            return self._error(415, "unsupported_audio", "send 16-bit PCM at 8-48 kHz")
        if audio.seconds > 30:
            return self._error(413, "audio_too_long", "at most 30 s of audio")
        language = request.query.get("language")
        self.asked_languages.append(language)
        if language and self.languages is not None and language not in self.languages:
            return self._error(400, "unsupported_language", f"no {language!r} in this model")
        self.received.append(audio)
        await asyncio.sleep(self.delay)
        if self.errors:
            error = self.errors.pop(0)
            return self._error(error.status, error.code, error.message)
        return web.json_response(
            {"text": self.text, "audio_seconds": audio.seconds, "processing_seconds": 0.01}
        )
