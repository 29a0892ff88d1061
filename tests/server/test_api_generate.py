"""POST /v1/generate through the real app: PNG, NDJSON stream, seeds, grid sizes, disconnects."""

from __future__ import annotations

import asyncio
import base64
import io
import json

import pytest
from PIL import Image

from dalle_frame_server.api.state import STATE
from tests.server.conftest import AUTH
from tests.server.helpers import wait_for

NDJSON = {"Accept": "application/x-ndjson", **AUTH}


async def _stream_lines(response) -> list[dict]:
    """Read a whole NDJSON response."""
    lines = []
    async for raw in response.content:
        if raw.strip():
            lines.append(json.loads(raw))
    return lines


async def test_png_then_stream_same_seed_same_image(client) -> None:
    """A random seed is reported; the stream with that seed paints the same PNG, step by step."""
    response = await client.post("/v1/generate", json={"prompt": "a lighthouse"}, headers=AUTH)
    assert response.status == 200
    assert response.content_type == "image/png"
    seed = int(response.headers["X-Seed"])
    assert 1 <= seed < 2**31
    assert float(response.headers["X-Generation-Seconds"]) > 0
    png = await response.read()
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    assert image.size == (256, 256)
    assert image.mode == "RGB"

    response = await client.post(
        "/v1/generate", json={"prompt": "a lighthouse", "seed": seed}, headers=NDJSON
    )
    assert response.status == 200
    assert response.content_type == "application/x-ndjson"
    lines = await _stream_lines(response)
    progress, result = lines[:-1], lines[-1]
    assert [line["step"] for line in progress] == list(range(1, 257))
    assert all(
        line == {"type": "progress", "step": line["step"], "total": 256} for line in progress
    )
    assert result["type"] == "result"
    assert result["seed"] == seed
    assert result["seconds"] > 0
    assert (result["width"], result["height"], result["upscale_seconds"]) == (256, 256, None)
    assert base64.b64decode(result["png_base64"]) == png


@pytest.mark.slow
async def test_grid_size_three_is_a_768_pixel_square(client) -> None:
    """grid_size 3 paints 9 images in one 768x768 PNG."""
    response = await client.post(
        "/v1/generate", json={"prompt": "tiles", "seed": 9, "grid_size": 3}, headers=AUTH
    )
    assert response.status == 200
    assert Image.open(io.BytesIO(await response.read())).size == (768, 768)


async def test_client_leaving_the_stream_stops_its_generation(client) -> None:
    """A client that disconnects mid-stream frees the device; the next request works."""
    queue = client.server.app[STATE].queue
    response = await client.post("/v1/generate", json={"prompt": "gone", "seed": 1}, headers=NDJSON)
    assert response.status == 200
    first = json.loads(await response.content.readline())
    assert first["type"] == "progress"
    response.close()  # drop the connection mid-stream
    await wait_for(lambda: not queue.running)
    assert queue.completed == 0  # stopped, not finished

    response = await client.post("/v1/generate", json={"prompt": "next", "seed": 2}, headers=AUTH)
    assert response.status == 200
    assert queue.completed == 1


async def test_waiting_request_whose_client_left_is_skipped(client, loaders) -> None:
    """A queued request whose client went away before its turn never runs."""
    backend = loaders.backend
    queue = client.server.app[STATE].queue
    backend.close_gate()
    running = asyncio.create_task(
        client.post("/v1/generate", json={"prompt": "first", "seed": 11}, headers=AUTH)
    )
    await wait_for(lambda: backend.decode_seeds == [11])
    for accept in (AUTH, NDJSON):
        leaving = asyncio.create_task(
            client.post("/v1/generate", json={"prompt": "leaves", "seed": 12}, headers=accept)
        )
        await wait_for(lambda: queue.waiting == 1)
        leaving.cancel()  # the client disconnects while its request waits
        await wait_for(lambda: queue._waiting._queue[0].abandoned)
        await asyncio.sleep(0)
    backend.open_gate()
    assert (await running).status == 200
    await wait_for(lambda: not queue.running and queue.waiting == 0)
    assert backend.decode_seeds == [11]
    assert queue.completed == 1


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            {"prompt": "🐱 on a 🌊, ünïcödé", "temperature": 1e-6, "top_k": 1,
             "supercondition_factor": 64},
            id="cold, top_k 1, emoji",
        ),
        pytest.param(
            {"prompt": "x" * 255, "temperature": 1e6, "top_k": 16384,
             "supercondition_factor": 1},
            id="hot, every token, 255 characters",
        ),
    ],
)  # fmt: skip
async def test_extreme_valid_values_paint(client, body: dict) -> None:
    """The edges of every range paint an image (no NaN, no crash in the sampler)."""
    response = await client.post("/v1/generate", json={**body, "seed": 8}, headers=AUTH)
    assert response.status == 200
    assert Image.open(io.BytesIO(await response.read())).size == (256, 256)


async def test_min_dalle_paints_its_square_for_a_panel_size_and_refuses_steps(client) -> None:
    """A panel's size is welcome (min-dalle paints 256 square, no upscaler here); steps: 400."""
    response = await client.post(
        "/v1/generate",
        json={"prompt": "a lighthouse", "seed": 3, "width": 800, "height": 480},
        headers=AUTH,
    )
    assert response.status == 200
    assert (response.headers["X-Image-Width"], response.headers["X-Image-Height"]) == (
        "256",
        "256",
    )
    assert "X-Upscale-Seconds" not in response.headers
    assert Image.open(io.BytesIO(await response.read())).size == (256, 256)
    response = await client.post(
        "/v1/generate", json={"prompt": "a lighthouse", "steps": 4}, headers=AUTH
    )
    assert response.status == 400
    error = (await response.json())["error"]
    assert error["code"] == "bad_parameter"
    assert "(min-dalle) has no steps setting" in error["message"]
    health = await (await client.get("/v1/health")).json()
    assert health["generator"]["capabilities"]["family"] == "min-dalle"
    assert health["generator"]["capabilities"]["grid_sizes"] == [1, 2, 3]
    assert health["generator"]["upscaler"] is None
