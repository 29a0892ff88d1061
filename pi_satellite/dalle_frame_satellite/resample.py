"""Sample-rate conversion of the microphone's audio to the 16 kHz HA's STT expects.

soxr (libsoxr, "high quality": flat to 0.9 of the new Nyquist, images and aliases below -100
dB) where it is installed; 32-bit bookworm has neither a wheel nor a Debian package of it, so
there a Kaiser-windowed sinc filter in numpy takes its place (about -80 dB).
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np

try:
    import soxr
except ImportError:  # 32-bit bookworm: the numpy filter below takes its place
    soxr = None

ZERO_CROSSINGS: Final = 16
"""Half-length of the numpy filter in zero crossings of its sinc."""

KAISER_BETA: Final = 8.6
"""Kaiser window shape of the numpy filter: about -80 dB stopband."""

PASSBAND: Final = 0.92
"""Cutoff of the numpy filter as a fraction of the lower Nyquist frequency."""


def resample(samples: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Return mono float samples at rate_out, band-limited to its Nyquist frequency."""
    samples = np.asarray(samples, dtype=np.float64)
    if rate_in == rate_out or samples.size == 0:
        return samples
    if soxr is None:
        return sinc_resample(samples, rate_in, rate_out)
    return np.asarray(soxr.resample(samples, rate_in, rate_out, quality="HQ"), dtype=np.float64)


def sinc_resample(
    samples: np.ndarray, rate_in: int, rate_out: int, *, chunk: int = 4096
) -> np.ndarray:
    """Windowed-sinc interpolation at each output instant (any ratio), in bounded memory."""
    ratio = rate_out / rate_in
    cutoff = 0.5 * min(1.0, ratio) * PASSBAND  # cycles per input sample
    half = ZERO_CROSSINGS / (2 * cutoff)  # half-width of the filter in input samples
    taps = np.arange(-math.ceil(half), math.ceil(half) + 1)
    count = round(samples.size * ratio)
    out = np.empty(count)
    norm = np.i0(KAISER_BETA)
    for start in range(0, count, chunk):
        positions = np.arange(start, min(count, start + chunk)) / ratio
        index = np.floor(positions).astype(np.int64)[:, None] + taps[None, :]
        offset = index - positions[:, None]
        inside = np.clip(1.0 - (offset / half) ** 2, 0.0, None)
        window = np.i0(KAISER_BETA * np.sqrt(inside)) / norm * (np.abs(offset) <= half)
        kernel = 2 * cutoff * np.sinc(2 * cutoff * offset) * window
        valid = (index >= 0) & (index < samples.size)
        values = samples[np.clip(index, 0, samples.size - 1)] * valid
        out[start : start + positions.size] = (values * kernel).sum(axis=1)
    return out
