"""Whisper's input: the log-mel spectrogram of 30 s of 16 kHz audio, computed with numpy.

Whisper's encoder takes exactly 30 s (3000 frames of 10 ms): shorter audio is padded with
silence, longer audio is cut. The steps are Whisper's own: a periodic Hann window of 400
samples every 160 samples (the signal reflected at both ends), the power spectrum, a Slaney
mel filter bank from 0 to 8 kHz, log10, values more than 8 below the loudest raised to it,
then (x + 4) / 4.
"""

from __future__ import annotations

from functools import cache
from typing import Final

import numpy as np

from .base import ASR_SAMPLE_RATE

WINDOW: Final = 400
HOP: Final = 160
CHUNK_SECONDS: Final = 30
CHUNK_SAMPLES: Final = CHUNK_SECONDS * ASR_SAMPLE_RATE
CHUNK_FRAMES: Final = CHUNK_SAMPLES // HOP
"""3000: the frames Whisper's encoder takes."""


def log_mel_features(samples: np.ndarray, mel_bins: int = 80) -> np.ndarray:
    """Return float32 features of shape (1, mel_bins, 3000) for mono 16 kHz samples."""
    audio = np.zeros(CHUNK_SAMPLES, dtype=np.float64)
    clip = np.asarray(samples, dtype=np.float64).reshape(-1)[:CHUNK_SAMPLES]
    audio[: clip.size] = clip
    padded = np.pad(audio, WINDOW // 2, mode="reflect")
    starts = np.arange(CHUNK_FRAMES) * HOP
    frames = padded[starts[:, None] + np.arange(WINDOW)[None, :]] * _hann_window()
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2  # (3000, 201)
    mel = _mel_filters(mel_bins) @ power.T  # (mel_bins, 3000)
    log_mel = np.log10(np.maximum(mel, 1e-10))
    log_mel = np.maximum(log_mel, log_mel.max() - 8.0)
    return ((log_mel + 4.0) / 4.0).astype(np.float32)[None, :, :]


@cache
def _hann_window() -> np.ndarray:
    """Return the periodic Hann window (as torch.hann_window builds it)."""
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(WINDOW) / WINDOW)


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear below 1 kHz, logarithmic above."""
    mel = 3.0 * hz / 200.0
    log_part = hz >= 1000.0
    mel[log_part] = 15.0 + 27.0 * np.log(hz[log_part] / 1000.0) / np.log(6.4)
    return mel


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    """Invert _hz_to_mel."""
    hz = 200.0 * mel / 3.0
    log_part = mel >= 15.0
    hz[log_part] = 1000.0 * np.exp(np.log(6.4) * (mel[log_part] - 15.0) / 27.0)
    return hz


@cache
def _mel_filters(mel_bins: int) -> np.ndarray:
    """Triangular Slaney-normalized filters, shape (mel_bins, 201), 0 to 8 kHz."""
    fft_hz = np.linspace(0.0, ASR_SAMPLE_RATE / 2, WINDOW // 2 + 1)
    edges_mel = np.linspace(
        _hz_to_mel(np.array([0.0]))[0], _hz_to_mel(np.array([ASR_SAMPLE_RATE / 2]))[0], mel_bins + 2
    )
    edges = _mel_to_hz(edges_mel)
    widths = np.diff(edges)
    rising = (fft_hz[None, :] - edges[:-2, None]) / widths[:-1, None]
    falling = (edges[2:, None] - fft_hz[None, :]) / widths[1:, None]
    filters = np.maximum(0.0, np.minimum(rising, falling))
    return filters * (2.0 / (edges[2:] - edges[:-2]))[:, None]
