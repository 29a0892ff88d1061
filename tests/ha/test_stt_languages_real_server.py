"""The STT entity in German against the real GPU server with its test multilingual model.

`test-multilingual` has random weights (gibberish text) but Whisper's files and graph
interfaces: the server lists its five languages in health, the entity offers them, and a
German request reaches the server as ?language=de and comes back as the server's own answer.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Generator
from pathlib import Path

import aiohttp
import pytest
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.dalle_frame.const import CONF_TOKEN, CONF_URL, DOMAIN
from tests.stack import HOST, VENVS, Process, free_port, host_program

from .test_stt_real_server import START_LIMIT, RealServer, _ready
from .voice_support import (
    STT_ENTITY,
    async_load_entry,
    async_setup_voice_components,
    sine_pcm,
    wav_file,
)

GERMAN = "format=wav; codec=pcm; sample_rate=16000; bit_rate=16; channel=1; language=de"


@pytest.fixture
def multilingual_server(tmp_path: Path, socket_enabled: None) -> Generator[RealServer]:
    """Start the GPU server with --asr-model test-multilingual."""
    token = secrets.token_urlsafe(16)
    token_file = tmp_path / "server-token"
    token_file.write_text(token)
    port = free_port()
    process = Process(
        "GPU server",
        host_program([
            str(VENVS / "server/bin/python"), "-m", "dalle_frame_server",
            "--model", "test", "--asr-model", "test-multilingual",
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


async def test_entity_transcribes_german_through_the_real_server(
    hass: HomeAssistant,
    enable_custom_integrations: None,
    multilingual_server: RealServer,
    hass_client: ClientSessionGenerator,
) -> None:
    """The entity offers the model's languages; German audio gets the server's German answer."""
    await async_setup_voice_components(hass)
    await async_load_entry(
        hass,
        MockConfigEntry(
            domain=DOMAIN,
            title="Frame",
            unique_id="frame",
            data={
                CONF_NAME: "Frame",
                CONF_URL: multilingual_server.url,
                CONF_TOKEN: multilingual_server.token,
            },
        ),
    )
    client = await hass_client()
    described = await (await client.get(f"/api/stt/{STT_ENTITY}")).json()
    assert {"de", "fr", "es", "nl", "en"} <= set(described["languages"])
    pcm = sine_pcm(1.0)

    response = await client.post(
        f"/api/stt/{STT_ENTITY}", data=pcm, headers={"X-Speech-Content": GERMAN}
    )
    answer = await response.json()

    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{multilingual_server.url}/v1/transcribe?language=de",
            data=wav_file(pcm),
            headers={
                "Authorization": f"Bearer {multilingual_server.token}",
                "Content-Type": "audio/wav",
            },
        ) as direct,
    ):
        assert direct.status == 200
        expected = await direct.json()
    assert expected["language"] == "de"
    assert response.status == 200
    assert answer == {"text": expected["text"], "result": "success"}
    log = multilingual_server.process.log_tail()
    assert "(de)" in log  # the server's own log line names the language it transcribed
