"""Sentences on HA's built-in conversation agent: "paint {prompt}" and friends."""

from __future__ import annotations

import asyncio
import logging
from unittest.mock import patch

import pytest
from homeassistant.components.conversation.agent_manager import get_agent_manager
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.dalle_frame.conversation_triggers import (
    ASK_FOR_A_PROMPT,
    DATA_SENTENCE_TRIGGERS,
)

from .fake_server import FakeGpuServer
from .voice_support import (
    async_converse,
    async_load_entry,
    async_setup_voice_components,
    frame_entry,
    speech_of,
    voice_entry,
)

__all__ = ["voice_entry"]


@pytest.mark.parametrize(
    ("sentence", "prompt"),
    [
        ("paint a lighthouse in a storm", "a lighthouse in a storm"),
        ("Paint a picture of a red fox.", "a red fox"),
        ("paint me an image of two cats playing chess", "two cats playing chess"),
        ("draw a castle on a hill", "a castle on a hill"),
        ("Draw me a picture of an old windmill!", "an old windmill"),
        ("show me a sunset over the sea on the frame", "a sunset over the sea"),
        ("Please paint a bowl of cherries, please", "a bowl of cherries"),
    ],
)
async def test_sentence_paints_its_prompt(
    hass: HomeAssistant,
    voice_entry: MockConfigEntry,
    server: FakeGpuServer,
    sentence: str,
    prompt: str,
) -> None:
    """Each sentence generates the spoken prompt and says so."""
    result = await async_converse(hass, sentence)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert [request["prompt"] for request in server.requests] == [prompt]
    assert speech_of(result) == f"Frame now shows {prompt}."
    assert hass.states.get("text.frame_prompt").state == prompt
    assert hass.states.get("image.frame_art").attributes["prompt"] == prompt


async def test_paint_something_new_uses_the_prompt_list(
    hass: HomeAssistant, voice_entry: MockConfigEntry, server: FakeGpuServer
) -> None:
    """ "Paint something new" paints a prompt from the frame's list, not "something new"."""
    prompts = voice_entry.runtime_data.controller.prompts

    result = await async_converse(hass, "paint something new")
    await hass.async_block_till_done(wait_background_tasks=True)

    assert len(server.requests) == 1
    painted = server.requests[0]["prompt"]
    assert painted != "something new"
    assert painted in {
        prompts.compose(style, subject) for style in prompts.styles for subject in prompts.subjects
    }
    assert speech_of(result) == f"Frame now shows {painted}."


async def test_regenerate_the_picture_paints_the_same_prompt_again(
    hass: HomeAssistant, voice_entry: MockConfigEntry, server: FakeGpuServer
) -> None:
    """ "Regenerate the picture" paints the current prompt with a new seed."""
    await async_converse(hass, "paint a blue whale")
    await hass.async_block_till_done(wait_background_tasks=True)
    first_seed = hass.states.get("image.frame_art").attributes["seed"]

    result = await async_converse(hass, "regenerate the picture")
    await hass.async_block_till_done(wait_background_tasks=True)

    assert [request["prompt"] for request in server.requests] == ["a blue whale"] * 2
    assert server.requests[1]["seed"] is None
    assert hass.states.get("image.frame_art").attributes["seed"] != first_seed
    assert speech_of(result) == "Frame now shows a blue whale."


async def test_other_sentences_are_left_to_the_agent(
    hass: HomeAssistant, voice_entry: MockConfigEntry, server: FakeGpuServer
) -> None:
    """Sentences that are not the frame's do not generate anything."""
    for sentence in ("what time is it", "turn on the kitchen light", "paint"):
        await async_converse(hass, sentence)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert server.requests == []


async def test_filler_words_alone_get_a_question(
    hass: HomeAssistant, voice_entry: MockConfigEntry, server: FakeGpuServer
) -> None:
    """ "Paint please" names nothing to paint: the reply asks for a subject."""
    result = await async_converse(hass, "paint please")
    await hass.async_block_till_done(wait_background_tasks=True)

    assert speech_of(result) == ASK_FOR_A_PROMPT
    assert server.requests == []


async def test_reply_does_not_wait_for_a_long_generation(
    hass: HomeAssistant, voice_entry: MockConfigEntry, server: FakeGpuServer
) -> None:
    """A slow generation is started and confirmed; the picture arrives later."""
    server.gate = asyncio.Event()

    result = await async_converse(hass, "paint a slow snail")

    assert speech_of(result) == "Painting a slow snail on Frame. It takes a moment."
    assert hass.states.get("sensor.frame_status").state == "generating"
    server.gate.set()
    await hass.async_block_till_done(wait_background_tasks=True)
    assert hass.states.get("sensor.frame_status").state == "idle"
    assert hass.states.get("image.frame_art").attributes["prompt"] == "a slow snail"


async def test_server_down_is_said(
    hass: HomeAssistant, voice_entry: MockConfigEntry, server: FakeGpuServer
) -> None:
    """With the server gone, the reply says that painting failed and why."""
    await server.stop()

    result = await async_converse(hass, "paint a lighthouse")
    await hass.async_block_till_done(wait_background_tasks=True)

    assert speech_of(result) == (
        "I could not paint a lighthouse on Frame. "
        "Its GPU server cannot be reached; check that it is running."
    )
    assert hass.states.get("sensor.frame_status").state == "error"


async def test_sentences_follow_the_loaded_frames(
    hass: HomeAssistant,
    voice_entry: MockConfigEntry,
    server: FakeGpuServer,
) -> None:
    """The sentences stay while any frame is loaded and go with the last one."""
    second = await async_load_entry(hass, frame_entry(server, "Hall"))
    await hass.config_entries.async_unload(voice_entry.entry_id)
    await hass.async_block_till_done()

    await async_converse(hass, "paint a green door")
    await hass.async_block_till_done(wait_background_tasks=True)
    assert [request["prompt"] for request in server.requests] == ["a green door"]

    await hass.config_entries.async_unload(second.entry_id)
    await hass.async_block_till_done()
    result = await async_converse(hass, "paint a red door")
    await hass.async_block_till_done(wait_background_tasks=True)

    assert len(server.requests) == 1
    assert "red door" not in speech_of(result)
    assert not hass.data[DATA_SENTENCE_TRIGGERS].entry_ids
    assert hass.data[DATA_SENTENCE_TRIGGERS].unregister is None


async def test_reloading_a_frame_keeps_one_registration(
    hass: HomeAssistant, voice_entry: MockConfigEntry, server: FakeGpuServer
) -> None:
    """After a reload, a sentence still paints exactly once."""
    assert await hass.config_entries.async_reload(voice_entry.entry_id)
    await hass.async_block_till_done()

    await async_converse(hass, "paint a quiet harbour")
    await hass.async_block_till_done(wait_background_tasks=True)

    assert [request["prompt"] for request in server.requests] == ["a quiet harbour"]


async def test_conversation_loaded_after_the_frame(
    hass: HomeAssistant,
    enable_custom_integrations: None,
    blocking_io: object,
    mock_entry: MockConfigEntry,
    server: FakeGpuServer,
) -> None:
    """A frame set up before the conversation integration gets its sentences when it loads."""
    await async_load_entry(hass, mock_entry)
    await async_setup_voice_components(hass)

    await async_converse(hass, "paint a late bloomer")
    await hass.async_block_till_done(wait_background_tasks=True)

    assert server.requests[0]["prompt"] == "a late bloomer"


async def test_missing_private_api_logs_and_still_loads(
    hass: HomeAssistant,
    enable_custom_integrations: None,
    blocking_io: object,
    mock_entry: MockConfigEntry,
    server: FakeGpuServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Without the agent manager's register_trigger the frame loads and says what to use."""
    await async_setup_voice_components(hass)
    with (
        patch(
            "homeassistant.components.conversation.agent_manager.get_agent_manager",
            return_value=object(),  # a later HA without register_trigger
        ),
        caplog.at_level(logging.WARNING),
    ):
        await async_load_entry(hass, mock_entry)

    assert "Cannot add the frame's sentences to the built-in conversation agent" in caplog.text
    assert "has no attribute 'register_trigger'" in caplog.text
    assert "paint_from_voice.yaml" in caplog.text
    await async_converse(hass, "paint a lost key")
    await hass.async_block_till_done(wait_background_tasks=True)
    assert server.requests == []


async def test_changed_private_api_logs_and_still_loads(
    hass: HomeAssistant,
    enable_custom_integrations: None,
    blocking_io: object,
    mock_entry: MockConfigEntry,
    server: FakeGpuServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A register_trigger with another signature is reported, and the frame still loads."""
    await async_setup_voice_components(hass)
    manager = get_agent_manager(hass)
    with (
        patch.object(manager, "register_trigger", side_effect=TypeError("takes 2 arguments")),
        caplog.at_level(logging.WARNING),
    ):
        await async_load_entry(hass, mock_entry)

    assert "Cannot add the frame's sentences to the built-in conversation agent" in caplog.text
    assert "takes 2 arguments" in caplog.text
    assert hass.data[DATA_SENTENCE_TRIGGERS].unregister is None
    assert await hass.config_entries.async_unload(mock_entry.entry_id)


async def test_unexpected_intent_error_is_said_and_logged(
    hass: HomeAssistant,
    voice_entry: MockConfigEntry,
    server: FakeGpuServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An unexpected failure while handling a sentence gets a short apology and a log line."""
    with patch(
        "custom_components.dalle_frame.intent.frame_for_voice",
        side_effect=RuntimeError("registry gone"),
    ):
        result = await async_converse(hass, "paint a broken vase")

    assert speech_of(result) == "Sorry, I could not do that; the log has details."
    assert "Cannot handle 'paint a broken vase'" in caplog.text
    assert server.requests == []
