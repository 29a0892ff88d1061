"""Speech audio handling (speech_audio.py): raw PCM or WAV in, a WAV file out."""

from __future__ import annotations

import io
import re
import struct
import wave

import pytest

from custom_components.dalle_frame.speech_audio import (
    MAX_SPEECH_SECONDS,
    SpeechAudio,
    SpeechAudioError,
    audio_from_upload,
    max_upload_bytes,
    to_wav,
)

from .voice_support import sine_pcm, wav_file

MONO_16K = {"sample_rate": 16000, "channels": 1, "bit_rate": 16}


def _read(wav: bytes) -> tuple[int, int, int, bytes]:
    """(channels, rate, width, frames) of a WAV file, read by the standard library."""
    with wave.open(io.BytesIO(wav), "rb") as reader:
        return (
            reader.getnchannels(),
            reader.getframerate(),
            reader.getsampwidth(),
            reader.readframes(reader.getnframes()),
        )


def _chunk(chunk_id: bytes, body: bytes) -> bytes:
    """A RIFF chunk, padded to an even size."""
    return chunk_id + struct.pack("<I", len(body)) + body + b"\x00" * (len(body) & 1)


def _riff(*chunks: bytes) -> bytes:
    """A RIFF/WAVE file of `chunks`."""
    body = b"WAVE" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _fmt(audio_format: int, channels: int, rate: int, bits: int, extra: bytes = b"") -> bytes:
    """A fmt chunk."""
    block = channels * bits // 8
    body = struct.pack("<HHIIHH", audio_format, channels, rate, rate * block, block, bits)
    return _chunk(b"fmt ", body + extra)


def test_raw_pcm_round_trip() -> None:
    """Raw PCM in the declared format comes out as a WAV file of the same samples."""
    pcm = sine_pcm(0.25)

    audio = audio_from_upload(pcm, **MONO_16K)

    assert audio == SpeechAudio(pcm=pcm, sample_rate=16000, channels=1)
    assert audio.seconds == pytest.approx(0.25)
    assert _read(to_wav(audio)) == (1, 16000, 2, pcm)


def test_stereo_raw_pcm_keeps_its_channels() -> None:
    """Declared stereo stays stereo (the server mixes it down)."""
    pcm = sine_pcm(0.1, sample_rate=48000, channels=2)

    audio = audio_from_upload(pcm, sample_rate=48000, channels=2, bit_rate=16)

    assert _read(to_wav(audio)) == (2, 48000, 2, pcm)


def test_a_trailing_partial_frame_is_dropped() -> None:
    """A stream cut in the middle of a sample loses only that sample."""
    pcm = sine_pcm(0.1, channels=2)

    audio = audio_from_upload(pcm + b"\x01\x02\x03", sample_rate=16000, channels=2, bit_rate=16)

    assert audio.pcm == pcm


def test_wav_chunks_before_the_samples_are_skipped() -> None:
    """LIST and odd-sized chunks before the data chunk are stepped over."""
    pcm = sine_pcm(0.1, sample_rate=8000)
    upload = _riff(
        _fmt(1, 1, 8000, 16),
        _chunk(b"LIST", b"INFOISFT\x05\x00\x00\x00test\x00"),
        _chunk(b"junk", b"odd"),
        _chunk(b"data", pcm),
    )

    audio = audio_from_upload(upload, **MONO_16K)

    assert (audio.sample_rate, audio.channels, audio.pcm) == (8000, 1, pcm)


def test_extensible_pcm_wav_is_accepted() -> None:
    """WAVE_FORMAT_EXTENSIBLE with the PCM sub-format is PCM."""
    pcm = sine_pcm(0.1)
    extra = struct.pack("<HHI", 22, 16, 4) + struct.pack("<H", 1) + bytes(14)
    upload = _riff(_fmt(0xFFFE, 1, 16000, 16, extra), _chunk(b"data", pcm))

    assert audio_from_upload(upload, **MONO_16K).pcm == pcm


def test_declared_size_beyond_the_end_reads_what_is_there() -> None:
    """A data size larger than the file (a cut upload) reads the samples that arrived."""
    pcm = sine_pcm(0.1)
    upload = wav_file(pcm)[:-100]

    assert audio_from_upload(upload, **MONO_16K).pcm == pcm[:-100]


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (_riff(_chunk(b"data", bytes(10)), _fmt(1, 1, 16000, 16)), "data chunk comes before"),
        (_riff(_fmt(1, 3, 16000, 16), _chunk(b"data", bytes(12))), "3 channels"),
        (_riff(_fmt(1, 1, 0, 16), _chunk(b"data", bytes(12))), "at 0 Hz"),
        (_riff(_fmt(1, 1, 16000, 24), _chunk(b"data", bytes(12))), "24-bit samples"),
        (_riff(_fmt(6, 1, 8000, 8), _chunk(b"data", bytes(12))), "not PCM (format 6)"),
        (_riff(_chunk(b"fmt ", bytes(8))), "fmt chunk is cut short"),
        (_riff(), "no fmt or data chunk"),
    ],
    ids=["data-first", "3-channels", "0-hz", "24-bit", "a-law", "short-fmt", "empty-riff"],
)
def test_unusable_wav_files_are_refused(upload: bytes, message: str) -> None:
    """Each unusable WAV file is refused with its reason."""
    with pytest.raises(SpeechAudioError, match=re.escape(message)):
        audio_from_upload(upload, **MONO_16K)


def test_declared_8_bit_raw_audio_is_refused() -> None:
    """Raw PCM must be 16-bit: anything else is refused, not misread."""
    with pytest.raises(SpeechAudioError, match="8-bit audio is not supported"):
        audio_from_upload(bytes(100), sample_rate=16000, channels=1, bit_rate=8)


def test_head_and_upload_limit() -> None:
    """head() cuts to whole frames; the upload limit holds 30 s plus a header."""
    audio = SpeechAudio(pcm=sine_pcm(2, channels=2), sample_rate=16000, channels=2)

    assert audio.head(0.5).seconds == pytest.approx(0.5)
    assert audio.head(0.5).pcm == audio.pcm[: 8000 * 4]
    assert max_upload_bytes(16000, 1) == int(MAX_SPEECH_SECONDS * 16000) * 2 + 64 * 1024
