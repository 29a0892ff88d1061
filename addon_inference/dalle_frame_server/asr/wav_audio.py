"""Reading WAV uploads: strict RIFF parsing, mixing to mono and resampling to 16 kHz.

Accepted: RIFF/WAVE with 16-bit integer PCM (format 1, or WAVE_FORMAT_EXTENSIBLE with the
PCM sub-format), 1 or 2 channels, 8 to 48 kHz, at most 30 seconds. Everything else is refused
with an `ApiError` whose status and message say what is wrong and what would work:
400 for a damaged or empty file, 413 for too long, 415 for not-WAV or an unsupported format.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

import numpy as np

from ..errors import ApiError, BadRequestError, PayloadTooLargeError, UnsupportedMediaError
from .base import ASR_SAMPLE_RATE

MAX_AUDIO_SECONDS: Final = 30.0
MIN_AUDIO_SECONDS: Final = 0.1
MIN_SAMPLE_RATE: Final = 8_000
MAX_SAMPLE_RATE: Final = 48_000
MAX_CHANNELS: Final = 2
MAX_WAV_BYTES: Final = 8 * 2**20
"""Upload limit: 30 s of 48 kHz 16-bit stereo is 5.5 MiB; the rest leaves room for metadata."""

_PCM: Final = 1
_EXTENSIBLE: Final = 0xFFFE
_FLOAT: Final = 3
_PCM_SUBFORMAT_TAIL: Final = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
"""The KSDATAFORMAT_SUBTYPE_PCM GUID after its first two bytes (which hold the format, 1)."""
_STREAMING_SIZE: Final = 0xFFFFFFFF
"""A data size writers use when they stream and cannot know the length: read to the end."""

_AUDIO_HINT: Final = (
    "send a 16-bit PCM WAV, mono or stereo, 8-48 kHz, at most 30 s "
    "(e.g. sox in.any -b 16 -r 16000 -c 1 out.wav)"
)


@dataclass(frozen=True)
class WavAudio:
    """Decoded PCM audio: int16 samples shaped (frames, channels) and the sample rate."""

    samples: np.ndarray
    sample_rate: int

    @property
    def seconds(self) -> float:
        """The audio's duration."""
        return self.samples.shape[0] / self.sample_rate


def read_wav(data: bytes) -> WavAudio:
    """Parse a WAV file's bytes; raise an ApiError (400/413/415) for anything unsupported."""
    if len(data) > MAX_WAV_BYTES:
        raise _too_large(len(data))
    if not data:
        raise BadRequestError(f"the body is empty; {_AUDIO_HINT}", code="empty_audio")
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        kind = "RIFF but not WAVE" if data[:4] == b"RIFF" else "not a WAV file"
        raise UnsupportedMediaError(
            f"the body is {kind} (it must start with a RIFF/WAVE header); {_AUDIO_HINT}",
            code="not_wav",
        )
    fmt: tuple[int, int, int, int, int] | None = None
    offset = 12
    while offset + 8 <= len(data):
        chunk_id = data[offset : offset + 4]
        (chunk_size,) = struct.unpack_from("<I", data, offset + 4)
        body_start = offset + 8
        if chunk_id == b"fmt ":
            fmt = _read_fmt(data[body_start : body_start + chunk_size])
        elif chunk_id == b"data":
            if fmt is None:
                raise _bad_wav("the data chunk comes before the fmt chunk")
            return _read_data(data, body_start, chunk_size, fmt)
        offset = body_start + chunk_size + (chunk_size & 1)
    if fmt is None:
        raise _bad_wav("it has no fmt chunk (the header is cut short or damaged)")
    raise _bad_wav("it has no data chunk (the file is cut short)")


def to_model_input(audio: WavAudio) -> np.ndarray:
    """Return float32 mono samples at 16 kHz in -1..1 (channels averaged, resampled)."""
    mono = audio.samples.astype(np.float32).mean(axis=1) / 32768.0
    return resample(mono, audio.sample_rate, ASR_SAMPLE_RATE)


def resample(samples: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Resample mono float samples by band-limited (FFT) interpolation."""
    if rate_in == rate_out or samples.size == 0:
        return samples.astype(np.float32, copy=False)
    count_out = max(1, round(samples.size * rate_out / rate_in))
    spectrum = np.fft.rfft(samples.astype(np.float64))
    bins_out = count_out // 2 + 1
    if bins_out <= spectrum.size:
        spectrum = spectrum[:bins_out]
    else:
        spectrum = np.concatenate([spectrum, np.zeros(bins_out - spectrum.size, spectrum.dtype)])
    resampled = np.fft.irfft(spectrum, n=count_out) * (count_out / samples.size)
    return resampled.astype(np.float32)


def normalize_for_wav2vec2(samples: np.ndarray) -> np.ndarray:
    """Zero mean, unit variance: what wav2vec2's feature extractor does (do_normalize)."""
    samples = samples.astype(np.float32, copy=False)
    return ((samples - samples.mean()) / np.sqrt(samples.var() + 1e-7)).astype(np.float32)


def _read_fmt(body: bytes) -> tuple[int, int, int, int, int]:
    """Return (format, channels, rate, block align, bits) after checking they are supported."""
    if len(body) < 16:
        raise _bad_wav("its fmt chunk is shorter than 16 bytes")
    audio_format, channels, rate, _byte_rate, block_align, bits = struct.unpack_from(
        "<HHIIHH", body
    )
    if audio_format == _EXTENSIBLE and len(body) < 40:
        raise _bad_wav("its extensible fmt chunk is shorter than 40 bytes")
    if audio_format == _EXTENSIBLE and body[26:40] == _PCM_SUBFORMAT_TAIL:
        audio_format = struct.unpack_from("<H", body, 24)[0]
    if audio_format == _FLOAT:
        raise _unsupported("it holds floating-point samples")
    if audio_format != _PCM:
        raise _unsupported(f"it is compressed or not PCM (format tag {audio_format:#06x})")
    if bits != 16:
        raise _unsupported(f"it has {bits}-bit samples")
    if not 1 <= channels <= MAX_CHANNELS:
        raise _unsupported(f"it has {channels} channels")
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise _unsupported(f"its sample rate is {rate} Hz")
    if block_align != channels * 2:
        raise _bad_wav(f"its block align {block_align} does not fit {channels} x 16-bit")
    return audio_format, channels, rate, block_align, bits


def _read_data(data: bytes, start: int, size: int, fmt: tuple[int, int, int, int, int]) -> WavAudio:
    """Decode the data chunk at `start` claiming `size` bytes."""
    _, channels, rate, block_align, _ = fmt
    available = len(data) - start
    if size == _STREAMING_SIZE:
        size = available
    elif size > available:
        raise BadRequestError(
            f"the WAV is truncated: its header announces {size} bytes of audio but only "
            f"{available} arrived; send the whole file",
            code="truncated_wav",
        )
    frames = size // block_align
    if frames == 0:
        raise BadRequestError("the WAV holds no audio samples", code="empty_audio")
    seconds = frames / rate
    if seconds > MAX_AUDIO_SECONDS:
        raise PayloadTooLargeError(
            f"the audio is {seconds:.1f} s long; at most {MAX_AUDIO_SECONDS:.0f} s is accepted",
            code="audio_too_long",
        )
    if seconds < MIN_AUDIO_SECONDS:
        raise BadRequestError(
            f"the audio is {seconds * 1000:.0f} ms long; at least "
            f"{MIN_AUDIO_SECONDS * 1000:.0f} ms is needed",
            code="audio_too_short",
        )
    samples = np.frombuffer(data, dtype="<i2", count=frames * channels, offset=start)
    return WavAudio(samples.reshape(frames, channels), rate)


def _too_large(size: int) -> ApiError:
    """Return the error for a body over MAX_WAV_BYTES."""
    return PayloadTooLargeError(
        f"the upload is {size} bytes; at most {MAX_WAV_BYTES} bytes (30 s of audio) is accepted"
    )


def _bad_wav(reason: str) -> ApiError:
    """Return the error for a WAV file that is damaged or cut short."""
    return BadRequestError(f"the WAV file is damaged: {reason}; {_AUDIO_HINT}", code="bad_wav")


def _unsupported(reason: str) -> ApiError:
    """Return the error for a well-formed WAV in a format the server does not read."""
    return UnsupportedMediaError(
        f"unsupported WAV: {reason}; {_AUDIO_HINT}", code="unsupported_audio_format"
    )
