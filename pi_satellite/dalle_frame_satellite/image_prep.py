"""Turn an image from Home Assistant into the panel's colour indices (pure Pillow and numpy).

HA's Frame image is already a palette PNG of the panel's size: its colours are matched to the
panel's by value, so its pixels go to the panel unchanged. Any other image (a photo, the Art
image, a wrong size) is fitted to the panel and dithered to the panel's palette here, with
Pillow's quantizer, never with inky's own RGB conversion (broken on Pillow 13, and sending an
invalid index 8 on older Pillow).
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import Final

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ImageError
from .panels import RGB, Panel
from .settings import FitMode

MAX_PIXELS: Final = 40_000_000
"""Larger images are refused before decoding (a Pi Zero has 512 MB of memory)."""

PALETTE_TOLERANCE: Final = 40.0
"""Largest RGB distance between a palette colour and the panel's for "panel-ready"."""

_WHITE: Final = (255, 255, 255)
_ROTATIONS: Final = {
    0: None,
    90: Image.Transpose.ROTATE_270,
    180: Image.Transpose.ROTATE_180,
    270: Image.Transpose.ROTATE_90,
}


@dataclass(frozen=True)
class PanelImage:
    """A picture as the panel stores it: one palette index per pixel."""

    panel: Panel
    """The panel it was prepared for."""

    indices: np.ndarray
    """uint8 array (height, width) of indices 0..panel.colours-1 in the driver's colour order."""

    converted: bool
    """False when HA's palette image went through unchanged, True when it was dithered here."""

    @property
    def digest(self) -> str:
        """Content hash of what the panel would show (skips refreshing the same picture)."""
        sha = hashlib.sha256(self.panel.name.encode())
        sha.update(np.ascontiguousarray(self.indices).tobytes())
        return sha.hexdigest()

    def to_pil(self, palette: list[RGB]) -> Image.Image:
        """Return a palette-mode image of these indices with the given colours."""
        height, width = self.indices.shape
        image = Image.frombytes("P", (width, height), np.ascontiguousarray(self.indices).tobytes())
        image.putpalette([channel for colour in palette for channel in colour])
        return image


def decode_image(data: bytes) -> Image.Image:
    """Decode image bytes fully; raise ImageError with the reason when they are not an image."""
    if not data:
        raise ImageError("the image is empty (0 bytes)")
    try:
        image = Image.open(io.BytesIO(data))
        if image.width * image.height > MAX_PIXELS:
            raise ImageError(
                f"the image is {image.width}x{image.height}, larger than the "
                f"{MAX_PIXELS} pixels the satellite decodes"
            )
        image.load()
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError(f"not an image Pillow can read ({len(data)} bytes)") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise ImageError(f"the image is broken: {err}") from None
    return image


def prepare_image(
    data: bytes,
    panel: Panel,
    *,
    saturation: float = 0.5,
    fit: FitMode = FitMode.CONTAIN,
    rotate: int = 0,
) -> PanelImage:
    """Decode image bytes and return what the panel shows; raise ImageError when impossible."""
    image = decode_image(data)
    transpose = _ROTATIONS[rotate]
    if transpose is not None:
        image = image.transpose(transpose)
    if image.size == panel.size[::-1] and image.size != panel.size:
        # A portrait picture (HA's portrait orientation) on a landscape panel: turn it a
        # quarter clockwise to fill the glass; display.rotate: 180 suits a frame hung the other way.
        image = image.transpose(Image.Transpose.ROTATE_270)
    if image.mode == "P" and image.size == panel.size:
        indices = map_palette_image(image, panel)
        if indices is not None:
            return PanelImage(panel, indices, converted=False)
    rgb = fit_image(flatten_alpha(image), panel.size, fit)
    return PanelImage(panel, quantize(rgb, panel.blended_palette(saturation)), converted=True)


def map_palette_image(image: Image.Image, panel: Panel) -> np.ndarray | None:
    """Map a palette image's indices to the panel's by colour; None when a colour is foreign.

    Each colour used must lie near the line between the panel colour's measured (saturated)
    and pure (desaturated) value, which covers every saturation HA may blend with.
    """
    indices = np.asarray(image, dtype=np.uint8)
    palette = image.getpalette() or []
    saturated, desaturated = panel.palettes()
    lut = np.zeros(256, dtype=np.uint8)
    for index in np.unique(indices).tolist():
        colour = palette[3 * index : 3 * index + 3]
        if len(colour) < 3:
            return None
        best, distance = _nearest_panel_colour(np.array(colour, float), saturated, desaturated)
        if distance > PALETTE_TOLERANCE:
            return None
        lut[index] = best
    return lut[indices]


def _nearest_panel_colour(
    colour: np.ndarray, saturated: list[RGB], desaturated: list[RGB]
) -> tuple[int, float]:
    """Return (panel index, distance) of the panel colour segment closest to colour."""
    best, best_distance = 0, float("inf")
    for index, (sat, desat) in enumerate(zip(saturated, desaturated, strict=True)):
        start, end = np.array(desat, float), np.array(sat, float)
        span = end - start
        length = float(span @ span)
        t = 0.0 if length == 0 else min(1.0, max(0.0, float((colour - start) @ span) / length))
        distance = float(np.linalg.norm(colour - (start + t * span)))
        if distance < best_distance:
            best, best_distance = index, distance
    return best, best_distance


def flatten_alpha(image: Image.Image) -> Image.Image:
    """Return an RGB image; transparent parts become white (the frame's paper colour)."""
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (*_WHITE, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def fit_image(image: Image.Image, size: tuple[int, int], fit: FitMode) -> Image.Image:
    """Return an RGB image of exactly size, fitted by the given mode."""
    if image.size == size:
        return image
    if fit == FitMode.STRETCH:
        return image.resize(size, Image.Resampling.LANCZOS)
    if fit == FitMode.COVER:
        return ImageOps.fit(image, size, Image.Resampling.LANCZOS)
    inner = ImageOps.contain(image, size, Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", size, _WHITE)
    canvas.paste(inner, ((size[0] - inner.width) // 2, (size[1] - inner.height) // 2))
    return canvas


def quantize(image: Image.Image, palette: list[RGB]) -> np.ndarray:
    """Dither an RGB image to the palette (Floyd-Steinberg); return indices 0..len(palette)-1."""
    flat = [channel for colour in palette for channel in colour]
    # Pad with copies of colour 0 so no foreign colour exists; padding indices mean colour 0.
    palette_image = Image.new("P", (1, 1))
    palette_image.putpalette(flat + flat[:3] * (256 - len(palette)))
    palette_image.load()
    dithered = image.convert("RGB").quantize(
        palette=palette_image, dither=Image.Dither.FLOYDSTEINBERG
    )
    indices = np.array(dithered, dtype=np.uint8)
    indices[indices >= len(palette)] = 0
    return indices
