"""Decoder steps of stock min-dalle and the server's backends, timed alternately in one process.

Whole generations per variant (worker.py) show seconds per image and memory, but on a shared
machine the load changes between runs. Here the variants take turns step by step (stock step
i, fast step i, int8 step i, then i + 1, the order rotating), so a burst of load hits them
alike and the ratios of the medians hold even when the absolute times drift.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from dalle_frame_server.generation.batching import batch_rows
from dalle_frame_server.generation.generator import MinDalleGenerator
from dalle_frame_server.generation.interface import DecodeRequest, SamplingSettings
from dalle_frame_server.generation.min_dalle.backends import make_backend
from dalle_frame_server.generation.min_dalle.drafting import MAX_DRAFTED_IMAGES, DraftingBackend
from dalle_frame_server.generation.min_dalle.fast import FastBackend
from dalle_frame_server.generation.min_dalle.kernels.sampling import (
    draw_tokens,
    kept_count,
    sampling_tensor,
)
from dalle_frame_server.generation.min_dalle.kernels.step_runner import StepRunner
from dalle_frame_server.generation.models.loading import load_dalle_modules, model_paths
from dalle_frame_server.generation.models.shapes import (
    IMAGE_TOKEN_COUNT,
    MEGA_SHAPE,
    START_TOKEN,
    DalleShape,
)

from .stock import load_stock_min_dalle

PROMPT = "a lighthouse in a storm"
STEPPED_VARIANTS = ("fast", "int8", "int8-raw", "fp16")
"""Server backends timed step by step (the others have no per-step loop to call)."""
StepFunction = Callable[[int], int]
"""Runs the step with the given index (a drafting backend: one round); returns tokens drawn."""


def _stock_steps(model: Any, text_tokens: torch.Tensor, images: int, seed: int) -> StepFunction:
    """Stock's own per-step call (`DalleBartDecoder.sample_tokens`) on its own state."""
    encoder_state = model.encoder.forward(text_tokens)
    expanded = [0] * images + [1] * images
    text = text_tokens[expanded]
    state = {
        "encoder_state": encoder_state[expanded],
        "attention_mask": text.not_equal(1)[:, None, None, :],
        "attention_state": torch.zeros(
            model.layer_count, images * 4, 256, model.embed_count, device=text.device
        ),
        "tokens": torch.full((images, 257), START_TOKEN, dtype=torch.long, device=text.device),
    }
    settings = torch.tensor([1.0, 128, 16.0], dtype=torch.float32, device=text.device)
    indices = torch.arange(256, device=text.device)
    torch.manual_seed(seed)

    def step(i: int) -> int:
        state["tokens"][:, i + 1], state["attention_state"] = model.decoder.sample_tokens(
            settings=settings,
            attention_mask=state["attention_mask"],
            encoder_state=state["encoder_state"],
            attention_state=state["attention_state"],
            prev_tokens=state["tokens"][:, [i]],
            token_index=indices[[i]],
        )
        return 1

    return step


def _request(
    backend: FastBackend, text_tokens: torch.Tensor, images: int, seed: int
) -> DecodeRequest:
    """A request for `images` images of the prompt, its text encoded by `backend`."""
    return DecodeRequest(
        text_tokens=text_tokens,
        encoder_state=backend.encode(text_tokens),
        image_count=images,
        settings=SamplingSettings(),
        generator=torch.Generator(device=text_tokens.device).manual_seed(seed),
    )


def _backend_steps(
    backend: FastBackend,
    text_tokens: torch.Tensor,
    images: int,
    seed: int,
    runner: StepRunner | None = None,
) -> StepFunction:
    """One step of a fast backend's decode loop: the step, then the sampling.

    runner: whose decoder steps (default: the backend's own).
    """
    runner = runner or backend.runner
    request = _request(backend, text_tokens, images, seed)
    text, encoder_state = batch_rows([request])
    buffers = runner.buffers(2 * images)
    runner.decoder.start(
        buffers, text_tokens=text, encoder_state=encoder_state, start_token=START_TOKEN
    )
    sampling = sampling_tensor(request.settings, text_tokens.device)
    top_k = kept_count(request.settings)

    def step(i: int) -> int:
        buffers.step_index.fill_(i)
        logits = runner.step(buffers)[:, -1]
        tokens = draw_tokens(logits[:images], logits[images:], sampling, top_k, request.generator)
        buffers.previous_tokens[:images, 0] = tokens
        buffers.previous_tokens[images:, 0] = tokens
        return 1

    return step


def _drafted_rounds(
    backend: DraftingBackend, text_tokens: torch.Tensor, images: int, seed: int
) -> StepFunction:
    """One round of the drafting backend's loop (drafts, then the float32 check).

    Goes on from where the last round ended, and starts the image again after its last
    token, so the rounds cover every cache position as whole images do.
    """
    request = _request(backend, text_tokens, images, seed)
    batch = [backend.start_batch([request])]

    def round_(_: int) -> int:
        if batch[0].done >= IMAGE_TOKEN_COUNT:
            batch[0] = backend.start_batch([request])
        before = batch[0].done
        backend.next_round(batch[0], backend.counts)
        return batch[0].done - before

    return round_


def paired_step_times(
    root: Path,
    shape: DalleShape,
    *,
    variants: list[str],
    grids: list[int],
    steps: int,
    device: torch.device,
    dtype: torch.dtype,
) -> dict[str, Any]:
    """Median ms per decoder step of each variant and grid, timed alternately."""
    layout = "mega" if shape == MEGA_SHAPE else "mini"
    backends: dict[str, FastBackend] = {}
    stock = None
    for variant in variants:
        if variant == "stock":
            stock = load_stock_min_dalle(root, shape, device=device, dtype=dtype)
        elif variant in STEPPED_VARIANTS:
            # Each backend gets its own copy (int8 releases the float weights it replaced).
            modules = load_dalle_modules(
                model_paths(root, layout), shape, device, dtype, remedy="rerun the benchmark"
            )
            backends[variant] = make_backend(variant, modules)
    names = [v for v in variants if v == "stock" or v in backends]
    any_backend = next(iter(backends.values()))
    text_tokens = MinDalleGenerator(
        any_backend.modules, any_backend, model_name="bench", device=device, dtype=dtype
    ).text_tokens(PROMPT)
    result: dict[str, Any] = {
        "steps": steps,
        "grids": {},
        "decoder_weight_bytes": step_weight_bytes(any_backend.modules.decoder),
    }
    if device.type == "cpu":
        result["read_gb_per_s"] = read_bandwidth_gb_per_s()
    with torch.inference_mode():
        for grid in grids:
            images = grid * grid
            functions: dict[str, StepFunction] = {}
            for name in names:
                backend = backends.get(name)
                if name == "stock":
                    functions[name] = _stock_steps(stock, text_tokens, images, seed=7)
                elif isinstance(backend, DraftingBackend):
                    # As the backend decodes: drafting rounds, or exact steps for big batches.
                    functions[name] = (
                        _drafted_rounds(backend, text_tokens, images, seed=7)
                        if images <= MAX_DRAFTED_IMAGES
                        else _backend_steps(
                            backend, text_tokens, images, seed=7, runner=backend.exact_runner
                        )
                    )
                else:
                    functions[name] = _backend_steps(backends[name], text_tokens, images, seed=7)
            times: dict[str, list[float]] = {name: [] for name in names}
            drawn: dict[str, list[int]] = {name: [] for name in names}
            for i in range(steps):
                order = names[i % len(names) :] + names[: i % len(names)]
                for name in order:
                    started = time.perf_counter()
                    drawn[name].append(functions[name](i))
                    if device.type == "cuda":
                        torch.cuda.synchronize(device)
                    times[name].append(time.perf_counter() - started)
            result["grids"][str(grid)] = _step_figures(names, times, drawn)
    return result


def step_weight_bytes(decoder: torch.nn.Module) -> int:
    """Bytes of the decoder weights one step reads: all but the embeddings (one row each)."""
    return sum(
        parameter.numel() * parameter.element_size()
        for name, parameter in decoder.named_parameters()
        if "embed" not in name
    )


def read_bandwidth_gb_per_s(gib: float = 1.0, repeats: int = 7) -> float:
    """The machine's read bandwidth as torch's threads see it: the best sum over a GiB tensor.

    A sum reads each float once and does almost no arithmetic, so its speed is what memory
    delivers to these threads; a step can at best read its weights that fast.
    """
    values = torch.ones(int(gib * 2**30) // 4, dtype=torch.float32)
    values.sum()  # pages touched and threads started before timing
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        values.sum()
        best = min(best, time.perf_counter() - started)
    return values.numel() * 4 / best / 1e9


def _step_figures(
    names: list[str], times: dict[str, list[float]], drawn: dict[str, list[int]]
) -> dict[str, Any]:
    """Median ms per step, mean ms per token (a drafting round draws several), and ratios.

    The first call of each variant (warm-up) is left out. Ratios against stock: of the
    medians for one-step variants; of mean ms per token for drafting ones (a round's time
    over its tokens), against stock's mean, so each ratio compares the same statistic.
    """
    medians = {name: statistics.median(times[name][1:]) * 1000 for name in names}
    per_token = {name: sum(times[name][1:]) * 1000 / sum(drawn[name][1:]) for name in names}
    drafting = [name for name in names if max(drawn[name]) > 1]
    shown = {name: per_token[name] if name in drafting else medians[name] for name in names}
    speedups = {}
    if "stock" in names:
        speedups = {
            name: (per_token["stock"] if name in drafting else medians["stock"]) / shown[name]
            for name in names
        }
    return {
        "ms_per_step": shown,
        "median_ms_per_step": medians,
        "mean_ms_per_token": per_token,
        "drafting": drafting,
        "speedup_vs_stock": speedups,
    }
