"""Stand-ins for a user's AI services: an AI Task entity and a conversation agent.

They are real entities of HA's ai_task and conversation integrations, added by a small test
integration's platforms (test_ai, set up from a config entry as any integration is), so HA's
own `ai_task.async_generate_image` (media folder, media source), `async_generate_data` and
`conversation.async_converse` run.
Each records what it was asked and answers what the test sets, or raises, or hangs.
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass, field

from homeassistant.components.ai_task import (
    AITaskEntity,
    AITaskEntityFeature,
    GenDataTask,
    GenDataTaskResult,
    GenImageTask,
    GenImageTaskResult,
)
from homeassistant.components.conversation import (
    ChatLog,
    ConversationEntity,
    ConversationInput,
    ConversationResult,
)
from homeassistant.config_entries import ConfigEntry, ConfigFlow
from homeassistant.const import MATCH_ALL, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import intent
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.setup import async_setup_component
from PIL import Image
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockModule,
    MockPlatform,
    mock_config_flow,
    mock_integration,
    mock_platform,
)

from .fake_server import make_art_png


def jpeg_of(png: bytes) -> bytes:
    """Return the same picture as JPEG."""
    buffer = io.BytesIO()
    Image.open(io.BytesIO(png)).convert("RGB").save(buffer, "JPEG")
    return buffer.getvalue()


@dataclass
class Answers:
    """What a stand-in answers next, and what it was asked."""

    image: bytes = field(default_factory=lambda: make_art_png(7))
    mime_type: str = "image/png"
    text: object = "a lighthouse in a storm, oil painting"
    error: Exception | None = None
    hang: bool = False
    gate: asyncio.Event | None = None  # answer only once it is set
    asked: list[str] = field(default_factory=list)
    was_asked: asyncio.Event = field(default_factory=asyncio.Event)

    async def _wait_or_fail(self, instructions: str) -> None:
        self.asked.append(instructions)
        self.was_asked.set()
        if self.hang:
            await asyncio.Event().wait()
        if self.gate is not None:
            await self.gate.wait()
        if self.error is not None:
            raise self.error


class PainterEntity(AITaskEntity):
    """An AI Task entity that paints `answers.image` and writes `answers.text`."""

    _attr_supported_features = (
        AITaskEntityFeature.GENERATE_IMAGE | AITaskEntityFeature.GENERATE_DATA
    )

    def __init__(self, name: str, answers: Answers) -> None:
        self._attr_name = name
        self._attr_unique_id = name
        self.answers = answers

    async def _async_generate_image(
        self, task: GenImageTask, chat_log: ChatLog
    ) -> GenImageTaskResult:
        await self.answers._wait_or_fail(task.instructions)
        return GenImageTaskResult(
            image_data=self.answers.image,
            conversation_id=chat_log.conversation_id,
            mime_type=self.answers.mime_type,
        )

    async def _async_generate_data(self, task: GenDataTask, chat_log: ChatLog) -> GenDataTaskResult:
        await self.answers._wait_or_fail(task.instructions)
        return GenDataTaskResult(conversation_id=chat_log.conversation_id, data=self.answers.text)


class WriterOnlyEntity(PainterEntity):
    """An AI Task entity that only generates data."""

    _attr_supported_features = AITaskEntityFeature.GENERATE_DATA


class PainterOnlyEntity(PainterEntity):
    """An AI Task entity that only generates images."""

    _attr_supported_features = AITaskEntityFeature.GENERATE_IMAGE


class AgentEntity(ConversationEntity):
    """A conversation agent that says `answers.text` (an error response when it is None)."""

    @property
    def supported_languages(self) -> str:
        """Every language."""
        return MATCH_ALL

    def __init__(self, name: str, answers: Answers) -> None:
        self._attr_name = name
        self._attr_unique_id = name
        self.answers = answers

    async def _async_handle_message(
        self, user_input: ConversationInput, chat_log: ChatLog
    ) -> ConversationResult:
        await self.answers._wait_or_fail(user_input.text)
        response = intent.IntentResponse(language=user_input.language)
        if self.answers.text is None:
            response.async_set_error(intent.IntentResponseErrorCode.UNKNOWN, "I cannot")
        else:
            response.async_set_speech(str(self.answers.text))
        return ConversationResult(response=response, conversation_id=chat_log.conversation_id)


TEST_DOMAIN = "test_ai"


async def async_add_ai_services(hass: HomeAssistant) -> tuple[Answers, Answers, Answers]:
    """Add ai_task.painter (and painter_only), ai_task.writer and conversation.agent.

    Returns the answers of the painters, the writer and the agent.

    Set hass.config.media_dirs before ai_task loads (the frame's platform loads it): its
    media source keeps the folder it found first.
    """
    assert await async_setup_component(hass, "ai_task", {})
    painter, writer, agent = Answers(), Answers(), Answers()

    async def setup_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
        await hass.config_entries.async_forward_entry_setups(
            entry, [Platform.AI_TASK, Platform.CONVERSATION]
        )
        return True

    async def add_ai_task(
        hass: HomeAssistant, entry: ConfigEntry, add: AddConfigEntryEntitiesCallback
    ) -> None:
        add(
            [
                PainterEntity("Painter", painter),
                WriterOnlyEntity("Writer", writer),
                PainterOnlyEntity("Painter only", painter),
            ]
        )

    async def add_agent(
        hass: HomeAssistant, entry: ConfigEntry, add: AddConfigEntryEntitiesCallback
    ) -> None:
        add([AgentEntity("Agent", agent)])

    # A custom integration: HA 2025.12 wants a boolean from async_setup_entry, and from 2026.x
    # on only custom integrations may still give one.
    mock_integration(hass, MockModule(TEST_DOMAIN, async_setup_entry=setup_entry), built_in=False)
    platforms = {
        "config_flow": None,  # HA imports it before setting up an entry
        "ai_task": MockPlatform(async_setup_entry=add_ai_task),
        "conversation": MockPlatform(async_setup_entry=add_agent),
    }
    for name, platform in platforms.items():
        mock_platform(hass, f"{TEST_DOMAIN}.{name}", platform, built_in=False)
    entry = MockConfigEntry(domain=TEST_DOMAIN)
    entry.add_to_hass(hass)
    with mock_config_flow(TEST_DOMAIN, ConfigFlow):
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
    return painter, writer, agent
