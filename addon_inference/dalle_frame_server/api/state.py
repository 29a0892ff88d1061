"""What the handlers share: settings, the two model slots, the queue, the ASR lock."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Final

from aiohttp import web

from ..asr.base import Transcriber
from ..generation.text_to_image import TextToImage
from ..model_slot import ModelSlot
from ..settings import ServerSettings
from .generation_queue import GenerationQueue


@dataclass(eq=False)
class ServerState:
    """The running server's shared objects (one per application)."""

    settings: ServerSettings
    generator: ModelSlot[TextToImage]
    transcriber: ModelSlot[Transcriber]
    queue: GenerationQueue
    asr_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    """ASR runs beside generation, one transcription at a time."""


STATE: Final = web.AppKey("dalle_frame_state", ServerState)
