"""The reference backend paints what stock min-dalle paints for the same weights and seed."""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest
import torch

from dalle_frame_server.generation.generator import MinDalleGenerator
from dalle_frame_server.generation.models.loading import ModelPaths
from dalle_frame_server.generation.models.shapes import TEST_SHAPE
from dalle_frame_server.generation.text_to_image import GenerationRequest

SLOW = pytest.mark.slow


@pytest.fixture(scope="module")
def stock_min_dalle(test_model_paths: ModelPaths):
    """Stock `min_dalle.MinDalle` on the test model's files, its network call patched out."""
    import min_dalle.min_dalle as stock_module

    root = test_model_paths.detokenizer.parent.parent
    with mock.patch.object(stock_module.requests, "get") as fake_get:
        model = stock_module.MinDalle(
            models_root=str(root),
            dtype=torch.float32,
            device="cpu",
            is_mega=False,
            is_reusable=False,
            is_verbose=False,
        )
    # With every file present, stock only asks the hub for config.json (and ignores it).
    assert [call.args[0].rsplit("/", 1)[-1] for call in fake_get.call_args_list] == ["config.json"]
    for name, value in TEST_SHAPE.as_dict().items():
        setattr(model, name, value)
    model.init_encoder()
    model.init_decoder()
    model.init_detokenizer()
    model.is_reusable = True
    return model


@pytest.mark.parametrize(
    ("prompt", "seed", "grid_size", "top_k", "temperature", "supercondition_factor"),
    [
        # Over 64 tokens: both cut the prompt the same way.
        pytest.param(
            " ".join(["a lighthouse in a storm"] * 20), 99, 1, 128, 1.0, 16.0, id="grid 1"
        ),
        pytest.param(
            "THE red cat, sitting on a mat!", 123456, 2, 16, 0.7, 4.0, id="grid 2", marks=SLOW
        ),
    ],
)
def test_reference_equals_stock_pixel_for_pixel(
    stock_min_dalle,
    reference_generator: MinDalleGenerator,
    prompt: str,
    seed: int,
    grid_size: int,
    top_k: int,
    temperature: float,
    supercondition_factor: float,
) -> None:
    """Same prompt, seed and settings: the server's image equals stock min-dalle's exactly.

    Ours draws only from its own generator: torch's global RNG is the same before and after.
    """
    request = GenerationRequest(
        prompt=prompt,
        seed=seed,
        grid_size=grid_size,
        top_k=top_k,
        temperature=temperature,
        supercondition_factor=supercondition_factor,
    )
    rng_before = torch.random.get_rng_state()
    ours = reference_generator.generate(request)
    assert torch.equal(rng_before, torch.random.get_rng_state())
    # Stock min-dalle turns autograd off when imported; the server's import undid that.
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        stock = stock_min_dalle.generate_image(
            text=prompt,
            seed=seed,
            grid_size=grid_size,
            top_k=top_k,
            temperature=temperature,
            supercondition_factor=supercondition_factor,
        )
    assert ours.size == stock.size == (256 * grid_size, 256 * grid_size)
    ours_pixels = np.asarray(ours)
    assert np.array_equal(ours_pixels, np.asarray(stock))
    # Noise, not a flat picture: the comparison means something.
    assert len(np.unique(ours_pixels.reshape(-1, 3), axis=0)) > 100
