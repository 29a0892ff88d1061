"""Helpers of the server tests: backends with real hooks, WAV builders, waiting for readiness."""

from __future__ import annotations

import asyncio
import io
import os
import struct
import threading
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from aiohttp.test_utils import TestClient

from dalle_frame_server.generation.backend import GenerationBackend, SamplingSettings
from dalle_frame_server.generation.generator import MinDalleGenerator


class HookedBackend:
    """A real backend with hooks: record each decode's seed, hold decodes at a gate, fail some.

    `gate` starts open; `close_gate()` makes each decode wait (in the worker thread) until
    `open_gate()`. `failures` holds exceptions raised by the next decodes, one each.
    """

    def __init__(self, inner: GenerationBackend, *, gate_timeout: float = 120.0) -> None:
        self.inner = inner
        self.gate_timeout = gate_timeout
        self.name = f"hooked {inner.name}"
        self.exact = inner.exact
        self.int8_path = inner.int8_path
        self.decode_seeds: list[int] = []
        self.failures: list[BaseException] = []
        self._gate = threading.Event()
        self._gate.set()

    def close_gate(self) -> None:
        """Hold the next decodes until open_gate()."""
        self._gate.clear()

    def open_gate(self) -> None:
        """Let held decodes go on."""
        self._gate.set()

    def encode(self, text_tokens: torch.Tensor) -> torch.Tensor:
        """Delegate."""
        return self.inner.encode(text_tokens)

    def decode(
        self,
        *,
        text_tokens: torch.Tensor,
        encoder_state: torch.Tensor,
        image_count: int,
        settings: SamplingSettings,
        generator: torch.Generator,
        progress: Callable[[int, int], None] | None = None,
    ) -> torch.Tensor:
        """Record the seed, wait at the gate, maybe fail, then delegate."""
        self.decode_seeds.append(generator.initial_seed())
        if not self._gate.wait(timeout=self.gate_timeout):
            raise TimeoutError("the test never opened the gate")
        if self.failures:
            raise self.failures.pop(0)
        return self.inner.decode(
            text_tokens=text_tokens,
            encoder_state=encoder_state,
            image_count=image_count,
            settings=settings,
            generator=generator,
            progress=progress,
        )

    def detokenize(self, image_tokens: torch.Tensor) -> torch.Tensor:
        """Delegate."""
        return self.inner.detokenize(image_tokens)


def backend_image_tokens(
    generator: MinDalleGenerator,
    *,
    prompt: str,
    seed: int,
    grid_size: int = 1,
    settings: SamplingSettings | None = None,
) -> torch.Tensor:
    """The (grid_size**2, 256) image tokens the generator's backend draws for a prompt."""
    backend = generator.backend
    with torch.inference_mode():
        text_tokens = generator.text_tokens(prompt)
        return backend.decode(
            text_tokens=text_tokens,
            encoder_state=backend.encode(text_tokens),
            image_count=grid_size**2,
            settings=settings or SamplingSettings(),
            generator=torch.Generator().manual_seed(seed),
        )


def make_wav(
    seconds: float = 1.0,
    *,
    rate: int = 16_000,
    channels: int = 1,
    sample_width: int = 2,
    frequency: float = 440.0,
) -> bytes:
    """Return a WAV file of a sine tone (PCM, any width the wave module writes)."""
    frames = round(seconds * rate)
    time_axis = np.arange(frames) / rate
    tone = 0.3 * np.sin(2 * np.pi * frequency * time_axis)
    samples = np.repeat(tone[:, None], channels, axis=1)
    if sample_width == 1:
        data = ((samples + 1.0) * 127.5).astype(np.uint8).tobytes()
    else:
        data = (samples * 32767).astype("<i2").tobytes()
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(sample_width)
        writer.setframerate(rate)
        writer.writeframes(data)
    return buffer.getvalue()


def make_float_wav(seconds: float = 1.0, rate: int = 16_000) -> bytes:
    """Return a 32-bit float WAV (format tag 3), which the server refuses."""
    data = np.zeros(round(seconds * rate), dtype="<f4").tobytes()
    fmt = struct.pack("<HHIIHH", 3, 1, rate, rate * 4, 4, 32)
    return _riff([(b"fmt ", fmt), (b"data", data)])


def make_extensible_wav(sub_format: int, seconds: float = 0.5, rate: int = 16_000) -> bytes:
    """Return a WAVE_FORMAT_EXTENSIBLE file (16-bit) with the given sub-format (1 PCM, 3 float)."""
    data = (np.sin(np.arange(round(seconds * rate)) / 5) * 8000).astype("<i2").tobytes()
    guid_tail = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
    fmt = struct.pack("<HHIIHHHHI", 0xFFFE, 1, rate, rate * 2, 2, 16, 22, 16, 4)
    fmt += struct.pack("<H", sub_format) + guid_tail
    return _riff([(b"fmt ", fmt), (b"data", data)])


def _riff(chunks: list[tuple[bytes, bytes]]) -> bytes:
    """Assemble a RIFF/WAVE file from chunks."""
    body = b"".join(
        name + struct.pack("<I", len(data)) + data + (b"\x00" if len(data) % 2 else b"")
        for name, data in chunks
    )
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WAVE" + body


async def wait_until_ready(client: TestClient) -> dict:
    """Poll /v1/health until status is ok (at most 2 minutes); return the health document."""
    async with asyncio.timeout(120):
        while True:
            response = await client.get("/v1/health")
            health = await response.json()
            if health["status"] == "ok":
                return health
            if health["status"] == "error":
                raise AssertionError(f"the server did not get ready: {health}")
            await asyncio.sleep(0.05)


async def wait_for(condition: Callable[[], bool]) -> None:
    """Wait until condition() is true (at most a minute)."""
    async with asyncio.timeout(60):
        while True:
            if condition():
                return
            await asyncio.sleep(0.02)


def rss_bytes() -> int:
    """Return this process's resident memory (Linux /proc)."""
    resident_pages = int(Path("/proc/self/statm").read_text(encoding="ascii").split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE")
