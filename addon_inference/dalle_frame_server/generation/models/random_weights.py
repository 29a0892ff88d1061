"""Random-weight min-dalle models written in min-dalle's own file layout, deterministically.

Used for the `test` model (tiny, paints noise), for tests that compare the server with stock
min-dalle, and for benchmarks with mini- or mega-shaped weights where the real files are absent.
The networks are min-dalle's real classes; only their weights are random. Every random number
comes from a local `torch.Generator` seeded from `seed`, never from torch's global RNG, so the
same arguments always write the same files.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final

import torch
from torch import nn

from .min_dalle_classes import DalleBartDecoder, DalleBartEncoder, VQGanDetokenizer
from .loading import ModelPaths, model_paths
from .shapes import MEGA_SHAPE, TEXT_TOKEN_COUNT, DalleShape

_LOGGER = logging.getLogger(__name__)

RANDOM_MODEL_VERSION: Final = 1
"""Bump when the files this module writes change; markers with another version are rebuilt."""

MARKER_NAME: Final = "random_model.json"
"""The file next to the weights that says what wrote them (version, shape, seed)."""

_SPECIAL_TOKENS: Final = ("<s>", "<pad>", "</s>", "<unk>")
"""min-dalle's special tokens in id order: padding must be id 1 (min-dalle hard-codes it)."""

_WORD_START: Final = chr(ord(" ") + 256)
"""'Ġ': byte-level BPE's mark for the start of a word (min-dalle prefixes every word with it)."""

_LETTERS: Final = "abcdefghijklmnopqrstuvwxyz"
_OTHER_CHARACTERS: Final = "0123456789'-.,!?:"
_MERGED_PAIRS: Final = ("t h", "e r", "i n", "a n", "o n", "e n", "a t", "o r")
"""A few common letter pairs merged after the word-start merges, so BPE really merges."""


def write_random_model(
    models_dir: Path, shape: DalleShape, *, seed: int, layout_name: str
) -> ModelPaths:
    """Write a random-weight model of `shape` under `models_dir/<layout_name>/`; return its paths.

    The folder `models_dir/<layout_name>` is a min-dalle models root: the encoder, decoder and
    tokenizer go to `dalle_bart_mega/` when `shape` is mega's and to `dalle_bart_mini/`
    otherwise (so stock `MinDalle(models_root=..., is_mega=...)` finds them), the full-size
    VQGAN detokenizer to `vqgan/detoker.pt`. A marker file `random_model.json` records the
    version, shape and seed. Each file is written to a temporary name and renamed into place.
    Deterministic: the same arguments give byte-identical weights.
    """
    root = models_dir / layout_name
    paths = model_paths(root, "mega" if shape == MEGA_SHAPE else "mini")
    started = time.monotonic()
    _LOGGER.info("Writing a random-weight model (seed %d) to %s", seed, root)
    marker = root / MARKER_NAME
    marker.unlink(missing_ok=True)
    vocab, merges = tokenizer_files(shape)
    _write_text(paths.vocab, json.dumps(vocab, ensure_ascii=False, indent=0) + "\n")
    _write_text(paths.merges, merges)
    _save_network(
        lambda: DalleBartEncoder(
            layer_count=shape.layer_count,
            embed_count=shape.embed_count,
            attention_head_count=shape.attention_head_count,
            text_vocab_count=shape.text_vocab_count,
            text_token_count=TEXT_TOKEN_COUNT,
            glu_embed_count=shape.glu_embed_count,
            device="cpu",
        ),
        paths.encoder,
        seed=seed,
    )
    _save_network(
        lambda: DalleBartDecoder(
            image_vocab_count=shape.image_vocab_count,
            embed_count=shape.embed_count,
            attention_head_count=shape.attention_head_count,
            glu_embed_count=shape.glu_embed_count,
            layer_count=shape.layer_count,
            device="cpu",
        ),
        paths.decoder,
        seed=seed + 1,
    )
    _save_network(VQGanDetokenizer, paths.detokenizer, seed=seed + 2)
    _write_text(marker, json.dumps(random_model_marker(shape, seed), indent=2) + "\n")
    _LOGGER.info("Random-weight model written in %.1f s", time.monotonic() - started)
    return paths


def random_model_marker(shape: DalleShape, seed: int) -> dict[str, object]:
    """Return what the marker file of a random model with `shape` and `seed` holds."""
    return {"version": RANDOM_MODEL_VERSION, "seed": seed, "shape": shape.as_dict()}


def read_random_model_marker(root: Path) -> dict[str, object] | None:
    """Return the marker of the random model in `root`, or None when absent or unreadable."""
    try:
        marker = json.loads((root / MARKER_NAME).read_text(encoding="utf8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return marker if isinstance(marker, dict) else None


def tokenizer_files(shape: DalleShape) -> tuple[dict[str, int], str]:
    """Return a vocabulary and merges text in min-dalle's formats whose ids fit `shape`.

    The vocabulary has min-dalle's special tokens (`<s>`, `<pad>`=1, `</s>`, `<unk>`), 'Ġ',
    single characters, 'Ġ'-prefixed letters and a few merged pairs; merges.txt starts with a
    `#version` header line and ends with a newline, as min-dalle's reader expects.
    """
    merge_lines = [f"{_WORD_START} {letter}" for letter in _LETTERS]
    merge_lines += list(_MERGED_PAIRS)
    tokens = [*_SPECIAL_TOKENS, _WORD_START, *_LETTERS, *_OTHER_CHARACTERS]
    tokens += [left + right for left, right in (line.split(" ") for line in merge_lines)]
    if len(tokens) > shape.text_vocab_count:
        raise ValueError(
            f"a random model needs at least {len(tokens)} text tokens, "
            f"the shape has {shape.text_vocab_count}"
        )
    vocab = {token: token_id for token_id, token in enumerate(tokens)}
    merges = "#version: 0.2\n" + "".join(f"{line}\n" for line in merge_lines)
    return vocab, merges


def _save_network(build: Callable[[], nn.Module], path: Path, *, seed: int) -> None:
    """Build a network without initialising it, fill it from `seed` and save its state dict."""
    with torch.device("meta"):
        network = build()
    network = network.to_empty(device="cpu")
    generator = torch.Generator(device="cpu").manual_seed(seed)
    with torch.no_grad():
        for module in network.modules():
            _fill_module(module, generator)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    torch.save(network.state_dict(), partial)
    partial.replace(path)


def _fill_module(module: nn.Module, generator: torch.Generator) -> None:
    """Give a module's own weights torch's usual scales, drawn from `generator`."""
    if isinstance(module, nn.LayerNorm | nn.GroupNorm):
        if module.weight is not None:
            module.weight.fill_(1.0)
        if module.bias is not None:
            module.bias.zero_()
    elif isinstance(module, nn.Embedding):
        module.weight.normal_(0.0, 1.0, generator=generator)
    elif isinstance(module, nn.Linear | nn.Conv2d):
        # Uniform within 1/sqrt(fan in), the bound torch's default initialisation uses.
        bound = 1.0 / math.sqrt(module.weight[0].numel())
        module.weight.uniform_(-bound, bound, generator=generator)
        if module.bias is not None:
            module.bias.uniform_(-bound, bound, generator=generator)
    elif any(True for _ in module.parameters(recurse=False)):
        raise TypeError(f"no random initialisation for {type(module).__name__}")


def _write_text(path: Path, text: str) -> None:
    """Write a UTF-8 text file through a temporary name (LF line ends, as min-dalle's files)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    partial.write_text(text, encoding="utf8", newline="\n")
    partial.replace(path)
