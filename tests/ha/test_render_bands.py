"""Tests of rendering in two column bands: exact resampling, the band layout, no seam."""

from __future__ import annotations

import io
import threading

import numpy as np
import PIL
import pytest
from PIL import Image

from custom_components.dalle_frame.render import FITS, PANELS, RenderOptions, render_frame
from custom_components.dalle_frame.render import pipeline as render
from custom_components.dalle_frame.render.dither import (
    _LINEAR,
    DITHER_FUNCTIONS,
    dither_floyd_steinberg,
)

# Every box art is fitted into: each panel both ways, and the 13.3" panel above a caption.
BOXES = sorted(
    {(panel.width, panel.height) for panel in PANELS.values()}
    | {(panel.height, panel.width) for panel in PANELS.values()}
    | {(1600, 1110), (1200, 1530)}
)


def noise_art(width: int, height: int, seed: int = 0) -> Image.Image:
    """Random RGB art (every pixel differs: any resampling difference shows)."""
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))


def png_bytes(image: Image.Image) -> bytes:
    """Encode an image as PNG."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def rendered_art(art: Image.Image, options: RenderOptions, plan: render.FitPlan) -> np.ndarray:
    """Render ``art`` and return the panel indices of the fitted art's region of the frame."""
    frame = indices_of(render_frame(png_bytes(art), options))
    width, height = options.size
    top, left = (height - plan.size[1]) // 2, (width - plan.size[0]) // 2
    return frame[top : top + plan.size[1], left : left + plan.size[0]]


def indices_of(frame: bytes) -> np.ndarray:
    """The pixel indices of a rendered frame."""
    return np.asarray(Image.open(io.BytesIO(frame)))


@pytest.mark.parametrize("fit", FITS)
# Tall art shrinks more vertically: Pillow 13 (HA 2026.11) runs its vertical pass first there.
@pytest.mark.parametrize(
    "art_size", [(256, 256), (768, 768), (300, 200), (256, 1024), (640, 2400), (1024, 3000)]
)
def test_banded_resampling_equals_pillows_one_call_to_the_bit(
    fit: str, art_size: tuple[int, int]
) -> None:
    """The two passes in Pillow's order, each on two threads: Pillow's own Lanczos resize."""
    art = noise_art(*art_size)
    for box in BOXES:
        plan = render.plan_fit(art.size, box, fit)
        expected = art.resize(plan.size, Image.Resampling.LANCZOS, box=plan.box)
        assert np.array_equal(np.asarray(render.fit_art(art, box, fit)), np.asarray(expected))


def test_pass_order_follows_the_installed_pillow() -> None:
    """Pillow 13+ goes vertical first when the height shrinks by over twice the width's pixels."""
    tall_shrink = ((256, 1024), (112, 448))  # 576 rows fewer, 144 columns fewer
    expected = int(PIL.__version__.split(".")[0]) >= 13
    assert render.vertical_first(*tall_shrink) is expected
    assert render.vertical_first((256, 256), (600, 448)) is False  # enlarging
    assert render.vertical_first((1024, 1024), (600, 448)) is False  # 576 < 2 x 424


def test_fit_plans_match_the_documented_fits() -> None:
    """Contain keeps the whole art inside, cover crops the centre, stretch fills the box."""
    assert render.plan_fit((256, 256), (600, 448), "contain") == render.FitPlan(
        (448, 448), (0.0, 0.0, 256.0, 256.0)
    )
    cover = render.plan_fit((256, 256), (600, 448), "cover")
    assert cover.size == (600, 448)
    assert cover.box[0] == 0.0
    assert cover.box[2] == 256.0
    assert cover.box[1] == pytest.approx((256 - 448 * 256 / 600) / 2)
    assert render.plan_fit((300, 200), (600, 448), "stretch") == render.FitPlan(
        (600, 448), (0.0, 0.0, 300.0, 200.0)
    )


@pytest.mark.parametrize(
    ("panel_key", "orientation", "fit", "art_size"),
    [
        ("inky_impression_spectra_13_3", "landscape", "contain", (256, 256)),
        ("inky_impression_spectra_13_3", "portrait", "cover", (256, 256)),
        ("inky_impression_spectra_13_3", "landscape", "stretch", (256, 256)),
        # 600x2400 into 1200x1600: 400x1600, Pillow 13 resamples vertically first.
        ("inky_impression_spectra_13_3", "portrait", "contain", (600, 2400)),
    ],
)
def test_big_floyd_steinberg_frame_is_two_bands_each_dithered_past_the_split(
    panel_key: str, orientation: str, fit: str, art_size: tuple[int, int]
) -> None:
    """Each half of the art is Floyd-Steinberg of its columns plus 16 beyond the split.

    The split is the middle column, rounded down to a multiple of 8.

    Built here independently from Pillow's one-call resize and the whole-array dither.
    """
    art = noise_art(*art_size, seed=3)
    options = RenderOptions(panel=panel_key, orientation=orientation, fit=fit)
    panel = PANELS[panel_key]
    plan = render.plan_fit(art.size, options.size, fit)
    fitted = np.asarray(art.resize(plan.size, Image.Resampling.LANCZOS, box=plan.box))
    colours = np.array(panel.palette_at(0.5), dtype=np.uint8)
    middle, overlap = plan.size[0] // 2 // 8 * 8, render._OVERLAP_COLUMNS
    left = dither_floyd_steinberg(np.ascontiguousarray(fitted[:, : middle + overlap]), colours)
    right = dither_floyd_steinberg(np.ascontiguousarray(fitted[:, middle - overlap :]), colours)
    positions = np.concatenate([left[:, :middle], right[:, overlap:]], axis=1)
    expected = np.array(panel.indices, dtype=np.uint8)[positions]
    assert np.array_equal(rendered_art(art, options, plan), expected)


@pytest.mark.parametrize("dither", ["ordered", "none"])
@pytest.mark.parametrize(
    ("panel_key", "orientation", "fit", "art_size"),
    [
        ("inky_impression_spectra_13_3", "landscape", "cover", (256, 256)),
        ("inky_impression_5_7", "portrait", "contain", (256, 256)),
        ("inky_impression_5_7", "landscape", "contain", (300, 200)),  # 600 wide: split at 296
        ("inky_impression_4", "landscape", "contain", (16, 256)),  # 25 wide: one band
        ("inky_impression_spectra_13_3", "portrait", "contain", (600, 2400)),  # vertical first
    ],
)
def test_pixelwise_dithers_in_bands_equal_the_whole_picture(
    dither: str, panel_key: str, orientation: str, fit: str, art_size: tuple[int, int]
) -> None:
    """Ordered (Bayer matrix aligned at the split) and none give the one-piece result."""
    art = noise_art(*art_size, seed=5)
    options = RenderOptions(panel=panel_key, orientation=orientation, fit=fit, dither=dither)
    panel = PANELS[panel_key]
    plan = render.plan_fit(art.size, options.size, fit)
    fitted = np.asarray(art.resize(plan.size, Image.Resampling.LANCZOS, box=plan.box))
    colours = np.array(panel.palette_at(0.5), dtype=np.uint8)
    positions = DITHER_FUNCTIONS[dither](np.ascontiguousarray(fitted), colours)
    expected = np.array(panel.indices, dtype=np.uint8)[positions]
    assert np.array_equal(rendered_art(art, options, plan), expected)


@pytest.mark.parametrize(
    ("panel_key", "orientation", "fit", "art_size"),
    [
        ("inky_impression_7_3", "landscape", "cover", (256, 256)),  # 800x480, the biggest
        ("inky_impression_spectra_7_3", "portrait", "stretch", (256, 256)),
        ("inky_impression_5_7", "portrait", "contain", (256, 256)),
        ("inky_impression_4", "landscape", "contain", (16, 256)),  # 25x400: narrow
    ],
)
def test_small_floyd_steinberg_frame_is_dithered_in_one_piece(
    panel_key: str, orientation: str, fit: str, art_size: tuple[int, int]
) -> None:
    """Up to the 7.3" panels Floyd-Steinberg runs on the whole fitted picture, as before."""
    art = noise_art(*art_size, seed=4)
    options = RenderOptions(panel=panel_key, orientation=orientation, fit=fit)
    panel = PANELS[panel_key]
    plan = render.plan_fit(art.size, options.size, fit)
    assert plan.size[0] * plan.size[1] <= render._BANDED_FLOYD_STEINBERG_PIXELS
    fitted = np.asarray(art.resize(plan.size, Image.Resampling.LANCZOS, box=plan.box))
    colours = np.array(panel.palette_at(0.5), dtype=np.uint8)
    positions = dither_floyd_steinberg(np.ascontiguousarray(fitted), colours)
    expected = np.array(panel.indices, dtype=np.uint8)[positions]
    assert np.array_equal(rendered_art(art, options, plan), expected)


@pytest.mark.parametrize("grey", [40, 90, 128, 170])
def test_no_seam_shows_where_the_bands_meet(grey: int) -> None:
    """On flat grey the columns at the split are as bright as the rest, on average.

    Without the overlap the left band drops its rightward error at the split and the
    columns there come out about 0.013 darker in linear light (a visible line).
    """
    panel_key = "inky_impression_spectra_13_3"
    panel = PANELS[panel_key]
    art = png_bytes(Image.new("RGB", (64, 64), (grey, grey, grey)))
    frame = indices_of(render_frame(art, RenderOptions(panel=panel_key, fit="stretch")))
    table = np.zeros((256, 3), dtype=np.uint8)
    for colour in panel.colours:
        table[colour.index] = colour.at(0.5)
    columns = _LINEAR[table[frame]].mean(axis=(0, 2))
    seam = columns[796:804].mean()
    assert abs(seam - columns.mean()) < 0.003


def test_renders_on_several_threads_at_once_give_the_same_frames() -> None:
    """HA may render two frames at once (two config entries): no state is shared."""
    art = png_bytes(noise_art(256, 256, seed=6))
    options = [
        RenderOptions(panel="inky_impression_spectra_13_3", fit=fit, dither=dither)
        for fit, dither in (("cover", "floyd_steinberg"), ("contain", "ordered"))
    ] + [RenderOptions(panel="inky_impression_7_3", orientation="portrait")]
    expected = [render_frame(art, option) for option in options]
    results: list[bytes | None] = [None] * len(options)

    def run(position: int) -> None:
        results[position] = render_frame(art, options[position])

    threads = [threading.Thread(target=run, args=(position,)) for position in range(len(options))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == expected
