"""The frame's STT entity and sentences inside a real Assist pipeline run."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from homeassistant.components import stt
from homeassistant.components.assist_pipeline import (
    AudioSettings,
    PipelineEvent,
    PipelineEventType,
    async_pipeline_from_audio_stream,
)
from homeassistant.components.assist_pipeline.pipeline import PipelineStage
from homeassistant.core import Context, HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from .fake_server import FakeGpuServer
from .voice_support import STT_ENTITY, sine_pcm, voice_entry

__all__ = ["voice_entry"]

CHUNK = 1024  # bytes per chunk: 32 ms at 16 kHz, as satellites stream


@pytest.fixture
async def pipeline_id(
    hass: HomeAssistant, voice_entry: MockConfigEntry, hass_ws_client: WebSocketGenerator
) -> str:
    """An Assist pipeline using the frame's STT and HA's built-in agent, made like the UI."""
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {
            "type": "assist_pipeline/pipeline/create",
            "conversation_engine": "conversation.home_assistant",
            "conversation_language": "en",
            "language": "en",
            "name": "Frame voice",
            "stt_engine": STT_ENTITY,
            "stt_language": "en",
            "tts_engine": None,
            "tts_language": None,
            "tts_voice": None,
            "wake_word_entity": None,
            "wake_word_id": None,
        }
    )
    message = await client.receive_json()
    assert message["success"], message
    return str(message["result"]["id"])


async def _audio(pcm: bytes) -> AsyncIterator[bytes]:
    """Stream raw PCM in small chunks, as a voice satellite does."""
    for start in range(0, len(pcm), CHUNK):
        yield pcm[start : start + CHUNK]


async def _run(hass: HomeAssistant, pipeline_id: str, end: PipelineStage) -> list[PipelineEvent]:
    """Run the pipeline on 1.5 s of audio from the STT stage to `end`; return its events."""
    events: list[PipelineEvent] = []
    await async_pipeline_from_audio_stream(
        hass,
        context=Context(),
        event_callback=events.append,
        stt_metadata=stt.SpeechMetadata(
            language="en",
            format=stt.AudioFormats.WAV,
            codec=stt.AudioCodecs.PCM,
            bit_rate=stt.AudioBitRates.BITRATE_16,
            sample_rate=stt.AudioSampleRates.SAMPLERATE_16000,
            channel=stt.AudioChannels.CHANNEL_MONO,
        ),
        stt_stream=_audio(sine_pcm(1.5)),
        pipeline_id=pipeline_id,
        start_stage=PipelineStage.STT,
        end_stage=end,
        audio_settings=AudioSettings(is_vad_enabled=False),
    )
    return events


def _event(events: list[PipelineEvent], kind: PipelineEventType) -> dict[str, Any]:
    """The data of the one event of `kind`."""
    [event] = [event for event in events if event.type is kind]
    return event.data or {}


async def test_stt_stage_returns_the_servers_text(
    hass: HomeAssistant, pipeline_id: str, server: FakeGpuServer
) -> None:
    """The pipeline's STT stage sends the streamed PCM as one WAV and gets the text."""
    events = await _run(hass, pipeline_id, PipelineStage.STT)

    assert _event(events, PipelineEventType.STT_START)["engine"] == STT_ENTITY
    assert _event(events, PipelineEventType.STT_END) == {
        "stt_output": {"text": "a lighthouse in a storm"}
    }
    [received] = server.transcribe.received
    assert (received.channels, received.sample_rate, received.sample_width) == (1, 16000, 2)
    assert received.frames == sine_pcm(1.5)


async def test_spoken_prompt_paints_through_the_pipeline(
    hass: HomeAssistant, pipeline_id: str, server: FakeGpuServer
) -> None:
    """Speech "paint a picture of ..." is transcribed, understood and painted."""
    server.transcribe.text = "paint a picture of a lighthouse in a storm"

    events = await _run(hass, pipeline_id, PipelineStage.INTENT)
    await hass.async_block_till_done(wait_background_tasks=True)

    intent_output = _event(events, PipelineEventType.INTENT_END)["intent_output"]
    assert intent_output["response"]["speech"]["plain"]["speech"] == (
        "Frame now shows a lighthouse in a storm."
    )
    assert [request["prompt"] for request in server.requests] == ["a lighthouse in a storm"]
    assert hass.states.get("image.frame_art").attributes["prompt"] == "a lighthouse in a storm"


async def test_stt_failure_is_a_pipeline_error(
    hass: HomeAssistant, pipeline_id: str, server: FakeGpuServer
) -> None:
    """With the server down the pipeline reports an STT error event; nothing raises."""
    await server.stop()

    events = await _run(hass, pipeline_id, PipelineStage.INTENT)

    assert _event(events, PipelineEventType.ERROR)["code"] == "stt-stream-failed"
    assert not [event for event in events if event.type is PipelineEventType.INTENT_START]


async def test_no_words_heard(hass: HomeAssistant, pipeline_id: str, server: FakeGpuServer) -> None:
    """An empty transcription is HA's "no text recognized", not a generation."""
    server.transcribe.text = ""

    events = await _run(hass, pipeline_id, PipelineStage.INTENT)

    assert _event(events, PipelineEventType.ERROR)["code"] == "stt-no-text-recognized"
    assert server.requests == []
