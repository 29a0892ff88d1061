"""Stock `min_dalle.MinDalle` over a models folder, offline, and its image tokens for a seed.

Shared by the benchmark and the tests that compare the fast backends with stock min-dalle.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import torch

from dalle_frame_server.generation.models.shapes import MEGA_SHAPE, DalleShape


def load_stock_min_dalle(
    models_root: Path,
    shape: DalleShape,
    *,
    device: torch.device | None = None,
    dtype: torch.dtype = torch.float32,
) -> Any:
    """Build stock `MinDalle` (CPU float32 unless told) on the files under `models_root`.

    `MinDalle()` always asks the hub for config.json (and ignores the answer): that call is
    patched out. The sizes are set from `shape` before the networks are built, so random
    weights of any shape load.
    """
    import min_dalle.min_dalle as stock_module

    threads = torch.get_num_threads()
    with mock.patch.object(stock_module.requests, "get"):
        model = stock_module.MinDalle(
            models_root=str(models_root),
            dtype=dtype,
            device=str(device or torch.device("cpu")),
            is_mega=shape == MEGA_SHAPE,
            is_reusable=False,
            is_verbose=False,
        )
    torch.set_num_threads(threads)  # importing min_dalle sets it to the core count
    for name, value in shape.as_dict().items():
        setattr(model, name, value)
    model.init_encoder()
    model.init_decoder()
    model.init_detokenizer()
    model.is_reusable = True
    return model


@contextmanager
def tokens_only(model: Any) -> Iterator[list[torch.Tensor]]:
    """While active, stock's image step records the image tokens and skips the VQGAN."""
    recorded: list[torch.Tensor] = []

    def record(image_tokens: torch.Tensor, is_seamless: bool, is_verbose: bool = False) -> Any:
        recorded.append(image_tokens.clone())
        grid = int(image_tokens.shape[0] ** 0.5)
        return torch.zeros(256 * grid, 256 * grid, 3)

    with mock.patch.object(model, "image_grid_from_tokens", side_effect=record):
        yield recorded


def stock_image_tokens(
    model: Any,
    *,
    prompt: str,
    seed: int,
    grid_size: int,
    top_k: int = 128,
    temperature: float = 1.0,
    supercondition_factor: float = 16.0,
) -> torch.Tensor:
    """Stock min-dalle's (grid_size**2, 256) image tokens; torch's global RNG is left as it was.

    Runs without autograd, as stock's own import arranges for its thread (the server imports
    min-dalle's classes with that side effect undone).
    """
    with torch.no_grad(), torch.random.fork_rng(devices=[]), tokens_only(model) as recorded:
        next(
            model.generate_raw_image_stream(
                text=prompt,
                seed=seed,
                grid_size=grid_size,
                top_k=top_k,
                temperature=temperature,
                supercondition_factor=supercondition_factor,
            )
        )
    return recorded[0]
