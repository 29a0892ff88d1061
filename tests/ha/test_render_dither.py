"""Tests of the dithering methods: valid positions, exact colours, linear-light means."""

from __future__ import annotations

import numpy as np
import pytest

from custom_components.dalle_frame.render import dither as render_dither
from custom_components.dalle_frame.render.dither import DITHER_FUNCTIONS, DITHERS, linear_to_lab

# The 5.7" panel's colours at saturation 0.5 and the Spectra panels' at 0.8.
SEVEN = np.array(
    [
        (28, 24, 28),
        (255, 255, 255),
        (29, 173, 35),
        (30, 29, 174),
        (205, 36, 37),
        (231, 222, 35),
        (216, 123, 36),
    ],
    dtype=np.uint8,
)
SIX = np.array(
    [(0, 0, 0), (179, 182, 183), (217, 203, 56), (175, 57, 60), (48, 47, 126), (46, 123, 56)],
    dtype=np.uint8,
)


def srgb_to_linear(rgb: np.ndarray) -> np.ndarray:
    """Reference sRGB -> linear conversion (IEC 61966-2-1)."""
    values = rgb.astype(np.float64) / 255.0
    return np.where(values <= 0.04045, values / 12.92, ((values + 0.055) / 1.055) ** 2.4)


def noise(shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    """Random RGB pixels."""
    return np.random.default_rng(seed).integers(0, 256, (*shape, 3), dtype=np.uint8)


def naive_atkinson(work: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Textbook Atkinson: raster scan, 1/8 of the error to six neighbours."""
    height, width, _ = work.shape
    buffer = work.astype(np.float32).copy()
    out = np.zeros((height, width), dtype=np.uint8)
    minus_two = (-2.0 * palette).T
    norms = (palette * palette).sum(axis=1)
    for y in range(height):
        for x in range(width):
            value = buffer[y, x]
            index = int(np.argmin(value @ minus_two + norms))
            out[y, x] = index
            error = (value - palette[index]) / 8.0
            for dy, dx in ((0, 1), (0, 2), (1, -1), (1, 0), (1, 1), (2, 0)):
                if 0 <= y + dy < height and 0 <= x + dx < width:
                    buffer[y + dy, x + dx] += error
    return out


def test_every_documented_dither_has_a_function() -> None:
    """DITHERS and the functions agree."""
    assert tuple(DITHER_FUNCTIONS) == DITHERS


@pytest.mark.parametrize("dither", DITHERS)
@pytest.mark.parametrize("palette", [SEVEN, SIX], ids=["seven", "six"])
@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (7, 1), (5, 3), (49, 97), (130, 60)])
def test_positions_are_in_range_and_shaped_like_the_picture(
    dither: str, palette: np.ndarray, shape: tuple[int, int]
) -> None:
    """Every method returns one position per pixel, each a valid palette position."""
    positions = DITHER_FUNCTIONS[dither](noise(shape), palette)
    assert positions.shape == shape
    assert positions.dtype == np.uint8
    assert positions.max() < len(palette)


@pytest.mark.parametrize("dither", DITHERS)
def test_palette_colours_come_out_unchanged(dither: str) -> None:
    """A picture made only of palette colours maps to exactly those colours."""
    rng = np.random.default_rng(3)
    truth = rng.integers(0, len(SEVEN), (60, 90)).astype(np.uint8)
    positions = DITHER_FUNCTIONS[dither](SEVEN[truth], SEVEN)
    assert np.array_equal(positions, truth)


@pytest.mark.parametrize(("dither", "tolerance"), [("floyd_steinberg", 0.01), ("ordered", 0.02)])
@pytest.mark.parametrize("grey", [64, 128, 192])
def test_greys_keep_their_brightness_in_linear_light(
    dither: str, tolerance: float, grey: int
) -> None:
    """Dots average, as light does, to the grey they stand for (not to a darker sRGB mean)."""
    picture = np.full((64, 64, 3), grey, dtype=np.uint8)
    positions = DITHER_FUNCTIONS[dither](picture, SEVEN)
    shown = srgb_to_linear(SEVEN[positions]).mean()
    assert abs(shown - srgb_to_linear(np.array([grey]))[0]) < tolerance


def with_warmup(picture: np.ndarray) -> np.ndarray:
    """The picture with the warm-up rows the first band runs first (mirrored above the top)."""
    warmup = render_dither.WARMUP_ROWS
    return np.pad(picture, ((warmup, 0), (0, 0), (0, 0)), mode="symmetric")


def test_one_band_atkinson_equals_the_textbook_algorithm() -> None:
    """The anti-diagonal numpy scan gives the raster scan's result exactly."""
    picture = noise((40, 70), seed=5).astype(np.float32) / 255.0
    palette = SEVEN.astype(np.float32) / 255.0
    textbook = naive_atkinson(with_warmup(picture), palette)[render_dither.WARMUP_ROWS :]
    assert np.array_equal(render_dither.diffuse(picture, palette), textbook)


@pytest.mark.parametrize("shape", [(1, 1), (1, 9), (9, 1), (48, 3), (49, 20), (130, 50)])
def test_banded_atkinson_keeps_every_row_once_in_order(shape: tuple[int, int]) -> None:
    """Bands run side by side; each band's rows are the textbook scan of that band."""
    picture = noise(shape, seed=6).astype(np.float32) / 255.0
    palette = SEVEN.astype(np.float32) / 255.0
    banded = render_dither.diffuse(picture, palette)
    assert banded.shape == shape
    band, warmup = render_dither.BAND_ROWS, render_dither.WARMUP_ROWS
    padded = with_warmup(picture)
    for start in range(0, shape[0], band):
        # Band rows start..start+band run after the warm-up rows just above them.
        runs = padded[start : start + warmup + band]
        expected = naive_atkinson(runs, palette)[warmup:]
        assert np.array_equal(banded[start : start + band], expected)


def test_atkinson_scans_along_the_shorter_side() -> None:
    """Wide and tall pictures both come back in their own orientation."""
    picture = noise((30, 200), seed=7)
    wide = render_dither.dither_atkinson(picture, SEVEN)
    tall = render_dither.dither_atkinson(np.ascontiguousarray(picture.transpose(1, 0, 2)), SEVEN)
    assert wide.shape == (30, 200)
    assert np.array_equal(tall, wide.T)


def test_none_picks_the_perceptually_nearest_colour() -> None:
    """Without dithering each pixel gets the colour nearest in Lab (CIE76)."""
    picture = noise((40, 40), seed=8)
    positions = render_dither.dither_none(picture, SEVEN)
    lab = linear_to_lab(srgb_to_linear(picture))
    palette_lab = linear_to_lab(srgb_to_linear(SEVEN))
    distances = np.sqrt(((lab[:, :, None, :] - palette_lab[None, None]) ** 2).sum(-1))
    chosen = np.take_along_axis(distances, positions[..., None].astype(np.intp), -1)[..., 0]
    np.testing.assert_allclose(chosen, distances.min(-1), atol=1e-3)


def test_ordered_mixes_two_colours_in_the_right_proportion() -> None:
    """A colour halfway (in light) between black and white is half black, half white dots."""
    black, white = srgb_to_linear(SEVEN[0]), srgb_to_linear(SEVEN[1])
    middle = (black + white) / 2
    srgb = np.where(middle <= 0.0031308, middle * 12.92, 1.055 * middle ** (1 / 2.4) - 0.055)
    picture = np.broadcast_to(np.round(srgb * 255).astype(np.uint8), (16, 16, 3))
    positions = render_dither.dither_ordered(np.ascontiguousarray(picture), SEVEN)
    assert set(np.unique(positions)) == {0, 1}
    assert abs((positions == 1).mean() - 0.5) <= 2 / 64


def test_linear_to_lab_reference_points() -> None:
    """White is L=100, a=b=0; black is 0; sRGB red is (53.2, 80.1, 67.2)."""
    np.testing.assert_allclose(linear_to_lab(np.array([1.0, 1.0, 1.0])), [100, 0, 0], atol=0.01)
    np.testing.assert_allclose(linear_to_lab(np.zeros(3)), [0, 0, 0], atol=0.01)
    np.testing.assert_allclose(linear_to_lab(np.array([1, 1, 1])), [100, 0, 0], atol=0.01)
    np.testing.assert_allclose(
        linear_to_lab(np.array([1.0, 0.0, 0.0])), [53.24, 80.09, 67.20], atol=0.1
    )
