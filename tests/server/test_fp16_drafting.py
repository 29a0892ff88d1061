"""The fp16 backend: float16-weight drafts checked by the float32 decoder, the exact path's tokens.

The drafting rounds themselves are tested with the int8 backend (test_int8_drafting.py); here
what fp16 changes: its projections (fbgemm's fp16 GEMM), its draft lengths, its refusal where
that GEMM is missing, and that its images equal the exact path's.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from dalle_frame_server.generation.generator import MinDalleGenerator
from dalle_frame_server.generation.min_dalle import backends as backends_module
from dalle_frame_server.generation.min_dalle import drafting as drafting_module
from dalle_frame_server.generation.min_dalle.backends import BACKEND_NAMES, make_backend
from dalle_frame_server.generation.min_dalle.drafting import (
    FP16_BATCH_DRAFT_LENGTH,
    FP16_DRAFT_LENGTH,
    DraftedFp16Backend,
    DraftedInt8Backend,
    DraftingBackend,
)
from dalle_frame_server.generation.min_dalle.fast import FastBackend
from dalle_frame_server.generation.min_dalle.kernels import fp16 as fp16_module
from dalle_frame_server.generation.min_dalle.kernels.cpu_isa import CpuIsa, detect_cpu_isa
from dalle_frame_server.generation.min_dalle.kernels.fp16 import (
    Fp16Projection,
    Fp16UnavailableError,
    fp16_refusal,
)
from dalle_frame_server.generation.models.loading import (
    ModelPaths,
)
from dalle_frame_server.generation.models.shapes import TEST_SHAPE
from dalle_frame_server.generation.text_to_image import GenerationRequest
from tests.server.helpers import (
    cpu_generator,
    drafts_kept_for_exact_tokens,
    own_test_modules,
)

PROMPTS = ("a lighthouse in a storm", "an alpine lake at dawn", "a red cat")
needs_x86 = pytest.mark.skipif(
    detect_cpu_isa() is CpuIsa.NOT_X86, reason="fbgemm's fp16 GEMM is x86 only"
)

pytestmark = [pytest.mark.usefixtures("one_torch_thread"), needs_x86]


@pytest.fixture(scope="module")
def drafted(test_model_paths: ModelPaths) -> MinDalleGenerator:
    """The `fp16` backend as the server makes it (its own copy of the weights)."""
    modules = own_test_modules(test_model_paths)
    return cpu_generator(modules, make_backend("fp16", modules))


def _fresh_refusal() -> str | None:
    """Probe again (the process's answer is cached), then forget this answer."""
    fp16_refusal.cache_clear()
    try:
        return fp16_refusal()
    finally:
        fp16_refusal.cache_clear()


def test_fp16_projection_is_float32_but_for_the_weights_rounding() -> None:
    """Any leading shape; the error is float16's rounding of the weights, nothing more."""
    generator = torch.Generator().manual_seed(4)
    weight = torch.randn(80, 64, generator=generator)
    x = torch.randn(2, 3, 64, generator=generator)
    projection = Fp16Projection.from_weight(weight)
    output = projection(x)
    assert output.shape == (2, 3, 80)
    assert output.dtype == torch.float32
    rounded = F.linear(x, weight.to(torch.float16).to(torch.float32))
    torch.testing.assert_close(output, rounded, rtol=1e-5, atol=1e-5)
    error = (output - F.linear(x, weight)).norm() / F.linear(x, weight).norm()
    assert 0 < error < 1e-3


def test_fp16_projections_run_on_the_cpu_only() -> None:
    with pytest.raises(ValueError, match="CPU only"):
        Fp16Projection.from_weight(torch.zeros(4, 4, device="meta"))


def test_fbgemm_fp16_is_available_on_this_x86_cpu() -> None:
    assert fp16_refusal() is None


def test_fp16_is_a_drafting_backend_with_its_own_lengths(drafted: MinDalleGenerator) -> None:
    backend = drafted.backend
    assert "fp16" in BACKEND_NAMES
    assert isinstance(backend, DraftedFp16Backend)
    assert isinstance(backend, DraftingBackend)  # the same rounds, other drafts
    assert not isinstance(backend, DraftedInt8Backend)
    assert backend.name == "fp16"
    assert backend.exact is False
    assert backend.int8_path is None  # no int8 arithmetic in this backend
    assert (backend.draft_length, backend.batch_draft_length) == (
        FP16_DRAFT_LENGTH,
        FP16_BATCH_DRAFT_LENGTH,
    )
    assert all(
        isinstance(part, Fp16Projection)
        for layer in backend.decoder.weights.layers
        for part in (layer.self_out, layer.cross_query, layer.glu.out)
    )
    assert isinstance(backend.decoder.weights.head, Fp16Projection)
    assert backend.checker is not backend.decoder
    # The float32 weights stay: the checker reads them.
    layer = backend.modules.decoder.layers[0]
    assert layer.self_attn.q_proj.weight.numel() == TEST_SHAPE.embed_count**2


@pytest.mark.parametrize(("grid_size", "seed"), [(1, 1), (1, 2), (1, 3), (2, 4)])
def test_drafted_tokens_equal_the_exact_path(
    exact: MinDalleGenerator, drafted: MinDalleGenerator, grid_size: int, seed: int
) -> None:
    """Every image token equals the exact backend's; nearly every fp16 draft stands."""
    prompt = PROMPTS[seed % len(PROMPTS)]
    kept, drafts = drafts_kept_for_exact_tokens(
        exact, drafted, prompt=prompt, seed=seed, grid_size=grid_size
    )
    assert kept >= 0.9 * drafts


def test_pictures_equal_the_exact_path(
    exact: MinDalleGenerator, drafted: MinDalleGenerator
) -> None:
    """Through the generator: the same PNG pixels as the exact backend."""
    request = GenerationRequest(prompt="an alpine lake at dawn", seed=22)
    assert drafted.generate(request).tobytes() == exact.generate(request).tobytes()


def test_refused_fp16_falls_back_to_fast_and_says_why(
    test_model_paths: ModelPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where fbgemm's fp16 GEMM is missing (ARM), `fast` stands in; health reports why."""
    reason = "fbgemm's fp16 GEMM is not available on this CPU (no engine); use --backend fast"
    monkeypatch.setattr(fp16_module, "fp16_refusal", lambda: reason)
    monkeypatch.setattr(drafting_module, "fp16_refusal", lambda: reason)
    backend = backends_module.make_backend("fp16", own_test_modules(test_model_paths))
    assert type(backend) is FastBackend
    assert backend.int8_path == f"refused: {reason}"
    with pytest.raises(Fp16UnavailableError, match="no engine"):
        DraftedFp16Backend(own_test_modules(test_model_paths))


def test_a_missing_fp16_op_is_a_refusal_with_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    """The probe turns the op's error into a sentence naming the way out."""

    def missing(*args: object, **kwargs: object) -> object:
        raise RuntimeError("Didn't find engine for operation quantized::linear_prepack_fp16")

    monkeypatch.setattr(Fp16Projection, "from_weight", classmethod(missing))
    refusal = _fresh_refusal()
    assert refusal is not None
    assert "Didn't find engine" in refusal
    assert "use --backend fast" in refusal


def test_an_inexact_fp16_op_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """A GEMM that is off (a broken kernel) is refused rather than trusted with drafts."""
    real_call = Fp16Projection.__call__
    monkeypatch.setattr(Fp16Projection, "__call__", lambda self, x: real_call(self, x) * 1.01)
    refusal = _fresh_refusal()
    assert refusal is not None and "off by 1.0e-02" in refusal


def test_other_cpus_than_x86_are_refused_without_probing(monkeypatch: pytest.MonkeyPatch) -> None:
    """On ARM the refusal names the CPU and the way out; fbgemm's op is never called."""

    def never(*args: object, **kwargs: object) -> object:
        raise AssertionError("probed an x86 kernel on another CPU")

    monkeypatch.setattr(fp16_module, "detect_cpu_isa", lambda: CpuIsa.NOT_X86)
    monkeypatch.setattr(Fp16Projection, "from_weight", classmethod(never))
    refusal = _fresh_refusal()
    assert refusal is not None
    assert "x86-64" in refusal and "--backend fast" in refusal
