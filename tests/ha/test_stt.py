"""The Speech to text entity through HA's REST endpoint POST /api/stt/<entity_id>."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from unittest.mock import patch

import aiohttp
import pytest
from homeassistant.components import stt
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from .fake_server import FakeGpuServer
from .fake_transcribe import TranscribeError
from .voice_support import SPEECH_HEADER, STT_ENTITY, sine_pcm, voice_entry, wav_file

__all__ = ["voice_entry"]

URL = f"/api/stt/{STT_ENTITY}"


async def _post(
    hass_client: ClientSessionGenerator, body: bytes, header: str = SPEECH_HEADER
) -> tuple[int, dict | str]:
    """POST `body` to the STT endpoint as the Pi satellite does."""
    client = await hass_client()
    response = await client.post(URL, data=body, headers={"X-Speech-Content": header})
    if response.content_type == "application/json":
        return response.status, await response.json()
    return response.status, await response.text()


async def test_entity_and_capabilities(
    hass: HomeAssistant, voice_entry: MockConfigEntry, hass_client: ClientSessionGenerator
) -> None:
    """The entity exists under the contract's id and says what audio it takes."""
    state = hass.states.get(STT_ENTITY)
    assert state is not None
    assert state.attributes["friendly_name"] == "Frame Speech to text"

    client = await hass_client()
    response = await client.get(URL)
    assert response.status == 200
    assert await response.json() == {
        "languages": ["en", "en-US", "en-GB"],
        "formats": ["wav"],
        "codecs": ["pcm"],
        "sample_rates": [8000, 16000, 32000, 44100, 48000],
        "bit_rates": [16],
        "channels": [1, 2],
    }


async def test_raw_pcm_becomes_a_wav_file(
    hass: HomeAssistant,
    voice_entry: MockConfigEntry,
    server: FakeGpuServer,
    hass_client: ClientSessionGenerator,
) -> None:
    """Raw PCM (what the Pi sends) reaches the server as a 16 kHz mono WAV with the token."""
    pcm = sine_pcm(1.5)

    status, body = await _post(hass_client, pcm)

    assert status == 200
    assert body == {"text": "a lighthouse in a storm", "result": "success"}
    [received] = server.transcribe.received
    assert received.content_type == "audio/wav"
    assert (received.channels, received.sample_rate, received.sample_width) == (1, 16000, 2)
    assert received.frames == pcm
    state = hass.states.get(STT_ENTITY)
    assert state.state not in ("unknown", "unavailable")  # the time of the last request


async def test_wav_header_is_read_and_replaced(
    hass: HomeAssistant,
    voice_entry: MockConfigEntry,
    server: FakeGpuServer,
    hass_client: ClientSessionGenerator,
) -> None:
    """A WAV upload is unwrapped; its header's format wins over the declared one."""
    pcm = sine_pcm(0.5, sample_rate=44100, channels=2)
    upload = wav_file(pcm, sample_rate=44100, channels=2)

    status, body = await _post(hass_client, upload)

    assert (status, body["result"]) == (200, "success")
    [received] = server.transcribe.received
    assert (received.channels, received.sample_rate) == (2, 44100)
    assert received.frames == pcm


async def test_streamed_wav_with_unknown_length(
    hass: HomeAssistant,
    voice_entry: MockConfigEntry,
    server: FakeGpuServer,
    hass_client: ClientSessionGenerator,
) -> None:
    """A WAV written while recording (data size 0xFFFFFFFF, like arecord's) is read whole."""
    pcm = sine_pcm(0.8)
    upload = bytearray(wav_file(pcm))
    upload[40:44] = b"\xff\xff\xff\xff"  # the data chunk's size
    upload[4:8] = b"\xff\xff\xff\xff"  # the RIFF size

    status, body = await _post(hass_client, bytes(upload))

    assert (status, body["result"]) == (200, "success")
    assert server.transcribe.received[0].frames == pcm


async def test_long_silence_is_read(
    hass: HomeAssistant,
    voice_entry: MockConfigEntry,
    server: FakeGpuServer,
    hass_client: ClientSessionGenerator,
) -> None:
    """Five seconds of silence (160 KB without a newline byte) arrive whole."""
    pcm = bytes(5 * 16000 * 2)

    status, body = await _post(hass_client, pcm)

    assert (status, body["result"]) == (200, "success")
    assert server.transcribe.received[0].frames == pcm


async def test_speech_longer_than_the_server_takes_is_cut(
    hass: HomeAssistant,
    voice_entry: MockConfigEntry,
    server: FakeGpuServer,
    hass_client: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """35 s of speech: the first 30 s are transcribed, and the log says so."""
    pcm = sine_pcm(35)

    with caplog.at_level(logging.WARNING):
        status, body = await _post(hass_client, pcm)

    assert (status, body["result"]) == (200, "success")
    assert server.transcribe.received[0].frames == pcm[: 30 * 16000 * 2]
    assert "longer than 30 s; only its start is transcribed" in caplog.text


@pytest.mark.parametrize(
    ("error", "logged"),
    [
        (
            TranscribeError(503, "model_not_available", "the ASR model is loading"),
            "still loading its models",
        ),
        (TranscribeError(500, "model_failed", "the ASR model failed"), "the ASR model failed"),
        (TranscribeError(413, "audio_too_long", "at most 30 s"), "rejected the request"),
        (TranscribeError(429, "queue_full", "busy"), "queue is full"),
    ],
)
async def test_server_errors_become_an_error_result(
    hass: HomeAssistant,
    voice_entry: MockConfigEntry,
    server: FakeGpuServer,
    hass_client: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
    error: TranscribeError,
    logged: str,
) -> None:
    """Each server error is an error result with a log line naming the cause."""
    server.transcribe.errors.append(error)

    with caplog.at_level(logging.WARNING):
        status, body = await _post(hass_client, sine_pcm(1))

    assert status == 200
    assert body == {"text": None, "result": "error"}
    assert f"Speech to text with {STT_ENTITY} failed" in caplog.text
    assert logged in caplog.text


async def test_wrong_token_is_an_error_result(
    hass: HomeAssistant,
    voice_entry: MockConfigEntry,
    server: FakeGpuServer,
    hass_client: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A token the server refuses gives an error result and says what to do."""
    server.token = "a-new-token"

    with caplog.at_level(logging.WARNING):
        status, body = await _post(hass_client, sine_pcm(1))

    assert (status, body) == (200, {"text": None, "result": "error"})
    assert "refused the token" in caplog.text
    assert server.transcribe.received == []


async def test_server_down_is_an_error_result(
    hass: HomeAssistant,
    voice_entry: MockConfigEntry,
    server: FakeGpuServer,
    hass_client: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """With the server stopped the endpoint still answers: an error result, and a log line."""
    await server.stop()

    with caplog.at_level(logging.WARNING):
        status, body = await _post(hass_client, sine_pcm(1))

    assert (status, body) == (200, {"text": None, "result": "error"})
    assert "Cannot reach the GPU server" in caplog.text


async def test_server_answer_without_text_is_an_error_result(
    hass: HomeAssistant,
    voice_entry: MockConfigEntry,
    server: FakeGpuServer,
    hass_client: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An answer that is not the API's format is an error result."""
    server.transcribe.text = None  # answers {"text": null, ...}

    with caplog.at_level(logging.WARNING):
        status, body = await _post(hass_client, sine_pcm(1))

    assert (status, body) == (200, {"text": None, "result": "error"})
    assert "did not answer a text" in caplog.text


@pytest.mark.parametrize(
    ("body", "logged"),
    [
        (b"", "No audio reached"),
        (b"\x01", "No audio reached"),
        (wav_file(bytes(800), width=1), "8-bit samples; send 16-bit PCM"),
        (wav_file(sine_pcm(0.2))[:30], "fmt chunk is cut short"),
        (wav_file(sine_pcm(0.2))[:36], "no fmt or data chunk"),
        (
            wav_file(sine_pcm(0.2)).replace(b"\x01\x00\x01\x00", b"\x03\x00\x01\x00", 1),
            "is not PCM (format 3)",
        ),
    ],
    ids=["empty", "half-sample", "8-bit-wav", "cut-fmt", "no-data-chunk", "float-wav"],
)
async def test_bad_audio_is_an_error_result_without_asking_the_server(
    hass: HomeAssistant,
    voice_entry: MockConfigEntry,
    server: FakeGpuServer,
    hass_client: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
    body: bytes,
    logged: str,
) -> None:
    """Audio the server cannot read is refused here, with the reason in the log."""
    with caplog.at_level(logging.WARNING):
        status, answer = await _post(hass_client, body)

    assert (status, answer) == (200, {"text": None, "result": "error"})
    assert logged in caplog.text
    assert server.transcribe.received == []


@pytest.mark.parametrize(
    "header",
    [
        "format=wav; codec=pcm; sample_rate=16000; bit_rate=16; channel=1; language=de",
        "format=wav; codec=pcm; sample_rate=16000; bit_rate=24; channel=1; language=en",
        "format=ogg; codec=opus; sample_rate=16000; bit_rate=16; channel=1; language=en",
        "format=wav; codec=pcm; sample_rate=22000; bit_rate=16; channel=1; language=en",
    ],
    ids=["german", "24-bit", "opus", "22-khz"],
)
async def test_unsupported_formats_are_refused_by_ha(
    hass: HomeAssistant,
    voice_entry: MockConfigEntry,
    server: FakeGpuServer,
    hass_client: ClientSessionGenerator,
    header: str,
) -> None:
    """Audio the entity does not declare gets HA's 415 and never reaches the server."""
    status, _ = await _post(hass_client, sine_pcm(0.5), header)

    assert status == 415
    assert server.transcribe.received == []


async def test_unavailable_while_the_server_is_down(
    hass: HomeAssistant, voice_entry: MockConfigEntry, server: FakeGpuServer
) -> None:
    """The entity is unavailable while the server is down, and comes back with it."""
    coordinator = voice_entry.runtime_data.coordinator
    await server.stop()
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    assert hass.states.get(STT_ENTITY).state == "unavailable"

    await server.start()
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    assert hass.states.get(STT_ENTITY).state != "unavailable"


async def test_unavailable_while_the_asr_model_is_not_ready(
    hass: HomeAssistant, voice_entry: MockConfigEntry
) -> None:
    """A server whose health says ASR is not ready (loading, or started without it)."""
    coordinator = voice_entry.runtime_data.coordinator
    coordinator.async_set_updated_data(replace(coordinator.data, asr_ready=False))
    await hass.async_block_till_done()
    assert hass.states.get(STT_ENTITY).state == "unavailable"
    assert hass.states.get("text.frame_prompt").state != "unavailable"


async def test_a_broken_audio_stream_is_an_error_result(
    hass: HomeAssistant,
    voice_entry: MockConfigEntry,
    server: FakeGpuServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A stream that breaks off (satellite gone) ends in an error result, not an exception."""
    entity = hass.data[stt.DATA_COMPONENT].get_entity(STT_ENTITY)

    async def broken() -> AsyncIterator[bytes]:
        yield sine_pcm(0.2)
        raise ConnectionResetError("the satellite went away")

    with caplog.at_level(logging.WARNING):
        result = await entity.internal_async_process_audio_stream(
            stt.SpeechMetadata(
                language="en",
                format=stt.AudioFormats.WAV,
                codec=stt.AudioCodecs.PCM,
                bit_rate=stt.AudioBitRates.BITRATE_16,
                sample_rate=stt.AudioSampleRates.SAMPLERATE_16000,
                channel=stt.AudioChannels.CHANNEL_MONO,
            ),
            broken(),
        )

    assert result == stt.SpeechResult(None, stt.SpeechResultState.ERROR)
    assert "broke off: the satellite went away" in caplog.text
    assert server.transcribe.received == []


async def test_a_server_that_does_not_answer_is_an_error_result(
    hass: HomeAssistant,
    voice_entry: MockConfigEntry,
    server: FakeGpuServer,
    hass_client: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A transcription that takes longer than the client waits is an error result."""
    server.transcribe.delay = 5
    with (
        patch(
            "custom_components.dalle_frame.api.TRANSCRIBE_TIMEOUT",
            aiohttp.ClientTimeout(total=0.3),
        ),
        caplog.at_level(logging.WARNING),
    ):
        status, body = await _post(hass_client, sine_pcm(1))

    assert (status, body) == (200, {"text": None, "result": "error"})
    assert "no answer to /v1/transcribe within 0 s" in caplog.text
