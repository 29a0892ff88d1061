"""The one-thread render the banded pipeline replaced, kept as the benchmark's reference.

Same steps as ``render.render_frame`` before two-band rendering: Pillow's Lanczos resize in
one call, Floyd-Steinberg on the whole fitted picture in one call, the frame saved by
Pillow's PNG writer at zlib level 1. The benchmark times it in the same process as
``render_frame`` (ratio) and reports its Delta E next to the banded dither's.
"""

from __future__ import annotations

import io
import types

import numpy as np
from PIL import Image


def reference_frame(render: types.ModuleType, art_png: bytes, options: object) -> Image.Image:
    """Render like the old one-thread pipeline (no caption); return the "P" frame."""
    panel = render.PANELS[options.panel]
    background = panel.colour(options.background)
    art = render.decode_art(art_png, background.at(options.saturation))
    width, height = options.size
    plan = render.plan_fit(art.size, (width, height), options.fit)
    fitted = art.resize(plan.size, Image.Resampling.LANCZOS, box=plan.box)
    colours = np.array(panel.palette_at(options.saturation), dtype=np.uint8)
    dither = render.DITHER_FUNCTIONS[options.dither]
    positions = dither(np.asarray(fitted, dtype=np.uint8), colours)
    indices = np.array(panel.indices, dtype=np.uint8)[positions]
    frame = Image.new("P", (width, height), background.index)
    offset = ((width - fitted.width) // 2, (height - fitted.height) // 2)
    frame.paste(Image.frombytes("P", fitted.size, indices.tobytes()), offset)
    frame.putpalette(panel.png_palette(options.saturation))
    return frame


def reference_render(render: types.ModuleType, art_png: bytes, options: object) -> bytes:
    """The old pipeline end to end: the frame as PNG bytes from Pillow's writer."""
    buffer = io.BytesIO()
    reference_frame(render, art_png, options).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()
