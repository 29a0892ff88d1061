"""The `int8` and `fp16` backends: drafts of the next image tokens, checked in float32.

`int8` drafts with int8 weights (kernels/int8.py), `fp16` with float16 weights
(kernels/fp16.py: more memory, quicker drafts that nearly always stand); the rest is shared.

Decoding one token at a time reads all the decoder's weights per token; int8 weights are a
quarter of the bytes, but their rounding alone changes the sampled token on about 1 step in
100, and every later token then differs (an image of another seed). So the int8 decoder only
drafts: from step t it draws the next `draft_length` tokens (`batch_draft_length` for a batch
of several images), and the float32 decoder then runs
the steps t .. t + draft_length at once (`FastDecoder.run_positions`: one GEMM per projection
for all of them, so its weights are read once per round instead of once per token). Its
logits are sampled again from the same generator states, in order; the first drafted token
that differs is replaced by the float32 one and the drafts after it are dropped. When all
drafts stand, the last checked step gives one more token. The float32 run also rewrites the
cache slots of those steps, so every draft starts from the float32 history.

The tokens are the ones the exact `fast` path draws, but for the last bits: the float32 check
runs GEMMs of other row counts (BLAS picks other kernels), so a token whose draw is a tie to
the last bit of float32 may still come out otherwise (the benchmark reports the share of
tokens equal to the exact path). Batches of many images are not drafted (`MAX_DRAFTED_IMAGES`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import torch

from ..batching import batch_rows
from ..interface import DecodeRequest
from ..models.loading import DalleModules
from ..models.shapes import IMAGE_TOKEN_COUNT, START_TOKEN
from .fast import DEFAULT_MAX_BATCH_IMAGES, FastBackend, draw_batch
from .int8_raw import Int8Backend
from .kernels.decoder import DecodeBuffers, FastDecoder
from .kernels.fp16 import Fp16Projection, Fp16UnavailableError, fp16_refusal
from .kernels.sampling import kept_count, sampling_tensor
from .kernels.step_runner import EagerStepRunner, StepRunner
from .kernels.weights import ProjectionFactory

_LOGGER = logging.getLogger(__name__)

DEFAULT_DRAFT_LENGTH: Final = 12
"""Tokens drafted per round for one image. Measured on the 2-core EPYC (mini, 1 image, seeds
1 and 2, seconds to decode) with fbgemm's int8 GEMM: 8 drafts 8.5/8.7 s, 12 8.0/8.1 s, 16
8.0/8.4 s; with both libraries capped at AVX2: 6 10.5/9.7, 8 10.0/9.5, 12 9.5/8.8, 16 9.3/8.8.
(With oneDNN's slower GEMM 8 had been best: 12.1 s against 12.4 s for 12.)"""

BATCH_DRAFT_LENGTH: Final = 8
"""Tokens drafted per round for several images: a round ends at the first refused draft of
any of them, so longer rounds waste more. 4 images (same machine, fbgemm): 8 drafts 21.8/22.8
s, 12 26.4/25.2 s."""

MAX_DRAFTED_IMAGES: Final = 4
"""Most images of a batch decoded by drafting; larger batches step the float32 decoder (the
exact path). A round ends at the first refused draft of any image, and the check's GEMMs grow
with the rows: measured there (mini, 8 drafts, decoder seconds against `fast`): 2 images
17.6 s vs 23.5 s, 4 images 27.4 s vs 30.6 s, 9 images 80 s vs 44 s (4 drafts: 61 s)."""

FP16_DRAFT_LENGTH: Final = 16
"""Tokens drafted per round for one image by the fp16 drafter, whose drafts nearly always
stand. Measured on the 2-core EPYC (AVX2, mini, three prompts, decoder seconds, alternated in
one process): 12 drafts 11.66/10.61/10.44 s, 16 10.37/10.44/10.25 s, 24 10.83/10.97/9.36 s
(int8's 12: 13.59/11.83/11.32 s)."""

FP16_BATCH_DRAFT_LENGTH: Final = 12
"""Tokens drafted per round for several images by the fp16 drafter. 4 images (same machine,
seeds 1000 and 1001, decoder seconds): 8 drafts 25.64/24.27 s, 12 24.21/22.24 s, 16
25.00/23.06 s."""


@dataclass
class DraftingCounts:
    """How the drafts of the decoding so far fared."""

    rounds: int = 0
    drafted: int = 0
    accepted: int = 0


@dataclass
class DraftingBatch:
    """One batch being decoded round by round: its cache, its tokens and how far it got."""

    requests: Sequence[DecodeRequest]
    buffers: DecodeBuffers
    tokens: torch.Tensor
    """(images, 257): column s is the input of step s (the start token, then each drawn one)."""
    sampling: list[torch.Tensor]
    top_ks: list[int]
    done: int = 0
    """Steps whose tokens are final."""


class DraftingBackend(Int8Backend):
    """Drafts from a cheaper copy of the decoder, checked by the float32 one (the module doc).

    The rounds, the check and the batching are here; a subclass picks the drafter's
    precision (`_projection_factory`: int8 by default, as for `int8-raw`) and its draft
    lengths. Keeps the float32 decoder (used in place where its file is memory-mapped) beside
    the drafter's.
    """

    checker: FastDecoder
    """The float32 decoder that checks the drafts (set while the backend is built)."""
    exact_runner: StepRunner
    """Steps the checker one token at a time: batches too large to draft."""

    default_draft_length: int = DEFAULT_DRAFT_LENGTH
    """`draft_length` when none is given."""
    default_batch_draft_length: int = BATCH_DRAFT_LENGTH
    """`batch_draft_length` when none is given."""

    def __init__(
        self,
        modules: DalleModules,
        *,
        draft_length: int | None = None,
        batch_draft_length: int | None = None,
        quantize_head: bool = True,
        max_batch_images: int = DEFAULT_MAX_BATCH_IMAGES,
    ) -> None:
        """Build the checker and the drafter.

        draft_length and batch_draft_length default to the class's; quantize_head: the
        image-token head drafts in the drafter's precision too (cheaper; a draft only needs
        to be usually right).
        """
        if draft_length is None:
            draft_length = self.default_draft_length
        if batch_draft_length is None:
            batch_draft_length = self.default_batch_draft_length
        for name, length in (
            ("draft_length", draft_length),
            ("batch_draft_length", batch_draft_length),
        ):
            if not 1 <= length < IMAGE_TOKEN_COUNT:
                raise ValueError(f"{name} must be 1..{IMAGE_TOKEN_COUNT - 1}, not {length}")
        self.draft_length = draft_length
        """Tokens drafted per round for one image."""
        self.batch_draft_length = batch_draft_length
        """Tokens drafted per round for a batch of several images."""
        self.counts = DraftingCounts()
        super().__init__(
            modules,
            quantize_head=quantize_head,
            release_float_weights=False,
            max_batch_images=max_batch_images,
        )

    def _build_decoder(self, modules: DalleModules, *, stack: bool) -> FastDecoder:
        """Build the float32 checker (the fast backend's decoder), then the int8 drafter."""
        checker = FastBackend._build_decoder(self, modules, stack=stack)
        self.checker = checker
        self.exact_runner = EagerStepRunner(checker, self.device)
        return super()._build_decoder(modules, stack=stack)

    def _decode_batch(self, requests: Sequence[DecodeRequest]) -> list[torch.Tensor | Exception]:
        """Decode requests as one batch of rows, round by round (see the module doc).

        A batch of more than `MAX_DRAFTED_IMAGES` images steps the float32 decoder instead:
        the exact path's arithmetic, bit for bit.
        """
        image_total = sum(request.image_count for request in requests)
        if image_total > MAX_DRAFTED_IMAGES:
            return self._step_batch(requests, self.exact_runner)
        stopped: dict[int, Exception] = {}
        counts = DraftingCounts()
        started = time.monotonic()
        with torch.inference_mode():
            batch = self.start_batch(requests)
            while batch.done < IMAGE_TOKEN_COUNT and len(stopped) < len(requests):
                before = batch.done
                self.next_round(batch, counts)
                for step in range(before + 1, batch.done + 1):
                    self._report_progress(requests, step, stopped)
        self.counts.rounds += counts.rounds
        self.counts.drafted += counts.drafted
        self.counts.accepted += counts.accepted
        _LOGGER.debug(
            "Decoded %d request(s), %d image(s) in %.2f s: %d rounds, %d of %d drafts kept "
            "(%d stopped early)",
            len(requests),
            image_total,
            time.monotonic() - started,
            counts.rounds,
            counts.accepted,
            counts.drafted,
            len(stopped),
        )
        per_request = batch.tokens[:, 1:].split([request.image_count for request in requests])
        return [stopped.get(index, part) for index, part in enumerate(per_request)]

    def start_batch(self, requests: Sequence[DecodeRequest]) -> DraftingBatch:
        """Prepare requests (encoded, at most `MAX_DRAFTED_IMAGES` images) for `next_round`."""
        image_total = sum(request.image_count for request in requests)
        text_tokens, encoder_state = batch_rows(requests)
        buffers = self.runner.buffers(2 * image_total)
        self.decoder.start(
            buffers,
            text_tokens=text_tokens,
            encoder_state=encoder_state,
            start_token=START_TOKEN,
        )
        return DraftingBatch(
            requests=requests,
            buffers=buffers,
            tokens=torch.full((image_total, IMAGE_TOKEN_COUNT + 1), START_TOKEN, dtype=torch.long),
            sampling=[sampling_tensor(request.settings, self.device) for request in requests],
            top_ks=[kept_count(request.settings) for request in requests],
        )

    def next_round(self, batch: DraftingBatch, counts: DraftingCounts) -> None:
        """Draft from step `batch.done`, check, keep the float32 tokens, advance `done`."""
        requests, buffers, tokens, done = batch.requests, batch.buffers, batch.tokens, batch.done
        length = self.draft_length if tokens.shape[0] == 1 else self.batch_draft_length
        drafts = min(length, IMAGE_TOKEN_COUNT - 1 - done)
        states = [request.generator.get_state() for request in requests]
        for step in range(done, done + drafts):
            buffers.step_index.fill_(step)
            buffers.previous_tokens.copy_(tokens[:, step].repeat(2)[:, None])
            logits = self.runner.step(buffers)[:, -1]
            tokens[:, step + 1] = draw_batch(requests, logits, batch.sampling, batch.top_ks)
        checked = self.checker.run_positions(
            buffers, tokens[:, done : done + drafts + 1].repeat(2, 1), done
        )
        for request, state in zip(requests, states, strict=True):
            request.generator.set_state(state)
        counts.rounds += 1
        counts.drafted += drafts
        kept = 0
        while kept < drafts:
            drawn = draw_batch(requests, checked[:, kept], batch.sampling, batch.top_ks)
            if not torch.equal(drawn, tokens[:, done + kept + 1]):
                tokens[:, done + kept + 1] = drawn  # the first refused draft: float32's token
                break
            kept += 1
        else:  # every draft stood: the step after the last one gives one more token
            tokens[:, done + drafts + 1] = draw_batch(
                requests, checked[:, drafts], batch.sampling, batch.top_ks
            )
        counts.accepted += kept
        batch.done = done + kept + 1


class DraftedInt8Backend(DraftingBackend):
    """int8 drafts checked by the float32 decoder: the exact path's tokens, faster on a CPU.

    The int8 decoder's weights are a quarter of the float32 ones: about a quarter more
    decoder memory than `fast` (mini: peak RSS 1472 MB against 1274).
    """

    name = "int8"


class DraftedFp16Backend(DraftingBackend):
    """float16-weight drafts checked by the float32 decoder: the exact path's tokens, fastest.

    The drafter's weights are float16 (kernels/fp16.py): twice int8's bytes beside the
    float32 decoder (mini: peak RSS 1667 MB against int8's 1472 and fast's 1274), but one
    fbgemm GEMM per projection with float32 activations, and drafts that all but always
    stand (mini-shaped random weights, three prompts: every one of 240 per image), so rounds
    run longer.
    """

    name = "fp16"
    default_draft_length = FP16_DRAFT_LENGTH
    default_batch_draft_length = FP16_BATCH_DRAFT_LENGTH

    def _projection_factory(self) -> ProjectionFactory:
        """fp16 projections; Fp16UnavailableError where fbgemm's fp16 GEMM is refused."""
        refusal = fp16_refusal()
        if refusal is not None:
            raise Fp16UnavailableError(f"fp16 is not available here: {refusal}")
        return Fp16Projection.from_weight


__all__ = [
    "BATCH_DRAFT_LENGTH",
    "DEFAULT_DRAFT_LENGTH",
    "FP16_BATCH_DRAFT_LENGTH",
    "FP16_DRAFT_LENGTH",
    "MAX_DRAFTED_IMAGES",
    "DraftedFp16Backend",
    "DraftedInt8Backend",
    "DraftingBackend",
    "DraftingBatch",
    "DraftingCounts",
]
