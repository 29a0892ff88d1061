"""What the end-to-end tests check after each step: the picture on the panel."""

from __future__ import annotations

import io

from PIL import Image

from .conftest import Stack

PANEL_SIZE = (600, 448)  # the integration's default panel, Inky Impression 5.7"
GENERATION_LIMIT = 180.0


def assert_panel_picture(png: bytes) -> None:
    """The picture the satellite showed is a palette image of the panel, indices 0-6 only."""
    image = Image.open(io.BytesIO(png))
    assert image.size == PANEL_SIZE
    assert image.mode == "P"
    used = {index for _count, index in image.getcolors(maxcolors=256) or []}
    assert used, "the picture has no pixels"
    assert used <= set(range(7)), f"indices outside the panel's colours: {sorted(used)}"


async def press_and_wait(stack: Stack, button: str) -> bytes:
    """Press a satellite button and return the picture it shows afterwards."""
    before = stack.satellite.refresh_count()
    await stack.satellite.press(button)
    await stack.satellite.wait_for_refresh(after=before, limit=GENERATION_LIMIT)
    return stack.satellite.output.read_bytes()
