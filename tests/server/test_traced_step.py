"""CPU decoder steps replayed from a TorchScript trace: the eager step's bits, or eager steps."""

from __future__ import annotations

import logging

import pytest
import torch

from dalle_frame_server.generation.min_dalle.backends import make_backend
from dalle_frame_server.generation.min_dalle.drafting import DraftingBackend
from dalle_frame_server.generation.min_dalle.fast import FastBackend
from dalle_frame_server.generation.min_dalle.kernels import parallel, traced_step
from dalle_frame_server.generation.min_dalle.kernels.decoder import DecodeBuffers, FastDecoder
from dalle_frame_server.generation.min_dalle.kernels.int8 import Int8Projection
from dalle_frame_server.generation.min_dalle.kernels.step_runner import EagerStepRunner
from dalle_frame_server.generation.min_dalle.kernels.traced_step import (
    TracedStepRunner,
    script_objects,
)
from dalle_frame_server.generation.models.loading import ModelPaths
from dalle_frame_server.generation.models.shapes import START_TOKEN
from tests.server.helpers import own_test_modules

CPU = torch.device("cpu")

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module", params=["fast", "int8", "fp16"])
def backend(request: pytest.FixtureRequest, test_model_paths: ModelPaths) -> FastBackend:
    """Each CPU backend as the server makes it (own copy of the weights)."""
    built = make_backend(request.param, own_test_modules(test_model_paths))
    assert isinstance(built, FastBackend)
    return built


def _traced(backend: FastBackend) -> TracedStepRunner:
    """A traced runner over the backend's decoder (the drafters' own; a new one for `fast`)."""
    runner = backend.runner
    if isinstance(runner, TracedStepRunner):
        return runner
    return TracedStepRunner(runner.decoder, CPU)


def test_the_drafting_backends_trace_their_steps(backend: FastBackend) -> None:
    """int8 and fp16 replay traced drafts; the exact paths (`fast`, the checker) run eagerly."""
    if backend.name == "fast":
        assert isinstance(backend.runner, EagerStepRunner)
        return
    assert isinstance(backend, DraftingBackend)
    assert isinstance(backend.runner, TracedStepRunner)
    assert isinstance(backend.exact_runner, EagerStepRunner)


def _started(backend: FastBackend, decoder: FastDecoder, rows: int) -> DecodeBuffers:
    """Fresh buffers of `rows` rows, started on a short prompt (unconditional rows first)."""
    text_tokens = torch.ones(2, 64, dtype=torch.long)
    text_tokens[:, :5] = torch.tensor([0, 9, 10, 11, 2])
    half = rows // 2
    with torch.inference_mode():
        state = backend.encode(text_tokens)
        buffers = decoder.new_buffers(rows, CPU)
        decoder.start(
            buffers,
            text_tokens=text_tokens[[0] * half + [1] * half],
            encoder_state=state[[0] * half + [1] * half],
            start_token=START_TOKEN,
        )
    return buffers


def _run(step, buffers: DecodeBuffers, steps: int) -> torch.Tensor:
    """Logits of `steps` steps, each fed a token of its own (the same for both paths)."""
    logits = []
    with torch.inference_mode():
        for index in range(steps):
            buffers.step_index.fill_(index)
            logits.append(step(buffers).clone())
            buffers.previous_tokens.fill_(3 * index + 5)
    return torch.stack(logits)


@pytest.mark.parametrize("rows", [2, 4])
def test_traced_steps_equal_eager_steps_bit_for_bit(backend: FastBackend, rows: int) -> None:
    """Traced at step 0, the replay gives the eager logits and caches at every later step."""
    runner = _traced(backend)
    decoder = runner.decoder
    traced_buffers = _started(backend, decoder, rows)
    eager_buffers = _started(backend, decoder, rows)
    traced = _run(runner.step, traced_buffers, 12)
    assert runner.is_traced(rows)
    eager = _run(decoder.step, eager_buffers, 12)
    assert torch.equal(traced, eager)
    assert torch.equal(traced_buffers.keys_t, eager_buffers.keys_t)
    assert torch.equal(traced_buffers.values, eager_buffers.values)


def test_each_row_and_thread_count_has_its_own_trace(test_model_paths: ModelPaths) -> None:
    """Row counts and torch thread counts fix Python branches, so each gets a trace."""
    backend = FastBackend(own_test_modules(test_model_paths))
    runner = _traced(backend)
    _run(runner.step, _started(backend, runner.decoder, 2), 2)
    assert runner.is_traced(2)
    assert not runner.is_traced(4)
    torch.set_num_threads(2)
    try:
        assert not runner.is_traced(2)
        traced = _run(runner.step, _started(backend, runner.decoder, 2), 3)
        assert runner.is_traced(2)
        eager = _run(runner.decoder.step, _started(backend, runner.decoder, 2), 3)
    finally:
        torch.set_num_threads(1)
    assert torch.equal(traced, eager)


REAL_TRACE = torch.jit.trace
"""The tracer itself (the tests below replace it in traced_step's view of torch)."""


def _refused_trace(*args: object, **kwargs: object) -> None:
    """A tracer that cannot record the step."""
    raise RuntimeError("this operation cannot be traced")


def _trace_off_by_a_bit(module: torch.nn.Module, *args: object, **kwargs: object):
    """A real trace whose replay is one bit off the eager step."""
    traced = REAL_TRACE(module, *args, **kwargs)

    def replay(*tensors: torch.Tensor) -> torch.Tensor:
        logits = traced(*tensors)
        return torch.nextafter(logits, logits + 1)

    return replay


@pytest.mark.parametrize(
    ("tracer", "reason"),
    [
        (_refused_trace, "tracing the step failed (this operation cannot be traced)"),
        (_trace_off_by_a_bit, "the traced step of 2 rows differs from the eager one"),
    ],
    ids=["tracing-fails", "trace-differs"],
)
def test_a_trace_that_fails_or_differs_leaves_eager_steps(
    test_model_paths: ModelPaths,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    tracer,
    reason: str,
) -> None:
    """Every trace is checked against an eager step; where recording fails or the replay is
    one bit off, the runner says why and steps eagerly, with the eager logits."""
    backend = FastBackend(own_test_modules(test_model_paths))
    runner = _traced(backend)
    monkeypatch.setattr(traced_step.torch.jit, "trace", tracer)
    with caplog.at_level(logging.WARNING):
        logits = _run(runner.step, _started(backend, runner.decoder, 2), 3)
    assert f"Decoder steps run eagerly: {reason}" in caplog.text
    assert not runner.is_traced(2)
    assert torch.equal(logits, _run(runner.decoder.step, _started(backend, runner.decoder, 2), 3))


def test_tracing_reuses_the_eager_steps_column_split_verdicts(
    test_model_paths: ModelPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sizes are tensors while tracing; the split's verdicts are still found, not checked anew
    (which had recorded the checks into the trace and tripled its recording time)."""
    torch.set_num_threads(2)
    try:
        backend = FastBackend(own_test_modules(test_model_paths))
        assert backend._splitter is not None
        checks: list[int] = []
        real_check = parallel.split_is_exact

        def counted(blocks: parallel.ColumnBlocks, rows: int) -> bool:
            checks.append(rows)
            return real_check(blocks, rows)

        monkeypatch.setattr(parallel, "split_is_exact", counted)
        runner = TracedStepRunner(backend.decoder, CPU)
        buffers = _started(backend, runner.decoder, 2)
        with torch.inference_mode():
            backend.decoder.step(buffers)
        made = len(checks)
        assert made > 0
        _run(runner.step, buffers, 2)
        assert runner.is_traced(2)
        assert len(checks) == made
    finally:
        torch.set_num_threads(1)


def test_the_traced_module_holds_every_packed_weight(test_model_paths: ModelPaths) -> None:
    """fbgemm's packed int8 weights are found for the trace; float32 weights have none."""
    int8 = make_backend("int8-raw", own_test_modules(test_model_paths))
    assert isinstance(int8, FastBackend)
    weights = int8.decoder.weights
    packed = script_objects(weights)
    projections = [
        group.stacked
        for layer in weights.layers
        for group in (layer.self_qkv, layer.glu.gate_and_value)
    ]
    assert all(isinstance(projection, Int8Projection) for projection in projections)
    if isinstance(projections[0].packed, torch.ScriptObject):  # fbgemm (not oneDNN's tensors)
        assert all(any(p.packed is q for q in packed) for p in projections)
        assert len({id(q) for q in packed}) == len(packed)
    fast = FastBackend(own_test_modules(test_model_paths))
    assert script_objects(fast.decoder.weights) == []


def test_traced_steps_are_for_the_cpu(test_model_paths: ModelPaths) -> None:
    """A traced runner on another device is refused with the reason."""
    backend = FastBackend(own_test_modules(test_model_paths))
    with pytest.raises(ValueError, match="traced steps are for the CPU, not cuda"):
        TracedStepRunner(backend.decoder, torch.device("cuda"))
