"""The `test` upscaler: a tiny compact SR network with random weights, exported to ONNX locally.

It exercises every code path (ONNX Runtime, tiles, crop and resize) without a download and
paints noise-ish detail over the picture: for tests and demos, never for art.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Final

from .network import TEST_SHAPE, export_onnx, random_network

_LOGGER = logging.getLogger(__name__)

TEST_UPSCALER_NAME: Final = "test"
TEST_UPSCALER_NOTICE: Final = (
    "the test upscaler has random weights: it enlarges pictures and paints noise-ish detail "
    "over them (for tests and demos only)"
)
TEST_UPSCALER_SEED: Final = 18
_FORMAT_VERSION: Final = "1"


def upscalers_dir(models_dir: Path) -> Path:
    """Return the folder that holds the upscaler models (`<models_dir>/upscalers/`)."""
    return models_dir / "upscalers"


def ensure_test_upscaler(models_dir: Path) -> Path:
    """Return the test upscaler's ONNX graph, exporting it first when absent or stale."""
    folder = upscalers_dir(models_dir) / TEST_UPSCALER_NAME
    graph = folder / "model.onnx"
    stamp = folder / "format_version"
    if graph.is_file() and stamp.is_file() and stamp.read_text() == _FORMAT_VERSION:
        return graph
    _LOGGER.info("Building the test upscaler in %s (%s)", folder, TEST_UPSCALER_NOTICE)
    folder.mkdir(parents=True, exist_ok=True)
    network = random_network(TEST_SHAPE, seed=TEST_UPSCALER_SEED, detail_gain=0.3)
    partial = folder / f"model.onnx.{os.getpid()}.part"
    export_onnx(network, str(partial))
    partial.replace(graph)  # atomic: a crash never leaves half a graph under the name
    stamp.write_text(_FORMAT_VERSION)
    return graph
