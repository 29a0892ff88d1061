"""The entry options that shape the Frame image, as the renderer's RenderOptions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .const import (
    CONF_BACKGROUND,
    CONF_CAPTION,
    CONF_DITHER,
    CONF_FIT,
    CONF_ORIENTATION,
    CONF_PANEL,
    CONF_SATURATION,
    DEFAULT_BACKGROUND,
    DEFAULT_CAPTION,
    DEFAULT_DITHER,
    DEFAULT_FIT,
    DEFAULT_ORIENTATION,
    DEFAULT_PANEL,
    DEFAULT_SATURATION,
)
from .render import RenderOptions, art_box

RENDER_DEFAULTS: dict[str, Any] = {
    CONF_PANEL: DEFAULT_PANEL,
    CONF_ORIENTATION: DEFAULT_ORIENTATION,
    CONF_FIT: DEFAULT_FIT,
    CONF_DITHER: DEFAULT_DITHER,
    CONF_SATURATION: DEFAULT_SATURATION,
    CONF_CAPTION: DEFAULT_CAPTION,
    CONF_BACKGROUND: DEFAULT_BACKGROUND,
}


def frame_settings(options: Mapping[str, Any]) -> dict[str, Any]:
    """Return the rendering options of an entry (defaults filled in), JSON-ready."""
    return {key: options.get(key, default) for key, default in RENDER_DEFAULTS.items()}


def render_options(settings: Mapping[str, Any], prompt: str) -> RenderOptions:
    """Build RenderOptions for a picture made from `prompt`."""
    return RenderOptions(
        panel=settings[CONF_PANEL],
        orientation=settings[CONF_ORIENTATION],
        fit=settings[CONF_FIT],
        dither=settings[CONF_DITHER],
        saturation=float(settings[CONF_SATURATION]),
        caption=prompt if settings[CONF_CAPTION] else None,
        background=settings[CONF_BACKGROUND],
    )


def art_area(options: Mapping[str, Any], prompt: str) -> tuple[int, int]:
    """Return the (width, height) the art of `prompt` fills: the panel less its caption.

    Blocking (the caption is measured with the font): run it in the executor.
    """
    return art_box(render_options(frame_settings(options), prompt))
