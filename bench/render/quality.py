"""The render quality figure: test pictures made by code and the mean CIE76 Delta E.

Delta E compares what the eye sees from a normal distance: both the rendered dots (mapped to
the colours the panel shows) and the original fitted picture are blurred with the same
Gaussian in linear light (light mixes linearly), converted to CIE L*a*b* (D65) and compared
pixel by pixel; the figure is the mean over the picture. Lower is better; about 2.3 is a
just-noticeable difference, and no palette of 6-7 colours gets near it on saturated colours.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from PIL import Image

BLUR_SIGMA = 2.0
ART_SIZE = 256

_RGB_TO_XYZ = np.array(
    [[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]
)


def srgb_to_linear(rgb: npt.ArrayLike) -> np.ndarray:
    """Convert 0-255 sRGB to linear light in 0..1."""
    values = np.asarray(rgb, dtype=np.float64) / 255.0
    return np.where(values <= 0.04045, values / 12.92, ((values + 0.055) / 1.055) ** 2.4)


def linear_to_lab(linear: np.ndarray) -> np.ndarray:
    """Convert linear-light sRGB (..., 3) to CIE L*a*b* (D65 white)."""
    xyz = linear @ (_RGB_TO_XYZ / _RGB_TO_XYZ.sum(axis=1, keepdims=True)).T
    delta = 6.0 / 29.0
    f = np.where(xyz > delta**3, np.cbrt(np.maximum(xyz, 0.0)), xyz / (3 * delta**2) + 4 / 29)
    return np.stack(
        [116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])],
        axis=-1,
    )


def gaussian_blur(picture: np.ndarray, sigma: float = BLUR_SIGMA) -> np.ndarray:
    """Blur an (H, W, C) float array with a separable Gaussian, edges mirrored."""
    radius = int(3 * sigma + 0.5)
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps /= taps.sum()
    padded = np.pad(picture, ((radius, radius), (radius, radius), (0, 0)), mode="reflect")
    height, width = picture.shape[:2]
    rows = sum(taps[i] * padded[:, i : i + width] for i in range(len(taps)))
    return sum(taps[i] * rows[i : i + height] for i in range(len(taps)))


def mean_delta_e(shown_rgb: np.ndarray, original_rgb: np.ndarray) -> float:
    """Mean CIE76 Delta E between two sRGB pictures after the same blur in linear light."""
    shown = linear_to_lab(gaussian_blur(srgb_to_linear(shown_rgb)))
    original = linear_to_lab(gaussian_blur(srgb_to_linear(original_rgb)))
    return float(np.sqrt(((shown - original) ** 2).sum(axis=-1)).mean())


def _smooth_noise(rng: np.random.Generator, size: int, slope: float) -> np.ndarray:
    """A field of 1/f^slope noise (like natural photographs), zero mean, unit deviation."""
    frequency = np.fft.fftfreq(size)[:, None] ** 2 + np.fft.fftfreq(size)[None, :] ** 2
    frequency[0, 0] = 1.0
    spectrum = rng.normal(size=(size, size)) + 1j * rng.normal(size=(size, size))
    spectrum /= frequency ** (slope / 2)
    spectrum[0, 0] = 0.0
    field = np.real(np.fft.ifft2(spectrum))
    return (field - field.mean()) / field.std()


def quality_pictures(size: int = ART_SIZE) -> dict[str, np.ndarray]:
    """Return the fixed test pictures (uint8 RGB, size x size), made from fixed seeds."""
    rng = np.random.default_rng(2022)
    y, x = np.mgrid[0:size, 0:size] / (size - 1)
    pictures: dict[str, np.ndarray] = {}

    grey = np.repeat((x * 255)[..., None], 3, axis=-1)
    hue = np.stack([x * 255, np.full_like(x, 204), np.full_like(x, 230)], axis=-1)
    hue_rgb = np.asarray(Image.fromarray(hue.astype(np.uint8), "HSV").convert("RGB"), float)
    pictures["gradients"] = np.where((y < 0.5)[..., None], grey, hue_rgb).astype(np.uint8)

    light = _smooth_noise(rng, size, 1.8)
    tint_a, tint_b = _smooth_noise(rng, size, 1.8), _smooth_noise(rng, size, 1.8)
    photo = np.stack(
        [128 + 50 * light + 25 * tint_a, 120 + 50 * light, 110 + 50 * light + 25 * tint_b],
        axis=-1,
    )
    pictures["photo_noise"] = np.clip(photo, 0, 255).astype(np.uint8)

    patches = [
        (135, 180, 230),  # sky
        (225, 180, 150),  # skin
        (60, 130, 60),  # grass
        (128, 128, 128),  # mid grey
        (80, 50, 30),  # dark brown
        (240, 240, 235),  # paper
        (30, 30, 40),  # night
        (200, 60, 50),  # brick
    ]
    flat = np.zeros((size, size, 3))
    for number, colour in enumerate(patches):
        row, column = divmod(number, 4)
        flat[
            row * size // 2 : (row + 1) * size // 2, column * size // 4 : (column + 1) * size // 4
        ] = colour
    pictures["flat_areas"] = flat.astype(np.uint8)

    sky = np.stack([90 + 120 * y, 140 + 90 * y, 220 + 20 * y], axis=-1)
    sun = np.clip(1.5 - np.hypot(x - 0.7, y - 0.25) * 12, 0, 1)[..., None]
    hills = (y > 0.6 + 0.08 * np.sin(x * 9) + 0.02 * _smooth_noise(rng, size, 2.2))[..., None]
    ground = np.stack([50 + 40 * y, 110 + 30 * y, 40 + 10 * y], axis=-1)
    ground = ground + 12 * _smooth_noise(rng, size, 1.2)[..., None]
    scene = np.where(hills, ground, sky * (1 - sun) + np.array([255, 235, 160]) * sun)
    pictures["landscape"] = np.clip(scene, 0, 255).astype(np.uint8)
    return pictures
