"""The diffusion family through Triton: same picture, its own steps and capabilities."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest

from tests.stack import GpuServer

from .conftest import generate_lines
from .processes import TritonFrontProcess, TritonNodeProcess

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The single-process server builds test-diffusion; then a node and the front use it."""
    work_dir = tmp_path_factory.mktemp("diffusion-node")
    models_dir = work_dir / "models"
    reference = GpuServer(
        work_dir / "reference", model="test-diffusion", asr_model="none", models_dir=models_dir
    )
    reference.work_dir.mkdir()
    node = TritonNodeProcess("node", work_dir, models_dir, model="test-diffusion", asr_model="none")
    front = TritonFrontProcess(work_dir, [node.url])

    async def start() -> None:
        async with aiohttp.ClientSession() as session:
            await reference.start(session)
            node.start()
            front.start()
            await node.wait_ready(session)
            await front.wait_nodes_up(session, 1)

    try:
        asyncio.run(start())
        yield {"node": node, "front": front, "reference": reference}
    finally:
        front.stop()
        node.kill()
        reference.stop()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP client session."""
    async with aiohttp.ClientSession() as client:
        yield client


async def test_diffusion_picture_steps_and_capabilities(
    stack: dict[str, Any], session: aiohttp.ClientSession
) -> None:
    """Size, steps and seed flow through; the PNG is the single-process server's."""
    front, reference = stack["front"], stack["reference"]
    body = {"prompt": "a fox", "seed": 5, "width": 128, "height": 96, "steps": 3}
    lines = await generate_lines(session, front.url, front.headers, body)
    assert [line["step"] for line in lines[:-1]] == [1, 2, 3]
    assert all(line["total"] == 3 for line in lines[:-1])
    result = lines[-1]
    assert (result["type"], result["width"], result["height"]) == ("result", 128, 96)
    async with session.post(
        f"{reference.url}/v1/generate",
        json=body,
        headers={"Authorization": f"Bearer {reference.token}"},
    ) as response:
        assert response.status == 200
        assert base64.b64decode(result["png_base64"]) == await response.read()

    health = await front.health(session)
    assert health["generator"]["capabilities"]["family"] == "diffusion"
    assert health["asr"]["state"] == "failed"  # the node serves no ASR: transcribe is 503
    assert "no ASR" in health["asr"]["error"]
    async with session.post(
        f"{front.url}/v1/generate",
        json={"prompt": "x", "temperature": 0.5},
        headers=front.headers,
    ) as response:
        assert response.status == 400
        assert (await response.json())["error"]["code"] == "bad_parameter"
