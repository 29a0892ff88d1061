"""Dithering an RGB picture to a panel's few colours.

Every method takes an ``(height, width, 3)`` uint8 sRGB array and the panel's colours (sRGB,
``(n, 3)`` uint8) and returns an ``(height, width)`` uint8 array of positions into those
colours (0..n-1). The panel's own indices are applied by the caller.

The dots of an e-paper panel mix in the eye as light does, linearly, so the error-diffusing
methods work in linear light: a 50 % black/white dot pattern then reads as the grey it should
be, where dithering sRGB values makes mid-tones too light (measured by ``bench/render``: the
mean CIE76 Delta E of Floyd-Steinberg drops by about half against inky's sRGB conversion).

- ``floyd_steinberg``: Pillow's C Floyd-Steinberg quantizer, fed linear-light values.
- ``atkinson``: Atkinson's kernel (3/4 of the error spread, crisper, lighter). Error diffusion
  is sequential along a scan line; numpy runs it along anti-diagonals of a skewed copy of the
  picture, with the picture cut into bands that run side by side (each band starts a few
  rows early so its error field is warmed up before the rows it keeps). Within a band the
  result is exactly the textbook raster-order algorithm (tested).
- ``ordered``: an 8x8 Bayer matrix picks between the two panel colours whose mix (in linear
  light) is nearest to each pixel, in the proportion that mix needs.
- ``none``: the perceptually nearest colour (CIE76 in Lab) for each pixel.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from itertools import combinations
from typing import Final

import numpy as np
import numpy.typing as npt
from PIL import Image

UInt8Array = npt.NDArray[np.uint8]
FloatArray = npt.NDArray[np.float32]

DITHERS: Final = ("floyd_steinberg", "atkinson", "ordered", "none")

# Colour lookup tables index colours by this many bits per channel.
_LUT_BITS: Final = 5
# Atkinson: rows each band keeps, and rows it runs before them to warm up its error field.
BAND_ROWS: Final = 48
WARMUP_ROWS: Final = 8


def _srgb_to_linear(values: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    """Convert sRGB values in 0..1 to linear light (IEC 61966-2-1)."""
    values = np.asarray(values, dtype=np.float64)
    return np.where(values <= 0.04045, values / 12.92, ((values + 0.055) / 1.055) ** 2.4)


_LINEAR: Final = _srgb_to_linear(np.arange(256) / 255.0).astype(np.float32)
_LINEAR_8BIT: Final = np.round(_LINEAR * 255.0).astype(np.uint8)
# The same conversion as a table for Pillow's ``Image.point`` on RGB pictures.
_LINEAR_TABLE: Final = _LINEAR_8BIT.tolist() * 3

# sRGB (D65) linear RGB -> XYZ, rows X, Y, Z, each divided by the white point.
_RGB_TO_XYZ: Final = np.array(
    [[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]
)
_XYZ_WHITE_NORMALISED: Final = _RGB_TO_XYZ / _RGB_TO_XYZ.sum(axis=1, keepdims=True)


def linear_to_lab(linear: npt.NDArray[np.floating]) -> npt.NDArray[np.floating]:
    """Convert linear-light sRGB (..., 3) to CIE L*a*b* (D65), in the input's float type."""
    linear = np.asarray(linear)
    if not np.issubdtype(linear.dtype, np.floating):
        linear = linear.astype(np.float64)
    xyz = linear @ _XYZ_WHITE_NORMALISED.T.astype(linear.dtype)
    delta = 6.0 / 29.0
    f = np.cbrt(xyz)
    small = xyz <= delta**3
    if small.any():
        f[small] = xyz[small] / (3 * delta**2) + 4.0 / 29.0
    lightness = 116.0 * f[..., 1] - 16.0
    a = 500.0 * (f[..., 0] - f[..., 1])
    b = 200.0 * (f[..., 1] - f[..., 2])
    return np.stack([lightness, a, b], axis=-1)


def srgb_to_lab(rgb: npt.NDArray[np.integer]) -> npt.NDArray[np.float32]:
    """Convert uint8 sRGB (..., 3) to CIE L*a*b* (D65), as float32."""
    return linear_to_lab(_LINEAR[np.asarray(rgb, dtype=np.uint8)])


def _lut_grid() -> npt.NDArray[np.uint8]:
    """Return the sRGB colour at the centre of each lookup-table cell, shape (cells, 3)."""
    levels = 1 << _LUT_BITS
    steps = np.round(np.arange(levels) * 255.0 / (levels - 1)).astype(np.uint8)
    grid = np.stack(np.meshgrid(steps, steps, steps, indexing="ij"), axis=-1)
    return grid.reshape(-1, 3)


def _lut_keys(rgb: UInt8Array) -> npt.NDArray[np.intp]:
    """Return each pixel's lookup-table cell (nearest grid colour)."""
    levels = (1 << _LUT_BITS) - 1
    cells = (rgb.astype(np.uint16) * levels + 127) // 255
    return (
        (cells[..., 0].astype(np.intp) << (2 * _LUT_BITS))
        | (cells[..., 1].astype(np.intp) << _LUT_BITS)
        | cells[..., 2].astype(np.intp)
    )


@lru_cache(maxsize=16)
def _pair_lut(palette: bytes) -> tuple[UInt8Array, UInt8Array, FloatArray]:
    """Return the colour pairs of a palette and, per lookup-table cell, the best pair.

    A pair is two palette positions whose mix (in linear light) can stand for a colour; one
    colour twice is a pair too (a colour the panel shows as is). Returns ``pairs`` (p, 2),
    ``best`` (cells,) indices into ``pairs``, and per pair the projection ``(w0, w1, w2,
    offset)`` that turns a linear colour ``c`` into the share of the second colour:
    ``c . w - offset``.
    """
    colours = _LINEAR[np.frombuffer(palette, dtype=np.uint8).reshape(-1, 3)].astype(np.float64)
    count = len(colours)
    pairs = np.array(
        [*combinations(range(count), 2), *((i, i) for i in range(count))], dtype=np.uint8
    )
    first = colours[pairs[:, 0]]
    span = colours[pairs[:, 1]] - first
    span_sq = (span * span).sum(axis=1)
    span_sq[span_sq == 0] = 1.0
    grid = _LINEAR[_lut_grid()].astype(np.float64)
    offset = grid[:, None, :] - first[None, :, :]
    ratio = np.clip((offset * span[None]).sum(axis=-1) / span_sq[None], 0.0, 1.0)
    residual = offset - ratio[..., None] * span[None]
    best = (residual * residual).sum(axis=-1).argmin(axis=1).astype(np.uint8)
    weights = span / span_sq[:, None]
    projection = np.concatenate([weights, (first * weights).sum(axis=1, keepdims=True)], axis=1)
    return pairs, best, projection.astype(np.float32)


def _bayer(size: int) -> npt.NDArray[np.float32]:
    """Return a size x size Bayer threshold matrix with values in (0, 1)."""
    matrix = np.zeros((1, 1), dtype=np.int64)
    while matrix.shape[0] < size:
        matrix = np.block([[4 * matrix, 4 * matrix + 2], [4 * matrix + 3, 4 * matrix + 1]])
    return ((matrix + 0.5) / matrix.size).astype(np.float32)


_BAYER_8: Final = _bayer(8)


def dither_none(rgb: UInt8Array, palette: UInt8Array) -> UInt8Array:
    """Map each pixel to the perceptually nearest panel colour (CIE76 in Lab)."""
    lab = srgb_to_lab(rgb)
    palette_lab = srgb_to_lab(palette)
    scores = lab @ (-2.0 * palette_lab.T) + (palette_lab * palette_lab).sum(axis=1)
    nearest: UInt8Array = scores.argmin(axis=-1).astype(np.uint8)
    return nearest


def dither_ordered(rgb: UInt8Array, palette: UInt8Array) -> UInt8Array:
    """Dither with an 8x8 Bayer matrix between the best-mixing pair of colours per pixel."""
    pairs, best, projection = _pair_lut(palette.tobytes())
    pair = best[_lut_keys(rgb)]
    share = np.einsum("...c,...c->...", _LINEAR[rgb], projection[pair, :3]) - projection[pair, 3]
    height, width = pair.shape
    reps = (height // 8 + 1, width // 8 + 1)
    threshold = np.tile(_BAYER_8, reps)[:height, :width]
    dithered: UInt8Array = pairs[pair, (threshold < share).view(np.uint8)]
    return dithered


def floyd_steinberg_image(picture: Image.Image, palette: UInt8Array) -> Image.Image:
    """Floyd-Steinberg in linear light on an RGB image, by Pillow's C quantizer.

    Returns a "P" image whose pixel values are positions into ``palette`` ((n, 3) uint8
    sRGB). Every Pillow call here releases the GIL, so pieces of a picture can be dithered on
    several threads at once.
    """
    palette_image = Image.new("P", (1, 1))
    # Only the n entries given: Pillow (>= 9.1) matches against exactly these colours.
    palette_image.putpalette(_LINEAR_8BIT[palette].tobytes())
    linear = picture.point(_LINEAR_TABLE)
    return linear.quantize(palette=palette_image, dither=Image.Dither.FLOYDSTEINBERG)


def dither_floyd_steinberg(rgb: UInt8Array, palette: UInt8Array) -> UInt8Array:
    """Floyd-Steinberg in linear light, by Pillow's C quantizer."""
    height, width = rgb.shape[:2]
    picture = Image.frombytes("RGB", (width, height), np.ascontiguousarray(rgb).tobytes())
    return np.asarray(floyd_steinberg_image(picture, palette), dtype=np.uint8)


def diffuse(work: FloatArray, palette: FloatArray) -> UInt8Array:
    """Run Atkinson error diffusion along the rows of ``work`` (H, W, 3), any linear space.

    Rows are cut into bands of ``BAND_ROWS``; each band also runs the ``WARMUP_ROWS`` rows
    above it (mirrored above the picture's top) and keeps only its own rows. All bands sit
    one above another in a skewed array ``skewed[t, r]`` holding band row ``r % slot`` at
    column ``t - 2 * (r % slot)``: every pixel the kernel reaches from a pixel lies at a later
    ``t``, so one numpy step handles a whole anti-diagonal of every band at once. A fourth
    channel of ones folds the palette norms into the distance product.
    """
    height, width, _ = work.shape
    bands = -(-height // BAND_ROWS)
    length = BAND_ROWS + WARMUP_ROWS  # rows each band runs
    slot = length + 2  # two spare rows: the kernel reaches two rows down, never into the next band
    padded = np.pad(
        work, ((WARMUP_ROWS, bands * BAND_ROWS - height), (0, 0), (0, 0)), mode="symmetric"
    )
    rows = bands * slot
    steps = width + 2 * (length - 1)
    skewed = np.zeros((steps + 4, rows, 4), dtype=np.float32)
    skewed[..., 3] = 1.0
    for row in range(length):
        # Row ``row`` of every band: picture rows row, row + BAND_ROWS, ... of ``padded``.
        band_rows = padded[row : row + bands * BAND_ROWS : BAND_ROWS]
        skewed[2 * row : 2 * row + width, row::slot, :3] = band_rows.transpose(1, 0, 2)
    count = len(palette)
    # value . distance_terms = |p|^2 - 2 value . p: the nearest colour has the lowest score.
    distance_terms = np.concatenate(
        [-2.0 * palette.T, (palette * palette).sum(axis=1)[None, :]], axis=0
    ).astype(np.float32)
    # Chosen colours pre-divided by 8 (each of six neighbours gets 1/8 of the error); the
    # fourth channel cancels so the ones stay ones.
    eighths = np.concatenate([palette, np.ones((count, 1))], axis=1).astype(np.float32) / 8
    positions = np.zeros((steps, rows), dtype=np.uint8)
    scores = np.empty((rows, count), dtype=np.float32)
    error = np.empty((rows, 4), dtype=np.float32)
    chosen = np.empty((rows, 4), dtype=np.float32)
    below = np.zeros((rows, 4), dtype=np.float32)
    here_and_below = np.empty((rows, 4), dtype=np.float32)
    error_by_band = error.reshape(bands, slot, 4)
    for t in range(steps):
        value = skewed[t]
        np.matmul(value, distance_terms, out=scores)
        nearest = scores.argmin(axis=1)
        positions[t] = nearest
        np.take(eighths, nearest, axis=0, out=chosen)
        np.multiply(value, np.float32(0.125), out=error)
        error -= chosen
        # Cells outside a band's picture (before its row starts, after it ends, spare rows)
        # must not pass error on.
        first_valid = max(0, (t - width + 2) // 2)
        if first_valid:
            error_by_band[:, :first_valid] = 0.0
        error_by_band[:, min(t // 2 + 1, length) :] = 0.0
        below[1:] = error[:-1]
        np.add(error, below, out=here_and_below)
        skewed[t + 1 : t + 3] += here_and_below  # (x+1, x+2) and (y+1: x-1, x)
        skewed[t + 3] += below  # (y+1, x+1)
        skewed[t + 4, 2:] += error[:-2]  # (y+2, x)
    result = np.empty((bands * BAND_ROWS, width), dtype=np.uint8)
    for row in range(WARMUP_ROWS, length):
        result[row - WARMUP_ROWS :: BAND_ROWS] = positions[2 * row : 2 * row + width, row::slot].T
    return result[:height]


def dither_atkinson(rgb: UInt8Array, palette: UInt8Array) -> UInt8Array:
    """Atkinson dithering in linear light (scan lines along the picture's shorter side)."""
    linear = _LINEAR[rgb]
    colours = _LINEAR[palette]
    height, width = rgb.shape[:2]
    if width <= height:
        return diffuse(linear, colours)
    return np.ascontiguousarray(diffuse(linear.transpose(1, 0, 2), colours).T)


DITHER_FUNCTIONS: Final[dict[str, Callable[[UInt8Array, UInt8Array], UInt8Array]]] = {
    "floyd_steinberg": dither_floyd_steinberg,
    "atkinson": dither_atkinson,
    "ordered": dither_ordered,
    "none": dither_none,
}
