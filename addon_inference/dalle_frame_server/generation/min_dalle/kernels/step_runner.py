"""Running decoder steps: eagerly, replayed from a trace (CPU), or as a CUDA graph (GPU).

On a GPU, one min-dalle step is hundreds of small kernels; launched one by one from Python
they leave the GPU idle most of the time (stock mega takes ~10 s per image on an A100 for
what its memory bandwidth allows in well under one). `CudaGraphStepRunner` captures the whole
step (kernels/decoder.py keeps every input in a static buffer) once per batch size and replays it
with a single launch per step. Sampling stays outside the graph, so the request's generator
draws as usual.

Not measured on a GPU in this repository's tests (none is lent to them): the CPU tests run the
same buffers and step code through `EagerStepRunner` and check the runner's bookkeeping. On the
CPU the drafting backends' steps are replayed from a TorchScript trace instead
(kernels/traced_step.py: the same kernels without the Python between them, checked bit for
bit against an eager step).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Final, Protocol

import torch

from .decoder import DecodeBuffers, FastDecoder
from .traced_step import TracedStepRunner

_LOGGER = logging.getLogger(__name__)

WARMUP_STEPS: Final = 3
"""Eager steps on a side stream before capture (lets cuBLAS and the allocator settle)."""

KEPT_GRAPHS: Final = 2
"""Captured batch sizes kept at once; each holds its own cache buffers."""


class StepRunner(Protocol):
    """Hands out decode buffers and runs one decoder step on them."""

    decoder: FastDecoder
    """The decoder whose steps it runs."""

    def buffers(self, rows: int) -> DecodeBuffers:
        """Buffers for a batch of `rows` decoder rows (contents undefined until `start`)."""

    def step(self, buffers: DecodeBuffers) -> torch.Tensor:
        """Run one step; return the (rows, 1, vocab) logits (valid until the next step)."""


class EagerStepRunner:
    """Fresh buffers per batch and plain calls: CUDA without graphs, and the reference."""

    def __init__(self, decoder: FastDecoder, device: torch.device) -> None:
        self.decoder = decoder
        self.device = device

    def buffers(self, rows: int) -> DecodeBuffers:
        """Allocate buffers for `rows` rows."""
        return self.decoder.new_buffers(rows, self.device)

    def step(self, buffers: DecodeBuffers) -> torch.Tensor:
        """Run the step eagerly."""
        return self.decoder.step(buffers)


class CudaGraphStepRunner:
    """One captured CUDA graph per batch size, replayed for every step of every batch.

    The graph reads and writes only the static `DecodeBuffers` it was captured with, so the
    buffers of a batch size are allocated once and reused (`FastDecoder.start` refills them in
    place). Runs under the model's autocast with the weight-cast cache off, as graph capture
    requires.
    """

    def __init__(self, decoder: FastDecoder, device: torch.device, dtype: torch.dtype) -> None:
        self.decoder = decoder
        self.device = device
        self.dtype = dtype
        self._captured: OrderedDict[int, tuple[DecodeBuffers, torch.cuda.CUDAGraph, torch.Tensor]]
        self._captured = OrderedDict()

    def buffers(self, rows: int) -> DecodeBuffers:
        """Return the static buffers of `rows` rows, capturing the step's graph the first time."""
        if rows in self._captured:
            self._captured.move_to_end(rows)
            return self._captured[rows][0]
        while len(self._captured) >= KEPT_GRAPHS:
            self._captured.popitem(last=False)
        buffers = self.decoder.new_buffers(rows, self.device)
        graph, logits = self._capture(buffers)
        self._captured[rows] = (buffers, graph, logits)
        return buffers

    def step(self, buffers: DecodeBuffers) -> torch.Tensor:
        """Replay the graph captured for these buffers."""
        captured_buffers, graph, logits = self._captured[buffers.rows]
        if captured_buffers is not buffers:
            raise ValueError("these buffers were not handed out by this runner")
        graph.replay()
        return logits

    def _capture(self, buffers: DecodeBuffers) -> tuple[torch.cuda.CUDAGraph, torch.Tensor]:
        """Warm up on a side stream, then capture one step into a graph."""
        autocast = torch.autocast(
            "cuda", dtype=self.dtype, enabled=self.dtype != torch.float32, cache_enabled=False
        )
        side = torch.cuda.Stream(device=self.device)
        side.wait_stream(torch.cuda.current_stream(self.device))
        with torch.inference_mode(), autocast, torch.cuda.stream(side):
            for _ in range(WARMUP_STEPS):
                self.decoder.step(buffers)
        torch.cuda.current_stream(self.device).wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.inference_mode(), autocast, torch.cuda.graph(graph):
            logits = self.decoder.step(buffers)
        _LOGGER.debug("Captured the decoder step for %d rows as a CUDA graph", buffers.rows)
        return graph, logits


def make_step_runner(
    decoder: FastDecoder,
    device: torch.device,
    dtype: torch.dtype,
    *,
    cuda_graphs: bool,
    traced: bool = False,
) -> StepRunner:
    """CUDA graphs on a GPU when allowed, traced steps on the CPU when asked, else eager."""
    if device.type == "cuda" and cuda_graphs:
        return CudaGraphStepRunner(decoder, device, dtype)
    if device.type == "cpu" and traced:
        return TracedStepRunner(decoder, device)
    return EagerStepRunner(decoder, device)
