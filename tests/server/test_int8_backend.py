"""The int8-raw backend (int8 only, no float32 check): CPU only, not exact, close to exact."""

from __future__ import annotations

import pytest
import torch

from dalle_frame_server.generation.generator import MinDalleGenerator
from dalle_frame_server.generation.interface import SamplingSettings
from dalle_frame_server.generation.min_dalle.backends import make_backend
from dalle_frame_server.generation.min_dalle.kernels.cpu_isa import detect_cpu_isa
from dalle_frame_server.generation.min_dalle.kernels.int8 import Int8Projection
from dalle_frame_server.generation.min_dalle.kernels.int8_gemm import KERNELS, Int8Gemm
from dalle_frame_server.generation.min_dalle.kernels.int8_path import choose_int8_path
from dalle_frame_server.generation.models.loading import ModelPaths, load_dalle_modules
from dalle_frame_server.generation.models.shapes import TEST_SHAPE
from dalle_frame_server.generation.text_to_image import GenerationRequest
from tests.server.helpers import backend_image_tokens

CPU = torch.device("cpu")


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def generators(test_model_paths: ModelPaths) -> dict[str, MinDalleGenerator]:
    """The test model behind the `fast` and `int8-raw` backends (one copy of the weights each)."""
    result = {}
    for name in ("fast", "int8-raw"):
        modules = load_dalle_modules(test_model_paths, TEST_SHAPE, CPU, torch.float32, remedy="-")
        result[name] = MinDalleGenerator(
            modules, make_backend(name, modules), model_name="test", device=CPU, dtype=torch.float32
        )
    return result


def test_int8_backend_says_it_is_not_exact(generators: dict[str, MinDalleGenerator]) -> None:
    """int8-raw never claims stock's pixels."""
    backend = generators["int8-raw"].backend
    assert backend.name == "int8-raw"
    assert backend.exact is False


def test_int8_generates_deterministically(generators: dict[str, MinDalleGenerator]) -> None:
    """Same request, same image."""
    generator = generators["int8-raw"]
    request = GenerationRequest(prompt="a lighthouse in a storm", seed=5)
    first = generator.generate(request)
    second = generator.generate(request)
    assert first.size == (256, 256)
    assert first.tobytes() == second.tobytes()


def test_int8_logits_stay_close_to_the_exact_path(
    generators: dict[str, MinDalleGenerator],
) -> None:
    """Given the same history, int8's first-step logits are close and mostly pick the same top."""
    exact, int8 = generators["fast"], generators["int8-raw"]
    text_tokens = exact.text_tokens("an alpine lake at dawn")
    rows = []
    with torch.inference_mode():
        for generator in (exact, int8):
            backend = generator.backend
            state = backend.encode(text_tokens)
            buffers = backend.runner.buffers(2)
            backend.decoder.start(
                buffers,
                text_tokens=text_tokens,
                encoder_state=state,
                start_token=2**14 - 1,
            )
            rows.append(backend.runner.step(buffers)[:, -1, : 2**14].clone())
    reference, quantized = rows
    assert (quantized - reference).norm() / reference.norm() < 0.05
    top = reference.topk(64, dim=-1).indices
    top_int8 = quantized.topk(64, dim=-1).indices
    shared = sum(len(set(a.tolist()) & set(b.tolist())) for a, b in zip(top, top_int8, strict=True))
    assert shared / top.numel() > 0.8


def test_int8_tokens_mostly_agree_with_exact_for_one_seed(
    generators: dict[str, MinDalleGenerator],
) -> None:
    """The share of tokens equal to the exact path, reported (the benchmark measures it at scale).

    With free-running sampling one differing draw changes the rest of the image, so this only
    checks the run completes and draws valid tokens; agreement is printed for the log.
    """
    tokens = []
    for name in ("fast", "int8-raw"):
        tokens.append(
            backend_image_tokens(
                generators[name], prompt="a red cat", seed=9, settings=SamplingSettings(top_k=16)
            )
        )
    exact, int8 = tokens
    assert int8.shape == exact.shape == (1, 256)
    assert int(int8.min()) >= 0 and int(int8.max()) < 2**14
    print(f"int8 tokens equal to the exact path: {(int8 == exact).float().mean():.1%}")


def test_int8_releases_the_float_weights_it_replaced(test_model_paths: ModelPaths) -> None:
    """The quantized projections' float32 weights are freed; the head and the text's stay."""
    modules = load_dalle_modules(test_model_paths, TEST_SHAPE, CPU, torch.float32, remedy="-")
    make_backend("int8-raw", modules)
    layer = modules.decoder.layers[0]
    assert layer.self_attn.q_proj.weight.numel() == 0
    assert layer.glu.fc2.weight.numel() == 0
    assert modules.decoder.lm_head.weight.numel() == (TEST_SHAPE.image_vocab_count + 1) * (
        TEST_SHAPE.embed_count
    )
    assert layer.encoder_attn.k_proj.weight.numel() == TEST_SHAPE.embed_count**2


@pytest.mark.parametrize("kernel", KERNELS, ids=lambda kernel: kernel.name)
def test_int8_activations_in_two_parts_leave_only_the_weights_rounding(kernel: Int8Gemm) -> None:
    """A projection's output equals float32 arithmetic on its rounded weights, nearly exactly.

    The activations go in as a quantized row plus its quantized rounding error, so their error
    is ~254x smaller than one int8 part's; what stays is the weights' per-channel rounding.
    Both GEMM kernels, each with the arithmetic it gets right on this CPU.
    """
    path = choose_int8_path(detect_cpu_isa, (kernel,))
    if path.arithmetic is None:
        pytest.skip(f"{kernel.name} is refused here: {path.refusal}")
    generator = torch.Generator().manual_seed(0)
    weight = torch.randn(1024, 2730, generator=generator)
    x = torch.randn(2, 1, 2730, generator=generator)
    x[0] *= 30.0  # rows of very different magnitude, as the prompt and empty rows are
    projection = Int8Projection.from_weight(weight, (path.arithmetic, kernel))
    scales = weight.abs().amax(dim=1, keepdim=True) / 127
    rounded = torch.round(weight / scales).clamp(-127, 127) * scales
    expected = torch.nn.functional.linear(x, rounded)
    error = (projection(x) - expected).norm() / expected.norm()
    row_scales = x.abs().amax(dim=-1, keepdim=True) / 127
    one_part = torch.nn.functional.linear(torch.round(x / row_scales) * row_scales, rounded)
    one_part_error = (one_part - expected).norm() / expected.norm()
    assert error < one_part_error / 50
    exact = torch.nn.functional.linear(x, weight)
    assert (projection(x) - exact).norm() / exact.norm() < 0.01
