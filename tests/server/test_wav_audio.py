"""WAV parsing, mixing, resampling and normalization (pure functions)."""

from __future__ import annotations

import numpy as np
import pytest

from dalle_frame_server.asr.wav_audio import (
    normalize_for_wav2vec2,
    read_wav,
    resample,
    to_model_input,
)
from dalle_frame_server.errors import ApiError
from tests.server.helpers import make_wav


@pytest.mark.parametrize("rate_in", [8_000, 11_025, 22_050, 44_100, 48_000])
def test_resampling_keeps_the_pitch(rate_in: int) -> None:
    """A 1 kHz tone stays a 1 kHz tone at 16 kHz, with the right length."""
    seconds = 1.0
    time_axis = np.arange(int(rate_in * seconds)) / rate_in
    tone = np.sin(2 * np.pi * 1000 * time_axis).astype(np.float32)
    out = resample(tone, rate_in, 16_000)
    assert out.dtype == np.float32
    assert out.size == 16_000
    spectrum = np.abs(np.fft.rfft(out))
    assert np.argmax(spectrum) == pytest.approx(1000, abs=2)  # 1 Hz per bin
    assert np.abs(out).max() == pytest.approx(1.0, abs=0.05)


def test_downsampling_removes_what_16_khz_cannot_hold() -> None:
    """A 12 kHz tone in 48 kHz audio is above 16 kHz's Nyquist limit and is filtered out."""
    time_axis = np.arange(48_000) / 48_000
    tone = np.sin(2 * np.pi * 12_000 * time_axis).astype(np.float32)
    assert np.abs(resample(tone, 48_000, 16_000)).max() < 0.01


def test_stereo_is_mixed_to_mono_in_range() -> None:
    """Two channels average into one; samples stay within -1..1 at 16 kHz."""
    audio = read_wav(make_wav(1.0, rate=44_100, channels=2))
    assert audio.samples.shape == (44_100, 2)
    assert audio.sample_rate == 44_100
    assert audio.seconds == pytest.approx(1.0)
    samples = to_model_input(audio)
    assert samples.shape == (16_000,)
    assert np.abs(samples).max() <= 1.0


def test_normalization_is_zero_mean_unit_variance() -> None:
    """What wav2vec2's feature extractor does; silence stays finite."""
    rng = np.random.default_rng(0)
    normalized = normalize_for_wav2vec2(0.1 * rng.standard_normal(16_000) + 0.3)
    assert normalized.mean() == pytest.approx(0.0, abs=1e-5)
    assert normalized.std() == pytest.approx(1.0, abs=1e-3)
    assert np.isfinite(normalize_for_wav2vec2(np.zeros(1000))).all()


def test_chunks_before_and_after_the_data_are_skipped() -> None:
    """LIST chunks (with odd sizes and padding) around the audio do not confuse the reader."""
    wav = make_wav(0.5)
    fmt_end = 12 + 8 + 16
    list_chunk = b"LIST" + (5).to_bytes(4, "little") + b"INFOx" + b"\x00"
    patched = wav[:fmt_end] + list_chunk + wav[fmt_end:] + b"JUNK\x02\x00\x00\x00ab"
    audio = read_wav(patched)
    assert audio.samples.shape == (8_000, 1)


def test_streaming_data_size_reads_to_the_end() -> None:
    """A data size of 0xFFFFFFFF (written by streaming recorders) means: up to the end."""
    wav = bytearray(make_wav(0.5))
    wav[40:44] = b"\xff\xff\xff\xff"
    assert read_wav(bytes(wav)).samples.shape == (8_000, 1)


def test_error_messages_tell_how_to_fix_the_file() -> None:
    """Errors name the problem and the format that works."""
    with pytest.raises(ApiError) as raised:
        read_wav(make_wav(0.5, sample_width=1))
    assert raised.value.status == 415
    assert "8-bit" in raised.value.message
    assert "16-bit PCM" in raised.value.message
