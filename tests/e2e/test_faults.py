"""Faults across processes: Home Assistant restarts, the GPU server dies mid-generation."""

from __future__ import annotations

import asyncio

import pytest

from tests.stack import wait_for

from .checks import GENERATION_LIMIT, assert_panel_picture, press_and_wait
from .conftest import Stack

pytestmark = pytest.mark.asyncio(loop_scope="session")

KEPT_ENTITIES = (
    "text.frame_prompt",
    "image.frame_art",
    "image.frame_frame",
    "switch.frame_auto_mode",
    "number.frame_auto_interval",
    "select.frame_auto_source",
)


async def image_bytes(stack: Stack, entity_id: str) -> bytes:
    """Fetch an image entity's picture with the owner's token."""
    async with stack.session.get(
        f"{stack.ha.url}/api/image_proxy/{entity_id}", headers=stack.ha.headers
    ) as response:
        assert response.status == 200, f"{entity_id}: HTTP {response.status}"
        return await response.read()


async def history_items(stack: Stack) -> list[str]:
    """Titles of the pictures the media browser lists for the frame."""
    root = await stack.ha.ws_command(
        stack.session,
        {"type": "media_source/browse_media", "media_content_id": "media-source://dalle_frame"},
    )
    folders = root.get("children") or []
    titles: list[str] = []
    for folder in folders:
        if folder.get("can_expand"):
            listing = await stack.ha.ws_command(
                stack.session,
                {
                    "type": "media_source/browse_media",
                    "media_content_id": folder["media_content_id"],
                },
            )
            titles += [child["title"] for child in listing.get("children") or []]
        else:
            titles.append(folder["title"])
    return titles


async def test_ha_restart_keeps_everything(stack: Stack) -> None:
    """Prompt, art, frame, auto mode, interval and history come back; no extra refresh."""
    if (await stack.state("image.frame_art"))["state"] in ("unknown", "unavailable"):
        await press_and_wait(stack, "B")
    await stack.call(
        "number", "set_value", {"entity_id": "number.frame_auto_interval", "value": 90}
    )
    await stack.call("switch", "turn_on", {"entity_id": "switch.frame_auto_mode"})
    states = {entity: (await stack.state(entity))["state"] for entity in KEPT_ENTITIES}
    pictures = {entity: await image_bytes(stack, entity) for entity in KEPT_ENTITIES[1:3]}
    history = await history_items(stack)
    assert history, "the media browser lists no pictures"
    refreshes = stack.satellite.refresh_count()
    connections = len(stack.satellite.log_lines("Connected to Home Assistant"))
    shown = stack.satellite.output.read_bytes()

    stack.ha.stop()
    await stack.ha.start(stack.session)
    await stack.satellite.wait_connected(after=connections, limit=120)
    await stack.wait_state(
        "sensor.frame_status", lambda s: s["state"] == "idle", "the frame to be ready again", 120
    )
    await asyncio.sleep(5)  # time for a refresh that must not happen

    try:
        assert stack.satellite.refresh_count() == refreshes, "the panel was refreshed again"
        assert stack.satellite.output.read_bytes() == shown
        assert {entity: (await stack.state(entity))["state"] for entity in KEPT_ENTITIES} == states
        for entity, picture in pictures.items():
            assert await image_bytes(stack, entity) == picture, entity
        assert await history_items(stack) == history
    finally:
        await stack.call("switch", "turn_off", {"entity_id": "switch.frame_auto_mode"})


async def test_server_killed_mid_generation_then_back(stack: Stack) -> None:
    """Killed while generating: status error, no stuck "generating"; back: art again."""
    assert stack.server.process is not None
    await stack.satellite.press("B")
    await stack.wait_state(
        "sensor.frame_status",
        lambda s: s["state"] == "generating",
        "the generation to start",
        limit=60,
    )
    stack.server.process.kill()
    failed = await stack.wait_state(
        "sensor.frame_status",
        lambda s: s["state"] in ("error", "unavailable"),
        "HA to notice the server is gone",
        limit=90,
    )
    if failed["state"] == "error":
        assert failed["attributes"].get("last_error"), "the status sensor gives no reason"
    await stack.wait_state(
        "text.frame_prompt",
        lambda s: s["state"] == "unavailable",
        "the Prompt entity to go unavailable",
        90,
    )

    await stack.server.start(stack.session)
    await stack.wait_state(
        "sensor.frame_status",
        lambda s: s["state"] == "idle",
        "HA to recover by itself",
        limit=120,
    )
    png = await press_and_wait(stack, "B")
    assert_panel_picture(png)
    await wait_for(
        lambda: _status_is(stack, "idle"),
        "the frame to be idle after the new art",
        GENERATION_LIMIT,
    )


async def _status_is(stack: Stack, wanted: str) -> bool:
    """Whether the Status sensor is in `wanted`."""
    return (await stack.state("sensor.frame_status"))["state"] == wanted
