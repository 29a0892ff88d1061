"""Fixtures and helpers of the voice tests (STT, intents, sentences, blueprint).

The conversation integration needs the `homeassistant` integration first; both are set up
before the frame, as in a real HA with default_config.
"""

from __future__ import annotations

import io
import math
import struct
import wave
from typing import Any

import pytest
from homeassistant.components import conversation
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_NAME
from homeassistant.core import Context, HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.dalle_frame.const import CONF_TOKEN, CONF_URL, DOMAIN

from .fake_server import FakeGpuServer

STT_ENTITY = "stt.frame_speech_to_text"
SPEECH_HEADER = "format=wav; codec=pcm; sample_rate=16000; bit_rate=16; channel=1; language=en"
WAIT = 10  # seconds any single wait in a voice test may take


async def async_setup_voice_components(hass: HomeAssistant) -> None:
    """Set up what a default HA has for voice: homeassistant, conversation, assist_pipeline."""
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "conversation", {})
    assert await async_setup_component(hass, "assist_pipeline", {})
    await hass.async_block_till_done()


async def async_load_entry(hass: HomeAssistant, entry: MockConfigEntry) -> MockConfigEntry:
    """Add and set up a frame's entry; it must load."""
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    return entry


def frame_entry(server: FakeGpuServer, name: str) -> MockConfigEntry:
    """Another frame's config entry, on the same stand-in server."""
    slug = name.lower().replace(" ", "_")
    return MockConfigEntry(
        domain=DOMAIN,
        title=name,
        unique_id=slug,
        data={CONF_NAME: name, CONF_URL: server.url, CONF_TOKEN: server.token},
    )


@pytest.fixture
async def voice_entry(
    hass: HomeAssistant,
    enable_custom_integrations: None,
    blocking_io: Any,
    mock_entry: MockConfigEntry,
) -> MockConfigEntry:
    """The frame "Frame", set up after conversation and assist_pipeline."""
    await async_setup_voice_components(hass)
    return await async_load_entry(hass, mock_entry)


async def async_converse(
    hass: HomeAssistant, text: str, device_id: str | None = None
) -> conversation.ConversationResult:
    """Say `text` to HA's built-in agent, as an Assist pipeline would."""
    return await conversation.async_converse(
        hass, text, None, Context(), language="en", device_id=device_id
    )


def speech_of(result: conversation.ConversationResult) -> str:
    """The plain speech of a conversation result."""
    return str(result.response.speech["plain"]["speech"])


def sine_pcm(seconds: float, sample_rate: int = 16000, channels: int = 1) -> bytes:
    """16-bit PCM of a 440 Hz tone (interleaved when stereo)."""
    frames = int(seconds * sample_rate)
    samples = (
        int(12000 * math.sin(2 * math.pi * 440 * index / sample_rate)) for index in range(frames)
    )
    return b"".join(struct.pack("<h", sample) * channels for sample in samples)


def wav_file(pcm: bytes, sample_rate: int = 16000, channels: int = 1, width: int = 2) -> bytes:
    """A WAV file of `pcm`, written by the standard library."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(width)
        writer.setframerate(sample_rate)
        writer.writeframes(pcm)
    return buffer.getvalue()
