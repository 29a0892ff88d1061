"""The front's view of its Triton nodes: which are up, how busy, and what they serve.

Every node is probed at start and then every `probe_seconds` (Triton's readiness, then the
node's info model once after each start): a node that went down is skipped until a probe finds
it ready again. Work goes to the least loaded node that is up and has a free slot (a node takes
`max_batch_size * instances` requests at once, so Triton's dynamic batcher can join them).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Collection, Sequence
from typing import Any

import numpy as np
import tritonclient.grpc.aio as triton_grpc

from .protocol import INFO_MODEL, INFO_OUTPUT, QUERY_INPUT
from .urls import parse_node_url

_LOGGER = logging.getLogger(__name__)

PROBE_TIMEOUT_SECONDS = 5.0


class TritonNode:
    """One Triton node: its client, state and load."""

    def __init__(self, url: str) -> None:
        self.target = parse_node_url(url)
        self.up = False
        self.in_flight = 0
        self.completed = 0
        self.failed = 0
        self.cancelled = 0
        """Jobs the front cancelled on this node (their clients left)."""
        self.error: str | None = "not reached yet"
        self.info: dict[str, Any] | None = None
        self._client: triton_grpc.InferenceServerClient | None = None

    @property
    def client(self) -> triton_grpc.InferenceServerClient:
        """The node's asyncio gRPC client (made in the event loop on first use)."""
        if self._client is None:
            self._client = triton_grpc.InferenceServerClient(self.target)
        return self._client

    @property
    def capacity(self) -> int:
        """Requests the node takes at once."""
        if self.info is None:
            return 1
        return max(1, int(self.info["max_batch_size"]) * int(self.info["instances"]))

    async def probe(self) -> None:
        """Check readiness (and read the info after a start); mark the node up or down."""
        try:
            ready = await self.client.is_server_ready(client_timeout=PROBE_TIMEOUT_SECONDS)
            if not ready:
                raise ConnectionError("Triton answers but is not ready (loading its models)")
            if self.info is None or not self.up:
                self.info = await self._read_info()
        except Exception as error:  # grpc and tritonclient raise several kinds
            self.mark_down(_reason(error))
            return
        if not self.up:
            _LOGGER.info("Triton node %s is up (%s)", self.target, self.info["model"])
        self.up, self.error = True, None

    async def _read_info(self) -> dict[str, Any]:
        """Ask the node's info model what it serves."""
        query = triton_grpc.InferInput(QUERY_INPUT, [1], "BYTES")
        query.set_data_from_numpy(np.array([b"info"], dtype=object))
        result = await self.client.infer(INFO_MODEL, [query], client_timeout=PROBE_TIMEOUT_SECONDS)
        info: dict[str, Any] = json.loads(bytes(result.as_numpy(INFO_OUTPUT).reshape(-1)[0]))
        return info

    def mark_down(self, reason: str) -> None:
        """Skip the node until a probe finds it ready again."""
        if self.up:
            _LOGGER.warning("Triton node %s is down: %s", self.target, reason)
        self.up, self.error = False, reason

    def as_json(self) -> dict[str, Any]:
        """Return the node as /v1/health shows it."""
        return {
            "url": f"grpc://{self.target}",
            "up": self.up,
            "error": self.error,
            "model": None if self.info is None else self.info["model"],
            "device": None if self.info is None else self.info["device"],
            "in_flight": self.in_flight,
            "capacity": self.capacity,
            "completed": self.completed,
            "failed": self.failed,
            "cancelled": self.cancelled,
        }

    async def close(self) -> None:
        """Close the client's channel."""
        if self._client is not None:
            await self._client.close()
            self._client = None


class NodePool:
    """The nodes, their probing, and the choice of a node for each request."""

    def __init__(self, urls: Sequence[str], *, probe_seconds: float) -> None:
        if not urls:
            raise ValueError("give at least one --triton-url")
        self.nodes = [TritonNode(url) for url in urls]
        self.probe_seconds = probe_seconds
        self._changed = asyncio.Event()

    async def run(self) -> None:
        """Probe every node now and then, forever (cancel the task to stop)."""
        while True:
            await asyncio.gather(*(node.probe() for node in self.nodes))
            self.notify()
            await asyncio.sleep(self.probe_seconds)

    def notify(self) -> None:
        """Wake whoever waits for a node or a free slot."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_change(self) -> None:
        """Wait until a probe ends or a slot frees."""
        await self._changed.wait()

    def up_nodes(self, exclude: Collection[TritonNode] = ()) -> list[TritonNode]:
        """Nodes that are up and have their info, but those excluded."""
        return [node for node in self.nodes if node.up and node.info and node not in exclude]

    async def acquire(self, exclude: Collection[TritonNode] = ()) -> TritonNode | None:
        """Take a slot on the least loaded node that is up; None when no node is up."""
        while True:
            candidates = self.up_nodes(exclude)
            if not candidates:
                return None
            free = [node for node in candidates if node.in_flight < node.capacity]
            if free:
                node = min(free, key=lambda node: node.in_flight / node.capacity)
                node.in_flight += 1
                return node
            await self.wait_change()

    def release(self, node: TritonNode) -> None:
        """Give back a slot taken with `acquire`."""
        node.in_flight -= 1
        self.notify()

    def summary(self) -> str:
        """One line about every node, for messages."""
        return "; ".join(
            f"grpc://{node.target} " + ("up" if node.up else f"down ({node.error})")
            for node in self.nodes
        )

    async def close(self) -> None:
        """Close every client."""
        await asyncio.gather(*(node.close() for node in self.nodes))


def _reason(error: BaseException) -> str:
    """Return a short reason for a failed call (gRPC errors carry a long debug string)."""
    details = getattr(error, "details", None)
    text = details() if callable(details) else str(error)
    return f"{type(error).__name__}: {str(text).splitlines()[0] if text else ''}"
