"""The generation queue under load, model failures, and the 503 while models load."""

from __future__ import annotations

import asyncio
import gc
import json

import torch

from dalle_frame_server.api.state import STATE
from tests.server.conftest import AUTH
from tests.server.helpers import make_wav, rss_bytes, wait_for, wait_until_ready


async def test_fifty_requests_against_a_queue_of_four(client, loaders) -> None:
    """One runs, four wait and are served in arrival order, the other 45 get 429 at once."""
    backend = loaders.backend
    queue = client.server.app[STATE].queue
    # Warm up so that the memory baseline includes everything a generation allocates.
    assert (
        await client.post("/v1/generate", json={"prompt": "warm", "seed": 1}, headers=AUTH)
    ).status == 200
    gc.collect()
    baseline = rss_bytes()

    backend.close_gate()
    backend.decode_seeds.clear()
    accepted = [
        asyncio.create_task(
            client.post("/v1/generate", json={"prompt": "queued", "seed": 100}, headers=AUTH)
        )
    ]
    await wait_for(lambda: backend.decode_seeds == [100])
    for index in range(1, 5):
        accepted.append(
            asyncio.create_task(
                client.post(
                    "/v1/generate", json={"prompt": "queued", "seed": 100 + index}, headers=AUTH
                )
            )
        )
        await wait_for(lambda index=index: queue.waiting == index)
    health = await (await client.get("/v1/health")).json()
    assert health["generator"]["queue"] == {"running": True, "waiting": 4, "size": 4}

    rejected = await asyncio.gather(
        *(
            client.post("/v1/generate", json={"prompt": "too many", "seed": 200 + n}, headers=AUTH)
            for n in range(45)
        )
    )
    assert {response.status for response in rejected} == {429}
    body = await rejected[0].json()
    assert body["error"]["code"] == "queue_full"
    assert "try again" in body["error"]["message"]

    backend.open_gate()
    responses = await asyncio.gather(*accepted)
    assert [response.status for response in responses] == [200] * 5
    assert [int(response.headers["X-Seed"]) for response in responses] == list(range(100, 105))
    assert backend.decode_seeds == list(range(100, 105))  # first in, first out
    for response in responses:
        await response.read()
    await wait_for(lambda: not queue.running and queue.waiting == 0)

    gc.collect()
    grown = rss_bytes() - baseline
    assert grown < 150 * 2**20, f"memory grew by {grown / 2**20:.0f} MiB after the burst"


async def test_model_failure_fails_one_request_and_the_next_works(client, loaders) -> None:
    """A model error and an out-of-memory each fail their request (JSON 500); then all is well."""
    loaders.backend.failures = [
        RuntimeError("injected model error"),
        torch.OutOfMemoryError("CUDA out of memory (injected)"),
    ]
    response = await client.post("/v1/generate", json={"prompt": "boom", "seed": 3}, headers=AUTH)
    assert response.status == 500
    body = await response.json()
    assert body["error"]["code"] == "model_failed"
    assert "injected model error" in body["error"]["message"]

    response = await client.post(
        "/v1/generate",
        json={"prompt": "boom", "seed": 3},
        headers={"Accept": "application/x-ndjson", **AUTH},
    )
    assert response.status == 200
    lines = [json.loads(line) for line in (await response.text()).splitlines()]
    assert lines[-1]["type"] == "error"
    assert lines[-1]["error"]["code"] == "out_of_memory"
    assert "grid_size" in lines[-1]["error"]["message"]

    response = await client.post("/v1/generate", json={"prompt": "fine", "seed": 3}, headers=AUTH)
    assert response.status == 200
    queue = client.server.app[STATE].queue
    assert (queue.completed, queue.failed) == (1, 2)
    health = await (await client.get("/v1/health")).json()
    assert health["status"] == "ok"


async def test_503_with_retry_after_while_models_load(make_client, loaders) -> None:
    """Until the models are loaded, health says loading and both endpoints answer 503."""
    loaders.generator_gate.clear()
    loaders.transcriber_gate.clear()
    client = await make_client(wait_ready=False)

    health = await (await client.get("/v1/health")).json()
    assert health["status"] == "loading"
    assert health["generator"]["ready"] is False
    assert health["generator"]["detail"] == "waiting for the test to let the generator load"
    assert health["asr"]["ready"] is False

    response = await client.post("/v1/generate", json={"prompt": "early"}, headers=AUTH)
    assert response.status == 503
    assert response.headers["Retry-After"] == "5"
    assert (await response.json())["error"]["code"] == "model_loading"
    # Bad input is still refused as such while loading (HA checks its token this way).
    response = await client.post("/v1/generate", json={"prompt": ""}, headers=AUTH)
    assert response.status == 400

    wav = {"Content-Type": "audio/wav", **AUTH}
    response = await client.post("/v1/transcribe", data=make_wav(), headers=wav)
    assert response.status == 503
    assert int(response.headers["Retry-After"]) > 0

    loaders.transcriber_gate.set()
    await wait_for(lambda: client.server.app[STATE].transcriber.model is not None)
    assert (await client.post("/v1/transcribe", data=make_wav(), headers=wav)).status == 200
    assert (await (await client.get("/v1/health")).json())["status"] == "loading"

    loaders.generator_gate.set()
    health = await wait_until_ready(client)
    assert health["generator"]["ready"] is True
    assert health["generator"]["device"] == "cpu"
    assert health["generator"]["dtype"] == "float32"


async def test_asr_runs_beside_a_generation(client, loaders) -> None:
    """A transcription is answered while a generation holds the device."""
    loaders.backend.close_gate()
    generation = asyncio.create_task(
        client.post("/v1/generate", json={"prompt": "long", "seed": 5}, headers=AUTH)
    )
    await wait_for(lambda: loaders.backend.decode_seeds == [5])
    response = await client.post(
        "/v1/transcribe", data=make_wav(), headers={"Content-Type": "audio/wav", **AUTH}
    )
    assert response.status == 200
    assert not generation.done()
    loaders.backend.failures = [RuntimeError("stop here: this test only needed it running")]
    loaders.backend.open_gate()
    assert (await generation).status == 500
