"""Loading min-dalle's tokenizer and networks from a folder in min-dalle's own layout, offline.

On a CPU, when a file holds its tensors in the model's dtype, the networks use them in place:
the file is memory-mapped and nothing is copied (loading takes no memory of its own and the
weights are clean file pages that `MappedWeights.release` can let go between uses, see
models/memory.py). Otherwise (a GPU, another dtype, the legacy file format) each tensor is copied
into the network's own storage.
"""

from __future__ import annotations

import json
import logging
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import torch
from torch import nn

from ...errors import ModelNotAvailableError
from .memory import MappedWeights, drop_mapped_pages
from .min_dalle_classes import DalleBartDecoder, DalleBartEncoder, TextTokenizer, VQGanDetokenizer
from .files import model_files
from .shapes import TEXT_TOKEN_COUNT, DalleShape

_LOGGER = logging.getLogger(__name__)

ModuleT = TypeVar("ModuleT", bound=nn.Module)

_SPECIAL_TOKENS = ("<s>", "</s>", "<unk>")
"""Tokens min-dalle's tokenizer looks up by name; padding is id 1, hard-coded in min-dalle."""


@dataclass(frozen=True)
class ModelPaths:
    """The five files of one model in min-dalle's layout."""

    vocab: Path
    merges: Path
    encoder: Path
    decoder: Path
    detokenizer: Path


@dataclass(frozen=True)
class DalleModules:
    """A loaded model: tokenizer, encoder and decoder (model dtype), VQGAN detokenizer (float32)."""

    tokenizer: TextTokenizer
    encoder: DalleBartEncoder
    decoder: DalleBartDecoder
    detokenizer: VQGanDetokenizer
    shape: DalleShape
    mapped: dict[str, MappedWeights] = field(default_factory=dict)
    """The networks ("encoder", "decoder", "detokenizer") whose weights are used in place from
    their memory-mapped file (see the module doc)."""


def model_paths(models_root: Path, layout: str) -> ModelPaths:
    """Return where min-dalle keeps the files of `layout` ("mini" or "mega") under models_root."""
    by_name = {
        Path(file.local_path).name: models_root / file.local_path for file in model_files(layout)
    }
    return ModelPaths(
        vocab=by_name["vocab.json"],
        merges=by_name["merges.txt"],
        encoder=by_name["encoder.pt"],
        decoder=by_name["decoder.pt"],
        detokenizer=by_name["detoker.pt"],
    )


def load_dalle_modules(
    paths: ModelPaths,
    shape: DalleShape,
    device: torch.device,
    dtype: torch.dtype,
    *,
    remedy: str,
) -> DalleModules:
    """Load a model's five files onto `device`; the networks are built with `shape`.

    Raises ModelNotAvailableError naming the file when one is missing, unreadable or does not
    fit `shape`; `remedy` tells the user how to get good files (it ends the message).
    """
    started = time.monotonic()
    tokenizer = load_tokenizer(paths, shape, remedy=remedy)
    encoder, encoder_mapped = _load_network(
        lambda: DalleBartEncoder(
            layer_count=shape.layer_count,
            embed_count=shape.embed_count,
            attention_head_count=shape.attention_head_count,
            text_vocab_count=shape.text_vocab_count,
            text_token_count=TEXT_TOKEN_COUNT,
            glu_embed_count=shape.glu_embed_count,
            device=device,
        ),
        paths.encoder,
        device,
        dtype,
        remedy=remedy,
    )
    decoder, decoder_mapped = _load_network(
        lambda: DalleBartDecoder(
            image_vocab_count=shape.image_vocab_count,
            embed_count=shape.embed_count,
            attention_head_count=shape.attention_head_count,
            glu_embed_count=shape.glu_embed_count,
            layer_count=shape.layer_count,
            device=device,
        ),
        paths.decoder,
        device,
        dtype,
        remedy=remedy,
    )
    detokenizer, detokenizer_mapped = _load_network(
        VQGanDetokenizer, paths.detokenizer, device, torch.float32, remedy=remedy
    )
    mapped = {
        name: weights
        for name, weights in (
            ("encoder", encoder_mapped),
            ("decoder", decoder_mapped),
            ("detokenizer", detokenizer_mapped),
        )
        if weights is not None
    }
    _LOGGER.info(
        "Loaded %s on %s (%s) in %.1f s%s",
        paths.decoder.parent,
        device,
        str(dtype).removeprefix("torch."),
        time.monotonic() - started,
        f"; used in place from the files: {', '.join(mapped)}" if mapped else "",
    )
    return DalleModules(tokenizer, encoder, decoder, detokenizer, shape, mapped)


def load_tokenizer(paths: ModelPaths, shape: DalleShape, *, remedy: str) -> TextTokenizer:
    """Read vocab.json and merges.txt exactly as min-dalle does and build its tokenizer."""
    try:
        vocab = json.loads(_existing(paths.vocab, remedy).read_text(encoding="utf8"))
        # min-dalle skips the "#version" header line and relies on the file's final newline.
        merges = _existing(paths.merges, remedy).read_text(encoding="utf8").split("\n")[1:-1]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelNotAvailableError(
            f"cannot read the tokenizer files in {paths.vocab.parent} ({error}); {remedy}"
        ) from error
    if not isinstance(vocab, dict) or not all(token in vocab for token in _SPECIAL_TOKENS):
        raise ModelNotAvailableError(
            f"{paths.vocab} is not min-dalle's vocabulary (it needs "
            f"{', '.join(_SPECIAL_TOKENS)}); {remedy}"
        )
    largest_id = max(vocab.values())
    if largest_id >= shape.text_vocab_count:
        raise ModelNotAvailableError(
            f"{paths.vocab} has token id {largest_id}, too large for this model's "
            f"{shape.text_vocab_count} text tokens (a vocabulary of another model?); {remedy}"
        )
    return TextTokenizer(vocab, merges)


def _load_network(
    build: Callable[[], ModuleT],
    path: Path,
    device: torch.device,
    dtype: torch.dtype,
    *,
    remedy: str,
) -> tuple[ModuleT, MappedWeights | None]:
    """Build a network without initialising it, then fill it from the state dict at `path`.

    Returns the network and, when it uses the file's tensors in place, their mapped range.
    """
    # Built on the meta device: no memory, no time and no global RNG spent on an initialisation
    # the file overwrites. Then real, uninitialised storage of the final dtype on the device.
    with torch.device("meta"):
        network = build()
    network = network.to(dtype).to_empty(device=device)
    state_dict, mapped = _read_state_dict(path, remedy)
    in_place = (
        MappedWeights.of_tensors(path, state_dict.values())
        if mapped
        and device.type == "cpu"
        and all(tensor.dtype == dtype for tensor in state_dict.values())
        else None
    )
    try:
        if in_place is not None:
            missing_keys, unexpected_keys = _assign_weights(network, state_dict)
        else:
            missing_keys, unexpected_keys = _copy_weights(network, state_dict, drop_pages=mapped)
    except RuntimeError as error:
        reason = str(error).strip().splitlines()[-1].strip()
        raise ModelNotAvailableError(
            f"{path} does not fit this model's network ({reason}); {remedy}"
        ) from error
    finally:
        del state_dict
    _fill_missing_norms(network, missing_keys, path, remedy)
    if unexpected_keys:
        _LOGGER.debug("%s: ignored %d unexpected weights", path, len(unexpected_keys))
    return network.eval(), in_place


def _assign_weights(
    network: nn.Module, state_dict: dict[str, torch.Tensor]
) -> tuple[list[str], list[str]]:
    """Make the file's tensors the network's own (no copy); return (missing, unexpected) keys.

    `load_state_dict(assign=True)` checks every shape first, as the copying path does.
    """
    result = network.load_state_dict(state_dict, strict=False, assign=True)
    return sorted(result.missing_keys), list(result.unexpected_keys)


def _copy_weights(
    network: nn.Module, state_dict: dict[str, torch.Tensor], *, drop_pages: bool
) -> tuple[list[str], list[str]]:
    """Copy the file's tensors into the network one by one; return (missing, unexpected) keys.

    `load_state_dict` one tensor at a time (its own checks and error messages, strict=False as
    min-dalle loads). With a memory-mapped file (`drop_pages`), each tensor's file pages leave
    the resident set right after their copy (fast_memory.drop_mapped_pages), so loading peaks
    near the size of the weights instead of weights plus the whole file.
    """
    expected = set(network.state_dict(keep_vars=True))
    present = [name for name in state_dict if name in expected]
    unexpected = [name for name in state_dict if name not in expected]
    with torch.no_grad():
        for name in present:
            tensor = state_dict.pop(name)
            network.load_state_dict({name: tensor}, strict=False)
            if drop_pages:
                drop_mapped_pages([tensor])
    return sorted(expected.difference(present)), unexpected


def _read_state_dict(path: Path, remedy: str) -> tuple[dict[str, torch.Tensor], bool]:
    """torch.load a state dict safely (weights only); memory-mapped when the format allows.

    Returns the state dict and whether it is memory-mapped from the file.
    """
    _existing(path, remedy)
    # Memory-mapped, the file's pages are the only copy before the weights reach the network's
    # own storage; the legacy (non-zip) format cannot be mapped.
    mapped = zipfile.is_zipfile(path)
    try:
        state_dict = torch.load(path, map_location="cpu", weights_only=True, mmap=mapped)
    except Exception as error:
        raise ModelNotAvailableError(
            f"cannot read {path} ({type(error).__name__}: {_first_line(error)}): the file is "
            f"damaged or not a min-dalle weights file; {remedy}"
        ) from error
    if not isinstance(state_dict, dict) or not all(
        isinstance(value, torch.Tensor) for value in state_dict.values()
    ):
        raise ModelNotAvailableError(f"{path} holds no state dict of tensors; {remedy}")
    return state_dict, mapped


def _fill_missing_norms(
    network: nn.Module, missing_keys: list[str], path: Path, remedy: str
) -> None:
    """Give norm layers a file leaves out their defaults (scale 1, shift 0); refuse other gaps.

    min-dalle loads with strict=False because its converted checkpoints may omit the scales of
    some LayerNorms (the original Flax model has none there), which then keep torch's defaults.
    """
    not_norms = []
    for key in missing_keys:
        owner_name, _, attribute = key.rpartition(".")
        owner = network.get_submodule(owner_name)
        if isinstance(owner, nn.LayerNorm | nn.GroupNorm) and attribute in ("weight", "bias"):
            with torch.no_grad():
                getattr(owner, attribute).fill_(1.0 if attribute == "weight" else 0.0)
        else:
            not_norms.append(key)
    if not_norms:
        raise ModelNotAvailableError(
            f"{path} lacks {len(not_norms)} weights ({', '.join(not_norms[:3])}…): it is not a "
            f"complete min-dalle file for this model; {remedy}"
        )
    if missing_keys:
        _LOGGER.debug("%s: %d norm weights absent, set to 1/0", path, len(missing_keys))


def _existing(path: Path, remedy: str) -> Path:
    """Return path, or raise ModelNotAvailableError naming it when it is not a file."""
    if not path.is_file():
        raise ModelNotAvailableError(f"model file {path} is missing; {remedy}")
    return path


def _first_line(error: BaseException) -> str:
    """Return the first line of an error's message (torch's load errors run to many lines)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else "no message"
