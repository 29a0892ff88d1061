"""Render generated art as the e-paper panel will show it (pure Pillow + numpy, no HA).

``render_frame(art_png, RenderOptions(...))`` returns a palette ("P") PNG of the panel's exact
size (portrait swaps width and height):

- its pixel values are the indices the panel takes (``render_panels``: 0-6 on 7-colour panels,
  0-3, 5, 6 on Spectra 6 panels) and nothing else, so a frame program passes them to the
  panel as they are;
- its PNG palette holds the colours the panel is modelled to show at the chosen saturation,
  so the PNG previews the panel on a dashboard.

Steps: decode and validate the art; lay out the optional caption band at the bottom; fit the
art into the space above it (contain on a background colour, cover by centre crop, or
stretch; Lanczos resampling); dither only the art's own pixels (``render_dither``); fill the
background with a panel colour; draw the caption crisply in one panel colour.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Final

import numpy as np
from PIL import Image

from .render_caption import CaptionLayout, draw_caption, layout_caption
from .render_dither import DITHER_FUNCTIONS, DITHERS
from .render_panels import DEFAULT_SATURATION, PANELS, RGB, Panel, PanelColour

__all__ = [
    "BACKGROUNDS",
    "DITHERS",
    "FITS",
    "ORIENTATIONS",
    "PANELS",
    "Panel",
    "RenderOptions",
    "render_frame",
]

ORIENTATIONS: Final = ("landscape", "portrait")
FITS: Final = ("contain", "cover", "stretch")
BACKGROUNDS: Final = ("white", "black")

_PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
# Art is 256..768 px square; refuse anything absurd before decoding it.
_MAX_ART_PIXELS: Final = 4096 * 4096
_RESAMPLE: Final = Image.Resampling.LANCZOS


def _check_choice(kind: str, value: object, choices: tuple[str, ...]) -> None:
    """Raise ValueError unless ``value`` is one of ``choices``."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"Unknown {kind} {value!r}; choose one of: {', '.join(choices)}")


@dataclass(frozen=True, kw_only=True)
class RenderOptions:
    """How to render art for a panel; invalid values raise ValueError on creation."""

    panel: str = "inky_impression_5_7"
    """A key of ``PANELS``."""
    orientation: str = "landscape"
    """One of ``ORIENTATIONS``; portrait swaps the panel's width and height."""
    fit: str = "contain"
    """One of ``FITS``."""
    dither: str = "floyd_steinberg"
    """One of ``DITHERS``."""
    saturation: float = DEFAULT_SATURATION
    """0..1: how far the palette leans to the panel's measured (muted) colours, like inky."""
    caption: str | None = None
    """Text under the picture (the prompt), or None for none."""
    background: str = "white"
    """One of ``BACKGROUNDS``: the panel colour around contained art and behind the caption."""

    def __post_init__(self) -> None:
        """Validate every field."""
        _check_choice("panel", self.panel, tuple(PANELS))
        _check_choice("orientation", self.orientation, ORIENTATIONS)
        _check_choice("fit", self.fit, FITS)
        _check_choice("dither", self.dither, DITHERS)
        _check_choice("background", self.background, BACKGROUNDS)
        saturation = self.saturation
        if (
            isinstance(saturation, bool)
            or not isinstance(saturation, int | float)
            or not 0.0 <= saturation <= 1.0
        ):
            raise ValueError(f"Saturation must be a number from 0 to 1, not {saturation!r}")
        if self.caption is not None and not isinstance(self.caption, str):
            raise ValueError(f"Caption must be text or None, not {type(self.caption).__name__}")

    @property
    def size(self) -> tuple[int, int]:
        """The output's (width, height) in pixels."""
        panel = PANELS[self.panel]
        if self.orientation == "portrait":
            return panel.height, panel.width
        return panel.width, panel.height


def decode_art(art_png: bytes, background: RGB) -> Image.Image:
    """Decode PNG bytes to an RGB image, flattening transparency onto ``background``.

    Raises ValueError with the reason when the bytes are not a readable PNG.
    """
    if not isinstance(art_png, bytes | bytearray | memoryview):
        raise ValueError(f"The art must be PNG bytes, not {type(art_png).__name__}")
    data = bytes(art_png)
    if not data:
        raise ValueError("The art is empty (0 bytes); expected a PNG image")
    if not data.startswith(_PNG_SIGNATURE):
        raise ValueError("The art is not a PNG image (its first bytes are not a PNG signature)")
    unreadable = (OSError, SyntaxError, ValueError, Image.DecompressionBombError)
    try:
        # Pillow itself refuses absurd sizes (DecompressionBombError) when opening.
        image = Image.open(io.BytesIO(data), formats=["PNG"])
    except unreadable as err:
        raise ValueError(f"The art is not a readable PNG image: {err}") from err
    width, height = image.size
    if width * height > _MAX_ART_PIXELS:
        raise ValueError(
            f"The art is {width}x{height} pixels; at most {_MAX_ART_PIXELS} pixels are accepted"
        )
    try:
        image.load()
    except unreadable as err:
        raise ValueError(f"The art is not a readable PNG image: {err}") from err
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        base = Image.new("RGBA", rgba.size, (*background, 255))
        return Image.alpha_composite(base, rgba).convert("RGB")
    return image.convert("RGB")


def fit_art(art: Image.Image, box: tuple[int, int], fit: str) -> Image.Image:
    """Resize ``art`` for a ``box`` (width, height): contain (inside), cover (crop), stretch."""
    box_width, box_height = box
    width, height = art.size
    if fit == "stretch":
        return art.resize(box, _RESAMPLE)
    if fit == "cover":
        scale = max(box_width / width, box_height / height)
        crop_width, crop_height = box_width / scale, box_height / scale
        left, top = (width - crop_width) / 2, (height - crop_height) / 2
        return art.resize(box, _RESAMPLE, box=(left, top, left + crop_width, top + crop_height))
    scale = min(box_width / width, box_height / height)
    size = (
        max(1, min(box_width, round(width * scale))),
        max(1, min(box_height, round(height * scale))),
    )
    return art.resize(size, _RESAMPLE)


def _compose(
    options: RenderOptions,
    art: Image.Image,
    panel: Panel,
    background: PanelColour,
    layout: CaptionLayout | None,
) -> Image.Image:
    """Return the frame: a "P" image of panel indices (palette not yet set)."""
    width, height = options.size
    art_height = height - (layout.height if layout else 0)
    fitted = fit_art(art, (width, art_height), options.fit)
    colours = np.array(panel.palette_at(options.saturation), dtype=np.uint8)
    positions = DITHER_FUNCTIONS[options.dither](np.asarray(fitted, dtype=np.uint8), colours)
    indices = np.array(panel.indices, dtype=np.uint8)
    if not np.array_equal(indices, np.arange(len(indices))):
        positions = indices[positions]
    frame = Image.new("P", (width, height), background.index)
    left = (width - fitted.width) // 2
    top = (art_height - fitted.height) // 2
    frame.paste(Image.frombytes("P", fitted.size, positions.tobytes()), (left, top))
    if layout is not None:
        text = panel.colour("black" if background.name == "white" else "white")
        draw_caption(frame, layout, text.index)
    return frame


def render_frame(art_png: bytes, options: RenderOptions) -> bytes:
    """Render PNG art for the panel in ``options``; return a palette PNG of the panel's size.

    Raises ValueError with the reason when the art is not a readable PNG or the options are
    invalid.
    """
    if not isinstance(options, RenderOptions):
        raise ValueError(f"Options must be RenderOptions, not {type(options).__name__}")
    panel = PANELS[options.panel]
    background = panel.colour(options.background)
    art = decode_art(art_png, background.at(options.saturation))
    width, height = options.size
    layout = layout_caption(options.caption, width, height) if options.caption else None
    frame = _compose(options, art, panel, background, layout)
    frame.putpalette(panel.png_palette(options.saturation))
    buffer = io.BytesIO()
    # zlib level 1: a few % larger than the default 6, several times faster on big panels.
    frame.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()
