"""The fast backend equals stock min-dalle at mini's widths, where BLAS picks its real kernels.

A one-layer random model with mini's widths (embed 1024, GLU 2730, 16 heads, the full image
vocabulary) makes MKL choose among the kernels it uses for the real model, so the backend's
probe may refuse to stack fc0|fc1 for two rows (as on the 2-core EPYC) while stacking for
eight. Runs on one thread like the other fast-backend tests (the shared 2-core test machine
makes two OpenMP threads crawl); the benchmark checks identity at the default thread count on
the full mini shape.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from bench.generation_speed.stock import load_stock_min_dalle, stock_image_tokens
from dalle_frame_server.generation.generator import MinDalleGenerator
from dalle_frame_server.generation.min_dalle.fast import FastBackend
from dalle_frame_server.generation.models.loading import ModelPaths, load_dalle_modules
from dalle_frame_server.generation.models.random_weights import write_random_model
from dalle_frame_server.generation.models.shapes import MINI_SHAPE, TEST_SHAPE, DalleShape
from tests.server.helpers import backend_image_tokens

WIDE_SHAPE = DalleShape(
    layer_count=1,
    attention_head_count=MINI_SHAPE.attention_head_count,
    embed_count=MINI_SHAPE.embed_count,
    glu_embed_count=MINI_SHAPE.glu_embed_count,
    text_vocab_count=TEST_SHAPE.text_vocab_count,
    image_vocab_count=MINI_SHAPE.image_vocab_count,
)
"""Mini's widths with one layer: MKL's real kernel choices at a fraction of the time."""

CPU = torch.device("cpu")


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def wide_paths(models_dir: Path) -> ModelPaths:
    """A one-layer random model with mini's widths."""
    return write_random_model(models_dir, WIDE_SHAPE, seed=5, layout_name="wide")


def test_wide_model_equals_stock_with_blas_kernels_of_mini(wide_paths: ModelPaths) -> None:
    """Mini's widths: tokens (grid 1 and 2) and encoder state equal stock's.

    With 1-image GEMMs split into column blocks of one batched GEMM where the probe allows it.

    At these widths MKL chooses among its real kernels, so the probe may refuse to stack
    fc0|fc1 for two rows (as it does on the 2-core EPYC) while stacking for eight.
    """
    stock = load_stock_min_dalle(wide_paths.detokenizer.parent.parent, WIDE_SHAPE)
    modules = load_dalle_modules(wide_paths, WIDE_SHAPE, CPU, torch.float32, remedy="-")
    generator = MinDalleGenerator(
        modules,
        FastBackend(modules, column_blocks=True),
        model_name="wide",
        device=CPU,
        dtype=torch.float32,
    )
    for prompt, seed, grid_size in [("a lighthouse", 3, 1), ("red cat on a mat", 4, 2)]:
        expected = stock_image_tokens(stock, prompt=prompt, seed=seed, grid_size=grid_size)
        ours = backend_image_tokens(generator, prompt=prompt, seed=seed, grid_size=grid_size)
        assert torch.equal(ours, expected), (prompt, grid_size)
    text_tokens = generator.text_tokens("a lighthouse")
    with torch.no_grad():
        expected_state = stock.encoder.forward(text_tokens)
    with torch.inference_mode():
        assert torch.equal(generator.backend.encode(text_tokens), expected_state)
