"""Triton mode of the normal server: the loaders, queue and probing `create_app` uses instead.

`create_app` builds a `TritonFront` when the settings name Triton nodes (`--triton-url`): the
generator "loads" when a node is up and has said what it serves (until then the API answers
503 model_loading, as while a local model loads), the ASR likewise, and the generation queue
is `RemoteGenerationQueue`. The HTTP layer is unchanged.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from typing import Any, Final

from aiohttp import web

from ..asr.base import Transcriber
from ..errors import ModelNotAvailableError
from ..generation.text_to_image import TextToImage
from ..model_slot import ModelSlot, SlotState
from ..settings import ServerSettings
from .nodes import NodePool
from .remote_models import RemoteTextToImage, RemoteTranscriber
from .remote_queue import RemoteGenerationQueue

PROBE_SECONDS: Final = float(os.environ.get("DALLE_FRAME_TRITON_PROBE_SECONDS", "2"))
"""How often the nodes are probed (a node that comes back serves again within this)."""
STALL_SECONDS: Final = 120.0
"""A node silent this long during a generation counts as failed (no step is that slow)."""


class TritonFront:
    """The nodes, the remote queue and the loaders for one application."""

    def __init__(self, settings: ServerSettings) -> None:
        self.pool = NodePool(settings.triton_urls, probe_seconds=PROBE_SECONDS)
        self.queue = RemoteGenerationQueue(
            settings.queue_size, self.pool, stall_seconds=STALL_SECONDS
        )
        self._generator_slot: ModelSlot[TextToImage] | None = None
        self._generator: TextToImage | None = None

    async def running(self, _app: web.Application) -> AsyncIterator[None]:
        """Probe the nodes while the application runs (an aiohttp cleanup context)."""
        tasks = [
            asyncio.create_task(self.pool.run(), name="probe triton nodes"),
            asyncio.create_task(self._follow_nodes(), name="follow triton nodes"),
        ]
        yield
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.pool.close()

    async def generator_loader(
        self, _settings: ServerSettings, slot: ModelSlot[TextToImage]
    ) -> TextToImage:
        """Wait for a node that is up, then describe its generator."""
        info = await self._first_info(slot)
        slot.name = str(info["model"])
        self._generator_slot, self._generator = slot, RemoteTextToImage(info, self.pool)
        return self._generator

    async def transcriber_loader(
        self, _settings: ServerSettings, slot: ModelSlot[Transcriber]
    ) -> Transcriber:
        """Wait for a node that is up; fail when the nodes serve no ASR."""
        info = await self._first_info(slot)
        if not info.get("asr"):
            raise ModelNotAvailableError(
                f"the Triton nodes serve no ASR model ({info.get('asr_error')})"
            )
        transcriber = RemoteTranscriber(info["asr"], self.pool)
        slot.name = transcriber.model_name
        return transcriber

    async def _follow_nodes(self) -> None:
        """Keep the generator "loading" (503, health "loading") while no node is up."""
        while True:
            await self.pool.wait_change()
            slot, model = self._generator_slot, self._generator
            if slot is None or model is None:
                continue
            up = bool(self.pool.up_nodes())
            if up and slot.state is SlotState.LOADING:
                slot.set_ready(model)
            elif not up and slot.state is SlotState.READY:
                slot.set_failed(f"no Triton node is up: {self.pool.summary()}", retrying=True)

    async def _first_info(self, slot: ModelSlot[Any]) -> dict[str, Any]:
        """Return the info of the first node found up (all nodes should serve the same models)."""
        while True:
            nodes = self.pool.up_nodes()
            if nodes and nodes[0].info is not None:
                return nodes[0].info
            slot.set_detail(f"waiting for a Triton node: {self.pool.summary()}")
            await self.pool.wait_change()
