"""Shared fixtures of the GPU server's tests: the tiny models are built once per session."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from aiohttp.test_utils import TestClient

from dalle_frame_server.api.app import create_app
from dalle_frame_server.asr.model_folder import AsrModelFolder
from dalle_frame_server.asr.onnx_transcriber import OnnxCtcTranscriber
from dalle_frame_server.asr.tiny_model import ensure_test_asr_model
from dalle_frame_server.generation.generator import MinDalleGenerator
from dalle_frame_server.generation.min_dalle.backends import make_backend
from dalle_frame_server.generation.models.loading import DalleModules, ModelPaths
from dalle_frame_server.generation.models.tiny_model import ensure_test_model
from dalle_frame_server.settings import ServerSettings
from tests.server.helpers import (
    HookedBackend,
    cpu_generator,
    own_test_modules,
    wait_until_ready,
)

TOKEN = "test-token-4f1c"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def one_torch_thread() -> Iterator[None]:
    """Run a module's models on one torch thread (restored afterwards).

    The test machine's two cores are shared with other suites; torch's OpenMP threads then
    spin-wait for each other and tiny operations slow down a hundredfold. Exactness is checked
    within one process either way (stock and fast at the same thread count); the benchmark
    checks identity at the default thread count. Use with
    `pytestmark = pytest.mark.usefixtures("one_torch_thread")`.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


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
    return own_test_modules(test_model_paths)


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


@pytest.fixture(scope="module")
def exact(test_model_paths: ModelPaths) -> MinDalleGenerator:
    """The exact `fast` backend over a copy of the test model of its own (per module)."""
    modules = own_test_modules(test_model_paths)
    return cpu_generator(modules, make_backend("fast", modules))


@pytest.fixture(scope="session")
def test_asr_folder(models_dir: Path) -> AsrModelFolder:
    """The test ASR model, exported once."""
    return ensure_test_asr_model(models_dir)


@pytest.fixture(scope="session")
def test_transcriber(test_asr_folder: AsrModelFolder) -> OnnxCtcTranscriber:
    """The test ASR model opened in ONNX Runtime."""
    return OnnxCtcTranscriber(test_asr_folder, model_name="test", use_cuda=False)


@pytest.fixture
def hooked_backend(test_modules: DalleModules) -> HookedBackend:
    """A fresh hooked wrapper around the reference backend (gate open, no failures)."""
    return HookedBackend(make_backend("reference", test_modules))


@pytest.fixture
def server_settings(models_dir: Path) -> ServerSettings:
    """Settings of an in-process server with the test models and a token."""
    return ServerSettings(models_dir=models_dir, model="test", asr_model="test", token=TOKEN)


@pytest.fixture
def loaders(
    test_modules: DalleModules,
    hooked_backend: HookedBackend,
    test_transcriber: OnnxCtcTranscriber,
):
    """Loaders that hand the session's models to the app (hooked backend), with gates.

    `generator_gate`/`transcriber_gate` are asyncio events the loaders wait on; both start set.
    """
    generator_gate = asyncio.Event()
    transcriber_gate = asyncio.Event()
    generator_gate.set()
    transcriber_gate.set()

    async def load_generator(settings: ServerSettings, slot) -> MinDalleGenerator:
        slot.set_detail("waiting for the test to let the generator load")
        await generator_gate.wait()
        return MinDalleGenerator(
            test_modules,
            hooked_backend,
            model_name="test",
            device=torch.device("cpu"),
            dtype=torch.float32,
        )

    async def load_transcriber(settings: ServerSettings, slot) -> OnnxCtcTranscriber:
        slot.set_detail("waiting for the test to let ASR load")
        await transcriber_gate.wait()
        return test_transcriber

    return SimpleNamespace(
        generator=load_generator,
        transcriber=load_transcriber,
        generator_gate=generator_gate,
        transcriber_gate=transcriber_gate,
        backend=hooked_backend,
    )


@pytest.fixture
async def make_client(aiohttp_client, server_settings: ServerSettings, loaders):
    """Return an async factory: settings overrides -> a TestClient of a fresh app."""

    async def make(wait_ready: bool = True, **overrides) -> TestClient:
        settings = replace(server_settings, **overrides)
        app = create_app(
            settings,
            generator_loader=loaders.generator,
            transcriber_loader=loaders.transcriber,
        )
        client = await aiohttp_client(app)
        if wait_ready:
            await wait_until_ready(client)
        return client

    return make


@pytest.fixture
async def client(make_client) -> TestClient:
    """A ready in-process server with the test models, token TOKEN, queue size 4."""
    return await make_client()
