"""Tests of render_frame: panel sizes, fits, indices, palettes, captions and bad input."""

from __future__ import annotations

import io
import math
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from custom_components.dalle_frame.render import (
    BACKGROUNDS,
    DITHERS,
    FITS,
    ORIENTATIONS,
    PANELS,
    RenderOptions,
    render_frame,
)

# The panels' colours as the inky 2.6.0 drivers define them, written out here independently
# of render/panels.py: (name, panel index, SATURATED_PALETTE entry, DESATURATED_PALETTE entry).
UC8159 = [
    ("black", 0, (57, 48, 57), (0, 0, 0)),
    ("white", 1, (255, 255, 255), (255, 255, 255)),
    ("green", 2, (58, 91, 70), (0, 255, 0)),
    ("blue", 3, (61, 59, 94), (0, 0, 255)),
    ("red", 4, (156, 72, 75), (255, 0, 0)),
    ("yellow", 5, (208, 190, 71), (255, 255, 0)),
    ("orange", 6, (177, 106, 73), (255, 140, 0)),
]
AC073TC1A = [
    ("black", 0, (0, 0, 0), (0, 0, 0)),
    ("white", 1, (217, 242, 255), (255, 255, 255)),
    ("green", 2, (3, 124, 76), (0, 255, 0)),
    ("blue", 3, (27, 46, 198), (0, 0, 255)),
    ("red", 4, (245, 80, 34), (255, 0, 0)),
    ("yellow", 5, (255, 255, 68), (255, 255, 0)),
    ("orange", 6, (239, 121, 44), (255, 140, 0)),
]
SPECTRA = [
    ("black", 0, (0, 0, 0), (0, 0, 0)),
    ("white", 1, (161, 164, 165), (255, 255, 255)),
    ("yellow", 2, (208, 190, 71), (255, 255, 0)),
    ("red", 3, (156, 72, 75), (255, 0, 0)),
    ("blue", 5, (61, 59, 94), (0, 0, 255)),
    ("green", 6, (58, 91, 70), (0, 255, 0)),
]
EXPECTED_PANELS = {
    "inky_impression_4": ((640, 400), UC8159),
    "inky_impression_5_7": ((600, 448), UC8159),
    "inky_impression_7_3": ((800, 480), AC073TC1A),
    "inky_impression_spectra_4": ((600, 400), SPECTRA),
    "inky_impression_spectra_7_3": ((800, 480), SPECTRA),
    "inky_impression_spectra_13_3": ((1600, 1200), SPECTRA),
}


def blend(saturated, pure, saturation):
    """The inky drivers' _palette_blend for one colour."""
    return tuple(
        int(s * saturation + p * (1.0 - saturation)) for s, p in zip(saturated, pure, strict=True)
    )


def png_bytes(image: Image.Image) -> bytes:
    """Encode an image as PNG."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def art_png(seed: int = 0, size: tuple[int, int] = (256, 256)) -> bytes:
    """A photo-like test picture: smooth colour gradients plus noise."""
    rng = np.random.default_rng(seed)
    height, width = size[1], size[0]
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x / width * 255, y / height * 255, (x + y) / (width + height) * 255], -1)
    noisy = base + rng.normal(0, 20, base.shape)
    return png_bytes(Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)))


def flat_png(colour, size=(256, 256), mode="RGB") -> bytes:
    """A picture of one colour."""
    return png_bytes(Image.new(mode, size, colour))


def decode(frame: bytes) -> tuple[Image.Image, np.ndarray]:
    """Open a rendered frame: the image and its pixel indices."""
    image = Image.open(io.BytesIO(frame))
    image.load()
    return image, np.asarray(image)


def palette_of(image: Image.Image) -> list[tuple[int, int, int]]:
    """The PNG palette as RGB tuples."""
    flat = image.getpalette()
    return [tuple(flat[i : i + 3]) for i in range(0, len(flat), 3)]


ART = art_png()


def test_choices_match_the_documented_api() -> None:
    """The choices the options flow offers are the documented ones."""
    assert ORIENTATIONS == ("landscape", "portrait")
    assert FITS == ("contain", "cover", "stretch")
    assert DITHERS == ("floyd_steinberg", "atkinson", "ordered", "none")
    assert BACKGROUNDS == ("white", "black")
    assert set(PANELS) == set(EXPECTED_PANELS)
    options = RenderOptions()
    assert (options.panel, options.orientation, options.fit, options.dither) == (
        "inky_impression_5_7",
        "landscape",
        "contain",
        "floyd_steinberg",
    )
    assert options.saturation == 0.5
    assert options.caption is None
    assert options.background == "white"


@pytest.mark.parametrize("panel_key", EXPECTED_PANELS)
def test_panel_facts_match_the_inky_drivers(panel_key: str) -> None:
    """Each panel's size, colour indices and blended palette are the drivers' own."""
    (width, height), colours = EXPECTED_PANELS[panel_key]
    panel = PANELS[panel_key]
    assert (panel.width, panel.height) == (width, height)
    assert panel.name
    assert panel.indices == tuple(index for _, index, _, _ in colours)
    assert [c.name for c in panel.colours] == [name for name, _, _, _ in colours]
    for saturation in (0.0, 0.25, 0.5, 0.7, 1.0):
        expected = tuple(blend(sat, pure, saturation) for _, _, sat, pure in colours)
        assert panel.palette_at(saturation) == expected
    assert panel.palette == panel.palette_at(0.5)


@pytest.mark.parametrize("panel_key", EXPECTED_PANELS)
@pytest.mark.parametrize("saturation", [0.0, 0.5, 1.0])
def test_png_palette_holds_the_blended_colours_at_the_panel_indices(
    panel_key: str, saturation: float
) -> None:
    """PNG palette entry i is the colour the panel shows for index i at that saturation."""
    _, colours = EXPECTED_PANELS[panel_key]
    image, _ = decode(render_frame(ART, RenderOptions(panel=panel_key, saturation=saturation)))
    palette = palette_of(image)
    for _, index, sat, pure in colours:
        assert palette[index] == blend(sat, pure, saturation)
    assert len(palette) == max(index for _, index, _, _ in colours) + 1


@pytest.mark.parametrize("panel_key", EXPECTED_PANELS)
@pytest.mark.parametrize("orientation", ORIENTATIONS)
@pytest.mark.parametrize("fit", FITS)
def test_every_panel_orientation_and_fit_gives_the_exact_size_and_valid_indices(
    panel_key: str, orientation: str, fit: str
) -> None:
    """The frame is a palette PNG of the panel's size holding only the panel's indices."""
    (width, height), colours = EXPECTED_PANELS[panel_key]
    options = RenderOptions(panel=panel_key, orientation=orientation, fit=fit)
    image, indices = decode(render_frame(ART, options))
    assert image.format == "PNG"
    assert image.mode == "P"
    expected_size = (width, height) if orientation == "landscape" else (height, width)
    assert image.size == expected_size
    assert options.size == expected_size
    assert set(np.unique(indices)) <= {index for _, index, _, _ in colours}


@pytest.mark.parametrize("panel_key", EXPECTED_PANELS)
@pytest.mark.parametrize("dither", DITHERS)
def test_every_dither_gives_only_valid_indices(panel_key: str, dither: str) -> None:
    """No dither ever produces an index the panel does not take (7 on 7-colour, 4 on Spectra)."""
    _, colours = EXPECTED_PANELS[panel_key]
    valid = {index for _, index, _, _ in colours}
    rainbow = np.zeros((64, 256, 3), dtype=np.uint8)
    rainbow[..., 0] = np.arange(256)
    rainbow[..., 1] = 255 - np.arange(256)
    rainbow[32:, :, 2] = 255
    for art in (ART, png_bytes(Image.fromarray(rainbow))):
        _, indices = decode(render_frame(art, RenderOptions(panel=panel_key, dither=dither)))
        assert set(np.unique(indices)) <= valid


@pytest.mark.parametrize("panel_key", EXPECTED_PANELS)
@pytest.mark.parametrize("dither", DITHERS)
def test_a_panel_colour_renders_as_exactly_that_index(panel_key: str, dither: str) -> None:
    """Art painted in the panel's colours comes out as exactly those colours' indices.

    One horizontal stripe per colour, stretched over the panel; the middle half of each
    stripe (away from the resampled edges between stripes) must be that colour's index only.
    """
    (_, height), colours = EXPECTED_PANELS[panel_key]
    stripes = np.concatenate(
        [np.full((32, 64, 3), blend(sat, pure, 0.5), dtype=np.uint8) for _, _, sat, pure in colours]
    )
    options = RenderOptions(panel=panel_key, dither=dither, fit="stretch")
    _, indices = decode(render_frame(png_bytes(Image.fromarray(stripes)), options))
    stripe = height / len(colours)
    for number, (_, index, _, _) in enumerate(colours):
        middle = indices[round((number + 0.25) * stripe) : round((number + 0.75) * stripe)]
        assert set(np.unique(middle)) == {index}


def test_contain_centres_the_art_on_the_background_colour() -> None:
    """Square art on the 600x448 panel: 448x448 in the middle, white (1) or black (0) beside."""
    red = flat_png((205, 36, 37))  # the 5.7" panel's red at saturation 0.5
    for background, index in (("white", 1), ("black", 0)):
        options = RenderOptions(fit="contain", background=background, dither="none")
        _, indices = decode(render_frame(red, options))
        assert indices.shape == (448, 600)
        assert (indices[:, :76] == index).all()
        assert (indices[:, 524:] == index).all()
        assert (indices[:, 76:524] == 4).all()


def test_contain_on_portrait_puts_the_bands_above_and_below() -> None:
    """Square art on a portrait 448x600 canvas leaves background above and below."""
    red = flat_png((205, 36, 37))
    _, indices = decode(render_frame(red, RenderOptions(orientation="portrait", dither="none")))
    assert indices.shape == (600, 448)
    assert (indices[:76] == 1).all()
    assert (indices[524:] == 1).all()
    assert (indices[76:524] == 4).all()


def test_cover_fills_the_panel_and_crops_the_centre() -> None:
    """Cover scales square art to the panel's width and keeps its middle rows."""
    stripes = np.zeros((256, 256, 3), dtype=np.uint8)
    stripes[:] = (0, 0, 0)
    stripes[96:160] = (255, 255, 255)  # a white band across the middle third
    art = png_bytes(Image.fromarray(stripes))
    _, indices = decode(render_frame(art, RenderOptions(fit="cover", dither="none")))
    # 600/256 scale: rows 96..160 of the art land at rows 225-0.5*... around the middle.
    scale = 600 / 256
    crop_top = (256 - 448 / scale) / 2
    middle = slice(math.ceil((100 - crop_top) * scale), math.floor((156 - crop_top) * scale))
    assert (indices[middle] == 1).all()
    assert (indices[:10] == 0).all()
    assert (indices[-10:] == 0).all()


def test_stretch_fills_the_panel_with_non_square_art() -> None:
    """Stretch maps a wide picture onto the whole panel without background."""
    half = np.zeros((100, 300, 3), dtype=np.uint8)
    half[:, 150:] = (255, 255, 255)
    art = png_bytes(Image.fromarray(half))
    _, indices = decode(render_frame(art, RenderOptions(fit="stretch", dither="none")))
    assert (indices[:, :295] == 0).all()
    assert (indices[:, 305:] == 1).all()


def test_caption_band_holds_crisp_text_below_the_art() -> None:
    """A caption adds a band at the bottom with black text on white, and the art moves up."""
    red = flat_png((205, 36, 37))
    plain = decode(render_frame(red, RenderOptions(dither="none")))[1]
    captioned = decode(
        render_frame(red, RenderOptions(dither="none", caption="a lighthouse in a storm"))
    )[1]
    band_rows = np.flatnonzero((captioned == 0).any(axis=1))
    assert band_rows.size > 10  # the text's rows
    art_rows = np.flatnonzero((captioned == 4).any(axis=1))
    assert art_rows.max() < band_rows.min()
    assert art_rows.size < 448  # the art shrank to leave room for the caption
    band = captioned[art_rows.max() + 1 :]
    assert set(np.unique(band)) == {0, 1}
    assert (plain == 0).sum() == 0


def test_caption_is_white_on_a_black_background() -> None:
    """With a black background the caption is drawn in white."""
    red = flat_png((205, 36, 37))
    options = RenderOptions(dither="none", caption="a fox", background="black")
    _, indices = decode(render_frame(red, options))
    band = indices[-40:]
    assert set(np.unique(band)) == {0, 1}


def test_blank_caption_adds_no_band() -> None:
    """A caption of only spaces is the same as no caption."""
    plain = render_frame(ART, RenderOptions())
    assert render_frame(ART, RenderOptions(caption="   \n ")) == plain
    assert render_frame(ART, RenderOptions(caption="")) == plain


def test_long_caption_is_limited_and_the_art_keeps_most_of_the_panel() -> None:
    """A very long prompt still leaves the art more than half the panel."""
    red = flat_png((205, 36, 37))
    long_caption = " ".join(["word"] * 500)
    _, indices = decode(render_frame(red, RenderOptions(dither="none", caption=long_caption)))
    art_rows = np.flatnonzero((indices == 4).any(axis=1))
    assert art_rows.size > 448 / 2


@pytest.mark.parametrize("panel_key", EXPECTED_PANELS)
def test_caption_font_grows_with_the_panel(panel_key: str) -> None:
    """The caption's text is taller on bigger panels (readable at each panel's pixel size)."""
    red = flat_png((205, 36, 37))
    options = RenderOptions(panel=panel_key, dither="none", caption="HELLO")
    _, indices = decode(render_frame(red, options))
    text_rows = np.flatnonzero((indices == 0).any(axis=1))
    height = EXPECTED_PANELS[panel_key][0][1]
    cap_height = text_rows.max() - text_rows.min() + 1
    assert 0.025 * height <= cap_height <= 0.06 * height


@pytest.mark.parametrize(
    ("mode", "colour"),
    [("L", 128), ("P", 3), ("RGBA", (205, 36, 37, 255)), ("LA", (128, 255)), ("I;16", 3000)],
)
def test_other_png_modes_are_accepted(mode: str, colour) -> None:
    """Grey, palette, alpha and 16-bit PNGs render like RGB ones."""
    _, indices = decode(render_frame(flat_png(colour, mode=mode), RenderOptions()))
    assert indices.shape == (448, 600)


def test_transparent_art_shows_the_background_colour() -> None:
    """Transparent pixels are flattened onto the background colour."""
    clear = flat_png((255, 0, 0, 0), mode="RGBA")
    for background, index in (("white", 1), ("black", 0)):
        options = RenderOptions(background=background, fit="stretch")
        _, indices = decode(render_frame(clear, options))
        assert (indices == index).all()


def test_rendering_is_deterministic() -> None:
    """The same art and options give the same bytes, for every dither."""
    for dither in DITHERS:
        options = RenderOptions(dither=dither, caption="a fox in the snow")
        first = render_frame(ART, options)
        assert (
            render_frame(bytearray(ART), RenderOptions(dither=dither, caption="a fox in the snow"))
            == first
        )
        assert render_frame(ART, options) == first


def test_different_inputs_give_different_frames() -> None:
    """Options and art change the output (nothing is cached by mistake)."""
    base = render_frame(ART, RenderOptions())
    assert render_frame(art_png(seed=1), RenderOptions()) != base
    assert render_frame(ART, RenderOptions(saturation=0.6)) != base
    assert render_frame(ART, RenderOptions(dither="atkinson")) != base


def png_with_header(width: int, height: int) -> bytes:
    """A PNG whose header claims a size, with a tiny (wrong) body."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + chunk(b"IEND", b"")
    )


def jpeg_bytes() -> bytes:
    """A real JPEG."""
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), "red").save(buffer, format="JPEG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("art", "message"),
    [
        (b"", "empty"),
        (jpeg_bytes(), "not a PNG"),
        (b"GIF89a....", "not a PNG"),
        (ART[: len(ART) // 2], "not a readable PNG"),
        (ART[:40] + bytes(b ^ 0x5A for b in ART[40:200]) + ART[200:], "not a readable PNG"),
        (png_with_header(16, 16), "not a readable PNG"),
        (png_with_header(5000, 5000), "5000x5000 pixels; at most 16777216"),
        (png_with_header(100_000, 100_000), "not a readable PNG"),
        ("not bytes", "must be PNG bytes"),
        (None, "must be PNG bytes"),
    ],
)
def test_bad_art_raises_a_clear_value_error(art, message: str) -> None:
    """Anything but a readable PNG raises ValueError saying what is wrong."""
    with pytest.raises(ValueError, match=message):
        render_frame(art, RenderOptions())


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("panel", "inky_impression_9", "Unknown panel 'inky_impression_9'; choose one of"),
        ("orientation", "diagonal", "Unknown orientation"),
        ("fit", "zoom", "Unknown fit 'zoom'; choose one of: contain, cover, stretch"),
        ("dither", "burkes", "Unknown dither 'burkes'"),
        ("background", "orange", "Unknown background"),
        ("panel", None, "Unknown panel None"),
        ("saturation", -0.01, "from 0 to 1"),
        ("saturation", 1.5, "from 0 to 1"),
        ("saturation", float("nan"), "from 0 to 1"),
        ("saturation", "0.5", "from 0 to 1"),
        ("saturation", True, "from 0 to 1"),
        ("caption", 42, "Caption must be text"),
    ],
)
def test_bad_options_raise_a_clear_value_error(field: str, value, message: str) -> None:
    """Invalid options raise ValueError naming the field, the value and the choices."""
    with pytest.raises(ValueError, match=message):
        RenderOptions(**{field: value})


def test_options_must_be_render_options() -> None:
    """render_frame refuses anything but RenderOptions."""
    with pytest.raises(ValueError, match="Options must be RenderOptions"):
        render_frame(ART, {"panel": "inky_impression_5_7"})


def test_a_colour_the_panel_lacks_is_refused() -> None:
    """Asking a Spectra panel for orange names the colours it has."""
    with pytest.raises(ValueError, match="has no colour 'orange'; it has black, white, yellow"):
        PANELS["inky_impression_spectra_7_3"].colour("orange")
    assert PANELS["inky_impression_7_3"].colour("orange").index == 6


def test_integer_saturation_is_accepted() -> None:
    """0 and 1 as integers are valid saturations."""
    assert RenderOptions(saturation=0).saturation == 0
    assert decode(render_frame(ART, RenderOptions(saturation=1)))[0].mode == "P"
