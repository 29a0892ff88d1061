"""What the benchmark runs: stock `MinDalle`, or the server's generator over one backend.

Each variant generates one request and reports where the time went (encoder, 256 decoder
steps, VQGAN), the image tokens and a digest of the pixels, so the driver can tell whether two
variants painted the same image.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import numpy as np
import torch
from PIL import Image

from dalle_frame_server.generation.generator import MinDalleGenerator
from dalle_frame_server.generation.min_dalle.backends import make_backend
from dalle_frame_server.generation.min_dalle.fast import FastBackend
from dalle_frame_server.generation.models.loading import DalleModules
from dalle_frame_server.generation.text_to_image import GenerationRequest


@dataclass
class Timings:
    """Seconds spent in each stage of one generation."""

    encode: float = 0.0
    decode: float = 0.0
    detokenize: float = 0.0
    total: float = 0.0

    def adder(self, stage: str) -> Callable[[float], None]:
        """Return a function adding seconds to `stage` ("encode", "decode", ...)."""

        def add(seconds: float) -> None:
            setattr(self, stage, getattr(self, stage) + seconds)

        return add


@dataclass
class Outcome:
    """One request's result: timings, image tokens and pixel digest."""

    timings: Timings
    tokens: list[list[int]] = field(default_factory=list)
    pixels_sha256: str = ""


def pixel_digest(image: Image.Image) -> str:
    """SHA-256 of an image's RGB bytes."""
    return hashlib.sha256(np.asarray(image.convert("RGB")).tobytes()).hexdigest()


@contextmanager
def timed(target: Any, name: str, add: Callable[[float], None]) -> Iterator[None]:
    """Time every call of `target.name` (the real method still runs)."""
    original = getattr(target, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            add(time.perf_counter() - started)

    with mock.patch.object(target, name, wrapper):
        yield


class StockVariant:
    """Stock min-dalle's `generate_image`, its stages timed from outside."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def generate(self, request: GenerationRequest) -> Outcome:
        """Generate one request with stock min-dalle."""
        timings = Timings()
        tokens: list[torch.Tensor] = []
        model = self.model
        original_grid = model.image_grid_from_tokens

        def detokenize(image_tokens: torch.Tensor, **kwargs: Any) -> torch.Tensor:
            tokens.append(image_tokens.clone())
            started = time.perf_counter()
            grid = original_grid(image_tokens=image_tokens, **kwargs)
            timings.detokenize += time.perf_counter() - started
            return grid

        started = time.perf_counter()
        with (
            torch.no_grad(),
            torch.random.fork_rng(devices=[]),
            timed(model.encoder, "forward", timings.adder("encode")),
            timed(model.decoder, "sample_tokens", timings.adder("decode")),
            mock.patch.object(model, "image_grid_from_tokens", side_effect=detokenize),
        ):
            image = model.generate_image(
                text=request.prompt,
                seed=request.seed,
                grid_size=request.grid_size,
                top_k=request.top_k,
                temperature=request.temperature,
                supercondition_factor=request.supercondition_factor,
            )
        timings.total = time.perf_counter() - started
        return Outcome(timings, tokens[0].tolist(), pixel_digest(image))


class ServerVariant:
    """The server's `MinDalleGenerator` over one backend, its stages timed from outside."""

    def __init__(self, modules: DalleModules, backend_name: str, device: torch.device) -> None:
        self.backend = make_backend(backend_name, modules)
        self.generator = MinDalleGenerator(
            modules,
            self.backend,
            model_name="bench",
            device=device,
            dtype=next(modules.decoder.parameters()).dtype,
        )
        self.device = device

    def generate(self, request: GenerationRequest) -> Outcome:
        """Generate one request through the server's generator."""
        timings = Timings()
        tokens: list[torch.Tensor] = []
        backend = self.backend
        original_detokenize = backend.detokenize

        def detokenize(image_tokens: torch.Tensor) -> torch.Tensor:
            tokens.append(image_tokens.clone())
            started = time.perf_counter()
            grid = original_detokenize(image_tokens)
            _synchronize(self.device)
            timings.detokenize += time.perf_counter() - started
            return grid

        started = time.perf_counter()
        with (
            timed(backend, "encode", timings.adder("encode")),
            timed(backend, "decode", timings.adder("decode")),
            mock.patch.object(backend, "detokenize", side_effect=detokenize),
        ):
            image = self.generator.generate(request)
        timings.total = time.perf_counter() - started
        return Outcome(timings, tokens[0].tolist(), pixel_digest(image))

    def decode_queue(self, requests: list[GenerationRequest], *, batched: bool) -> list[Outcome]:
        """Decode several queued requests: as one `decode` call, or one after another.

        Only the decoder is timed (encoding and the VQGAN are per request either way); every
        outcome carries the whole queue's decoder seconds.
        """
        if not isinstance(self.backend, FastBackend):
            raise ValueError(f"the {self.backend.name} backend does not batch requests")
        with torch.inference_mode():
            queued = [self.generator.decode_request(request) for request in requests]
            started = time.perf_counter()
            if batched:
                results = self.backend.decode(queued)
            else:
                results = [self.backend.decode([one])[0] for one in queued]
            _synchronize(self.device)
            seconds = time.perf_counter() - started
        return [Outcome(Timings(decode=seconds, total=seconds), r.tolist()) for r in results]


def _synchronize(device: torch.device) -> None:
    """Wait for queued GPU work, so the clock measures it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
