"""The decoder step's static-buffer discipline (what CUDA graph capture needs), checked on CPU.

A CUDA graph replays fixed kernels on fixed memory: the step may not read Python numbers that
change, synchronize with the host, or allocate its persistent state anew. These tests check
that on the CPU by recording every aten operation the step dispatches. The graph capture
itself needs a GPU; the last test runs only where one is present (none is in CI here).
"""

from __future__ import annotations

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from dalle_frame_server.generation.min_dalle.fast import FastBackend
from dalle_frame_server.generation.min_dalle.kernels.step_runner import (
    CudaGraphStepRunner,
    EagerStepRunner,
    make_step_runner,
)
from dalle_frame_server.generation.min_dalle.kernels.traced_step import TracedStepRunner
from dalle_frame_server.generation.models.loading import ModelPaths, load_dalle_modules
from dalle_frame_server.generation.models.shapes import START_TOKEN, TEST_SHAPE

CPU = torch.device("cpu")


pytestmark = pytest.mark.usefixtures("one_torch_thread")


HOST_SYNCING_OPS = {"_local_scalar_dense", "item", "nonzero", "masked_select", "unique"}
"""Operations that read a device value back to the host: impossible inside a CUDA graph."""


class _RecordOps(TorchDispatchMode):
    """Records the name of every aten operation dispatched while active."""

    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.names.append(func.__name__.split(".")[0])
        return func(*args, **(kwargs or {}))


@pytest.fixture(scope="module")
def backend(test_model_paths: ModelPaths) -> FastBackend:
    """The fast backend on the test model (own copy of the weights)."""
    modules = load_dalle_modules(test_model_paths, TEST_SHAPE, CPU, torch.float32, remedy="-")
    return FastBackend(modules)


def _started(backend: FastBackend, rows: int):
    text_tokens = torch.ones(2, 64, dtype=torch.long)
    text_tokens[:, :5] = torch.tensor([0, 9, 10, 11, 2])
    with torch.inference_mode():
        state = backend.encode(text_tokens)
        buffers = backend.runner.buffers(rows)
        half = rows // 2
        backend.decoder.start(
            buffers,
            text_tokens=text_tokens[[0] * half + [1] * half],
            encoder_state=state[[0] * half + [1] * half],
            start_token=START_TOKEN,
        )
    return buffers


def test_cpu_runs_steps_eagerly_or_traced(backend: FastBackend) -> None:
    """Without CUDA the runner is the eager one, or the traced one when asked; both hand out
    fresh buffers per batch."""
    runner = make_step_runner(backend.decoder, CPU, torch.float32, cuda_graphs=True)
    assert isinstance(runner, EagerStepRunner)
    assert runner.buffers(2) is not runner.buffers(2)
    traced = make_step_runner(backend.decoder, CPU, torch.float32, cuda_graphs=True, traced=True)
    assert isinstance(traced, TracedStepRunner)
    assert traced.buffers(2) is not traced.buffers(2)


def test_step_reads_only_buffers_and_never_syncs(backend: FastBackend) -> None:
    """A step dispatches no host-reading op; its inputs all come from the buffers."""
    buffers = _started(backend, 4)
    with torch.inference_mode():
        backend.decoder.plan(4)  # probing (outside a capture) happens before the first step
        with _RecordOps() as recorded:
            backend.decoder.step(buffers)
    assert recorded.names, "nothing was recorded"
    assert not HOST_SYNCING_OPS & set(recorded.names)
    # No tensor is made from Python data inside the step (that would be baked into a graph).
    assert "lift_fresh" not in recorded.names


def test_step_writes_only_its_cache_slot_in_place(backend: FastBackend) -> None:
    """Steps change only slot `step_index` of the caches; the buffers keep their memory."""
    buffers = _started(backend, 2)
    pointers = [t.data_ptr() for t in (buffers.keys_t, buffers.values, buffers.cross_keys_t)]
    with torch.inference_mode():
        for step in (0, 1, 2):
            buffers.step_index.fill_(step)
            first = backend.runner.step(buffers).clone()
        # Replaying step 2 with the same inputs gives the same logits (idempotent slot write).
        again = backend.runner.step(buffers)
    assert torch.equal(first, again)
    assert [t.data_ptr() for t in (buffers.keys_t, buffers.values, buffers.cross_keys_t)] == (
        pointers
    )
    assert buffers.keys_t[..., :3].abs().sum() > 0
    assert buffers.keys_t[..., 3:].abs().sum() == 0
    assert buffers.values[:, :, :, 3:].abs().sum() == 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (not in CI here)")
def test_cuda_graph_replay_equals_eager_steps(test_model_paths: ModelPaths) -> None:
    """On a GPU: the captured graph's logits equal eager steps on the same buffers."""
    device = torch.device("cuda")
    modules = load_dalle_modules(test_model_paths, TEST_SHAPE, device, torch.float16, remedy="-")
    backend = FastBackend(modules)
    assert isinstance(backend.runner, CudaGraphStepRunner)
    text_tokens = torch.ones(2, 64, dtype=torch.long, device=device)
    with torch.inference_mode(), backend.autocast():
        state = backend.encode(text_tokens)
        eager = EagerStepRunner(backend.decoder, device)
        results = []
        for runner in (backend.runner, eager):
            buffers = runner.buffers(2)
            backend.decoder.start(
                buffers, text_tokens=text_tokens, encoder_state=state, start_token=START_TOKEN
            )
            logits = []
            for step in range(4):
                buffers.step_index.fill_(step)
                logits.append(runner.step(buffers).clone())
                buffers.previous_tokens.fill_(step + 3)
            results.append(torch.stack(logits))
    assert torch.equal(results[0], results[1])
