"""Fixtures: the test models, built once per session in the server environment."""

from __future__ import annotations

import json
import struct
import wave
from collections.abc import Awaitable, Callable
from io import BytesIO
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest

from .processes import build_test_models


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models folder with the test generator and the test ASR model."""
    path = tmp_path_factory.mktemp("triton-models")
    build_test_models(path)
    return path


def wav_bytes(seconds: float = 1.0, rate: int = 16_000) -> bytes:
    """A mono 16-bit WAV of a tone (the test ASR hears gibberish in anything)."""
    samples = (8000 * np.sin(np.arange(int(seconds * rate)) / 10)).astype("<i2")
    buffer = BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(struct.pack(f"<{len(samples)}h", *samples))
    return buffer.getvalue()


async def generate_lines(
    session: aiohttp.ClientSession,
    url: str,
    headers: dict[str, str],
    body: dict[str, Any],
    on_line: Callable[[dict[str, Any]], Awaitable[None]] | None = None,
) -> list[dict[str, Any]]:
    """POST /v1/generate for NDJSON and return every line (calling `on_line` on each)."""
    lines = []
    async with session.post(
        f"{url}/v1/generate",
        json=body,
        headers={**headers, "Accept": "application/x-ndjson"},
        timeout=aiohttp.ClientTimeout(total=300),
    ) as response:
        assert response.status == 200, await response.text()
        async for raw in response.content:
            if raw.strip():
                line = json.loads(raw)
                lines.append(line)
                if on_line is not None:
                    await on_line(line)
    return lines
