"""Resampling to 16 kHz keeps a tone's frequency and suppresses what would alias (both paths)."""

from __future__ import annotations

import numpy as np
import pytest

from dalle_frame_satellite import resample as resample_module
from dalle_frame_satellite.resample import resample, sinc_resample

PATHS = {"soxr": resample, "numpy": sinc_resample}


def tone(hz: float, rate: int, seconds: float = 1.0) -> np.ndarray:
    """A sine of amplitude 10000."""
    return 10000 * np.sin(2 * np.pi * hz * np.arange(round(seconds * rate)) / rate)


def spectrum_db(samples: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Frequencies and magnitudes (dB relative to a full 10000 sine) of a Hann-windowed FFT."""
    window = np.hanning(samples.size)
    magnitude = np.abs(np.fft.rfft(samples * window)) / (window.sum() / 2)
    return np.fft.rfftfreq(samples.size, 1 / rate), 20 * np.log10(magnitude / 10000 + 1e-12)


def test_soxr_is_the_resampler_here() -> None:
    """The satellite's environment has soxr (the numpy filter is the 32-bit bookworm fallback)."""
    assert resample_module.soxr is not None


@pytest.mark.parametrize("path", list(PATHS))
@pytest.mark.parametrize("rate", [44100, 48000, 22050, 8000])
def test_a_1_khz_tone_keeps_its_frequency_and_level(path, rate) -> None:
    """1 kHz at 44.1, 48, 22.05 or 8 kHz is 1 kHz at 16 kHz, at the same level, right length."""
    out = PATHS[path](tone(1000, rate), rate, 16000)
    assert out.size == 16000
    freqs, db = spectrum_db(out[800:-800], 16000)  # leave the filter's edges out
    assert abs(freqs[np.argmax(db)] - 1000) < 2
    assert abs(db.max()) < 0.5
    assert np.sqrt(np.mean(out[800:-800] ** 2)) == pytest.approx(10000 / np.sqrt(2), rel=0.01)


@pytest.mark.parametrize("path", list(PATHS))
@pytest.mark.parametrize("rate", [44100, 48000])
def test_a_10_khz_tone_does_not_alias(path, rate) -> None:
    """10 kHz lies above the new Nyquist (8 kHz): it must not come back at 6 kHz."""
    out = PATHS[path](tone(10000, rate) + tone(1000, rate), rate, 16000)
    freqs, db = spectrum_db(out[800:-800], 16000)
    alias = db[np.abs(freqs - 6000) < 50].max()
    assert alias < -70, f"the 10 kHz tone aliases to 6 kHz at {alias:.1f} dB"
    assert abs(freqs[np.argmax(db)] - 1000) < 2


def test_speech_band_is_flat() -> None:
    """Up to 6 kHz both pass tones within 0.1 dB; soxr's passband reaches 7 kHz too."""
    for hz in (100, 3000, 6000):
        for path in PATHS.values():
            out = path(tone(hz, 48000), 48000, 16000)
            assert abs(spectrum_db(out[800:-800], 16000)[1].max()) < 0.1
    out = resample(tone(7000, 48000), 48000, 16000)
    assert abs(spectrum_db(out[800:-800], 16000)[1].max()) < 0.1


def test_without_soxr_the_numpy_filter_runs(monkeypatch) -> None:
    """resample() gives the numpy filter's output where soxr is missing."""
    samples = tone(1000, 48000)
    monkeypatch.setattr(resample_module, "soxr", None)
    np.testing.assert_array_equal(
        resample(samples, 48000, 16000), sinc_resample(samples, 48000, 16000)
    )
