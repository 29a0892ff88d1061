"""The whole Home Assistant path once through Triton: a real `hass`, the front, one node.

HA 2026.11 (the sid root's `hass`) adds the frame through the config flow REST API with the
front's address and token, exactly as it would add the single-process server; the frame's
`generate` action then paints through the front and the node (the node counts it), the Status
sensor moves through `generating` back to `idle`, and the Art and Frame images show the picture.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.stack import HomeAssistant, wait_for

from .processes import TritonFrontProcess, TritonNodeProcess

pytestmark = pytest.mark.timeout(420)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[dict[str, Any]]:
    """One node, the front, and a fresh Home Assistant with the frame added."""
    work_dir = tmp_path_factory.mktemp("ha-through-triton")
    node = TritonNodeProcess("node", work_dir, models_dir)
    front = TritonFrontProcess(work_dir, [node.url])
    ha = HomeAssistant(work_dir / "homeassistant")

    async def start() -> None:
        async with aiohttp.ClientSession() as session:
            await node.wait_ready(session)
            await front.wait_nodes_up(session, 1)
            await ha.start(session)
            await ha.onboard(session)
            result = await ha.add_frame(session, front)  # type: ignore[arg-type]
            assert result["type"] == "create_entry", result

    node.start()
    front.start()
    try:
        asyncio.run(start())
        yield {"node": node, "front": front, "ha": ha}
    finally:
        ha.stop()
        front.stop()
        node.kill()


async def test_the_frame_paints_through_triton(stack: dict[str, Any]) -> None:
    """generate -> front -> Triton node -> PNG -> Art and Frame images, Status back to idle."""
    ha: HomeAssistant = stack["ha"]
    front: TritonFrontProcess = stack["front"]
    async with aiohttp.ClientSession() as session:

        async def state(entity_id: str) -> dict[str, Any] | None:
            try:
                return dict(await ha.rest(session, "GET", f"/api/states/{entity_id}"))
            except RuntimeError as error:  # 404 while the integration is still loading
                if "HTTP 404" in str(error):
                    return None
                raise

        async def status_is(wanted: str) -> bool:
            status = await state("sensor.frame_status")
            return status is not None and status["state"] == wanted

        await wait_for(lambda: status_is("idle"), "the frame's Status to be idle", 120)
        await ha.rest(
            session,
            "POST",
            "/api/services/dalle_frame/generate",
            {"prompt": "a lighthouse through triton", "seed": 77},
        )

        async def art_painted() -> dict[str, Any] | None:
            art = await state("image.frame_art")
            if art is None or art["attributes"].get("prompt") != "a lighthouse through triton":
                return None
            return art

        art = await wait_for(art_painted, "the Art image painted through Triton", 240)
        assert art["attributes"]["seed"] == 77
        assert (art["attributes"]["width"], art["attributes"]["height"]) == (256, 256)
        await wait_for(lambda: status_is("idle"), "the Status back to idle", 60)
        frame = await state("image.frame_frame")
        assert frame is not None and frame["attributes"]["prompt"] == art["attributes"]["prompt"]
        async with session.get(
            f"{ha.url}{art['attributes']['entity_picture']}", headers=ha.headers
        ) as response:
            assert response.status == 200
            assert (await response.read()).startswith(b"\x89PNG")
        nodes = (await front.health(session))["generator"]["triton"]["nodes"]
        assert [node["completed"] for node in nodes] == [1]
