"""Crop and tile arithmetic of the upscaler (pure integers, no images).

`cover_crop_box` finds the centred part of a picture with the target's aspect, so the network
never spends work on pixels that would be cropped away afterwards. `tile_spans` cuts one
axis into tiles that each carry `context` extra pixels on both sides (where the picture has
them): a tile's core is kept, its context only feeds the convolutions, so tiled and untiled
results agree once the context covers the network's receptive radius.
"""

from __future__ import annotations

from dataclasses import dataclass


def cover_crop_box(
    width: int, height: int, target_width: int, target_height: int
) -> tuple[int, int, int, int]:
    """Return (left, top, right, bottom): the centred crop with the target's aspect.

    "Cover": the crop then scales to fill the target exactly, nothing letterboxed.

    Raises ValueError for a size that is not positive.
    """
    for name, value in (
        ("picture width", width),
        ("picture height", height),
        ("target width", target_width),
        ("target height", target_height),
    ):
        if value < 1:
            raise ValueError(f"the {name} must be at least 1 pixel, not {value}")
    # Compare width / height with target_width / target_height in integers.
    if width * target_height > target_width * height:  # wider than the target: trim the sides
        crop_width = max(1, min(width, round(height * target_width / target_height)))
        left = (width - crop_width) // 2
        return left, 0, left + crop_width, height
    crop_height = max(1, min(height, round(width * target_height / target_width)))
    top = (height - crop_height) // 2
    return 0, top, width, top + crop_height


@dataclass(frozen=True)
class TileSpan:
    """One tile along one axis: the window the network reads, the core the result keeps."""

    window_start: int
    window_end: int
    core_start: int
    core_end: int


def tile_spans(length: int, tile: int, context: int) -> list[TileSpan]:
    """Cut an axis of `length` pixels into windows of at most `tile` pixels.

    Each core (the kept part; the cores cover the axis once, in order) has `context` pixels
    of its window on both sides wherever the axis has them. A window is exactly `tile` long
    whenever the axis is at least that long (graphs with a fixed input size need it).
    Raises ValueError when `tile` leaves no room for a core between the contexts.
    """
    if length < 1:
        raise ValueError(f"cannot tile an axis of {length} pixels")
    if context < 0:
        raise ValueError(f"the tile context must not be negative, not {context}")
    if length <= tile:
        return [TileSpan(0, length, 0, length)]
    step = tile - 2 * context
    if step < 1:
        raise ValueError(
            f"tiles of {tile} pixels leave no room between contexts of {context} pixels; "
            "use larger tiles or less context"
        )
    spans = []
    core_start = 0
    while core_start < length:
        core_end = min(length, core_start + step)
        window_start = min(max(0, core_start - context), length - tile)
        spans.append(TileSpan(window_start, window_start + tile, core_start, core_end))
        core_start = core_end
    return spans
