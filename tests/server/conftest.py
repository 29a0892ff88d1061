"""Shared fixtures of the GPU server's tests: the tiny models are built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from dalle_frame_server.generation.backend import make_backend
from dalle_frame_server.generation.generator import MinDalleGenerator
from dalle_frame_server.generation.model_loading import (
    DalleModules,
    ModelPaths,
    load_dalle_modules,
)
from dalle_frame_server.generation.model_shapes import TEST_SHAPE
from dalle_frame_server.generation.test_model import ensure_test_model


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model directory holding the test models, shared by the whole session."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def test_model_paths(models_dir: Path) -> ModelPaths:
    """The test text-to-image model's files (built once)."""
    return ensure_test_model(models_dir)


@pytest.fixture(scope="session")
def test_modules(test_model_paths: ModelPaths) -> DalleModules:
    """The test model loaded on the CPU in float32."""
    return load_dalle_modules(
        test_model_paths, TEST_SHAPE, torch.device("cpu"), torch.float32, remedy="rebuild it"
    )


@pytest.fixture(scope="session")
def reference_generator(test_modules: DalleModules) -> MinDalleGenerator:
    """The test model behind the reference backend."""
    return MinDalleGenerator(
        test_modules,
        make_backend("reference", test_modules),
        model_name="test",
        device=torch.device("cpu"),
        dtype=torch.float32,
    )
