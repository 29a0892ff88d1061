"""decode: several queued requests decoded together, each keeping its own image."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest
import torch

from dalle_frame_server.generation.batching import BatchPlanner
from dalle_frame_server.generation.generator import MinDalleGenerator
from dalle_frame_server.generation.interface import DecodeRequest, SamplingSettings, decode_one
from dalle_frame_server.generation.min_dalle.fast import FastBackend
from dalle_frame_server.generation.models.loading import ModelPaths, load_dalle_modules
from dalle_frame_server.generation.models.shapes import TEST_SHAPE

CPU = torch.device("cpu")


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def fast_generator(test_model_paths: ModelPaths) -> MinDalleGenerator:
    """The test model behind the fast backend (its own copy of the weights)."""
    modules = load_dalle_modules(test_model_paths, TEST_SHAPE, CPU, torch.float32, remedy="-")
    return MinDalleGenerator(
        modules,
        # Join up to 9 images (a CPU's default is 4) so the probe decides for 4 + 4 too.
        FastBackend(modules, max_joined_images=9),
        model_name="test",
        device=CPU,
        dtype=torch.float32,
    )


def _request(
    generator: MinDalleGenerator,
    prompt: str,
    seed: int,
    image_count: int,
    *,
    top_k: int = 128,
    progress: list[tuple[int, int]] | None = None,
) -> DecodeRequest:
    with torch.inference_mode():
        text_tokens = generator.text_tokens(prompt)
        state = generator.backend.encode(text_tokens)
    return DecodeRequest(
        text_tokens=text_tokens,
        encoder_state=state,
        image_count=image_count,
        settings=SamplingSettings(top_k=top_k),
        generator=torch.Generator().manual_seed(seed),
        progress=None if progress is None else lambda step, total: progress.append((step, total)),
    )


def test_queued_requests_get_the_tokens_they_get_alone(
    fast_generator: MinDalleGenerator,
) -> None:
    """Exact mode: every request's tokens equal its own decode, however the planner batched."""
    backend = fast_generator.backend
    specs = [("a lighthouse", 1, 4), ("a lake", 3, 1), ("a lake", 3, 1)]
    progress: list[list[tuple[int, int]]] = [[] for _ in specs]
    queued = [
        _request(fast_generator, prompt, seed, count, top_k=16, progress=progress[index])
        for index, (prompt, seed, count) in enumerate(specs)
    ]
    together = backend.decode(queued)
    alone = [
        backend.decode([_request(fast_generator, prompt, seed, count, top_k=16)])[0]
        for prompt, seed, count in specs
    ]
    for ours, own, (_, _, count) in zip(together, alone, specs, strict=True):
        assert ours.shape == (count, 256)
        assert torch.equal(ours, own)
    # Same prompt and seed: same image, wherever it sat in the queue.
    assert torch.equal(together[1], together[2])
    for calls in progress:
        assert calls == [(step, 256) for step in range(1, 257)]
    batches = backend.planner.batches(queued)
    assert sorted(position for batch in batches for position in batch) == [0, 1, 2]


def test_two_grids_of_four_batch_exactly_when_the_probe_allows(
    fast_generator: MinDalleGenerator,
) -> None:
    """Requests the probe lets join decode as one batch, and still match their own decode."""
    backend = fast_generator.backend
    specs = [("a lighthouse", 5), ("x", 6)]
    queued = [_request(fast_generator, prompt, seed, 4) for prompt, seed in specs]
    joined = backend.planner.can_join([4, 4])
    assert backend.planner.batches(queued) == ([[0, 1]] if joined else [[0], [1]])
    together = backend.decode(queued)
    for ours, (prompt, seed) in zip(together, specs, strict=True):
        alone = backend.decode([_request(fast_generator, prompt, seed, 4)])[0]
        assert torch.equal(ours, alone)


def test_throughput_mode_batches_everything(fast_generator: MinDalleGenerator) -> None:
    """With exactness off the planner puts every request up to the image cap in one batch."""
    backend = fast_generator.backend
    planner = BatchPlanner(backend.decoding_together_is_exact, exact=False, max_images=9)
    queued = [_request(fast_generator, f"prompt {n}", n, 1) for n in range(1, 5)]
    assert planner.batches(queued) == [[0, 1, 2, 3]]
    backend.planner, saved = planner, backend.planner
    try:
        tokens = backend.decode(queued)
    finally:
        backend.planner = saved
    assert [t.shape for t in tokens] == [(1, 256)] * 4
    assert all(int(t.min()) >= 0 and int(t.max()) < 2**14 for t in tokens)


class _FakeProbe:
    """Answers from a table and records what it was asked."""

    def __init__(self, allowed: set[tuple[int, ...]]) -> None:
        self.allowed = allowed
        self.asked: list[tuple[int, ...]] = []

    def __call__(self, counts: Sequence[int]) -> bool:
        self.asked.append(tuple(counts))
        return tuple(counts) in self.allowed


def _sized(counts: list[int]) -> list[DecodeRequest]:
    return [
        DecodeRequest(
            text_tokens=torch.ones(2, 64, dtype=torch.long),
            encoder_state=torch.zeros(2, 64, 4),
            image_count=count,
            settings=SamplingSettings(),
            generator=torch.Generator(),
        )
        for count in counts
    ]


def test_planner_groups_first_fit_and_caches_verdicts() -> None:
    """Exact mode asks the probe once per size combination and respects the image cap."""
    probe = _FakeProbe({(4, 4), (4, 4, 1)})
    planner = BatchPlanner(probe, exact=True, max_images=9)
    assert planner.batches(_sized([1, 4, 4, 1])) == [[0], [1, 2, 3]]
    assert planner.batches(_sized([4, 4, 4])) == [[0, 1], [2]]
    assert probe.asked.count((4, 4)) == 1
    assert (4, 4, 4) not in probe.asked  # over the cap of 9 images: not even asked


def test_planner_without_exactness_only_caps_images() -> None:
    """Throughput mode never probes; batches stop at the image cap."""
    probe = _FakeProbe(set())
    planner = BatchPlanner(probe, exact=False, max_images=9)
    assert planner.batches(_sized([4, 4, 1, 9, 1])) == [[0, 1, 2], [3], [4]]
    assert probe.asked == []


def test_decode_refuses_empty_requests(fast_generator: MinDalleGenerator) -> None:
    """A request for no image is refused before anything is decoded."""
    bad = _sized([0])[0]
    with pytest.raises(ValueError, match="image_count must be at least 1"):
        fast_generator.backend.decode([bad])


class _ClientLeft(Exception):
    """What the server's progress callback raises when nobody waits any more."""


def test_a_request_whose_client_left_stops_alone(fast_generator: MinDalleGenerator) -> None:
    """Its callback's exception takes its place; the other request still completes exactly."""
    backend = fast_generator.backend
    calls: list[int] = []

    def leave_at_step_10(step: int, total: int) -> None:
        calls.append(step)
        if step == 10:
            raise _ClientLeft

    leaving = _request(fast_generator, "a lake", 1, 4)
    leaving = DecodeRequest(
        text_tokens=leaving.text_tokens,
        encoder_state=leaving.encoder_state,
        image_count=4,
        settings=leaving.settings,
        generator=leaving.generator,
        progress=leave_at_step_10,
    )
    staying = _request(fast_generator, "a lighthouse", 2, 4)
    left, finished = backend.decode([leaving, staying])
    assert isinstance(left, _ClientLeft)
    assert calls == list(range(1, 11))
    alone = backend.decode([_request(fast_generator, "a lighthouse", 2, 4)])[0]
    assert torch.equal(finished, alone)


def test_decode_raises_when_its_only_client_left(fast_generator: MinDalleGenerator) -> None:
    """One request alone: the callback's exception ends decoding and propagates."""
    calls: list[int] = []

    def leave(step: int, total: int) -> None:
        calls.append(step)
        raise _ClientLeft

    request = _request(fast_generator, "a lake", 1, 1)
    with pytest.raises(_ClientLeft):
        decode_one(fast_generator.backend, replace(request, progress=leave))
    assert calls == [1]
