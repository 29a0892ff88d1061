"""The fast backend draws stock min-dalle's tokens and paints its pixels, bit for bit.

Stock `MinDalle` runs on the same weight files; every one of the 256 decoder steps must draw
the same token for several seeds and grids. The tiny test model covers the code paths in a
few seconds; test_fast_exact_wide.py repeats the check at mini's widths.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from bench.generation_speed.stock import load_stock_min_dalle, stock_image_tokens
from dalle_frame_server.generation.generator import MinDalleGenerator
from dalle_frame_server.generation.interface import SamplingSettings
from dalle_frame_server.generation.min_dalle.backends import make_backend
from dalle_frame_server.generation.min_dalle.fast import FastBackend
from dalle_frame_server.generation.models.loading import (
    DalleModules,
    ModelPaths,
    load_dalle_modules,
)
from dalle_frame_server.generation.models.shapes import TEST_SHAPE
from dalle_frame_server.generation.text_to_image import GenerationRequest
from tests.server.helpers import backend_image_tokens

CPU = torch.device("cpu")


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _root(paths: ModelPaths) -> Path:
    """The models root a ModelPaths lives under."""
    return paths.detokenizer.parent.parent


def _generator(modules: DalleModules, backend: object) -> MinDalleGenerator:
    return MinDalleGenerator(modules, backend, model_name="test", device=CPU, dtype=torch.float32)


@pytest.fixture(scope="module")
def tiny_stock(test_model_paths: ModelPaths):
    """Stock MinDalle on the test model's files."""
    return load_stock_min_dalle(_root(test_model_paths), TEST_SHAPE)


@pytest.fixture(scope="module")
def tiny_fast(test_model_paths: ModelPaths) -> MinDalleGenerator:
    """The test model (its own copy: the fast backend re-lays some weights) behind `fast`."""
    modules = load_dalle_modules(test_model_paths, TEST_SHAPE, CPU, torch.float32, remedy="-")
    return _generator(modules, make_backend("fast", modules))


@pytest.fixture(scope="module")
def tiny_fast_column_blocks(test_model_paths: ModelPaths) -> MinDalleGenerator:
    """`fast` with 1-image GEMMs split into column blocks of one batched GEMM (where exact),
    and q|k|v and fc0|fc1 stacked where exact (the default leaves weights used in place from
    their files unstacked; a GPU or copied weights stack)."""
    modules = load_dalle_modules(test_model_paths, TEST_SHAPE, CPU, torch.float32, remedy="-")
    return _generator(modules, FastBackend(modules, column_blocks=True, stack=True))


_STOCK_TOKENS: dict[tuple[object, ...], torch.Tensor] = {}
"""Stock's tokens per case, computed once for both fast variants."""


@pytest.mark.parametrize(
    ("prompt", "seed", "grid_size", "top_k", "temperature", "supercondition_factor"),
    [
        ("a lighthouse in a storm", 7, 1, 128, 1.0, 16.0),
        ("a lighthouse in a storm", 8, 1, 128, 1.0, 16.0),
        ("THE red cat, sitting on a mat!", 123456, 2, 16, 0.7, 4.0),
        ("z", 2**40 + 3, 2, 1, 1.3, 1.0),
        ("an alpine lake at dawn, oil painting", 99, 1, 16384, 2.0, 64.0),
    ],
)
@pytest.mark.parametrize("variant", ["tiny_fast", "tiny_fast_column_blocks"])
def test_tokens_equal_stock_over_all_steps(
    request: pytest.FixtureRequest,
    tiny_stock,
    variant: str,
    prompt: str,
    seed: int,
    grid_size: int,
    top_k: int,
    temperature: float,
    supercondition_factor: float,
) -> None:
    """All 256 tokens of every image equal stock's for the same seed and settings."""
    settings = {
        "top_k": top_k,
        "temperature": temperature,
        "supercondition_factor": supercondition_factor,
    }
    case = (prompt, seed, grid_size, top_k, temperature, supercondition_factor)
    if case not in _STOCK_TOKENS:
        _STOCK_TOKENS[case] = stock_image_tokens(
            tiny_stock, prompt=prompt, seed=seed, grid_size=grid_size, **settings
        )
    stock = _STOCK_TOKENS[case]
    generator = request.getfixturevalue(variant)
    ours = backend_image_tokens(
        generator,
        prompt=prompt,
        seed=seed,
        grid_size=grid_size,
        settings=SamplingSettings(**settings),
    )
    assert ours.shape == stock.shape == (grid_size**2, 256)
    assert torch.equal(ours, stock)
    # Not a degenerate run: with top_k > 1 the images draw many different tokens.
    if top_k > 1:
        assert len(torch.unique(ours)) > 3


def test_pixels_equal_stock(tiny_stock, tiny_fast: MinDalleGenerator) -> None:
    """The whole generation, VQGAN included, paints stock's pixels."""
    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        stock = tiny_stock.generate_image(
            text="a lighthouse in a storm", seed=11, grid_size=1, top_k=128
        )
    ours = tiny_fast.generate(GenerationRequest(prompt="a lighthouse in a storm", seed=11))
    assert np.array_equal(np.asarray(ours), np.asarray(stock))
    assert len(np.unique(np.asarray(ours).reshape(-1, 3), axis=0)) > 100


def test_encoder_state_equals_stock(tiny_stock, tiny_fast: MinDalleGenerator) -> None:
    """The fast encoder's output equals stock's encoder bit for bit."""
    text_tokens = tiny_fast.text_tokens("THE red cat, sitting on a mat!")
    with torch.no_grad():
        stock = tiny_stock.encoder.forward(text_tokens)
    with torch.inference_mode():
        ours = tiny_fast.backend.encode(text_tokens)
    assert torch.equal(ours, stock)


def test_fast_backend_is_exact_on_cpu(tiny_fast: MinDalleGenerator) -> None:
    """On the CPU in float32 the backend says it is exact (and is named `fast`)."""
    assert tiny_fast.backend.exact is True
    assert tiny_fast.backend.name == "fast"


def test_stacking_keeps_module_outputs(test_model_paths: ModelPaths) -> None:
    """After the backend stacks q|k|v and fc0|fc1, the modules compute what they did before."""
    modules = load_dalle_modules(test_model_paths, TEST_SHAPE, CPU, torch.float32, remedy="-")
    layer = modules.decoder.layers[0]
    x = torch.randn(2, 1, TEST_SHAPE.embed_count, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        before = [layer.self_attn.q_proj(x), layer.self_attn.v_proj(x), layer.glu.fc1(x)]
        backend = FastBackend(modules, stack=True)
        after = [layer.self_attn.q_proj(x), layer.self_attn.v_proj(x), layer.glu.fc1(x)]
    for old, new in zip(before, after, strict=True):
        assert torch.equal(old, new)
    assert FastBackend(modules).decoder.weights.stacked_qkv is False  # mapped: never stacked
    if backend.decoder.weights.stacked_qkv:
        stacked = backend.decoder.weights.layers[0].self_qkv.stacked.weight
        # The module's weight is a view into the stacked tensor: no second copy.
        assert layer.self_attn.k_proj.weight.untyped_storage().data_ptr() == (
            stacked.untyped_storage().data_ptr()
        )


def test_detokenizer_image_by_image_equals_stock_batch(
    tiny_stock, tiny_fast: MinDalleGenerator
) -> None:
    """Four images detokenized one by one: stock's batched 2x2 grid, bit for bit."""
    tokens = torch.randint(0, 2**14, (4, 256), generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        expected = tiny_stock.detokenizer.forward(False, tokens)
    with torch.inference_mode():
        ours = tiny_fast.backend.detokenize(tokens)
    assert ours.shape == expected.shape == (512, 512, 3)
    assert torch.equal(ours, expected)


def test_detokenizer_refuses_a_non_square_count(tiny_fast: MinDalleGenerator) -> None:
    """Three images make no grid: a clear error instead of a reshape failure."""
    with pytest.raises(ValueError, match="square number of images"):
        tiny_fast.backend.detokenize(torch.zeros(3, 256, dtype=torch.long))
