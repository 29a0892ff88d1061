"""Speech to text: the GPU server's ASR (POST /v1/transcribe) as an HA STT entity.

Assist pipelines stream raw 16-bit PCM; HA's REST endpoint `POST /api/stt/<entity_id>` passes
the request body through, which may be raw PCM or a whole WAV file. Either way the entity sends
one WAV file to the server, with the pipeline's language (`?language=de`). The languages the
entity offers are the server's speech model's (health's `asr.languages`: ["en"] for wav2vec2,
about a hundred for Whisper; a server from before that field is English). Every failure
becomes an error result and a log line, never an exception in the pipeline.
"""

from __future__ import annotations

from collections.abc import AsyncIterable
from typing import Final

import aiohttp
from homeassistant.components import stt
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import LOGGER
from .data import DalleFrameConfigEntry
from .entity import DalleFrameServerEntity
from .errors import DalleFrameError
from .speech_audio import (
    MAX_SPEECH_SECONDS,
    SpeechAudioError,
    audio_from_upload,
    max_upload_bytes,
    to_wav,
)

PARALLEL_UPDATES = 0

# The server's default wav2vec2 model is English; it resamples 8-48 kHz and mixes stereo to
# mono. English keeps its regional tags (pipelines made before other languages use them).
SUPPORTED_LANGUAGES: Final = ["en", "en-US", "en-GB"]
ENGLISH_ONLY: Final = ("en",)
SUPPORTED_SAMPLE_RATES: Final = [
    stt.AudioSampleRates.SAMPLERATE_8000,
    stt.AudioSampleRates.SAMPLERATE_16000,
    stt.AudioSampleRates.SAMPLERATE_32000,
    stt.AudioSampleRates.SAMPLERATE_44100,
    stt.AudioSampleRates.SAMPLERATE_48000,
]
_ERROR: Final = stt.SpeechResult(None, stt.SpeechResultState.ERROR)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: DalleFrameConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the frame's speech-to-text entity."""
    async_add_entities([DalleFrameSpeechToText(entry)])


class DalleFrameSpeechToText(DalleFrameServerEntity, stt.SpeechToTextEntity):
    """Transcribes speech with the frame's GPU server."""

    def __init__(self, entry: DalleFrameConfigEntry) -> None:
        super().__init__(entry, "speech_to_text")
        self._client = entry.runtime_data.client
        self._coordinator = entry.runtime_data.coordinator
        self._languages: tuple[str, ...] = ENGLISH_ONLY
        """The server model's languages, kept while the model reloads (health says null)."""

    @property
    def available(self) -> bool:
        """Whether the server is reachable and its ASR model is loaded."""
        health = self._coordinator.data
        return super().available and health is not None and health.asr_ready

    @property
    def server_languages(self) -> tuple[str, ...]:
        """The codes the server's speech model understands (the last ones health named)."""
        health = self._coordinator.data
        if health is not None and health.asr_languages:
            self._languages = health.asr_languages
        return self._languages

    @property
    def supported_languages(self) -> list[str]:
        """The server model's languages (English with its regional tags)."""
        codes = self.server_languages
        extra = SUPPORTED_LANGUAGES if "en" in codes else []
        return list(dict.fromkeys([*extra, *codes]))

    @property
    def supported_formats(self) -> list[stt.AudioFormats]:
        """WAV (a raw PCM stream, or a WAV file over REST)."""
        return [stt.AudioFormats.WAV]

    @property
    def supported_codecs(self) -> list[stt.AudioCodecs]:
        """PCM."""
        return [stt.AudioCodecs.PCM]

    @property
    def supported_bit_rates(self) -> list[stt.AudioBitRates]:
        """16-bit samples."""
        return [stt.AudioBitRates.BITRATE_16]

    @property
    def supported_sample_rates(self) -> list[stt.AudioSampleRates]:
        """The rates the server resamples from (Assist pipelines use 16 kHz)."""
        return SUPPORTED_SAMPLE_RATES

    @property
    def supported_channels(self) -> list[stt.AudioChannels]:
        """Mono or stereo (the server mixes stereo to mono)."""
        return [stt.AudioChannels.CHANNEL_MONO, stt.AudioChannels.CHANNEL_STEREO]

    async def async_process_audio_stream(
        self, metadata: stt.SpeechMetadata, stream: AsyncIterable[bytes]
    ) -> stt.SpeechResult:
        """Collect the audio, send it to the server as one WAV file, return its text."""
        language = metadata.language.replace("_", "-").split("-")[0].lower()
        if language not in self.server_languages:
            LOGGER.warning(
                "%s cannot transcribe %s: the server's speech model understands %s only; choose "
                "a multilingual asr_model (whisper-base) in the GPU server's options",
                self.entity_id,
                metadata.language,
                ", ".join(self.server_languages),
            )
            return _ERROR
        limit = max_upload_bytes(metadata.sample_rate, metadata.channel)
        try:
            data = await _read_stream(stream, limit)
        except (OSError, aiohttp.ClientError, ValueError) as err:
            LOGGER.warning("The audio stream to %s broke off: %s", self.entity_id, err)
            return _ERROR
        try:
            audio = audio_from_upload(
                data,
                sample_rate=metadata.sample_rate,
                channels=metadata.channel,
                bit_rate=metadata.bit_rate,
            )
        except SpeechAudioError as err:
            LOGGER.warning("Cannot transcribe the audio sent to %s: %s", self.entity_id, err)
            return _ERROR
        if not audio.pcm:
            LOGGER.warning("No audio reached %s; nothing to transcribe", self.entity_id)
            return _ERROR
        if audio.seconds > MAX_SPEECH_SECONDS:
            LOGGER.warning(
                "Speech sent to %s is longer than %.0f s; only its start is transcribed",
                self.entity_id,
                MAX_SPEECH_SECONDS,
            )
            audio = audio.head(MAX_SPEECH_SECONDS)
        try:
            text = await self._client.async_transcribe(to_wav(audio), language)
        except DalleFrameError as err:
            LOGGER.warning("Speech to text with %s failed: %s", self.entity_id, err)
            return _ERROR
        LOGGER.debug("%s heard %r in %.1f s of audio", self.entity_id, text, audio.seconds)
        return stt.SpeechResult(text, stt.SpeechResultState.SUCCESS)


async def _read_stream(stream: AsyncIterable[bytes], limit: int) -> bytes:
    """Read the stream up to `limit` bytes.

    An HTTP request body (aiohttp's StreamReader) iterates by lines, which fails on long runs
    of PCM without a newline byte (silence); read it in the chunks that arrive instead.
    """
    chunks = stream.iter_any() if isinstance(stream, aiohttp.StreamReader) else stream
    data = bytearray()
    async for chunk in chunks:
        data.extend(chunk)
        if len(data) >= limit:
            break
    return bytes(data[:limit])
