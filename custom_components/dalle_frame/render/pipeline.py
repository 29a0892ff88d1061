"""Render generated art as the e-paper panel will show it (pure Pillow + numpy, no HA).

``render_frame(art_png, RenderOptions(...))`` returns a palette ("P") PNG of the panel's exact
size (portrait swaps width and height):

- its pixel values are the indices the panel takes (``panels``: 0-6 on 7-colour panels,
  0-3, 5, 6 on Spectra 6 panels) and nothing else, so a frame program passes them to the
  panel as they are;
- its PNG palette holds the colours the panel is modelled to show at the chosen saturation,
  so the PNG previews the panel on a dashboard.

Steps: decode and validate the art; lay out the optional caption band at the bottom; fit the
art into the space above it (contain on a background colour, cover by centre crop, or
stretch; Lanczos resampling); dither only the art's own pixels (``dither``); fill the
background with a panel colour; draw the caption crisply in one panel colour; write the PNG
(``png``).

Speed: the resampling and dithering run on two column bands of the fitted art, and the PNG
on two row halves, each pair on two threads (``parallel``): Pillow and zlib release
the GIL, so a 1600x1200 frame renders in about 30-37 ms instead of 60-87 ms on a 2-core CPU.
Resampling in bands is bit-identical to one Pillow call; see ``_dither_floyd_steinberg`` for
what banding changes in Floyd-Steinberg (only on the 13.3" panel).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Final

import numpy as np
import PIL
from PIL import Image

from .caption import CaptionLayout, draw_caption, layout_caption
from .dither import DITHER_FUNCTIONS, DITHERS, floyd_steinberg_image
from .errors import RenderError
from .panels import DEFAULT_SATURATION, PANELS, RGB, Panel, PanelColour
from .parallel import run_in_parallel
from .png import encode_palette_png

__all__ = [
    "BACKGROUNDS",
    "DITHERS",
    "FITS",
    "ORIENTATIONS",
    "PANELS",
    "Panel",
    "RenderOptions",
    "compose",
    "render_frame",
]

ORIENTATIONS: Final = ("landscape", "portrait")
FITS: Final = ("contain", "cover", "stretch")
BACKGROUNDS: Final = ("white", "black")

_PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
# Art is 256..768 px square (min-dalle) or panel-sized (diffusion, upscaled: up to 1600x1200);
# refuse anything absurd before decoding it.
_MAX_ART_PIXELS: Final = 4096 * 4096
_RESAMPLE: Final = Image.Resampling.LANCZOS
# Floyd-Steinberg runs in one piece up to this many fitted pixels (every 4"-7.3" panel:
# 16 ms at most), and in two column bands on two threads above it (the 13.3" panel).
_BANDED_FLOYD_STEINBERG_PIXELS: Final = 600_000
# Columns each Floyd-Steinberg band dithers past the split and drops, so the error field is
# settled on both sides of it.
_OVERLAP_COLUMNS: Final = 16
# Dithers that decide each pixel alone: their bands need no overlap and give the same result.
_PIXELWISE_DITHERS: Final = frozenset({"ordered", "none"})
_PILLOW_MAJOR: Final = int(PIL.__version__.split(".")[0])
# A resampling pass of fewer output pixels than this per half runs on one thread.
_PARALLEL_WIDEN_PIXELS: Final = 100_000
# Pictures narrower than twice this are resampled and dithered in one piece.
_MIN_BAND_COLUMNS: Final = 64


def _check_choice(kind: str, value: object, choices: tuple[str, ...]) -> None:
    """Raise RenderError unless ``value`` is one of ``choices``."""
    if not isinstance(value, str) or value not in choices:
        raise RenderError(f"Unknown {kind} {value!r}; choose one of: {', '.join(choices)}")


@dataclass(frozen=True, kw_only=True)
class RenderOptions:
    """How to render art for a panel; invalid values raise RenderError on creation."""

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
            raise RenderError(f"Saturation must be a number from 0 to 1, not {saturation!r}")
        if self.caption is not None and not isinstance(self.caption, str):
            raise RenderError(f"Caption must be text or None, not {type(self.caption).__name__}")

    @property
    def size(self) -> tuple[int, int]:
        """The output's (width, height) in pixels."""
        panel = PANELS[self.panel]
        if self.orientation == "portrait":
            return panel.height, panel.width
        return panel.width, panel.height


def decode_art(art_png: bytes, background: RGB) -> Image.Image:
    """Decode PNG bytes to an RGB image, flattening transparency onto ``background``.

    Raises RenderError with the reason when the bytes are not a readable PNG.
    """
    if not isinstance(art_png, bytes | bytearray | memoryview):
        raise RenderError(f"The art must be PNG bytes, not {type(art_png).__name__}")
    data = bytes(art_png)
    if not data:
        raise RenderError("The art is empty (0 bytes); expected a PNG image")
    if not data.startswith(_PNG_SIGNATURE):
        raise RenderError("The art is not a PNG image (its first bytes are not a PNG signature)")
    unreadable = (OSError, SyntaxError, ValueError, Image.DecompressionBombError)
    try:
        # Pillow itself refuses absurd sizes (DecompressionBombError) when opening.
        image = Image.open(io.BytesIO(data), formats=["PNG"])
    except unreadable as err:
        raise RenderError(f"The art is not a readable PNG image: {err}") from err
    width, height = image.size
    if width * height > _MAX_ART_PIXELS:
        raise RenderError(
            f"The art is {width}x{height} pixels; at most {_MAX_ART_PIXELS} pixels are accepted"
        )
    try:
        image.load()
    except unreadable as err:
        raise RenderError(f"The art is not a readable PNG image: {err}") from err
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        base = Image.new("RGBA", rgba.size, (*background, 255))
        return Image.alpha_composite(base, rgba).convert("RGB")
    return image.convert("RGB")


@dataclass(frozen=True)
class FitPlan:
    """Where the art goes: the fitted picture's size and the part of the art it shows."""

    size: tuple[int, int]
    """The fitted picture's (width, height) in pixels."""
    box: tuple[float, float, float, float]
    """The part of the art shown, (left, top, right, bottom) in art pixels."""


def plan_fit(art_size: tuple[int, int], box: tuple[int, int], fit: str) -> FitPlan:
    """Plan fitting art of ``art_size`` into ``box``: contain (inside), cover (crop), stretch."""
    box_width, box_height = box
    width, height = art_size
    whole = (0.0, 0.0, float(width), float(height))
    if fit == "stretch":
        return FitPlan(box, whole)
    if fit == "cover":
        scale = max(box_width / width, box_height / height)
        crop_width, crop_height = box_width / scale, box_height / scale
        left, top = (width - crop_width) / 2, (height - crop_height) / 2
        return FitPlan(box, (left, top, left + crop_width, top + crop_height))
    scale = min(box_width / width, box_height / height)
    size = (
        max(1, min(box_width, round(width * scale))),
        max(1, min(box_height, round(height * scale))),
    )
    return FitPlan(size, whole)


def vertical_first(art_size: tuple[int, int], size: tuple[int, int]) -> bool:
    """Whether one Pillow ``resize`` from ``art_size`` to ``size`` runs its vertical pass first.

    Pillow resamples horizontally, then vertically; from Pillow 13 on it runs the vertical
    pass first when the height shrinks by more than twice as many pixels as the width (HA
    2026.11 ships Pillow 13, HA 2025.12 Pillow 12). Banded resampling follows the same order,
    or it would not match one call to the bit.
    """
    shrink = art_size[1] - size[1]
    return _PILLOW_MAJOR >= 13 and shrink > 0 and shrink > (art_size[0] - size[0]) * 2


def _in_halves(
    image: Image.Image, pixels: int, axis: int, part: Callable[[Image.Image], Image.Image]
) -> Image.Image:
    """Apply the one-axis resample ``part`` to ``image`` in two halves across ``axis``.

    ``axis`` 1 splits the rows (for a horizontal pass, where rows are independent), 0 the
    columns (for a vertical pass). Below ``_PARALLEL_WIDEN_PIXELS`` output pixels per half
    it runs in one piece; otherwise the halves run on two threads and are pasted together.
    """
    middle = image.size[axis] // 2
    if pixels // 2 < _PARALLEL_WIDEN_PIXELS or middle == 0:
        return part(image)
    width, height = image.size
    if axis == 1:
        boxes = [(0, 0, width, middle), (0, middle, width, height)]
    else:
        boxes = [(0, 0, middle, height), (middle, 0, width, height)]

    def crop_and_pass(box: tuple[int, int, int, int]) -> Image.Image:
        """Run the pass on one half (cropped on the worker thread)."""
        return part(image.crop(box))

    first, second = run_in_parallel([partial(crop_and_pass, box) for box in boxes])
    second_at = (0, first.height) if axis == 1 else (first.width, 0)
    joined = Image.new("RGB", (second.width + second_at[0], second.height + second_at[1]))
    joined.paste(first, (0, 0))
    joined.paste(second, second_at)
    return joined


def _horizontal_pass(image: Image.Image, plan: FitPlan) -> Image.Image:
    """Return Lanczos' horizontal pass: every row of ``image`` resampled to the fitted width."""
    left, _, right, _ = plan.box
    width = plan.size[0]

    def rows(part: Image.Image) -> Image.Image:
        """Resample the rows of ``part``."""
        return part.resize((width, part.height), _RESAMPLE, box=(left, 0, right, part.height))

    return _in_halves(image, width * image.height, 1, rows)


def _vertical_pass(image: Image.Image, plan: FitPlan) -> Image.Image:
    """Return Lanczos' vertical pass: every column of ``image`` resampled to the fitted height."""
    _, top, _, bottom = plan.box
    height = plan.size[1]

    def columns(part: Image.Image) -> Image.Image:
        """Resample the columns of ``part``."""
        return part.resize((part.width, height), _RESAMPLE, box=(0, top, part.width, bottom))

    return _in_halves(image, image.width * height, 0, columns)


def _fitted_columns(art: Image.Image, plan: FitPlan) -> Callable[[int, int], Image.Image]:
    """Return a function giving the fitted picture's columns ``start:stop``, as one resize.

    Done as two single-axis calls in Pillow's order, the result is the same to the bit as
    one ``art.resize(plan.size, LANCZOS, box=plan.box)`` (tested), and each pass runs on two
    threads. When the horizontal pass comes first, the vertical pass runs only for the
    columns asked for (each band its own); when the vertical pass comes first, the picture is
    fitted whole and the bands are cut from it (a horizontal pass split by output columns is
    not exact).
    """
    if vertical_first(art.size, plan.size):
        fitted = _horizontal_pass(_vertical_pass(art, plan), plan)
        return lambda start, stop: fitted.crop((start, 0, stop, fitted.height))
    wide = _horizontal_pass(art, plan)
    return lambda start, stop: _heighten(wide, plan, start, stop)


def _heighten(wide: Image.Image, plan: FitPlan, start: int, stop: int) -> Image.Image:
    """Return Lanczos' vertical pass for the fitted columns ``start:stop`` of the wide art."""
    _, top, _, bottom = plan.box
    columns = wide.crop((start, 0, stop, wide.height))
    return columns.resize(
        (stop - start, plan.size[1]), _RESAMPLE, box=(0, top, stop - start, bottom)
    )


def _column_bands(width: int, overlap: int) -> list[tuple[int, int, int, int]]:
    """Return (start, stop, keep_start, keep_stop) of the fitted columns per thread.

    Two bands split near the middle, at a multiple of 8 columns (so the ordered dither's
    8x8 matrix lines up in both). Each band resamples (and dithers) ``overlap`` columns
    past the split into the other band and keeps only its own columns, so an error
    diffusion behaves at the split as inside a picture. Narrow pictures take one band.
    """
    middle = width // 2 // 8 * 8
    if middle < _MIN_BAND_COLUMNS:
        return [(0, width, 0, width)]
    overlap = min(overlap, middle, width - middle)
    return [(0, middle + overlap, 0, middle), (middle - overlap, width, middle, width)]


def fit_art(art: Image.Image, box: tuple[int, int], fit: str) -> Image.Image:
    """Resize ``art`` for a ``box`` (width, height): contain (inside), cover (crop), stretch."""
    return _fit_planned(art, plan_fit(art.size, box, fit))


def _fit_planned(art: Image.Image, plan: FitPlan) -> Image.Image:
    """Resample the art as planned: Lanczos, each pass on two threads.

    The same to the bit as ``art.resize(plan.size, LANCZOS, box=plan.box)`` (tested).
    """
    columns = _fitted_columns(art, plan)
    bands = _column_bands(plan.size[0], 0)
    parts = run_in_parallel([partial(columns, start, stop) for start, stop, _, _ in bands])
    if len(parts) == 1:
        return parts[0]
    fitted = Image.new("RGB", plan.size)
    for (start, _, _, _), part in zip(bands, parts, strict=True):
        fitted.paste(part, (start, 0))
    return fitted


def _dither_floyd_steinberg(
    art: Image.Image, plan: FitPlan, colours: np.ndarray, indices: list[int] | None
) -> list[tuple[int, Image.Image]]:
    """Fit and dither the art by Floyd-Steinberg; return (first column, "P" indices) per band.

    Up to ``_BANDED_FLOYD_STEINBERG_PIXELS`` the fitted picture is dithered in one piece
    (the textbook result). Bigger pictures (the 13.3" panel) are dithered in two column
    bands on two threads: each band runs ``_OVERLAP_COLUMNS`` into the other one and drops
    them, so the error arriving at the split is settled on both sides, as inside one picture,
    and no line shows there; only the dots along the split differ from one piece.
    """
    table = None if indices is None else indices + [0] * (256 - len(indices))
    if plan.size[0] * plan.size[1] <= _BANDED_FLOYD_STEINBERG_PIXELS:
        positions = floyd_steinberg_image(_fit_planned(art, plan), colours)
        return [(0, positions if table is None else positions.point(table))]
    columns = _fitted_columns(art, plan)

    def band(start: int, stop: int, keep_start: int, keep_stop: int) -> tuple[int, Image.Image]:
        """Resample, dither, index and trim one band (all GIL-free Pillow calls)."""
        positions = floyd_steinberg_image(columns(start, stop), colours)
        if table is not None:
            positions = positions.point(table)
        if (keep_start, keep_stop) != (start, stop):
            positions = positions.crop((keep_start - start, 0, keep_stop - start, plan.size[1]))
        return keep_start, positions

    return run_in_parallel(
        [
            partial(band, start, stop, keep_start, keep_stop)
            for start, stop, keep_start, keep_stop in _column_bands(plan.size[0], _OVERLAP_COLUMNS)
        ]
    )


def _dither_numpy(
    dither: str, art: Image.Image, plan: FitPlan, colours: np.ndarray, indices: list[int] | None
) -> list[tuple[int, Image.Image]]:
    """Fit and dither the art with a numpy method; return (first column, "P" indices) per band.

    ``ordered`` and ``none`` decide each pixel alone (the Bayer matrix lines up at the
    split), so they resample and dither two column bands on two threads and give exactly
    what the whole picture would. ``atkinson`` diffuses its error across the picture, so it
    dithers the whole fitted picture.
    """
    width = plan.size[0]
    if dither in _PIXELWISE_DITHERS:
        bands = _column_bands(width, 0)
        fit = _fitted_columns(art, plan)

    else:
        bands = [(0, width, 0, width)]

        def fit(start: int, stop: int) -> Image.Image:
            """Resample the whole picture (the band is all of it)."""
            return _fit_planned(art, plan)

    lookup = None if indices is None else np.array(indices, dtype=np.uint8)

    def band(start: int, stop: int) -> tuple[int, Image.Image]:
        """Resample, dither and index one band."""
        fitted = fit(start, stop)
        positions = DITHER_FUNCTIONS[dither](np.asarray(fitted, dtype=np.uint8), colours)
        if lookup is not None:
            positions = lookup[positions]
        return start, Image.frombytes("P", fitted.size, positions.tobytes())

    return run_in_parallel([partial(band, start, stop) for start, stop, _, _ in bands])


def art_box(options: RenderOptions) -> tuple[int, int]:
    """Return the (width, height) of the frame's art area: the panel less the caption band.

    Blocking: it measures the caption with the bundled font (run it in the executor).
    """
    width, height = options.size
    layout = layout_caption(options.caption, width, height) if options.caption else None
    return width, height - (layout.height if layout else 0)


def compose(
    options: RenderOptions,
    art: Image.Image,
    panel: Panel,
    background: PanelColour,
    layout: CaptionLayout | None,
) -> Image.Image:
    """Return the frame: a "P" image of panel indices (palette not yet set)."""
    width, height = options.size
    art_height = height - (layout.height if layout else 0)
    plan = plan_fit(art.size, (width, art_height), options.fit)
    colours = np.array(panel.palette_at(options.saturation), dtype=np.uint8)
    indices = list(panel.indices)
    remap = None if indices == list(range(len(indices))) else indices
    if options.dither == "floyd_steinberg":
        parts = _dither_floyd_steinberg(art, plan, colours, remap)
    else:
        parts = _dither_numpy(options.dither, art, plan, colours, remap)
    frame = Image.new("P", (width, height), background.index)
    left = (width - plan.size[0]) // 2
    top = (art_height - plan.size[1]) // 2
    for start, part in parts:
        frame.paste(part, (left + start, top))
    if layout is not None:
        text = panel.colour("black" if background.name == "white" else "white")
        draw_caption(frame, layout, text.index)
    return frame


def render_frame(art_png: bytes, options: RenderOptions) -> bytes:
    """Render PNG art for the panel in ``options``; return a palette PNG of the panel's size.

    Raises RenderError with the reason when the art is not a readable PNG or the options are
    invalid.
    """
    if not isinstance(options, RenderOptions):
        raise RenderError(f"Options must be RenderOptions, not {type(options).__name__}")
    try:
        panel = PANELS[options.panel]
        background = panel.colour(options.background)
        art = decode_art(art_png, background.at(options.saturation))
        width, height = options.size
        layout = layout_caption(options.caption, width, height) if options.caption else None
        frame = compose(options, art, panel, background, layout)
        return encode_palette_png(np.asarray(frame), panel.png_palette(options.saturation))
    except RenderError:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
        raise RenderError(str(err)) from err
