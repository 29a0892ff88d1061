"""The frame's LLM tools platform (llm.py), used by HA 2026.x's llm integration."""

from __future__ import annotations

import pytest
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import llm
from pytest_homeassistant_custom_component.common import MockConfigEntry

from .voice_support import async_setup_voice_components, voice_entry

__all__ = ["voice_entry"]

pytest.importorskip(
    "homeassistant.components.llm", reason="HA 2025.12 has no llm platforms (intents are tools)"
)

from custom_components.dalle_frame import llm as frame_llm  # needs HA's llm


def _context() -> llm.LLMContext:
    """An Assist conversation's context."""
    return llm.LLMContext(
        platform="test", context=Context(), language="en", assistant="conversation", device_id=None
    )


async def test_tools_are_prefixed_tagged_and_safe(
    hass: HomeAssistant, voice_entry: MockConfigEntry
) -> None:
    """Three tools named dalle_frame__<intent>, tagged with the domain, not destructive."""
    tools = frame_llm.async_get_tools(hass, _context(), llm.LLM_API_ASSIST)

    assert tools is not None
    assert sorted(tool.name for tool in tools.tools) == [
        "dalle_frame__DalleFrameNewPrompt",
        "dalle_frame__DalleFramePaint",
        "dalle_frame__DalleFrameRegenerate",
    ]
    assert {tool.integration for tool in tools.tools} == {"dalle_frame"}
    assert all(not tool.annotations.destructive for tool in tools.tools)


async def test_no_tools_for_other_apis_or_without_a_frame(
    hass: HomeAssistant, voice_entry: MockConfigEntry
) -> None:
    """Only the Assist API gets them, and only while a frame is loaded."""
    assert frame_llm.async_get_tools(hass, _context(), "another_api") is None
    assert await hass.config_entries.async_unload(voice_entry.entry_id)
    assert frame_llm.async_get_tools(hass, _context(), llm.LLM_API_ASSIST) is None


async def test_without_frames_set_up_there_are_no_tools(hass: HomeAssistant) -> None:
    """Before any frame loads the platform offers nothing."""
    await async_setup_voice_components(hass)
    assert frame_llm.async_get_tools(hass, _context(), llm.LLM_API_ASSIST) is None
