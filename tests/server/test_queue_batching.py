"""Queued requests decoded as one batch by the server's queue, where the generator allows it."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable

import numpy as np
import pytest
import torch
from PIL import Image

from dalle_frame_server.api.generation_queue import GenerationJob, GenerationQueue
from dalle_frame_server.generation.generator import MinDalleGenerator
from dalle_frame_server.generation.min_dalle.fast import FastBackend
from dalle_frame_server.generation.min_dalle.int8_raw import Int8Backend
from dalle_frame_server.generation.models.loading import (
    DalleModules,
    ModelPaths,
    load_dalle_modules,
)
from dalle_frame_server.generation.models.shapes import TEST_SHAPE
from dalle_frame_server.generation.text_to_image import GenerationRequest

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CPU = torch.device("cpu")


def _generator(modules: DalleModules, backend: FastBackend) -> MinDalleGenerator:
    return MinDalleGenerator(modules, backend, model_name="test", device=CPU, dtype=torch.float32)


@pytest.fixture(scope="module")
def int8_generator(test_model_paths: ModelPaths) -> MinDalleGenerator:
    """int8 (not exact): its planner lets any requests of up to 2 images decode together."""
    modules = load_dalle_modules(test_model_paths, TEST_SHAPE, CPU, torch.float32, remedy="-")
    return _generator(modules, Int8Backend(modules, max_batch_images=2))


def _spy_decode(generator: MinDalleGenerator, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record how many requests each `decode` call of the backend gets."""
    backend = generator.backend
    assert isinstance(backend, FastBackend)
    original = backend.decode
    sizes: list[int] = []

    def decode(requests):  # type: ignore[no-untyped-def]
        sizes.append(len(requests))
        return original(requests)

    monkeypatch.setattr(backend, "decode", decode)
    return sizes


async def _serve(queue: GenerationQueue, generator: MinDalleGenerator, jobs: list[GenerationJob]):
    """Serve until every job is settled; return their results or exceptions."""
    worker = asyncio.create_task(queue.serve(lambda: generator))
    try:
        return await asyncio.wait_for(
            asyncio.gather(*(job.future for job in jobs), return_exceptions=True), 120
        )
    finally:
        worker.cancel()
        queue.close()


async def test_waiting_requests_join_one_batch_in_order(
    int8_generator: MinDalleGenerator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three 1-image requests, batches of at most 2 images: the first two as one batch, the
    third on the next turn; each gets its own seed, size and progress to 256."""
    sizes = _spy_decode(int8_generator, monkeypatch)
    queue = GenerationQueue(max_waiting=4)
    progress: dict[int, list[int]] = {seed: [] for seed in (1, 2, 3)}

    def recorder(seed: int) -> Callable[[int, int], None]:
        return lambda step, total: progress[seed].append(step)

    jobs = [
        queue.submit(
            GenerationRequest(prompt=f"cat {seed}", seed=seed, grid_size=1), recorder(seed)
        )
        for seed in (1, 2, 3)
    ]
    results = await _serve(queue, int8_generator, jobs)
    assert sizes == [2, 1]
    assert [result.seed for result in results] == [1, 2, 3]
    for seed, result in zip((1, 2, 3), results, strict=True):
        image = Image.open(io.BytesIO(result.png))
        assert image.size == (256, 256)
        assert progress[seed][-1] == 256
    assert results[0].seconds == results[1].seconds  # one turn for both
    assert queue.completed == 3 and queue.failed == 0
    # The third ran on its own turn: the pixels of generating it directly with its seed.
    alone = int8_generator.generate(GenerationRequest(prompt="cat 3", seed=3))
    assert np.array_equal(np.asarray(alone), np.asarray(Image.open(io.BytesIO(results[2].png))))


async def test_a_client_leaving_stops_only_its_own_request(
    int8_generator: MinDalleGenerator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a batch of two, the one whose client left is cancelled; the other completes."""
    sizes = _spy_decode(int8_generator, monkeypatch)
    queue = GenerationQueue(max_waiting=4)
    jobs: list[GenerationJob] = []

    def leave_at_step_10(step: int, total: int) -> None:
        if step == 10:
            jobs[1].abandon()

    jobs.append(queue.submit(GenerationRequest(prompt="stays", seed=5)))
    jobs.append(queue.submit(GenerationRequest(prompt="leaves", seed=6), leave_at_step_10))
    kept, left = await _serve(queue, int8_generator, jobs)
    assert sizes == [2]
    assert kept.seed == 5
    assert isinstance(left, asyncio.CancelledError)
    assert queue.completed == 1


def test_exact_backends_batch_only_what_the_probe_allows(
    test_model_paths: ModelPaths, reference_generator: MinDalleGenerator
) -> None:
    """The exact fast backend batches where its probe proved it exact, on a CPU at most 4
    images together; the reference backend never batches."""
    modules = load_dalle_modules(test_model_paths, TEST_SHAPE, CPU, torch.float32, remedy="-")
    fast = _generator(modules, FastBackend(modules))
    planner = fast.backend.planner  # type: ignore[attr-defined]
    two_single = [GenerationRequest(prompt="a", seed=1)] * 2
    assert fast.can_batch(two_single) == planner.can_join([1, 1])
    assert not fast.can_batch(two_single[:1])
    two_grids = [GenerationRequest(prompt="a", seed=1, grid_size=2)] * 2
    assert not fast.can_batch(two_grids)  # 8 images: more than a CPU joins
    assert not reference_generator.can_batch(two_single)
    for generator, requests in ((reference_generator, two_single), (fast, two_grids)):
        with pytest.raises(ValueError, match="cannot be decoded as one batch"):
            generator.generate_batch(requests, [None, None])
