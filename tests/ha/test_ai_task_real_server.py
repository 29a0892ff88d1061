"""AI Task against the real GPU server process (`--model test`): both directions at once.

`ai_task.generate_image` on the frame's Art generator paints on the real server; then the
frame's own source is set to that entity, so the frame paints through HA's AI Task path
(media folder, media source) onto its history and Frame image.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from PIL import Image
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.dalle_frame.api import PNG_SIGNATURE
from custom_components.dalle_frame.const import CONF_AI_TASK_ENTITY, CONF_TOKEN, CONF_URL, DOMAIN
from tests.stack import VENVS, GpuServer

from .conftest import BlockingIoDetector
from .test_real_server import real_server  # noqa: F401  (the fixture)

pytestmark = pytest.mark.skipif(
    not os.path.lexists(VENVS / "server" / "bin" / "python"),
    reason=".venvs/server is missing: scripts/setup.sh server builds it (scripts/test.sh does)",
)


async def test_ai_task_with_the_real_server(
    hass: HomeAssistant,
    enable_custom_integrations: None,
    blocking_io: BlockingIoDetector,
    real_server: GpuServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    """generate_image answers the server's PNG; the frame then paints through the entity."""
    hass.config.media_dirs = {"local": str(tmp_path / "media")}
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Frame",
        unique_id="frame",
        data={CONF_NAME: "Frame", CONF_URL: real_server.url, CONF_TOKEN: real_server.token},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    response = await hass.services.async_call(
        "ai_task",
        "generate_image",
        {
            "task_name": "doorbell",
            "entity_id": "ai_task.frame_art_generator",
            "instructions": "a lighthouse in a storm",
        },
        blocking=True,
        return_response=True,
    )
    assert response is not None
    assert response["model"] == "test"
    stored = list((tmp_path / "media" / "ai_task").rglob("*.png"))
    assert len(stored) == 1
    size = await hass.async_add_executor_job(lambda: Image.open(stored[0]).size)
    assert size == (response["width"], response["height"])

    hass.config_entries.async_update_entry(
        entry, options={CONF_AI_TASK_ENTITY: "ai_task.frame_art_generator"}
    )
    await hass.async_block_till_done()
    result = await hass.services.async_call(
        DOMAIN, "generate", {"prompt": "a harbour at dusk"}, blocking=True, return_response=True
    )
    assert result is not None
    assert result["seed"] == 0
    controller = entry.runtime_data.controller
    assert controller.art is not None
    assert controller.art.png.startswith(PNG_SIGNATURE)
    assert controller.frame_png is not None
    assert controller.source == "ai_task.frame_art_generator"
    assert len(list((tmp_path / "media" / "ai_task").rglob("*.png"))) == 2
    assert await hass.config_entries.async_unload(entry.entry_id)
