"""The front with one Triton node: same pictures, progress, ASR, token and errors as today."""

from __future__ import annotations

import asyncio
import base64
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.stack import GpuServer

from .conftest import generate_lines, wav_bytes
from .processes import TritonFrontProcess, TritonNodeProcess

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[dict[str, Any]]:
    """One node, the front, and the single-process server (the reference) on the same files."""
    work_dir = tmp_path_factory.mktemp("one-node")
    node = TritonNodeProcess("node", work_dir, models_dir)
    front = TritonFrontProcess(work_dir, [node.url])
    reference = GpuServer(work_dir / "reference", models_dir=models_dir)
    reference.work_dir.mkdir()

    async def start() -> None:
        async with aiohttp.ClientSession() as session:
            await reference.start(session)
            await node.wait_ready(session)
            await front.wait_nodes_up(session, 1)

    node.start()
    front.start()
    try:
        asyncio.run(start())
        yield {"node": node, "front": front, "reference": reference}
    finally:
        front.stop()
        node.kill()  # a picture the last test left running would delay a clean stop
        reference.stop()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP client session."""
    async with aiohttp.ClientSession() as client:
        yield client


async def test_same_picture_and_progress_as_the_single_process_server(
    stack: dict[str, Any], session: aiohttp.ClientSession
) -> None:
    """Through Triton the PNG is byte for byte the single-process server's, for the seed."""
    front, reference = stack["front"], stack["reference"]
    body = {"prompt": "a lighthouse at dusk", "seed": 1234}
    lines = await generate_lines(session, front.url, front.headers, body)
    steps = [line["step"] for line in lines if line["type"] == "progress"]
    assert steps == sorted(steps)
    assert steps[-1] == 256
    assert len(steps) > 100  # one line per step, not just the last
    result = lines[-1]
    assert result["type"] == "result", result
    assert (result["seed"], result["width"], result["height"]) == (1234, 256, 256)
    async with session.post(
        f"{reference.url}/v1/generate",
        json=body,
        headers={"Authorization": f"Bearer {reference.token}"},
    ) as response:
        assert response.status == 200
        expected = await response.read()
    assert base64.b64decode(result["png_base64"]) == expected

    health = await front.health(session)
    (node,) = health["generator"]["triton"]["nodes"]
    assert node["up"] and node["completed"] == 1 and node["in_flight"] == 0
    assert health["generator"]["capabilities"]["family"] == "min-dalle"
    assert health["generator"]["model"] == "test"


async def test_token_and_bad_input_answer_as_today(
    stack: dict[str, Any], session: aiohttp.ClientSession
) -> None:
    """401 without the token, 400 for a bad body: the front checks before any node works."""
    front = stack["front"]
    async with session.post(f"{front.url}/v1/generate", json={"prompt": "x"}) as response:
        assert response.status == 401
        assert (await response.json())["error"]["code"] == "unauthorized"
    async with session.post(
        f"{front.url}/v1/generate", json={"prompt": "", "seed": 1}, headers=front.headers
    ) as response:
        assert response.status == 400
    async with session.post(
        f"{front.url}/v1/generate",
        json={"prompt": "x", "steps": 4},
        headers=front.headers,
    ) as response:
        assert response.status == 400  # min-dalle has no steps: checked against the node's model
        assert "steps" in (await response.json())["error"]["message"]


async def test_transcription_goes_through_the_node(
    stack: dict[str, Any], session: aiohttp.ClientSession
) -> None:
    """The node's ASR hears what the single-process server's hears."""
    front, reference = stack["front"], stack["reference"]
    answers = []
    for url, token in ((front.url, front.token), (reference.url, reference.token)):
        async with session.post(
            f"{url}/v1/transcribe",
            data=wav_bytes(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "audio/wav"},
        ) as response:
            assert response.status == 200, await response.text()
            answers.append(await response.json())
    assert answers[0]["text"] == answers[1]["text"]
    assert answers[0]["language"] == answers[1]["language"]
    async with session.post(
        f"{front.url}/v1/transcribe",
        data=b"not a wav",
        headers={**front.headers, "Content-Type": "audio/wav"},
    ) as response:
        assert response.status in (400, 415)


async def test_triton_endpoints_answer(
    stack: dict[str, Any], session: aiohttp.ClientSession
) -> None:
    """The node's Triton health, the models' readiness and Prometheus metrics are there."""
    node = stack["node"]
    base = f"http://127.0.0.1:{node.http_port}"
    for path in (
        "/v2/health/live",
        "/v2/health/ready",
        "/v2/models/dalle_frame_generate/ready",
        "/v2/models/dalle_frame_transcribe/ready",
    ):
        async with session.get(base + path) as response:
            assert response.status == 200, path
    async with session.get(f"http://127.0.0.1:{node.metrics_port}/metrics") as response:
        text = await response.text()
    assert 'nv_inference_request_success{model="dalle_frame_generate"' in text


async def test_node_refuses_a_request_it_cannot_read(stack: dict[str, Any]) -> None:
    """A request with a field the node does not know gets a 400 error event, not a hang."""
    import json

    import numpy as np
    import tritonclient.grpc.aio as triton_grpc

    node = stack["node"]
    request = triton_grpc.InferInput("request", [1, 1], "BYTES")
    request.set_data_from_numpy(
        np.array([[b'{"prompt": "x", "seed": 1, "colour": "red"}']], dtype=object)
    )

    async def requests() -> AsyncIterator[dict[str, Any]]:
        yield {"model_name": "dalle_frame_generate", "inputs": [request]}

    client = triton_grpc.InferenceServerClient(f"127.0.0.1:{node.grpc_port}")
    try:
        stream = client.stream_infer(requests())
        answer, error = await asyncio.wait_for(anext(stream), 30)

        async def read_to_the_end() -> None:
            async for _ in stream:
                pass

        # As the front does: a stream cancelled before its end keeps Triton from unloading the
        # model, and the node from stopping (test_node_stops_on_sigterm_after_serving).
        await asyncio.wait_for(read_to_the_end(), 30)
        stream.cancel()
    finally:
        await client.close()
    assert error is None
    event = json.loads(bytes(answer.as_numpy("event").reshape(-1)[0]))
    assert event["type"] == "error"
    assert event["status"] == 400
    assert "colour" in event["message"]


async def test_full_queue_answers_429_as_today(
    stack: dict[str, Any], session: aiohttp.ClientSession
) -> None:
    """One running on the node and queue_size (4) waiting at the front: the next gets 429."""
    front = stack["front"]

    async def generate(seed: int, grid_size: int = 1) -> int:
        async with session.post(
            f"{front.url}/v1/generate",
            json={"prompt": "queue", "seed": seed, "grid_size": grid_size},
            headers=front.headers,
        ) as response:
            await response.read()
            return response.status

    async def queue_reaches(running: bool, waiting: int) -> None:
        for _attempt in range(150):
            queue = (await front.health(session))["generator"]["queue"]
            if queue["running"] == running and queue["waiting"] == waiting:
                return
            await asyncio.sleep(0.2)
        answered = [task.result() for task in tasks if task.done()]
        raise AssertionError(f"the queue is {queue}, answered: {answered}")

    # A 3x3 grid keeps the node busy (nine pictures) while the others queue behind it.
    tasks = [asyncio.create_task(generate(0, grid_size=3))]
    try:
        await queue_reaches(running=True, waiting=0)
        tasks += [asyncio.create_task(generate(seed)) for seed in range(1, 5)]
        await queue_reaches(running=True, waiting=4)
        async with session.post(
            f"{front.url}/v1/generate", json={"prompt": "one too many"}, headers=front.headers
        ) as response:
            assert response.status == 429
            assert (await response.json())["error"]["code"] == "queue_full"
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_node_stops_on_sigterm_after_serving(
    stack: dict[str, Any], session: aiohttp.ClientSession
) -> None:
    """SIGTERM to the node's process alone (docker stop, systemd) stops it cleanly and soon.

    After the jobs above (pictures, cancelled ones too) the front has read every job's stream
    to its end, so tritonserver can unload the generate model instead of waiting out its 30 s
    grace; the node's Python process exits 0 (not killed by the signal).
    """
    front, node = stack["front"], stack["node"]
    for _attempt in range(300):
        health = await front.health(session)
        (state,) = health["generator"]["triton"]["nodes"]
        queue = health["generator"]["queue"]
        if not queue["running"] and not queue["waiting"] and state["in_flight"] == 0:
            break
        await asyncio.sleep(0.2)
    await asyncio.sleep(1)  # the streams' ends follow their last events
    popen = node.process.popen
    started = asyncio.get_running_loop().time()
    popen.send_signal(signal.SIGTERM)
    returncode = await asyncio.to_thread(popen.wait, 60)
    seconds = asyncio.get_running_loop().time() - started
    log = node.process.log_path.read_text(errors="replace")
    assert returncode == 0, log[-3000:]
    assert seconds < 20, f"the node took {seconds:.1f} s to stop: {log[-3000:]}"
    assert "Found 0 live models" in log
