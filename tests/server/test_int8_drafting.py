"""The int8 backend: int8 drafts checked by the float32 decoder give the exact path's tokens."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from dalle_frame_server.generation.generator import MinDalleGenerator
from dalle_frame_server.generation.interface import DecodeRequest, SamplingSettings
from dalle_frame_server.generation.min_dalle.backends import make_backend
from dalle_frame_server.generation.min_dalle.drafting import MAX_DRAFTED_IMAGES, DraftedInt8Backend
from dalle_frame_server.generation.min_dalle.kernels.decoder import FastDecoder
from dalle_frame_server.generation.models.loading import (
    ModelPaths,
)
from dalle_frame_server.generation.models.shapes import START_TOKEN, TEST_SHAPE
from dalle_frame_server.generation.text_to_image import GenerationRequest
from tests.server.helpers import (
    backend_image_tokens,
    cpu_generator,
    drafts_kept_for_exact_tokens,
    own_test_modules,
)

CPU = torch.device("cpu")
PROMPTS = ("a lighthouse in a storm", "an alpine lake at dawn", "a red cat")

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def drafted(test_model_paths: ModelPaths) -> MinDalleGenerator:
    """The `int8` backend as the server makes it (its own copy of the weights)."""
    modules = own_test_modules(test_model_paths)
    return cpu_generator(modules, make_backend("int8", modules))


def _request(
    generator: MinDalleGenerator,
    prompt: str,
    seed: int,
    *,
    images: int = 1,
    progress: Callable[[int, int], None] | None = None,
    settings: SamplingSettings | None = None,
) -> DecodeRequest:
    """A decode request as the generator builds one (text encoded, own generator)."""
    backend = generator.backend
    text_tokens = generator.text_tokens(prompt)
    with torch.inference_mode():
        encoder_state = backend.encode(text_tokens)
    return DecodeRequest(
        text_tokens=text_tokens,
        encoder_state=encoder_state,
        image_count=images,
        settings=settings or SamplingSettings(),
        generator=torch.Generator().manual_seed(seed),
        progress=progress,
    )


def test_int8_is_the_drafting_backend(drafted: MinDalleGenerator) -> None:
    """`int8` names the drafting backend; it does not claim stock's bits, and keeps float32."""
    backend = drafted.backend
    assert isinstance(backend, DraftedInt8Backend)
    assert backend.name == "int8"
    assert backend.exact is False
    assert backend.checker is not backend.decoder
    assert backend.exact_runner.decoder is backend.checker
    layer = backend.modules.decoder.layers[0]
    assert layer.self_attn.q_proj.weight.numel() == TEST_SHAPE.embed_count**2


@pytest.mark.parametrize(("grid_size", "seed"), [(1, 1), (1, 2), (1, 3), (2, 4)])
def test_drafted_tokens_equal_the_exact_path(
    exact: MinDalleGenerator, drafted: MinDalleGenerator, grid_size: int, seed: int
) -> None:
    """Every image token equals the exact backend's for the same prompt and seed."""
    prompt = PROMPTS[seed % len(PROMPTS)]
    kept, drafts = drafts_kept_for_exact_tokens(
        exact, drafted, prompt=prompt, seed=seed, grid_size=grid_size
    )
    # int8 close to float32 keeps most drafts (~96% here); an int8 GEMM that overflows (full-
    # range activations without VNNI, int8_path.py) kept 13%, slower than not drafting.
    assert kept > drafts / 2


def test_large_batches_step_the_exact_path(
    exact: MinDalleGenerator, drafted: MinDalleGenerator
) -> None:
    """Above MAX_DRAFTED_IMAGES a batch is not drafted: the exact path's arithmetic."""
    counts = drafted.backend.counts
    rounds = counts.rounds
    grid = 3
    assert grid * grid > MAX_DRAFTED_IMAGES
    got = backend_image_tokens(drafted, prompt="a red cat", seed=6, grid_size=grid)
    assert torch.equal(got, backend_image_tokens(exact, prompt="a red cat", seed=6, grid_size=grid))
    assert counts.rounds == rounds


def test_pictures_equal_the_exact_path(
    exact: MinDalleGenerator, drafted: MinDalleGenerator
) -> None:
    """Through the generator: the same PNG pixels as the exact backend."""
    request = GenerationRequest(prompt="a lighthouse in a storm", seed=21)
    assert drafted.generate(request).tobytes() == exact.generate(request).tobytes()


def test_wrong_drafts_are_all_replaced(
    test_model_paths: ModelPaths, exact: MinDalleGenerator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A drafter that is always wrong costs speed, never tokens: the check writes each one."""
    modules = own_test_modules(test_model_paths)
    backend = DraftedInt8Backend(modules, draft_length=3)
    generator = cpu_generator(modules, backend)
    real_step = backend.decoder.step

    def wrong_step(buffers):  # every draft: the token the float32 decoder likes least
        logits = real_step(buffers)
        return -1e6 * logits

    monkeypatch.setattr(backend.decoder, "step", wrong_step)
    got = backend_image_tokens(generator, prompt="a red cat", seed=5)
    want = backend_image_tokens(exact, prompt="a red cat", seed=5)
    assert torch.equal(got, want)
    assert backend.counts.accepted == 0
    assert backend.counts.rounds == 256


def test_a_perfect_drafter_gains_a_token_after_its_drafts(
    test_model_paths: ModelPaths, exact: MinDalleGenerator
) -> None:
    """Drafts from the float32 decoder itself all stand: each round gains draft_length + 1."""
    modules = own_test_modules(test_model_paths)
    backend = DraftedInt8Backend(modules, draft_length=15)
    backend.decoder = backend.checker
    backend.runner = backend.exact_runner
    generator = cpu_generator(modules, backend)
    got = backend_image_tokens(generator, prompt="an alpine lake", seed=8)
    assert torch.equal(got, backend_image_tokens(exact, prompt="an alpine lake", seed=8))
    assert backend.counts.rounds == 16  # 256 = 16 rounds of 15 drafts + 1
    assert backend.counts.accepted == backend.counts.drafted == 240


def test_several_images_draft_the_batch_length(
    test_model_paths: ModelPaths, exact: MinDalleGenerator
) -> None:
    """A batch of several images drafts `batch_draft_length` per round, one image the other."""
    modules = own_test_modules(test_model_paths)
    backend = DraftedInt8Backend(modules, draft_length=15, batch_draft_length=3)
    backend.decoder = backend.checker
    backend.runner = backend.exact_runner
    generator = cpu_generator(modules, backend)
    got = backend_image_tokens(generator, prompt="an alpine lake", seed=8, grid_size=2)
    want = backend_image_tokens(exact, prompt="an alpine lake", seed=8, grid_size=2)
    assert torch.equal(got, want)
    assert backend.counts.rounds == 64  # 256 = 64 rounds of 3 drafts + 1
    assert backend.counts.accepted == backend.counts.drafted == 192


@pytest.mark.parametrize("name", ["draft_length", "batch_draft_length"])
@pytest.mark.parametrize("length", [0, 256, -3])
def test_draft_length_out_of_range_is_refused(
    test_model_paths: ModelPaths, name: str, length: int
) -> None:
    """A draft length outside 1..255 says which lengths are allowed."""
    with pytest.raises(ValueError, match=rf"{name} must be 1\.\.255"):
        DraftedInt8Backend(own_test_modules(test_model_paths), **{name: length})


def test_progress_counts_every_step_once_in_order(drafted: MinDalleGenerator) -> None:
    """Progress arrives for steps 1..256, each once, though rounds gain several at a time."""
    seen: list[tuple[int, int]] = []
    request = _request(
        drafted, "a red cat", 3, progress=lambda step, total: seen.append((step, total))
    )
    (result,) = drafted.backend.decode([request])
    assert isinstance(result, torch.Tensor)
    assert seen == [(step, 256) for step in range(1, 257)]


def test_queued_requests_keep_their_own_tokens(
    exact: MinDalleGenerator, drafted: MinDalleGenerator
) -> None:
    """Requests decoded as one batch get the exact path's tokens of each decoded alone."""
    specs = [("a red cat", 31, 1, SamplingSettings()), ("a dog", 32, 4, SamplingSettings(top_k=4))]
    batched = drafted.backend.decode(
        [_request(drafted, *spec[:2], images=spec[2], settings=spec[3]) for spec in specs]
    )
    for (prompt, seed, images, settings), result in zip(specs, batched, strict=True):
        (want,) = exact.backend.decode(
            [_request(exact, prompt, seed, images=images, settings=settings)]
        )
        assert isinstance(result, torch.Tensor)
        assert result.shape == (images, 256)
        assert torch.equal(result, want)


def test_a_stopped_request_ends_while_the_other_goes_on(
    exact: MinDalleGenerator, drafted: MinDalleGenerator
) -> None:
    """A request whose progress callback raises (client gone) gets its error; the other
    request of the batch still gets all its tokens, equal to the exact path's."""
    calls: list[int] = []

    class ClientLeft(Exception):
        pass

    def leave_at_40(step: int, total: int) -> None:
        calls.append(step)
        if step == 40:
            raise ClientLeft

    leaving = _request(drafted, "a lighthouse", 41, progress=leave_at_40)
    staying = _request(drafted, "a lake", 42)
    left, kept = drafted.backend.decode([leaving, staying])
    assert isinstance(left, ClientLeft)
    assert calls == list(range(1, 41))
    assert torch.equal(kept, backend_image_tokens(exact, prompt="a lake", seed=42))


def test_all_requests_stopped_ends_the_batch_early(drafted: MinDalleGenerator) -> None:
    """When every request of a batch has stopped, no more rounds run."""
    backend = drafted.backend
    rounds = backend.counts.rounds

    def stop(step: int, total: int) -> None:
        raise RuntimeError("gone")

    (result,) = backend.decode([_request(drafted, "a cat", 2, progress=stop)])
    assert isinstance(result, RuntimeError)
    assert backend.counts.rounds == rounds + 1


def test_run_positions_matches_steps_one_by_one(exact: MinDalleGenerator) -> None:
    """Several steps at once: the logits and cache slots of the same steps run one by one,
    to float32 rounding; positions outside the cache are refused."""
    backend = exact.backend
    decoder: FastDecoder = backend.decoder
    request = _request(exact, "a lighthouse", 1)
    tokens = torch.randint(0, 2**14, (2, 9), generator=torch.Generator().manual_seed(0))
    tokens[:, 0] = START_TOKEN
    with torch.inference_mode():
        one_by_one = decoder.new_buffers(2, CPU)
        at_once = decoder.new_buffers(2, CPU)
        for buffers in (one_by_one, at_once):
            decoder.start(
                buffers,
                text_tokens=request.text_tokens,
                encoder_state=request.encoder_state,
                start_token=START_TOKEN,
            )
        stepped = []
        for step in range(9):
            one_by_one.step_index.fill_(step)
            one_by_one.previous_tokens.copy_(tokens[:, step : step + 1])
            stepped.append(decoder.step(one_by_one)[:, -1])
        first = decoder.run_positions(at_once, tokens[:, :4], 0)
        rest = decoder.run_positions(at_once, tokens[:, 4:], 4)
        together = torch.cat([first, rest], dim=1)
        torch.testing.assert_close(together, torch.stack(stepped, dim=1), rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(
            at_once.keys_t[..., :9], one_by_one.keys_t[..., :9], rtol=1e-4, atol=1e-5
        )
        assert not at_once.keys_t[..., 9:].any()
        with pytest.raises(ValueError, match="outside the cache"):
            decoder.run_positions(at_once, tokens[:, :4], 253)
