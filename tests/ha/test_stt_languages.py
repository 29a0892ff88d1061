"""The STT entity's languages follow the server's speech model (health's asr.languages)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from homeassistant.components import stt
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from .fake_server import FakeGpuServer
from .voice_support import STT_ENTITY, sine_pcm, voice_entry

__all__ = ["voice_entry"]

URL = f"/api/stt/{STT_ENTITY}"
MULTILINGUAL = ["en", "de", "fr", "es", "nl"]


def _header(language: str) -> str:
    return f"format=wav; codec=pcm; sample_rate=16000; bit_rate=16; channel=1; language={language}"


async def _languages(hass_client: ClientSessionGenerator) -> list[str]:
    client = await hass_client()
    response = await client.get(URL)
    assert response.status == 200
    return list((await response.json())["languages"])


async def _refresh(voice_entry: MockConfigEntry) -> None:
    await voice_entry.runtime_data.coordinator.async_refresh()


async def _post(hass_client: ClientSessionGenerator, language: str) -> tuple[int, object]:
    client = await hass_client()
    response = await client.post(
        URL, data=sine_pcm(0.5), headers={"X-Speech-Content": _header(language)}
    )
    if response.content_type == "application/json":
        return response.status, await response.json()
    return response.status, await response.text()


async def test_server_without_the_field_is_english(
    hass: HomeAssistant,
    voice_entry: MockConfigEntry,
    server: FakeGpuServer,
    hass_client: ClientSessionGenerator,
) -> None:
    """A server from before asr.languages: English, sent as ?language=en."""
    assert await _languages(hass_client) == ["en", "en-US", "en-GB"]
    assert await _post(hass_client, "en-US") == (
        200,
        {"text": server.transcribe.text, "result": "success"},
    )
    assert server.transcribe.asked_languages == ["en"]
    status, _ = await _post(hass_client, "de")
    assert status == 415  # HA's own check: the entity does not list German
    assert server.transcribe.asked_languages == ["en"]


@pytest.mark.parametrize("language", ["de", "fr", "es", "nl", "de-CH"])
async def test_multilingual_server_gets_the_pipeline_language(
    hass: HomeAssistant,
    voice_entry: MockConfigEntry,
    server: FakeGpuServer,
    hass_client: ClientSessionGenerator,
    language: str,
) -> None:
    """The entity lists the server's languages and sends the spoken one's code."""
    server.transcribe.languages = MULTILINGUAL
    await _refresh(voice_entry)
    offered = await _languages(hass_client)
    assert offered == ["en", "en-US", "en-GB", "de", "fr", "es", "nl"]
    if language not in offered:
        return  # HA matches regional tags itself only where the pipeline asks for them
    assert await _post(hass_client, language) == (
        200,
        {"text": server.transcribe.text, "result": "success"},
    )
    assert server.transcribe.asked_languages == [language.split("-")[0]]


async def test_languages_are_kept_while_the_model_reloads(
    hass: HomeAssistant,
    voice_entry: MockConfigEntry,
    server: FakeGpuServer,
    hass_client: ClientSessionGenerator,
) -> None:
    """Health's null (loading) keeps the last known languages."""
    server.transcribe.languages = MULTILINGUAL
    await _refresh(voice_entry)
    assert "nl" in await _languages(hass_client)
    server.transcribe.languages = None
    voice_entry.runtime_data.coordinator.async_set_updated_data(_with_languages(voice_entry, None))
    assert "nl" in await _languages(hass_client)


async def test_a_language_the_server_dropped_is_a_clear_error(
    hass: HomeAssistant,
    voice_entry: MockConfigEntry,
    server: FakeGpuServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """German asked of an English-only model: an error result and a log line saying why."""
    entity = stt.async_get_speech_to_text_entity(hass, STT_ENTITY)
    assert entity is not None

    async def audio() -> AsyncIterator[bytes]:
        yield sine_pcm(0.5)

    metadata = stt.SpeechMetadata(
        language="de-DE",
        format=stt.AudioFormats.WAV,
        codec=stt.AudioCodecs.PCM,
        bit_rate=stt.AudioBitRates.BITRATE_16,
        sample_rate=stt.AudioSampleRates.SAMPLERATE_16000,
        channel=stt.AudioChannels.CHANNEL_MONO,
    )
    with caplog.at_level(logging.WARNING):
        result = await entity.async_process_audio_stream(metadata, audio())
    assert result.result is stt.SpeechResultState.ERROR
    assert "understands en only" in caplog.text
    assert "whisper-base" in caplog.text
    assert server.transcribe.asked_languages == []


async def test_server_refusing_the_language_is_an_error_result(
    hass: HomeAssistant,
    voice_entry: MockConfigEntry,
    server: FakeGpuServer,
    hass_client: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The server changed its model since health: its 400 becomes an error with its reason."""
    server.transcribe.languages = MULTILINGUAL
    await _refresh(voice_entry)
    server.transcribe.languages = ["en"]
    with caplog.at_level(logging.WARNING):
        assert await _post(hass_client, "fr") == (200, {"text": None, "result": "error"})
    assert "no 'fr' in this model" in caplog.text


def _with_languages(voice_entry: MockConfigEntry, languages: tuple[str, ...] | None) -> object:
    health = voice_entry.runtime_data.coordinator.data
    assert health is not None
    return replace(health, asr_languages=languages)
