"""The upscaler through the real aiohttp app: the test generator behind the test upscaler.

The models load through the server's own loader (`--model test --upscaler test`), so the
wrapper, the health document and the response headers are the ones a client sees.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import jsonschema
import pytest
from aiohttp import web
from PIL import Image

from dalle_frame_server.api.app import create_app
from dalle_frame_server.api.openapi import openapi_document
from dalle_frame_server.settings import ServerSettings
from tests.server.conftest import AUTH, TOKEN
from tests.server.helpers import wait_until_ready

PROMPT = {"prompt": "a lighthouse at dusk", "seed": 7}

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _json_schema(schema: object) -> object:
    """Turn an OpenAPI 3.0 schema into JSON Schema (`nullable` becomes a null alternative)."""
    if isinstance(schema, list):
        return [_json_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    converted = {key: _json_schema(value) for key, value in schema.items() if key != "nullable"}
    return {"anyOf": [converted, {"type": "null"}]} if schema.get("nullable") else converted


def assert_upscaler_matches_the_health_schema(upscaler: object) -> None:
    """Validate health's generator.upscaler against the served OpenAPI document."""
    health = openapi_document("test", token_required=True)["components"]["schemas"]["Health"]
    schema = health["properties"]["generator"]["properties"]["upscaler"]
    jsonschema.validate(upscaler, _json_schema(schema))


@pytest.fixture
async def upscaling_client(aiohttp_client, models_dir: Path):
    """A ready server: test model, test upscaler, no ASR."""
    settings = ServerSettings(
        models_dir=models_dir, model="test", asr_model="none", upscaler="test", token=TOKEN
    )
    client = await aiohttp_client(create_app(settings))
    await wait_until_ready(client)
    return client


async def test_a_256_picture_asked_as_800x480_comes_back_800x480(upscaling_client) -> None:
    """Upscaled to exactly the panel's size, the time in a header; health shows the upscaler."""
    response = await upscaling_client.post(
        "/v1/generate", json={**PROMPT, "width": 800, "height": 480}, headers=AUTH
    )
    assert response.status == 200, await response.text()
    assert response.headers["X-Image-Width"] == "800"
    assert response.headers["X-Image-Height"] == "480"
    assert float(response.headers["X-Upscale-Seconds"]) >= 0
    with Image.open(io.BytesIO(await response.read())) as picture:
        assert picture.size == (800, 480)
    health = await (await upscaling_client.get("/v1/health")).json()
    assert health["generator"]["upscaler"] == {
        "model": "test",
        "scale": 4,
        "ready": True,
        "error": None,
    }
    assert_upscaler_matches_the_health_schema(health["generator"]["upscaler"])


async def test_upscale_false_returns_the_painted_picture(upscaling_client) -> None:
    """`upscale: false` keeps min-dalle's 256x256 square and sends no upscale time."""
    response = await upscaling_client.post(
        "/v1/generate",
        json={**PROMPT, "width": 800, "height": 480, "upscale": False},
        headers=AUTH,
    )
    assert response.status == 200, await response.text()
    assert "X-Upscale-Seconds" not in response.headers
    with Image.open(io.BytesIO(await response.read())) as picture:
        assert picture.size == (256, 256)


async def test_ndjson_result_carries_the_upscaled_size(upscaling_client) -> None:
    """The streamed result line has the upscaled width, height and upscale_seconds."""
    response = await upscaling_client.post(
        "/v1/generate",
        json={**PROMPT, "width": 480, "height": 800},
        headers={**AUTH, "Accept": "application/x-ndjson"},
    )
    assert response.status == 200, await response.text()
    lines = [json.loads(line) for line in (await response.text()).splitlines() if line]
    result = lines[-1]
    assert result["type"] == "result", result
    assert (result["width"], result["height"]) == (480, 800)
    assert result["upscale_seconds"] >= 0


async def test_a_failed_upscaler_download_leaves_generation_working(
    aiohttp_client, aiohttp_server, tmp_path: Path, models_dir: Path
) -> None:
    """A 404 for the upscaler: health says why, pictures come as painted, generation goes on."""
    missing = web.Application()
    server = await aiohttp_server(missing)  # every path answers 404
    test_model = models_dir / "test"
    models = tmp_path / "models"
    models.mkdir()
    (models / "test").symlink_to(test_model)  # the test model as built; no upscaler file
    settings = ServerSettings(
        models_dir=models,
        model="test",
        asr_model="none",
        upscaler="realesr-general-x4v3",
        upscaler_download_url=str(server.make_url("")),
        token=TOKEN,
    )
    client = await aiohttp_client(create_app(settings))
    health = await wait_until_ready(client)
    upscaler = health["generator"]["upscaler"]
    assert upscaler["model"] == "realesr-general-x4v3" and upscaler["ready"] is False
    assert upscaler["scale"] == 4  # health's schema: an integer even while it is missing
    assert_upscaler_matches_the_health_schema(upscaler)
    assert "HTTP 404" in upscaler["error"]
    response = await client.post(
        "/v1/generate", json={**PROMPT, "width": 800, "height": 480}, headers=AUTH
    )
    assert response.status == 200, await response.text()
    assert "X-Upscale-Seconds" not in response.headers
    assert response.headers["X-Image-Width"] == "256"
