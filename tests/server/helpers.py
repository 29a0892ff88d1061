"""Helpers of the server tests: backends with real hooks, WAV builders, waiting for readiness."""

from __future__ import annotations

import asyncio
import io
import os
import socket
import struct
import threading
import wave
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import requests
import torch
from aiohttp import web
from aiohttp.test_utils import TestClient

from dalle_frame_server.api.app import create_app
from dalle_frame_server.api.state import STATE, ServerState
from dalle_frame_server.generation.generator import MinDalleGenerator
from dalle_frame_server.generation.interface import (
    DecodeOutcome,
    DecodeRequest,
    GenerationBackend,
    SamplingSettings,
    decode_one,
)
from dalle_frame_server.generation.models.loading import (
    DalleModules,
    ModelPaths,
    load_dalle_modules,
)
from dalle_frame_server.generation.models.shapes import TEST_SHAPE
from dalle_frame_server.settings import ServerSettings

CPU = torch.device("cpu")


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
        self.planner = inner.planner
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

    def decode(self, requests: Sequence[DecodeRequest]) -> list[DecodeOutcome]:
        """Record the seeds, wait at the gate, maybe fail, then delegate."""
        self.decode_seeds.extend(request.generator.initial_seed() for request in requests)
        if not self._gate.wait(timeout=self.gate_timeout):
            raise TimeoutError("the test never opened the gate")
        if self.failures:
            raise self.failures.pop(0)
        return self.inner.decode(requests)

    def detokenize(self, image_tokens: torch.Tensor) -> torch.Tensor:
        """Delegate."""
        return self.inner.detokenize(image_tokens)


def own_test_modules(paths: ModelPaths) -> DalleModules:
    """A copy of the test model of its own, on the CPU in float32 (for a backend that changes
    or releases its modules' weights)."""
    return load_dalle_modules(paths, TEST_SHAPE, CPU, torch.float32, remedy="rebuild it")


def cpu_generator(modules: DalleModules, backend: GenerationBackend) -> MinDalleGenerator:
    """The generator over the test model's modules and `backend`, on the CPU in float32."""
    return MinDalleGenerator(modules, backend, model_name="test", device=CPU, dtype=torch.float32)


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
        request = DecodeRequest(
            text_tokens=text_tokens,
            encoder_state=backend.encode(text_tokens),
            image_count=grid_size**2,
            settings=settings or SamplingSettings(),
            generator=torch.Generator().manual_seed(seed),
        )
        return decode_one(backend, request)


def drafts_kept_for_exact_tokens(
    exact: MinDalleGenerator, drafted: MinDalleGenerator, *, prompt: str, seed: int, grid_size: int
) -> tuple[int, int]:
    """Assert a drafting backend draws the exact backend's tokens; return (kept, drafted).

    Each round gains its kept drafts plus one token (the first refused one, or the one after
    the last draft), so the rounds and the kept drafts add up to the 256 steps.
    """
    want = backend_image_tokens(exact, prompt=prompt, seed=seed, grid_size=grid_size)
    counts = drafted.backend.counts  # type: ignore[attr-defined]
    before = (counts.rounds, counts.drafted, counts.accepted)
    got = backend_image_tokens(drafted, prompt=prompt, seed=seed, grid_size=grid_size)
    assert torch.equal(got, want)
    rounds = counts.rounds - before[0]
    drafts = counts.drafted - before[1]
    kept = counts.accepted - before[2]
    assert rounds + kept == 256
    assert 0 <= kept <= drafts
    print(f"drafts kept: {kept}/{drafts}")
    return kept, drafts


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


@dataclass
class ThreadedServer:
    """An app served by its own event loop in a thread, reachable at `url`."""

    app: web.Application
    url: str = ""
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None

    def start(self) -> None:
        """Serve on a free port; return once it listens."""
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        started = threading.Event()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            runner = web.AppRunner(self.app)
            loop.run_until_complete(runner.setup())
            loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
            started.set()
            loop.run_forever()
            loop.run_until_complete(runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=serve, name="fuzzed server", daemon=True)
        self._thread.start()
        assert started.wait(30)

    def stop(self) -> None:
        """Stop the loop and the thread."""
        assert self._loop is not None and self._thread is not None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(60)

    @property
    def state(self) -> ServerState:
        """The app's shared state."""
        return self.app[STATE]


def threaded_test_server(
    models_dir: Path, test_modules, test_transcriber, backend, queue_size: int, token: str
) -> ThreadedServer:
    """Start a threaded server over the session's test models, and wait until it is ready."""

    async def load_generator(settings, slot):
        return MinDalleGenerator(
            test_modules,
            backend,
            model_name="test",
            device=torch.device("cpu"),
            dtype=torch.float32,
        )

    async def load_transcriber(settings, slot):
        return test_transcriber

    settings_ = ServerSettings(
        models_dir=models_dir, model="test", asr_model="test", token=token, queue_size=queue_size
    )
    server = ThreadedServer(
        create_app(settings_, generator_loader=load_generator, transcriber_loader=load_transcriber)
    )
    server.start()
    poll_until(lambda: requests.get(f"{server.url}/v1/health", timeout=5).json()["status"] == "ok")
    return server


def poll_until(condition: Callable[[], bool]) -> None:
    """Wait until condition() holds (at most a minute)."""
    for _ in range(1200):
        if condition():
            return
        threading.Event().wait(0.05)
    raise AssertionError("timed out waiting for the threaded server")
