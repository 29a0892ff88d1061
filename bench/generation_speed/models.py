"""The benchmark's random-weight models, made locally once and cached under build/bench-models/.

`test` is the server's tiny test model; `mini` and `mega` have the real models' shapes with
random weights (the pictures are noise, the arithmetic and memory traffic are the real ones).
Nothing here is committed; a model whose marker does not match is rebuilt.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from dalle_frame_server.generation.models.loading import model_paths
from dalle_frame_server.generation.models.random_weights import (
    random_model_marker,
    read_random_model_marker,
    write_random_model,
)
from dalle_frame_server.generation.models.shapes import (
    MEGA_SHAPE,
    MINI_SHAPE,
    TEST_SHAPE,
    DalleShape,
)
from dalle_frame_server.generation.models.tiny_model import ensure_test_model

_LOGGER = logging.getLogger(__name__)

DEFAULT_MODELS_DIR: Final = Path("build/bench-models")
WEIGHTS_SEED: Final = 1
"""Seed of the mini- and mega-shaped random weights."""

SHAPES: Final = {"test": TEST_SHAPE, "mini": MINI_SHAPE, "mega": MEGA_SHAPE}


@dataclass(frozen=True)
class BenchModel:
    """A model folder in min-dalle's layout and the shape its networks have."""

    name: str
    root: Path
    shape: DalleShape


def ensure_bench_model(name: str, models_dir: Path = DEFAULT_MODELS_DIR) -> BenchModel:
    """Return the model called `name` ("test", "mini" or "mega"), writing it when missing."""
    if name not in SHAPES:
        raise ValueError(f"unknown benchmark model {name!r} (choose {', '.join(SHAPES)})")
    shape = SHAPES[name]
    if name == "test":
        paths = ensure_test_model(models_dir)
        return BenchModel(name, paths.detokenizer.parent.parent, shape)
    layout_name = f"{name}-random"
    root = models_dir / layout_name
    paths = model_paths(root, name)
    present = all(
        path.is_file()
        for path in (paths.vocab, paths.merges, paths.encoder, paths.decoder, paths.detokenizer)
    )
    if not present or read_random_model_marker(root) != random_model_marker(shape, WEIGHTS_SEED):
        _LOGGER.warning("Writing %s-shaped random weights to %s (once)", name, root)
        write_random_model(models_dir, shape, seed=WEIGHTS_SEED, layout_name=layout_name)
    return BenchModel(name, root, shape)
