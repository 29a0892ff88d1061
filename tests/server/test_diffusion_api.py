"""The server with --model test-diffusion: the real loader, the real app, a panel-shaped PNG."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from dalle_frame_server.api.app import create_app
from dalle_frame_server.generation.diffusion.presets import DIFFUSION_TEST_NOTICE, TEST_DIFFUSION
from dalle_frame_server.generation.text_to_image import painted_size
from dalle_frame_server.settings import ServerSettings
from tests.server.conftest import AUTH, TOKEN
from tests.server.helpers import wait_until_ready


async def test_test_diffusion_paints_the_panel_aspect(
    aiohttp_client, models_dir: Path, loaders
) -> None:
    """Built and loaded by the server's own loader; 800x480 and 480x800 come back at the
    panel's aspect within the model's budget; health shows the capabilities and the notice."""
    settings = ServerSettings(
        models_dir=models_dir, model="test-diffusion", asr_model="test", token=TOKEN, threads=1
    )
    client = await aiohttp_client(create_app(settings, transcriber_loader=loaders.transcriber))
    health = await wait_until_ready(client)
    generator = health["generator"]
    assert generator["notice"] == DIFFUSION_TEST_NOTICE
    assert generator["capabilities"]["family"] == "diffusion"
    assert generator["capabilities"]["steps"] == {"min": 1, "max": 4, "default": 2}
    for width, height in ((800, 480), (480, 800)):
        response = await client.post(
            "/v1/generate",
            json={"prompt": "a lighthouse", "seed": 9, "width": width, "height": height},
            headers=AUTH,
        )
        assert response.status == 200, await response.text()
        expected = painted_size(TEST_DIFFUSION.capabilities, width, height)
        assert Image.open(io.BytesIO(await response.read())).size == expected
        assert (response.headers["X-Image-Width"], response.headers["X-Image-Height"]) == (
            str(expected[0]),
            str(expected[1]),
        )
    again = await client.post(
        "/v1/generate",
        json={"prompt": "a lighthouse", "seed": 9, "width": 480, "height": 800, "steps": 2},
        headers=AUTH,
    )
    assert again.status == 200
    assert Image.open(io.BytesIO(await again.read())).size == expected
