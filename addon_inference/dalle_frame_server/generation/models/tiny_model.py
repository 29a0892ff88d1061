"""The `test` text-to-image model: tiny random weights, built locally in seconds, paints noise.

It uses min-dalle's real tokenizer format and real network classes (TEST_SHAPE for the encoder
and decoder, the full-size VQGAN detokenizer), so every code path of the real models runs;
only the pictures are meaningless. Built once into `<models-dir>/test/` and rebuilt when a
file is missing or the marker names another version, seed or shape.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Final

from .loading import ModelPaths, model_paths
from .shapes import TEST_SHAPE
from .random_weights import random_model_marker, read_random_model_marker, write_random_model

_LOGGER = logging.getLogger(__name__)

TEST_MODEL_NAME: Final = "test"
TEST_MODEL_SEED: Final = 20220704
"""Seed of the test model's weights (fixed: every machine builds the same files)."""

TEST_MODEL_NOTICE: Final = "test model: random weights, paints noise"


def ensure_test_model(models_dir: Path) -> ModelPaths:
    """Return the test model's files under `models_dir/test`, building them when needed."""
    root = models_dir / TEST_MODEL_NAME
    paths = model_paths(root, "mini")
    expected = random_model_marker(TEST_SHAPE, TEST_MODEL_SEED)
    files_present = all(
        path.is_file()
        for path in (paths.vocab, paths.merges, paths.encoder, paths.decoder, paths.detokenizer)
    )
    if files_present and read_random_model_marker(root) == expected:
        _LOGGER.debug("Test model present in %s", root)
        return paths
    _LOGGER.info("Building the test model in %s (%s)", root, TEST_MODEL_NOTICE)
    return write_random_model(
        models_dir, TEST_SHAPE, seed=TEST_MODEL_SEED, layout_name=TEST_MODEL_NAME
    )
