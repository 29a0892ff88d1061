"""Preparing pictures for the panel: HA's palette images pass unchanged, others are converted."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from dalle_frame_satellite.errors import ImageError
from dalle_frame_satellite.image_prep import MAX_PIXELS, prepare_image
from dalle_frame_satellite.panels import PANELS, panel_by_name
from dalle_frame_satellite.settings import FitMode

# How HA's integration renders a Spectra 6 frame: native panel indices 0-3, 5, 6 (4 is a gap),
# palette colours at saturation 0.5 (custom_components/dalle_frame/render/panels.py).
SPECTRA_NATIVE = {0: (0, 0, 0), 1: (208, 209, 210), 2: (231, 222, 35), 3: (205, 36, 37),
                  5: (30, 29, 174), 6: (29, 173, 35)}  # fmt: skip
# The driver's own order for the same colours (black, white, yellow, red, blue, green).
SPECTRA_LOGICAL = {0: 0, 1: 1, 2: 2, 3: 3, 5: 4, 6: 5}


def png(image: Image.Image) -> bytes:
    """Encode as PNG."""
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def palette_image(indices: np.ndarray, colours: dict[int, tuple[int, int, int]]) -> bytes:
    """A palette PNG with the given indices and palette entries."""
    image = Image.frombytes("P", (indices.shape[1], indices.shape[0]), indices.tobytes())
    table = [colours.get(i, (0, 0, 0)) for i in range(max(colours) + 1)]
    image.putpalette([c for rgb in table for c in rgb])
    return png(image)


def photo(size: tuple[int, int]) -> Image.Image:
    """A colourful RGB test picture."""
    return (
        Image.effect_mandelbrot(size, (-2, -1.5, 1, 1.5), 60)
        .convert("RGB")
        .point(lambda v: (v * 7) % 256)
    )


@pytest.mark.parametrize("name", ["inky_impression_5_7", "inky_impression_7_3"])
def test_seven_colour_palette_image_passes_unchanged(name: str) -> None:
    """Indices 0-6 with the panel's colours (at any saturation) reach the panel as they are."""
    panel = panel_by_name(name)
    rng = np.random.default_rng(1)
    indices = rng.integers(0, 7, size=panel.size[::-1], dtype=np.uint8)
    for saturation in (0.0, 0.5, 1.0):
        colours = dict(enumerate(panel.blended_palette(saturation)))
        prepared = prepare_image(palette_image(indices, colours), panel)
        assert not prepared.converted
        assert (prepared.indices == indices).all()


def test_spectra_native_indices_are_mapped_by_colour() -> None:
    """HA's Spectra frames hold native indices (gap at 4); they map to the driver's order."""
    panel = panel_by_name("inky_impression_spectra_7_3")
    rng = np.random.default_rng(2)
    native = rng.choice(list(SPECTRA_NATIVE), size=panel.size[::-1]).astype(np.uint8)
    prepared = prepare_image(palette_image(native, SPECTRA_NATIVE), panel)
    assert not prepared.converted
    expected = np.vectorize(SPECTRA_LOGICAL.get)(native)
    assert (prepared.indices == expected).all()


def test_palette_image_with_foreign_colours_is_converted() -> None:
    """A palette image whose colours are not the panel's is dithered like any picture."""
    panel = panel_by_name("inky_impression_5_7")
    grey = Image.new("P", panel.size)
    grey.putpalette([128, 128, 128] * 2)
    prepared = prepare_image(png(grey), panel)
    assert prepared.converted
    assert set(np.unique(prepared.indices).tolist()) <= set(range(7))


@pytest.mark.parametrize("name", list(PANELS))
def test_rgb_pictures_use_only_valid_indices(name: str) -> None:
    """Every panel: an RGB picture of another size is fitted and dithered to 0..colours-1."""
    panel = panel_by_name(name)
    prepared = prepare_image(png(photo((512, 512))), panel, saturation=0.5)
    assert prepared.converted
    assert prepared.indices.shape == panel.size[::-1]
    used = set(np.unique(prepared.indices).tolist())
    assert used <= set(range(panel.colours))
    assert len(used) >= panel.colours - 1  # a colourful picture uses (nearly) every colour


def test_pure_black_is_black_not_index_8() -> None:
    """The inky bug (dark pixels become padding index 8) cannot happen here."""
    panel = panel_by_name("inky_impression_5_7")
    black = Image.new("RGB", panel.size, (0, 0, 0))
    prepared = prepare_image(png(black), panel, saturation=0.5)
    assert set(np.unique(prepared.indices).tolist()) == {0}


def test_fit_modes() -> None:
    """contain pads with white, cover fills, stretch fills; a red square shows the difference."""
    panel = panel_by_name("inky_impression_5_7")  # 600x448
    red = png(Image.new("RGB", (100, 100), (255, 0, 0)))
    white, red_index = 1, 4
    contain = prepare_image(red, panel, fit=FitMode.CONTAIN, saturation=0.0).indices
    assert contain[224, 0] == white and contain[224, 300] == red_index
    for fit in (FitMode.COVER, FitMode.STRETCH):
        filled = prepare_image(red, panel, fit=fit, saturation=0.0).indices
        assert set(np.unique(filled).tolist()) == {red_index}


def test_rotation_and_portrait_pictures() -> None:
    """rotate turns pictures clockwise; a portrait palette frame is turned to fill the panel."""
    panel = panel_by_name("inky_impression_5_7")
    colours = dict(enumerate(panel.blended_palette(0.5)))
    portrait = np.zeros((600, 448), dtype=np.uint8)
    portrait[0, :] = 4  # a red top row
    prepared = prepare_image(palette_image(portrait, colours), panel)
    assert not prepared.converted
    assert (prepared.indices[:, -1] == 4).all()  # turned clockwise: the top is now the right
    landscape = np.zeros((448, 600), dtype=np.uint8)
    landscape[0, :] = 4
    flipped = prepare_image(palette_image(landscape, colours), panel, rotate=180)
    assert (flipped.indices[-1, :] == 4).all()


def test_transparency_becomes_white() -> None:
    """Transparent parts of a picture are paper-white."""
    panel = panel_by_name("inky_impression_5_7")
    clear = Image.new("RGBA", panel.size, (255, 0, 0, 0))
    prepared = prepare_image(png(clear), panel, saturation=0.0)
    assert set(np.unique(prepared.indices).tolist()) == {1}


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"<html><body>502 Bad Gateway</body></html>", "not an image"),
        (png(photo((64, 64)))[:200], "broken"),
        (b"\x89PNG\r\n\x1a\n" + b"\xff" * 64, "not an image|broken"),
    ],
    ids=["empty", "html", "truncated", "garbage-after-signature"],
)
def test_broken_pictures_raise_image_error(data: bytes, reason: str) -> None:
    """Undecodable bytes raise ImageError with the reason."""
    with pytest.raises(ImageError, match=reason):
        prepare_image(data, panel_by_name("inky_impression_5_7"))


def test_huge_pictures_are_refused_before_decoding() -> None:
    """A decompression bomb is refused from its header, before its pixels are decoded."""
    side = int(MAX_PIXELS**0.5) + 100
    bomb = png(Image.new("1", (side, side)))
    with pytest.raises(ImageError, match=f"{side}x{side}, larger than"):
        prepare_image(bomb, panel_by_name("inky_impression_5_7"))


def test_digest_depends_on_what_the_panel_shows() -> None:
    """Same indices, same digest, whatever the PNG bytes; another panel, another digest."""
    panel = panel_by_name("inky_impression_5_7")
    indices = np.random.default_rng(3).integers(0, 7, size=(448, 600), dtype=np.uint8)
    at_half = prepare_image(
        palette_image(indices, dict(enumerate(panel.blended_palette(0.5)))), panel
    )
    at_one = prepare_image(
        palette_image(indices, dict(enumerate(panel.blended_palette(1.0)))), panel
    )
    assert at_half.digest == at_one.digest
    other = prepare_image(
        palette_image(indices, dict(enumerate(panel.blended_palette(0.5)))),
        panel_by_name("inky_impression_4"),
    )
    assert other.digest != at_half.digest
