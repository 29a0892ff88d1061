"""The satellite appears on its frame's device in a real Home Assistant (issue 20)."""

from __future__ import annotations

import pytest

from dalle_frame_satellite import __version__

from .conftest import Stack

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_the_satellite_reports_to_its_frame(stack: Stack) -> None:
    """After the satellite starts, its connection is on and its version is the satellite's."""
    connection = await stack.wait_state(
        "binary_sensor.frame_satellite_connection",
        lambda state: state["state"] == "on",
        "the satellite's connection sensor to be on",
        limit=60,
    )
    assert connection["attributes"]["device_class"] == "connectivity"
    version = await stack.state("sensor.frame_satellite_version")
    assert version["state"] == __version__
    panel = await stack.state("sensor.frame_satellite_panel")
    assert panel["state"] == 'Inky Impression 5.7" (7 colours, 600x448)'
    uptime = await stack.state("sensor.frame_satellite_uptime")
    assert uptime["attributes"]["device_class"] == "timestamp"
    disk = await stack.state("sensor.frame_satellite_free_disk")
    assert float(disk["state"]) > 0
