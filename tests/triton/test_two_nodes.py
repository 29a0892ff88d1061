"""The front with two Triton nodes: spreading, a node killed mid-run, skipping and probing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from .conftest import generate_lines
from .processes import TritonFrontProcess, TritonNodeProcess

pytestmark = pytest.mark.timeout(400)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[dict[str, Any]]:
    """Two nodes (first and second in the front's list) and the front."""
    work_dir = tmp_path_factory.mktemp("two-nodes")
    first = TritonNodeProcess("node-a", work_dir, models_dir)
    second = TritonNodeProcess("node-b", work_dir, models_dir)
    # Probes 20 s apart: a node killed right after one is still believed up by the front.
    front = TritonFrontProcess(work_dir, [first.url, second.url], probe_seconds=20)

    async def start() -> None:
        async with aiohttp.ClientSession() as session:
            await first.wait_ready(session)
            await second.wait_ready(session)
            await front.wait_nodes_up(session, 2)

    first.start()
    second.start()
    front.start()
    try:
        asyncio.run(start())
        yield {"first": first, "second": second, "front": front}
    finally:
        front.stop()
        first.stop()
        second.stop()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP client session."""
    async with aiohttp.ClientSession() as client:
        yield client


def nodes_of(health: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Health's nodes by URL."""
    return {node["url"]: node for node in health["generator"]["triton"]["nodes"]}


async def test_node_killed_mid_run_fails_its_request_only(
    stack: dict[str, Any], session: aiohttp.ClientSession
) -> None:
    """Two requests spread over both nodes; killing one fails only its request, clearly.

    Afterwards the dead node is skipped (the next request works on the other one), and once
    it is started again a probe brings it back.
    """
    first, second, front = stack["first"], stack["second"], stack["front"]
    started = asyncio.Event()

    async def on_first_line(line: dict[str, Any]) -> None:
        if line["type"] == "progress":
            started.set()

    # Both idle: the first in the list takes the first request; it is then full (capacity 1).
    doomed = asyncio.create_task(
        generate_lines(session, front.url, front.headers, {"prompt": "a", "seed": 1}, on_first_line)
    )
    await asyncio.wait_for(started.wait(), 120)
    health = await front.health(session)
    assert nodes_of(health)[first.url]["in_flight"] == 1
    survivor = asyncio.create_task(
        generate_lines(session, front.url, front.headers, {"prompt": "b", "seed": 2})
    )
    await asyncio.sleep(1.0)
    assert nodes_of(await front.health(session))[second.url]["in_flight"] == 1
    first.kill()

    lines = await asyncio.wait_for(doomed, 60)  # never hangs
    assert lines[0]["type"] == "progress"
    error = lines[-1]
    assert error["type"] == "error", error
    assert error["error"]["code"] == "model_failed"
    assert first.url in error["error"]["message"]
    assert "try again" in error["error"]["message"]

    lines = await asyncio.wait_for(survivor, 180)
    assert lines[-1]["type"] == "result"
    assert lines[-1]["seed"] == 2

    nodes = nodes_of(await front.health(session))
    assert not nodes[first.url]["up"] and nodes[first.url]["error"]
    assert nodes[second.url]["up"] and nodes[second.url]["completed"] == 1

    # The dead node is skipped: the next request goes to the live one.
    lines = await generate_lines(session, front.url, front.headers, {"prompt": "c", "seed": 3})
    assert lines[-1]["type"] == "result"
    assert nodes_of(await front.health(session))[second.url]["completed"] == 2

    # Started again on the same ports, the probes bring it back.
    first.start()
    await first.wait_ready(session)
    await front.wait_nodes_up(session, 2)


async def test_request_retried_on_another_node_when_nothing_was_streamed(
    stack: dict[str, Any], session: aiohttp.ClientSession
) -> None:
    """A node that dies before the front's next probe: the request moves to the other node."""
    first, second, front = stack["first"], stack["second"], stack["front"]
    await front.wait_nodes_up(session, 2)
    before = nodes_of(await front.health(session))[second.url]["completed"]
    failed_before = nodes_of(await front.health(session))[first.url]["failed"]
    first.kill()  # the front still believes it up until its next probe (20 s)
    lines = await generate_lines(session, front.url, front.headers, {"prompt": "d", "seed": 4})
    assert lines[-1]["type"] == "result", lines[-1]
    nodes = nodes_of(await front.health(session))
    assert nodes[second.url]["completed"] == before + 1
    assert nodes[first.url]["failed"] == failed_before + 1  # tried there first, then moved
    assert not nodes[first.url]["up"]


async def test_no_node_up_answers_503_and_never_hangs(
    stack: dict[str, Any], session: aiohttp.ClientSession
) -> None:
    """With every node down (the front learns it from the failed tries): 503, Retry-After."""
    first, second, front = stack["first"], stack["second"], stack["front"]
    first.kill()
    second.kill()
    async with session.post(
        f"{front.url}/v1/generate",
        json={"prompt": "e", "seed": 5},
        headers=front.headers,
        timeout=aiohttp.ClientTimeout(total=30),
    ) as response:
        assert response.status == 503
        assert (await response.json())["error"]["code"] == "model_loading"
        assert response.headers["Retry-After"]
    health = await front.health(session)
    assert not any(node["up"] for node in nodes_of(health).values())
    # Health says so too: loading (as while a local model loads), with the reason.
    assert health["status"] == "loading"
    assert "no Triton node is up" in health["generator"]["error"]
