"""The upscaler's crop and tile arithmetic: cover crops for every orientation, tiles that cover."""

from __future__ import annotations

import itertools

import pytest

from dalle_frame_server.upscaling.geometry import cover_crop_box, tile_spans


@pytest.mark.parametrize(
    ("size", "target", "box"),
    [
        ((256, 256), (800, 480), (0, 51, 256, 205)),  # landscape panel: rows trimmed
        ((256, 256), (480, 800), (51, 0, 205, 256)),  # portrait panel: columns trimmed
        ((256, 256), (1000, 1000), (0, 0, 256, 256)),  # square: nothing trimmed
        ((512, 256), (600, 448), (84, 0, 427, 256)),  # wider than the panel: sides trimmed
        ((768, 768), (1600, 1200), (0, 96, 768, 672)),
    ],
)
def test_cover_crop_is_centred_with_the_target_aspect(
    size: tuple[int, int], target: tuple[int, int], box: tuple[int, int, int, int]
) -> None:
    """The crop keeps the target's aspect (to the pixel), centred, inside the picture."""
    assert cover_crop_box(*size, *target) == box
    left, top, right, bottom = box
    crop_aspect = (right - left) / (bottom - top)
    assert abs(crop_aspect - target[0] / target[1]) < 2 / min(right - left, bottom - top)
    assert abs(left - (size[0] - right)) <= 1 and abs(top - (size[1] - bottom)) <= 1


def test_extreme_aspect_keeps_at_least_one_pixel() -> None:
    """A target far thinner than the picture still leaves a one-pixel-wide crop."""
    assert cover_crop_box(256, 256, 1, 4096) == (127, 0, 128, 256)


@pytest.mark.parametrize("bad", [(0, 256, 800, 480), (256, 256, 800, -1)])
def test_sizes_that_are_not_positive_are_refused(bad: tuple[int, int, int, int]) -> None:
    """A zero or negative side is refused with the side named."""
    with pytest.raises(ValueError, match="must be at least 1 pixel"):
        cover_crop_box(*bad)


@pytest.mark.parametrize(
    ("length", "tile", "context"), [(100, 512, 34), (300, 64, 8), (257, 40, 4)]
)
def test_tiles_cover_the_axis_once_with_context(length: int, tile: int, context: int) -> None:
    """Cores tile the axis in order; each window holds its core plus context where it exists."""
    spans = tile_spans(length, tile, context)
    assert spans[0].core_start == 0 and spans[-1].core_end == length
    for before, after in itertools.pairwise(spans):
        assert before.core_end == after.core_start
    for span in spans:
        assert span.window_end - span.window_start == min(tile, length)
        assert span.window_start <= max(0, span.core_start - context)
        assert span.window_end >= min(length, span.core_end + context)


def test_tiles_without_room_for_a_core_are_refused() -> None:
    """Context that fills a whole tile is a configuration error, said plainly."""
    with pytest.raises(ValueError, match="no room between contexts"):
        tile_spans(100, 16, 8)
    with pytest.raises(ValueError, match="cannot tile"):
        tile_spans(0, 16, 2)
