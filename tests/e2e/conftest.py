"""The whole product as real processes on 127.0.0.1: GPU server, Home Assistant, satellite.

One stack serves the whole end-to-end session (starting it costs about half a minute): the
GPU server with the `test` models (random weights: the art is noise, the paths are real), a
fresh Home Assistant onboarded over its REST API with the integration added through the
config flow REST API, and the satellite with the `file` display, mock GPIO and a spoken
prompt synthesized with espeak-ng.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from tests.stack import ROOT, GpuServer, HomeAssistant, Satellite, reset_dir, wait_for

ARTIFACTS = ROOT / "build" / "test-results" / "e2e"
SPOKEN_PROMPT = "paint a lighthouse in a storm"


@dataclass
class Stack:
    """The running parts and a session to talk to them."""

    session: aiohttp.ClientSession
    server: GpuServer
    ha: HomeAssistant
    satellite: Satellite
    work: Path

    async def state(self, entity_id: str) -> dict[str, Any]:
        """Return an entity's state object from HA's REST API."""
        return dict(await self.ha.rest(self.session, "GET", f"/api/states/{entity_id}"))

    async def call(self, domain: str, service: str, data: dict[str, Any]) -> Any:
        """Call an HA service over REST."""
        return await self.ha.rest(self.session, "POST", f"/api/services/{domain}/{service}", data)

    async def wait_state(
        self, entity_id: str, wanted: Any, what: str, limit: float = 120
    ) -> dict[str, Any]:
        """Wait until `wanted(state_object)` is true; return the state object."""

        async def check() -> dict[str, Any] | None:
            try:
                state = await self.state(entity_id)
            except RuntimeError as error:  # 404 while HA is still loading the integration
                if "HTTP 404" in str(error):
                    return None
                raise
            return state if wanted(state) else None

        return dict(await wait_for(check, what, limit))

    def server_log(self) -> str:
        """The GPU server's log so far."""
        return self.server.work_dir.joinpath("server.log").read_text(errors="replace")


def synthesize_prompt(path: Path) -> Path:
    """Speak the prompt into a WAV file with espeak-ng (22.05 kHz, as espeak writes it)."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        pytest.fail("espeak-ng is missing: scripts/setup.sh installs it (Debian package)")
    subprocess.run([espeak, "-w", str(path), SPOKEN_PROMPT], check=True)
    return path


@pytest_asyncio.fixture(loop_scope="session", scope="session")
async def stack() -> AsyncIterator[Stack]:
    """Start the three parts once for the session and stop them at its end."""
    work = reset_dir(ROOT / "build" / "e2e")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    wav = synthesize_prompt(work / "spoken-prompt.wav")
    async with aiohttp.ClientSession() as session:
        server = GpuServer(work / "server")
        ha = HomeAssistant(work / "homeassistant")
        satellite: Satellite | None = None
        try:
            server.work_dir.mkdir()
            await server.start(session)
            await ha.start(session)
            await ha.onboard(session)
            await ha.add_frame(session, server)
            token = await ha.long_lived_token(session, "dalle_frame satellite")
            satellite = Satellite(
                work / "satellite",
                ha_url=ha.url,
                token=token,
                output=work / "frame.png",
                wav_file=wav,
            )
            satellite.start()
            await satellite.wait_connected()
            yield Stack(session, server, ha, satellite, work)
        finally:
            if satellite:
                satellite.stop()
            ha.stop()
            server.stop()
            for log in work.rglob("*.log"):
                shutil.copy(log, ARTIFACTS / f"{log.parent.name}-{log.name}")
            ha_log = ha.config_dir / "home-assistant.log"
            if ha_log.exists():
                shutil.copy(ha_log, ARTIFACTS / "home-assistant.log")
