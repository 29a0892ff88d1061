"""Render generated art as the e-paper panel will show it (pure Pillow + numpy, no HA).

``pipeline`` renders a frame; ``panels`` holds the panels and their colours; ``dither``,
``caption``, ``png`` and ``parallel`` are its steps. Every failure is a ``RenderError``.
"""

from __future__ import annotations

from .dither import DITHER_FUNCTIONS, DITHERS
from .errors import RenderError
from .panels import DEFAULT_SATURATION, PANELS, RGB, Panel, PanelColour
from .pipeline import (
    BACKGROUNDS,
    FITS,
    ORIENTATIONS,
    FitPlan,
    RenderOptions,
    art_box,
    compose,
    decode_art,
    fit_art,
    plan_fit,
    render_frame,
)
from .png import encode_palette_png

__all__ = [
    "BACKGROUNDS",
    "DEFAULT_SATURATION",
    "DITHERS",
    "DITHER_FUNCTIONS",
    "FITS",
    "ORIENTATIONS",
    "PANELS",
    "RGB",
    "FitPlan",
    "Panel",
    "PanelColour",
    "RenderError",
    "RenderOptions",
    "art_box",
    "compose",
    "decode_art",
    "encode_palette_png",
    "fit_art",
    "plan_fit",
    "render_frame",
]
