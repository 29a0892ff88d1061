"""The STT entity against the real GPU server process with its `test` ASR model.

The `test` ASR model has random weights: it transcribes gibberish (maybe nothing), but it runs
the server's real WAV reading, resampling and ONNX Runtime path. The entity's answer must be
exactly what the server answers for the same audio sent directly.
"""

from __future__ import annotations

import json
import secrets
import time
import urllib.request
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.dalle_frame.const import CONF_TOKEN, CONF_URL, DOMAIN
from tests.stack import HOST, VENVS, Process, free_port, host_program

from .voice_support import (
    SPEECH_HEADER,
    STT_ENTITY,
    async_load_entry,
    async_setup_voice_components,
    sine_pcm,
    wav_file,
)

START_LIMIT = 240  # seconds for the server to build and load its test models


@dataclass
class RealServer:
    """A running `python -m dalle_frame_server` with the test models."""

    url: str
    token: str
    process: Process


def _ready(url: str) -> bool:
    """Whether /v1/health says the server and its ASR model are ready."""
    try:
        with urllib.request.urlopen(f"{url}/v1/health", timeout=2) as response:
            body = json.load(response)
    except OSError:
        return False
    return body.get("status") == "ok" and bool(body.get("asr", {}).get("ready"))


@pytest.fixture
def real_server(tmp_path: Path, socket_enabled: None) -> Generator[RealServer]:
    """Start the GPU server process (before HA starts, outside the event loop)."""
    token = secrets.token_urlsafe(16)
    token_file = tmp_path / "server-token"
    token_file.write_text(token)
    port = free_port()
    process = Process(
        "GPU server",
        host_program([
            str(VENVS / "server/bin/python"), "-m", "dalle_frame_server",
            "--model", "test", "--asr-model", "test",
            "--host", HOST, "--port", str(port),
            "--models-dir", str(tmp_path / "models"), "--token-file", str(token_file),
        ]),
        tmp_path / "server.log",
    )  # fmt: skip
    process.start()
    url = f"http://{HOST}:{port}"
    try:
        deadline = time.monotonic() + START_LIMIT
        while not _ready(url):
            if not process.running:
                pytest.fail(f"the GPU server exited:\n{process.log_tail()}")
            if time.monotonic() > deadline:
                pytest.fail(f"the GPU server was not ready in time:\n{process.log_tail()}")
            time.sleep(0.3)
        yield RealServer(url=url, token=token, process=process)
    finally:
        process.stop()


async def test_real_server_transcribes_for_the_entity(
    hass: HomeAssistant,
    enable_custom_integrations: None,
    real_server: RealServer,
    hass_client: ClientSessionGenerator,
) -> None:
    """Raw PCM over HA's REST endpoint gets the server's own transcription; then it dies."""
    await async_setup_voice_components(hass)
    await async_load_entry(
        hass,
        MockConfigEntry(
            domain=DOMAIN,
            title="Frame",
            unique_id="frame",
            data={CONF_NAME: "Frame", CONF_URL: real_server.url, CONF_TOKEN: real_server.token},
        ),
    )
    assert hass.states.get(STT_ENTITY).state != "unavailable"
    pcm = sine_pcm(1.5)
    client = await hass_client()

    response = await client.post(
        f"/api/stt/{STT_ENTITY}", data=pcm, headers={"X-Speech-Content": SPEECH_HEADER}
    )
    answer = await response.json()

    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{real_server.url}/v1/transcribe",
            data=wav_file(pcm),
            headers={
                "Authorization": f"Bearer {real_server.token}",
                "Content-Type": "audio/wav",
            },
        ) as direct,
    ):
        assert direct.status == 200
        expected = await direct.json()
    assert response.status == 200
    assert answer == {"text": expected["text"], "result": "success"}
    assert expected["audio_seconds"] == 1.5

    real_server.process.kill()
    response = await client.post(
        f"/api/stt/{STT_ENTITY}", data=pcm, headers={"X-Speech-Content": SPEECH_HEADER}
    )
    assert response.status == 200
    assert await response.json() == {"text": None, "result": "error"}
