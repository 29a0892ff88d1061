"""The node's small models: speech to text, and the info the front reads about the node."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..asr.base import Transcriber
from ..generation.text_to_image import TextToImage
from .protocol import INFO_OUTPUT, LANGUAGE_INPUT, LANGUAGE_OUTPUT, SAMPLES_INPUT, TEXT_OUTPUT

_LOGGER = logging.getLogger(__name__)


class TranscriptionModel:
    """Speech to text: one request's samples in, its text out (ASR runs beside generation)."""

    def __init__(self, transcriber: Transcriber) -> None:
        self._transcriber = transcriber
        self._lock = asyncio.Lock()

    async def __call__(self, requests: Sequence[Any]) -> list[dict[str, np.ndarray]]:
        """Transcribe each request in turn, off the proxy's event loop."""
        answers = []
        async with self._lock:
            for request in requests:
                samples = np.asarray(request[SAMPLES_INPUT], dtype=np.float32).reshape(-1)
                language = bytes(request[LANGUAGE_INPUT].reshape(-1)[0]).decode() or None
                heard = await asyncio.to_thread(
                    self._transcriber.transcribe_speech, samples, language
                )
                answers.append(
                    {
                        TEXT_OUTPUT: np.array([heard.text.encode()], dtype=object),
                        LANGUAGE_OUTPUT: np.array([heard.language.encode()], dtype=object),
                    }
                )
        return answers


def node_info(
    generators: Sequence[TextToImage],
    transcriber: Transcriber | None,
    *,
    max_batch_size: int,
    asr_error: str | None,
) -> dict[str, Any]:
    """Return what the front learns about this node (its /v1/health shows it)."""
    generator = generators[0]
    return {
        "model": generator.model_name,
        "device": ",".join(model.device for model in generators),
        "dtype": generator.dtype,
        "capabilities": generator.capabilities.as_json(),
        "describe": generator.describe(),
        "instances": len(generators),
        "max_batch_size": max_batch_size,
        "asr": None
        if transcriber is None
        else {"model": transcriber.model_name, "languages": list(transcriber.languages)},
        "asr_error": asr_error,
    }


class InfoModel:
    """Answers every request with the node's info as JSON (plus `live()`'s counts, if given)."""

    def __init__(
        self, info: dict[str, Any], live: Callable[[], dict[str, Any]] | None = None
    ) -> None:
        self._info = info
        self._live = live

    async def __call__(self, requests: Sequence[Any]) -> list[dict[str, np.ndarray]]:
        """Return the info once per request."""
        info = self._info if self._live is None else {**self._info, **self._live()}
        answer = np.array([json.dumps(info, default=str).encode()], dtype=object)
        return [{INFO_OUTPUT: answer} for _request in requests]
