"""A node behind the front: the upscaler on the node, and cancelling when a client leaves.

One node (`--backend int8`, which batches 1-image requests, `--upscaler test`), the front, and
the single-process server with the same options as the reference.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest
import tritonclient.grpc.aio as triton_grpc

from tests.stack import ROOT, wait_for

from .conftest import generate_lines
from .processes import SERVER_PYTHON, TritonFrontProcess, TritonNodeProcess

pytestmark = pytest.mark.timeout(600)

OPTIONS = ["--backend", "int8", "--upscaler", "test"]
PANEL = {"prompt": "a harbour at dawn", "seed": 4242, "width": 800, "height": 480, "upscale": True}
"""A panel-sized picture: painted at 256 x 256, then upscaled to 800 x 480."""
STOPPED = re.compile(r"Stopped job (\w+) at step (\d+)")


def build_test_upscaler(models_dir: Path) -> None:
    """Export the test upscaler once, before the node and the reference would both export it."""
    subprocess.run(
        [
            str(SERVER_PYTHON),
            "-c",
            "import sys; from pathlib import Path; "
            "from dalle_frame_server.upscaling.tiny_model import ensure_test_upscaler; "
            "ensure_test_upscaler(Path(sys.argv[1]))",
            str(models_dir),
        ],
        check=True,
        cwd=ROOT,
    )


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[dict[str, Any]]:
    """The node, the front and the reference, all with the int8 backend and the test upscaler."""
    build_test_upscaler(models_dir)
    work_dir = tmp_path_factory.mktemp("cancel-upscale")
    # The batcher waits up to 1 s for a second request, so two sent together share a turn.
    node = TritonNodeProcess(
        "node",
        work_dir,
        models_dir,
        asr_model="none",
        extra_args=[*OPTIONS, "--max-queue-delay-ms", "1000"],
    )
    front = TritonFrontProcess(work_dir, [node.url], extra_args=["--asr-model", "none"])
    reference = TritonFrontProcess(
        work_dir / "reference",
        [],
        python=SERVER_PYTHON,
        models_dir=models_dir,
        extra_args=[*OPTIONS, "--asr-model", "none"],
    )
    reference.work_dir.mkdir()

    async def start() -> None:
        async with aiohttp.ClientSession() as session:
            await node.wait_ready(session)
            await front.wait_nodes_up(session, 1)

            async def reference_ready() -> bool:
                return (await reference.health(session))["status"] == "ok"

            await wait_for(reference_ready, "the reference server", 300, reference.process)

    node.start()
    front.start()
    reference.start()
    try:
        asyncio.run(start())
        yield {"node": node, "front": front, "reference": reference, "pngs": {}}
    finally:
        front.stop()
        node.kill()  # a picture a failed test left running would delay a clean stop
        reference.stop()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP client session that reads long lines (an upscaled PNG's result line is ~1 MB)."""
    async with aiohttp.ClientSession(read_bufsize=2**22) as client:
        yield client


async def reference_png(
    stack: dict[str, Any], session: aiohttp.ClientSession, body: dict[str, Any]
) -> bytes:
    """The single-process server's PNG for `body` (asked once per body)."""
    key = json.dumps(body, sort_keys=True)
    if key not in stack["pngs"]:
        reference = stack["reference"]
        async with session.post(
            f"{reference.url}/v1/generate", json=body, headers=reference.headers
        ) as response:
            assert response.status == 200, await response.text()
            assert response.headers["X-Image-Width"] == str(body.get("width", 256))
            stack["pngs"][key] = await response.read()
    png: bytes = stack["pngs"][key]
    return png


async def node_info(node: TritonNodeProcess) -> dict[str, Any]:
    """Ask the node's `dalle_frame_info` model directly."""
    query = triton_grpc.InferInput("query", [1], "BYTES")
    query.set_data_from_numpy(np.array([b"info"], dtype=object))
    client = triton_grpc.InferenceServerClient(f"127.0.0.1:{node.grpc_port}")
    try:
        result = await client.infer("dalle_frame_info", [query], client_timeout=10)
    finally:
        await client.close()
    info: dict[str, Any] = json.loads(bytes(result.as_numpy("info").reshape(-1)[0]))
    return info


async def wait_stopped(node: TritonNodeProcess, count: int) -> dict[str, int]:
    """Wait until the node counts `count` requests stopped mid-generation; return the counts."""

    async def stopped() -> dict[str, int] | None:
        counts: dict[str, int] = (await node_info(node))["cancellations"]
        return counts if counts["stopped"] >= count else None

    counts: dict[str, int] = await wait_for(
        stopped, f"the node to stop {count} request(s)", 120, node.process
    )
    return counts


def node_log(node: TritonNodeProcess) -> str:
    """The node's log so far."""
    return (node.work_dir / f"{node.name}.log").read_text(errors="replace")


async def leave_after(
    session: aiohttp.ClientSession, front: TritonFrontProcess, body: dict[str, Any], step: int
) -> int:
    """Stream a generation and close the connection once `step` was reported; return the step."""
    async with session.post(
        f"{front.url}/v1/generate",
        json=body,
        headers={**front.headers, "Accept": "application/x-ndjson"},
    ) as response:
        assert response.status == 200, await response.text()
        async for raw in response.content:
            line = json.loads(raw)
            assert line["type"] == "progress", line
            if line["step"] >= step:
                response.close()  # the client leaves mid-generation
                return int(line["step"])
    raise AssertionError("the stream ended before the step to leave at")


async def test_node_upscales_as_the_single_process_server(
    stack: dict[str, Any], session: aiohttp.ClientSession
) -> None:
    """`upscale: true` through the front: the panel size, the reference's PNG, health alike."""
    front, reference = stack["front"], stack["reference"]
    lines = await generate_lines(session, front.url, front.headers, PANEL)
    result = lines[-1]
    assert result["type"] == "result", result
    assert (result["width"], result["height"]) == (800, 480)
    assert result["upscale_seconds"] is not None and result["upscale_seconds"] > 0
    assert base64.b64decode(result["png_base64"]) == await reference_png(stack, session, PANEL)

    front_health = (await front.health(session))["generator"]
    reference_health = (await reference.health(session))["generator"]
    assert front_health["upscaler"] == reference_health["upscaler"]
    assert front_health["upscaler"] == {"model": "test", "scale": 4, "ready": True, "error": None}


async def test_client_leaving_stops_the_node(
    stack: dict[str, Any], session: aiohttp.ClientSession
) -> None:
    """The front cancels on the node at once; the node drops the picture long before its end."""
    front, node = stack["front"], stack["node"]
    before = (await node_info(node))["cancellations"]
    left_at = await leave_after(session, front, {"prompt": "a storm", "seed": 5}, step=5)
    counts = await wait_stopped(node, before["stopped"] + 1)
    assert counts["received"] == before["received"] + 1
    job_id, step = STOPPED.findall(node_log(node))[-1]
    assert left_at <= int(step) < 128, f"job {job_id} stopped at step {step} of 256"
    health = await front.health(session)
    (state,) = health["generator"]["triton"]["nodes"]
    assert state["cancelled"] >= 1
    assert state["failed"] == 0
    # The node is free again: the next picture is not held behind the abandoned one.
    lines = await generate_lines(session, front.url, front.headers, {"prompt": "calm", "seed": 6})
    assert lines[-1]["type"] == "result"


async def test_the_other_request_of_the_batch_survives(
    stack: dict[str, Any], session: aiohttp.ClientSession
) -> None:
    """Two requests in one Triton turn; one client leaves; the other's PNG is the reference's."""
    front, node = stack["front"], stack["node"]
    before = (await node_info(node))["cancellations"]
    batches = node_log(node).count("Triton batched 2 requests into 1 turn(s)")
    staying = asyncio.create_task(generate_lines(session, front.url, front.headers, PANEL))
    left_at = await leave_after(session, front, {"prompt": "a storm", "seed": 7}, step=10)
    lines = await staying
    assert node_log(node).count("Triton batched 2 requests into 1 turn(s)") == batches + 1
    counts = await wait_stopped(node, before["stopped"] + 1)
    assert counts["stopped"] == before["stopped"] + 1
    _job_id, step = STOPPED.findall(node_log(node))[-1]
    assert left_at <= int(step) < 256
    result = lines[-1]
    assert result["type"] == "result", result
    assert [line["step"] for line in lines if line["type"] == "progress"][-1] == 256
    assert base64.b64decode(result["png_base64"]) == await reference_png(stack, session, PANEL)


async def test_a_request_cancelled_while_it_waits_is_skipped(
    stack: dict[str, Any], session: aiohttp.ClientSession
) -> None:
    """A second request waits on the node behind a running one; its client leaves: never run."""
    front, node = stack["front"], stack["node"]
    before = (await node_info(node))["cancellations"]
    first_step = asyncio.Event()

    async def on_line(line: dict[str, Any]) -> None:
        if line["type"] == "progress":
            first_step.set()

    running = asyncio.create_task(
        generate_lines(session, front.url, front.headers, {"prompt": "first", "seed": 8}, on_line)
    )
    await asyncio.wait_for(first_step.wait(), 120)  # its turn began: the next one cannot join
    async with session.post(
        f"{front.url}/v1/generate",
        json={"prompt": "second", "seed": 9},
        headers={**front.headers, "Accept": "application/x-ndjson"},
    ) as response:
        assert response.status == 200

        async def both_on_the_node() -> bool:
            # Past Triton's batcher (a request cancelled there is dropped by Triton itself).
            return bool((await node_info(node))["requests_on_node"] == 2)

        await wait_for(both_on_the_node, "the second request in the node's model", 30)
        response.close()  # the client leaves before its picture began
    lines = await running
    assert lines[-1]["type"] == "result", lines[-1]

    async def skipped() -> dict[str, int] | None:
        counts: dict[str, int] = (await node_info(node))["cancellations"]
        return counts if counts["skipped"] > before["skipped"] else None

    counts = await wait_for(skipped, "the node to skip the cancelled request", 60, node.process)
    assert counts["skipped"] == before["skipped"] + 1
    assert counts["stopped"] == before["stopped"]
    assert "Skipped job" in node_log(node)
