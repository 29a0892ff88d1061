"""Auto mode: with the switch on, art appears on the frame without anyone pressing a button."""

from __future__ import annotations

import pytest

from .checks import GENERATION_LIMIT, assert_panel_picture
from .conftest import Stack

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_auto_mode_paints_on_its_own(stack: Stack) -> None:
    """One-minute interval, switch on: a new picture reaches the panel; switch off again."""
    await stack.call("number", "set_value", {"entity_id": "number.frame_auto_interval", "value": 1})
    before = stack.satellite.refresh_count()
    await stack.call("switch", "turn_on", {"entity_id": "switch.frame_auto_mode"})
    try:
        await stack.satellite.wait_for_refresh(after=before, limit=60 + GENERATION_LIMIT)
    finally:
        await stack.call("switch", "turn_off", {"entity_id": "switch.frame_auto_mode"})
    assert_panel_picture(stack.satellite.output.read_bytes())
    assert (await stack.state("switch.frame_auto_mode"))["state"] == "off"
