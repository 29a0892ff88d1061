"""The `fast` (exact) generation backend, and batched decoding of requests.

`FastBackend` paints, on the CPU in float32, the same pixels as stock min-dalle for the same
seed (tests compare every token and pixel); see kernels/decoder.py for what changes, and
docs/ARCHITECTURE.md "Performance" for the measured figures. MKL runs a 2-row GEMM on one
thread; kernels/parallel.py spreads it over the cores as one batched GEMM of column blocks. On
CUDA it runs the same step in the model's half dtype and replays it as a CUDA graph
(kernels/step_runner.py); that path is not claimed bit-identical (`exact` is False there)
because cuBLAS may choose other kernels than stock's einsum, and it has not been measured
here (no GPU).

`decode` decodes several queued requests as one batch where its `planner` allows that (see
generation/batching.py). The int8 backends (int8_raw.py, drafting.py) build on this one.

Where the networks use their weights in place from memory-mapped files (CPU, float32 files),
the backend keeps only the working network's pages resident (models/residency.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import cast

import torch
import torch.nn.functional as F

from ..batching import BatchPlanner, batch_rows
from ..interface import DecodeOutcome, DecodeRequest, SamplingSettings
from ..models.loading import DalleModules
from ..models.memory import return_freed_memory
from ..models.residency import WeightResidency
from ..models.shapes import IMAGE_TOKEN_COUNT, START_TOKEN
from .kernels.decoder import FastDecoder, StackingPlan
from .kernels.encoder import FastEncoder
from .kernels.linear import DenseProjection, ProjectionGroup, check_stacking
from .kernels.parallel import ColumnSplitter
from .kernels.sampling import draw_tokens, kept_count, sampling_tensor
from .kernels.step_runner import StepRunner, make_step_runner
from .kernels.vqgan import FastDetokenizer
from .kernels.weights import DecoderWeights, Dense

_LOGGER = logging.getLogger(__name__)

COMMON_ROW_COUNTS = (2, 8, 18)
"""Decoder rows of one request of grid 1, 2 and 3 (two rows per image)."""

DEFAULT_MAX_BATCH_IMAGES = 9
"""Most images decoded as one batch by `decode` (the cache grows with every image)."""

CPU_JOINED_IMAGES = 4
"""Most images of several requests joined into one batch on a CPU. Measured on the 2-core
EPYC (mini, `bench.generation_speed --queue`): four 1-image requests as one batch 2.3x (fast, when
allowed) and 2.6x (int8) the speed of one after another, two 4-image requests 1.0x: from
about 8 rows the CPU is busy computing, and a batch then only delays its first request."""


class FastBackend:
    """min-dalle's encode, decode and detokenize with the work a step repeats hoisted out."""

    name = "fast"
    int8_path: str | None = None
    """None, or "refused: <why>" where it stands in for a refused int8 backend (backends.py)."""
    traced_steps: bool = False
    """Replay CPU steps from a trace (kernels/traced_step.py). Off for the exact float32 step,
    whose GEMMs dominate it: traced, a mini image's decoder took 12.84 s against 13.01 s
    eager (2-core EPYC, three seeds twice, medians: within the noise), for 0.3 s of recording
    and ~25 MB more resident."""

    def __init__(
        self,
        modules: DalleModules,
        *,
        stack: bool | None = None,
        cuda_graphs: bool = True,
        column_blocks: bool | None = None,
        max_batch_images: int = DEFAULT_MAX_BATCH_IMAGES,
        max_joined_images: int | None = None,
    ) -> None:
        """Build the backend over loaded modules (see the module doc).

        stack: stack q|k|v and fc0|fc1 where exact; None = unless the weights are used in
        place from their files (stacking copies them into anonymous memory, and with column
        blocks it gained nothing on the 2-core EPYC: 60 ms stacked, 58 ms not).
        cuda_graphs: replay the step as a CUDA graph on a GPU. column_blocks: run the
        decoder's GEMMs as column blocks of one batched GEMM where exact (kernels/parallel.py);
        None = on a CPU with at least two torch threads.
        max_joined_images: most images of several requests in one batch; None =
        `CPU_JOINED_IMAGES` on a CPU, `max_batch_images` on a GPU.
        """
        self.modules = modules
        self._max_batch_images = max_batch_images
        parameter = next(modules.decoder.parameters())
        self.device = parameter.device
        self.dtype = parameter.dtype
        threads = max(torch.get_num_threads(), 2)
        if column_blocks is None:
            column_blocks = self.device.type == "cpu" and torch.get_num_threads() >= 2
        self._splitter = (
            ColumnSplitter(threads) if column_blocks and self.device.type == "cpu" else None
        )
        if stack is None:
            stack = not modules.mapped
        self.residency = WeightResidency(modules.mapped)
        started = time.monotonic()
        with torch.inference_mode():
            # Building reads weights (checks, int8): each network's pages go once it is built.
            self.decoder = self._build_decoder(modules, stack=stack)
            self.residency.release("decoder")
            self.encoder = FastEncoder(modules.encoder, stack=stack)
            self.residency.release("encoder")
            self.detokenizer = FastDetokenizer(modules.detokenizer)
            self.residency.release("detokenizer")
        return_freed_memory()
        self.exact = self._is_exact()
        self.runner: StepRunner = make_step_runner(
            self.decoder,
            self.device,
            self.dtype,
            cuda_graphs=cuda_graphs,
            traced=self.traced_steps,
        )
        if max_joined_images is None:
            max_joined_images = CPU_JOINED_IMAGES if self.device.type == "cpu" else max_batch_images
        self.planner = BatchPlanner(
            self.decoding_together_is_exact,
            exact=self.exact,
            max_images=min(max_joined_images, max_batch_images),
        )
        _LOGGER.debug("%s backend ready in %.2f s", self.name, time.monotonic() - started)

    def _build_decoder(self, modules: DalleModules, *, stack: bool) -> FastDecoder:
        """Gather the decoder's weights, stacking q|k|v and fc0|fc1 where that stays exact.

        Checked on layer 0's weights (every layer has the same shapes) for every row count a
        batch can have. A group is stacked only if the modules may use views of the stacked
        weights at every row count; each row count then uses the stacked GEMM only where it
        is exact there, else the parts (over the views).
        """
        first = modules.decoder.layers[0]
        rows = range(2, 2 * self._max_batch_images + 1, 2)
        qkv = check_stacking(
            [
                first.self_attn.q_proj.weight,
                first.self_attn.k_proj.weight,
                first.self_attn.v_proj.weight,
            ],
            rows,
            run=self._probe_linear,
        )
        glu = check_stacking(
            [first.glu.fc0.weight, first.glu.fc1.weight], rows, run=self._probe_linear
        )
        stack_qkv = stack and qkv.views_always_exact and any(qkv.stacked_exact.values())
        stack_glu = stack and glu.views_always_exact and any(glu.stacked_exact.values())
        weights = DecoderWeights.from_decoder(
            modules.decoder,
            stack_qkv=stack_qkv,
            stack_glu=stack_glu,
            make_projection=Dense(self._splitter),
        )
        plans = {
            count: StackingPlan(
                qkv=stack_qkv and qkv.stacked_exact[count],
                glu=stack_glu and glu.stacked_exact[count],
            )
            for count in rows
        }
        _LOGGER.debug("Decoder stacking per row count: %s", plans)
        return FastDecoder(weights, cache_dtype=self.dtype, plans=plans, probe=self._stacking_plan)

    def _probe_linear(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        """`F.linear` as the step runs it (under the model's autocast on CUDA)."""
        with self.autocast():
            return F.linear(x, weight)

    def _stacking_plan(self, rows: int) -> StackingPlan:
        """Probe the stacking of a row count beyond the batches checked at start."""
        weights = self.decoder.weights
        layer = weights.layers[0]
        return StackingPlan(
            qkv=weights.stacked_qkv and self._stacked_group_is_exact(layer.self_qkv, rows),
            glu=weights.stacked_glu
            and self._stacked_group_is_exact(layer.glu.gate_and_value, rows),
        )

    def _stacked_group_is_exact(self, group: ProjectionGroup, rows: int) -> bool:
        """Whether a stacked dense group's single GEMM is exact at `rows` rows."""
        # A stacked float group's parts are dense projections (`Dense` made them).
        parts = [cast(DenseProjection, part).weight for part in group.parts or ()]
        check = check_stacking(parts, [rows], run=self._probe_linear)
        if not check.views_always_exact:
            _LOGGER.warning(
                "At %d rows, views of stacked weights compute other bits than separate "
                "weights: images of such batches may differ from stock min-dalle's",
                rows,
            )
        return check.stacked_exact[rows]

    def _is_exact(self) -> bool:
        """Float32 on the CPU is verified bit-identical to stock; CUDA half is not claimed."""
        return self.device.type == "cpu" and self.dtype == torch.float32

    def autocast(self) -> torch.autocast:
        """min-dalle's autocast: active only for half dtypes on CUDA (cache off: graph-safe)."""
        enabled = self.device.type == "cuda" and self.dtype != torch.float32
        return torch.autocast(
            self.device.type, dtype=self.dtype, enabled=enabled, cache_enabled=False
        )

    def encode(self, text_tokens: torch.Tensor) -> torch.Tensor:
        """Encode (2, 64) text tokens (row 0 unconditional, row 1 the prompt)."""
        self.residency.enter("encoder")
        with torch.inference_mode(), self.autocast():
            return self.encoder(text_tokens)

    def decode(self, requests: Sequence[DecodeRequest]) -> list[DecodeOutcome]:
        """Decode several requests, batched where allowed; each one's (n, 256) tokens, in order.

        Each request keeps its own settings, generator and progress callback. In exact mode a
        request's tokens equal what `decode` gives it alone (batches the planner cannot prove
        exact run one after another). A request whose progress callback raises (its client
        left) gets that exception in its place and no more callbacks; the others go on, and a
        batch whose requests have all stopped ends at once.
        """
        for request in requests:
            if request.image_count < 1:
                raise ValueError(f"image_count must be at least 1, not {request.image_count}")
        results: list[torch.Tensor | Exception | None] = [None] * len(requests)
        self.residency.enter("decoder")
        for batch in self.planner.batches(requests):
            outcomes = self._decode_batch([requests[position] for position in batch])
            for position, outcome in zip(batch, outcomes, strict=True):
                results[position] = outcome
        missing = [position for position, outcome in enumerate(results) if outcome is None]
        if missing:
            raise RuntimeError(f"the batch planner left requests {missing} out")
        return [outcome for outcome in results if outcome is not None]

    def _decode_batch(self, requests: Sequence[DecodeRequest]) -> list[torch.Tensor | Exception]:
        """Decode requests as one batch of rows (see `batch_rows`)."""
        return self._step_batch(requests, self.runner)

    def _step_batch(
        self, requests: Sequence[DecodeRequest], runner: StepRunner
    ) -> list[torch.Tensor | Exception]:
        """Decode requests as one batch of rows, a step at a time of `runner`'s decoder."""
        image_total = sum(request.image_count for request in requests)
        rows = 2 * image_total
        stopped: dict[int, Exception] = {}
        started = time.monotonic()
        with torch.inference_mode(), self.autocast():
            text_tokens, encoder_state = batch_rows(requests)
            buffers = runner.buffers(rows)
            runner.decoder.start(
                buffers,
                text_tokens=text_tokens,
                encoder_state=encoder_state,
                start_token=START_TOKEN,
            )
            sampling = [sampling_tensor(request.settings, self.device) for request in requests]
            top_ks = [kept_count(request.settings) for request in requests]
            tokens = torch.empty(
                image_total, IMAGE_TOKEN_COUNT, dtype=torch.long, device=self.device
            )
            for step in range(IMAGE_TOKEN_COUNT):
                buffers.step_index.fill_(step)
                logits = runner.step(buffers)[:, -1]
                tokens[:, step] = draw_batch(requests, logits, sampling, top_ks)
                buffers.previous_tokens[:image_total, 0] = tokens[:, step]
                buffers.previous_tokens[image_total:, 0] = tokens[:, step]
                self._report_progress(requests, step + 1, stopped)
                if len(stopped) == len(requests):
                    break
        _LOGGER.debug(
            "Decoded %d request(s), %d image(s) in %.2f s (%d stopped early)",
            len(requests),
            image_total,
            time.monotonic() - started,
            len(stopped),
        )
        per_request = tokens.split([request.image_count for request in requests])
        return [stopped.get(index, part) for index, part in enumerate(per_request)]

    @staticmethod
    def _report_progress(
        requests: Sequence[DecodeRequest], step: int, stopped: dict[int, Exception]
    ) -> None:
        """Tell each running request its progress; note the ones whose callback raised."""
        for index, request in enumerate(requests):
            if request.progress is None or index in stopped:
                continue
            try:
                request.progress(step, IMAGE_TOKEN_COUNT)
            except Exception as error:  # the callback's way of saying "stop" (client left)
                stopped[index] = error

    def decoding_together_is_exact(self, image_counts: Sequence[int]) -> bool:
        """Check that one step gives requests of these sizes the same logits alone and together."""
        generator = torch.Generator(device="cpu").manual_seed(len(image_counts))
        embed = self.decoder.weights.embed_count
        vocab = self.modules.shape.text_vocab_count
        requests = []
        for count in image_counts:
            text = torch.randint(2, vocab, (2, 64), generator=generator)
            text[:, 40:] = 1  # padding, so the text mask matters
            requests.append(
                DecodeRequest(
                    text_tokens=text.to(self.device),
                    encoder_state=torch.randn(2, 64, embed, generator=generator).to(
                        self.device, self.dtype
                    ),
                    image_count=count,
                    settings=SamplingSettings(),
                    generator=generator,
                )
            )
        together = self._probe_logits(requests)
        alone = [self._probe_logits([request]) for request in requests]
        total = sum(image_counts)
        first = 0
        for request, own in zip(requests, alone, strict=True):
            count = request.image_count
            ours = torch.cat(
                [together[first : first + count], together[total + first : total + first + count]]
            )
            if not torch.equal(ours, own):
                return False
            first += count
        return True

    def _probe_logits(self, requests: Sequence[DecodeRequest]) -> torch.Tensor:
        """Logits of the second decoder step for `requests` batched (start tokens, then 7)."""
        rows = 2 * sum(request.image_count for request in requests)
        with torch.inference_mode(), self.autocast():
            text_tokens, encoder_state = batch_rows(requests)
            buffers = self.decoder.new_buffers(rows, self.device)
            self.decoder.start(
                buffers,
                text_tokens=text_tokens,
                encoder_state=encoder_state,
                start_token=START_TOKEN,
            )
            self.decoder.step(buffers)
            buffers.previous_tokens.fill_(7)
            buffers.step_index.fill_(1)
            return self.decoder.step(buffers)[:, -1].clone()

    def detokenize(self, image_tokens: torch.Tensor) -> torch.Tensor:
        """Turn (image_count, 256) tokens into a float (256*g, 256*g, 3) grid in 0..255."""
        self.residency.enter("detokenizer")
        with torch.inference_mode():
            return self.detokenizer(image_tokens)


def draw_batch(
    requests: Sequence[DecodeRequest],
    logits: torch.Tensor,
    sampling: Sequence[torch.Tensor],
    top_ks: Sequence[int],
) -> torch.Tensor:
    """Draw one token per image of a batch from its (rows, vocab) logits, request by request.

    Rows hold every image's unconditional logits first, then every image's conditional ones
    (`batch_rows`); each request draws from its own generator with its own settings.
    """
    image_total = logits.shape[0] // 2
    drawn = []
    first = 0
    for request, request_sampling, top_k in zip(requests, sampling, top_ks, strict=True):
        last = first + request.image_count
        drawn.append(
            draw_tokens(
                logits[first:last],
                logits[image_total + first : image_total + last],
                request_sampling,
                top_k,
                request.generator,
            )
        )
        first = last
    return torch.cat(drawn)
