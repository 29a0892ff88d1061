"""Speech audio for the GPU server's ASR: raw PCM or a WAV upload in, a clean WAV file out.

Assist pipelines stream raw PCM; HA's REST endpoint passes the request body through unchanged,
so a client may send raw PCM or a whole WAV file. Both become `SpeechAudio` (16-bit PCM), and
`to_wav` writes the RIFF file that POST /v1/transcribe expects. Pure Python, no HA imports.
"""

from __future__ import annotations

import io
import struct
import wave
from dataclasses import dataclass
from typing import Final

MAX_SPEECH_SECONDS: Final = 30.0
"""The GPU server refuses longer audio (HTTP 413); the STT entity sends only this much."""
SAMPLE_WIDTH: Final = 2
"""Bytes per sample: the server reads 16-bit PCM only."""
MAX_HEADER_BYTES: Final = 64 * 1024
"""Room for a WAV header (fmt, LIST, ... chunks) before the samples."""

_WAVE_FORMAT_PCM: Final = 1
_WAVE_FORMAT_EXTENSIBLE: Final = 0xFFFE


class SpeechAudioError(ValueError):
    """The audio cannot be sent to the server; the message says why."""


@dataclass(frozen=True, kw_only=True)
class SpeechAudio:
    """16-bit little-endian PCM samples (interleaved when stereo) and their format."""

    pcm: bytes
    sample_rate: int
    channels: int

    @property
    def frame_bytes(self) -> int:
        """Bytes of one sample frame (all channels)."""
        return SAMPLE_WIDTH * self.channels

    @property
    def seconds(self) -> float:
        """The audio's duration."""
        return len(self.pcm) / (self.frame_bytes * self.sample_rate)

    def head(self, seconds: float) -> SpeechAudio:
        """Return the first `seconds` of the audio."""
        end = int(seconds * self.sample_rate) * self.frame_bytes
        return SpeechAudio(pcm=self.pcm[:end], sample_rate=self.sample_rate, channels=self.channels)


def max_upload_bytes(sample_rate: int, channels: int) -> int:
    """Bytes of MAX_SPEECH_SECONDS of audio in this format, plus room for a WAV header."""
    return int(MAX_SPEECH_SECONDS * sample_rate) * SAMPLE_WIDTH * channels + MAX_HEADER_BYTES


def audio_from_upload(
    data: bytes, *, sample_rate: int, channels: int, bit_rate: int
) -> SpeechAudio:
    """Return the speech in `data`: raw PCM in the declared format, or a WAV file.

    A WAV header wins over the declared format (it describes the samples that follow).
    A trailing partial frame is dropped. Raises SpeechAudioError for anything that is not
    16-bit PCM.
    """
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        audio = _audio_from_wav(data)
    else:
        if bit_rate != SAMPLE_WIDTH * 8:
            raise SpeechAudioError(f"{bit_rate}-bit audio is not supported; send 16-bit PCM")
        audio = SpeechAudio(pcm=data, sample_rate=sample_rate, channels=channels)
    return _whole_frames(audio)


def to_wav(audio: SpeechAudio) -> bytes:
    """Return `audio` as a RIFF/WAVE file (16-bit PCM)."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(audio.channels)
        writer.setsampwidth(SAMPLE_WIDTH)
        writer.setframerate(audio.sample_rate)
        writer.writeframes(audio.pcm)
    return buffer.getvalue()


def _whole_frames(audio: SpeechAudio) -> SpeechAudio:
    """Drop a trailing partial frame (a stream cut in the middle of a sample)."""
    end = len(audio.pcm) // audio.frame_bytes * audio.frame_bytes
    if end == len(audio.pcm):
        return audio
    return SpeechAudio(pcm=audio.pcm[:end], sample_rate=audio.sample_rate, channels=audio.channels)


def _audio_from_wav(data: bytes) -> SpeechAudio:
    """Read a WAV file's fmt chunk and samples (a streamed file's data size may be wrong)."""
    fmt: tuple[int, int, int, int] | None = None
    offset = 12
    while offset + 8 <= len(data):
        chunk_id = data[offset : offset + 4]
        (size,) = struct.unpack_from("<I", data, offset + 4)
        body = offset + 8
        if chunk_id == b"fmt ":
            fmt = _read_fmt(data[body : body + size])
        elif chunk_id == b"data":
            if fmt is None:
                raise SpeechAudioError("the WAV file's data chunk comes before its fmt chunk")
            # Streaming writers (arecord, sounddevice) put 0 or 0xFFFFFFFF here: read to the end.
            end = len(data) if size in (0, 0xFFFFFFFF) else min(len(data), body + size)
            _, channels, sample_rate, bits = fmt
            if bits != SAMPLE_WIDTH * 8:
                raise SpeechAudioError(f"the WAV file has {bits}-bit samples; send 16-bit PCM")
            return SpeechAudio(pcm=data[body:end], sample_rate=sample_rate, channels=channels)
        offset = body + size + (size & 1)
    raise SpeechAudioError("the WAV file has no fmt or data chunk (it is cut short or damaged)")


def _read_fmt(chunk: bytes) -> tuple[int, int, int, int]:
    """Return (format, channels, sample rate, bits per sample) of a fmt chunk."""
    if len(chunk) < 16:
        raise SpeechAudioError("the WAV file's fmt chunk is cut short")
    audio_format, channels, sample_rate, _, _, bits = struct.unpack_from("<HHIIHH", chunk)
    if audio_format == _WAVE_FORMAT_EXTENSIBLE and len(chunk) >= 26:
        (audio_format,) = struct.unpack_from("<H", chunk, 24)  # the sub-format GUID's start
    if audio_format != _WAVE_FORMAT_PCM:
        raise SpeechAudioError(f"the WAV file is not PCM (format {audio_format}); send 16-bit PCM")
    if channels not in (1, 2) or sample_rate <= 0:
        raise SpeechAudioError(
            f"the WAV file has {channels} channels at {sample_rate} Hz; send mono or stereo"
        )
    return audio_format, channels, sample_rate, bits
