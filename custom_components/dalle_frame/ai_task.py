"""The frame's GPU server as an AI Task entity: `ai_task.generate_image` paints a local picture.

One entity per frame (config entry), on the frame's device: a frame entry is what holds a
server's address and token, so the entity sits where the user set the server up, goes
unavailable with that server, and disappears with the frame. Two frames on one server give
two entities that both work. The task's instructions are the prompt; the picture does not
change the frame (no history, no Frame image): it belongs to the automation that asked.
"""

from __future__ import annotations

import struct
from typing import Final

from homeassistant.components.ai_task import (
    AITaskEntity,
    AITaskEntityFeature,
    GenImageTask,
    GenImageTaskResult,
)
from homeassistant.components.conversation import ChatLog
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import LOGGER
from .data import DalleFrameConfigEntry
from .entity import DalleFrameServerEntity

PARALLEL_UPDATES = 0

PNG_MIME: Final = "image/png"
_IHDR_SIZE: Final = struct.Struct(">II")


async def async_setup_entry(
    hass: HomeAssistant,
    entry: DalleFrameConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the frame's Art generator."""
    async_add_entities([DalleFrameAITaskEntity(entry)])


def png_size(png: bytes) -> tuple[int, int] | None:
    """Return a PNG's (width, height) from its IHDR chunk, or None when it has none."""
    if len(png) < 24 or png[12:16] != b"IHDR":
        return None
    width, height = _IHDR_SIZE.unpack_from(png, 16)
    return int(width), int(height)


class DalleFrameAITaskEntity(DalleFrameServerEntity, AITaskEntity):
    """Generates images on the frame's GPU server for any automation or script."""

    _attr_supported_features = AITaskEntityFeature.GENERATE_IMAGE

    def __init__(self, entry: DalleFrameConfigEntry) -> None:
        super().__init__(entry, "art_generator")
        self._client = entry.runtime_data.client
        self._coordinator = entry.runtime_data.coordinator
        self._written_available: bool | None = None

    @callback
    def _async_controller_updated(self) -> None:
        """Write the state when the server comes or goes, not on the frame's every change."""
        if self.available != self._written_available:
            self._written_available = self.available
            self.async_write_ha_state()

    async def _async_generate_image(
        self, task: GenImageTask, chat_log: ChatLog
    ) -> GenImageTaskResult:
        """Paint the task's instructions; a server failure raises its translated error."""
        prompt = " ".join(task.instructions.split())
        LOGGER.debug("AI Task %s asks %s for %r", task.name, self.entity_id, prompt)
        image = await self._client.async_generate(prompt, None)
        width, height = png_size(image.png) or (None, None)
        health = self._coordinator.data
        return GenImageTaskResult(
            image_data=image.png,
            conversation_id=chat_log.conversation_id,
            mime_type=PNG_MIME,
            width=width,
            height=height,
            model=health.generator_model if health else None,
        )
