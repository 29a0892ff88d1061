"""The `test-multilingual` ASR model: a tiny random Whisper-shaped pair of graphs, built here.

Same files and graph interfaces as a pre-exported Whisper (an encoder taking 30 s of log-mel
features; a merged decoder with `input_ids`, `encoder_hidden_states`, `use_cache_branch` and
past keys and values per layer, answering logits and the present ones), a byte-level
vocabulary and five language tokens (en, de, fr, es, nl), so language given, detected and
refused all run. Weights are random: it transcribes gibberish. Its decoder recomputes the
cross-attention keys and values from the encoder's states at every step (equal to the past
ones it is given) and keeps the newest, so `use_cache_branch` does not change its result.
Built with torch into `<models-dir>/asr/test-multilingual/` in seconds, once; rebuilt when its
source changes.
"""

from __future__ import annotations

import json
import logging
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import torch
from torch import nn

from .model_folder import FORMAT_VERSION, asr_model_folder
from .whisper_features import CHUNK_FRAMES
from .whisper_folder import WhisperModelFolder
from .whisper_tokens import (
    END_OF_TEXT,
    NO_TIMESTAMPS,
    START_OF_TRANSCRIPT,
    TRANSCRIBE,
    byte_to_character,
)
from .whisper_transcriber import OnnxWhisperTranscriber

_LOGGER = logging.getLogger(__name__)

TEST_MULTILINGUAL_MODEL_NAME: Final = "test-multilingual"
TEST_MULTILINGUAL_LANGUAGES: Final = ("en", "de", "fr", "es", "nl")
TEST_MULTILINGUAL_SEED: Final = 2002
TEST_MULTILINGUAL_SOURCE: Final = (
    f"test-multilingual: tiny random Whisper-shaped encoder and decoder (seed "
    f"{TEST_MULTILINGUAL_SEED}), v2"
)
TEST_MULTILINGUAL_NOTICE: Final = (
    "test-multilingual ASR model: random weights, transcribes gibberish in "
    + ", ".join(TEST_MULTILINGUAL_LANGUAGES)
)
_OPSET: Final = 17


@dataclass(frozen=True)
class WhisperShape:
    """The sizes of a Whisper-shaped model (the test model's by default)."""

    width: int = 16
    heads: int = 2
    encoder_layers: int = 1
    decoder_layers: int = 2
    mel_bins: int = 80
    positions: int = 24
    """Decoder positions (Whisper: 448)."""

    @property
    def head_width(self) -> int:
        """Width of one attention head."""
        return self.width // self.heads


TEST_SHAPE: Final = WhisperShape()
BASE_SHAPE: Final = WhisperShape(
    width=512, heads=8, encoder_layers=6, decoder_layers=6, positions=448
)
"""openai/whisper-base's sizes (74 M parameters), for benchmarks with random weights."""


def test_multilingual_tokens() -> tuple[dict[str, int], dict[str, int]]:
    """(vocab, added tokens): one text token per byte, then the special tokens."""
    vocab = {char: byte for byte, char in byte_to_character().items()}
    special = [
        END_OF_TEXT,
        START_OF_TRANSCRIPT,
        *(f"<|{code}|>" for code in TEST_MULTILINGUAL_LANGUAGES),
        "<|translate|>",
        TRANSCRIBE,
        NO_TIMESTAMPS,
    ]
    added = {token: len(vocab) + offset for offset, token in enumerate(special)}
    return vocab, added


def ensure_test_multilingual_model(models_dir: Path) -> WhisperModelFolder:
    """Return the test model's folder, building it first when absent or stale."""
    folder = WhisperModelFolder(asr_model_folder(models_dir, TEST_MULTILINGUAL_MODEL_NAME).root)
    metadata = folder.read_metadata() if folder.is_complete() else None
    if metadata is not None and (
        metadata.get("source") == TEST_MULTILINGUAL_SOURCE
        and metadata.get("format_version") == FORMAT_VERSION
    ):
        return folder
    _LOGGER.info("Building the test multilingual ASR model in %s", folder.root)
    vocab, added = test_multilingual_tokens()
    return build_whisper_shaped(
        folder.root,
        TEST_SHAPE,
        vocab,
        added,
        seed=TEST_MULTILINGUAL_SEED,
        source=TEST_MULTILINGUAL_SOURCE,
    )


def build_whisper_shaped(
    out_dir: Path,
    shape: WhisperShape,
    vocab: dict[str, int],
    added: dict[str, int],
    *,
    seed: int,
    source: str,
) -> WhisperModelFolder:
    """Build random graphs of `shape` with these tokens into `out_dir` (staged, then renamed)."""
    folder = WhisperModelFolder(out_dir)
    staging = WhisperModelFolder(out_dir.with_name(out_dir.name + ".part"))
    shutil.rmtree(staging.root, ignore_errors=True)
    staging.root.mkdir(parents=True)
    try:
        _build(staging, shape, vocab, added, seed=seed, source=source)
        shutil.rmtree(folder.root, ignore_errors=True)
        staging.root.rename(folder.root)
    finally:
        shutil.rmtree(staging.root, ignore_errors=True)
    return folder


def _build(
    folder: WhisperModelFolder,
    shape: WhisperShape,
    vocab: dict[str, int],
    added: dict[str, int],
    *,
    seed: int,
    source: str,
) -> None:
    """Write the graphs, tokens and config, check them in ONNX Runtime, write the metadata."""
    vocab_size = max([*vocab.values(), *added.values()]) + 1
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        encoder = TinyEncoder(shape).eval()
        decoder = TinyDecoder(shape, vocab_size).eval()
    features = torch.zeros(1, shape.mel_bins, CHUNK_FRAMES)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(
            encoder,
            (features,),
            str(folder.encoder),
            input_names=["input_features"],
            output_names=["last_hidden_state"],
            opset_version=_OPSET,
            dynamo=False,
        )
        states = encoder(features)
        past_names = [
            f"{layer}.{part}.{kind}"
            for layer in range(shape.decoder_layers)
            for part in ("decoder", "encoder")
            for kind in ("key", "value")
        ]
        past = [torch.zeros(1, shape.heads, 1, shape.head_width) for _ in past_names]
        axes: dict[str, dict[int, str]] = {"input_ids": {1: "tokens"}, "logits": {1: "tokens"}}
        for name in past_names:
            axes[f"past_key_values.{name}"] = {2: "past"}
            axes[f"present.{name}"] = {2: "total"}
        torch.onnx.export(
            decoder,
            (torch.tensor([[1, 2]]), states, torch.tensor([True]), *past),
            str(folder.decoder),
            input_names=[
                "input_ids",
                "encoder_hidden_states",
                "use_cache_branch",
                *(f"past_key_values.{name}" for name in past_names),
            ],
            output_names=["logits", *(f"present.{name}" for name in past_names)],
            dynamic_axes=axes,
            opset_version=_OPSET,
            dynamo=False,
        )
    folder.vocab.write_text(json.dumps(vocab, ensure_ascii=False) + "\n", "utf8")
    folder.added_tokens.write_text(json.dumps(added, indent=1) + "\n", "utf8")
    config = {
        "model_type": "whisper",
        "d_model": shape.width,
        "encoder_layers": shape.encoder_layers,
        "decoder_layers": shape.decoder_layers,
        "decoder_attention_heads": shape.heads,
        "num_mel_bins": shape.mel_bins,
        "max_target_positions": shape.positions,
        "vocab_size": vocab_size,
    }
    folder.config.write_text(json.dumps(config, indent=2) + "\n", "utf8")
    folder.write_metadata(source=source, weights="float32")
    transcriber = OnnxWhisperTranscriber(folder, model_name="check", use_cuda=False, threads=1)
    transcriber.transcribe_speech(np.zeros(8000, dtype=np.float32), "en", max_new_tokens=2)


class TinyEncoder(nn.Module):
    """Whisper's encoder shape: two convolutions (the second halves time), positions, blocks."""

    def __init__(self, shape: WhisperShape) -> None:
        super().__init__()
        width = shape.width
        self.shape = shape
        self.conv1 = nn.Conv1d(shape.mel_bins, width, 3, padding=1)
        self.conv2 = nn.Conv1d(width, width, 3, stride=2, padding=1)
        self.positions = nn.Parameter(torch.randn(CHUNK_FRAMES // 2, width) * 0.1)
        self.blocks = nn.ModuleList(EncoderBlock(shape) for _ in range(shape.encoder_layers))
        self.norm = nn.LayerNorm(width)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """(1, mel bins, 3000) -> (1, 1500, width)."""
        hidden = nn.functional.gelu(self.conv2(nn.functional.gelu(self.conv1(features))))
        hidden = hidden.transpose(1, 2) + self.positions
        for block in self.blocks:
            hidden = block(hidden)
        return self.norm(hidden)


class EncoderBlock(nn.Module):
    """Self-attention and a feed-forward block, each after a layer norm."""

    def __init__(self, shape: WhisperShape) -> None:
        super().__init__()
        width = shape.width
        self.shape = shape
        self.attention_norm, self.mlp_norm = nn.LayerNorm(width), nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.attention_out = nn.Linear(width, width)
        self.mlp = nn.Sequential(
            nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width)
        )

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        """(1, frames, width) -> the same."""
        parts = self.qkv(self.attention_norm(hidden)).chunk(3, -1)
        query, key, value = (_heads(part, self.shape) for part in parts)
        hidden = hidden + self.attention_out(_attend(query, key, value, None, self.shape))
        return hidden + self.mlp(self.mlp_norm(hidden))


class TinyDecoderLayer(nn.Module):
    """Self-attention over past and new tokens, cross-attention, a feed-forward block."""

    def __init__(self, shape: WhisperShape) -> None:
        super().__init__()
        width = shape.width
        self.shape = shape
        self.self_norm, self.cross_norm, self.mlp_norm = (nn.LayerNorm(width) for _ in range(3))
        self.self_qkv = nn.Linear(width, 3 * width)
        self.self_out = nn.Linear(width, width)
        self.cross_q = nn.Linear(width, width)
        self.cross_kv = nn.Linear(width, 2 * width)
        self.cross_out = nn.Linear(width, width)
        self.mlp = nn.Sequential(
            nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width)
        )

    def forward(
        self,
        hidden: torch.Tensor,
        states: torch.Tensor,
        past_key: torch.Tensor,
        past_value: torch.Tensor,
        past_cross: tuple[torch.Tensor, torch.Tensor],
        mask: torch.Tensor,
    ) -> tuple[torch.Tensor, ...]:
        """Return the new hidden states and the present (self key, value, cross key, value)."""
        shape = self.shape
        parts = self.self_qkv(self.self_norm(hidden)).chunk(3, -1)
        query, key, value = (_heads(part, shape) for part in parts)
        key = torch.cat([past_key, key], dim=2)
        value = torch.cat([past_value, value], dim=2)
        hidden = hidden + self.self_out(_attend(query, key, value, mask, shape))
        cross_parts = self.cross_kv(states).chunk(2, -1)
        cross_key, cross_value = (_heads(part, shape) for part in cross_parts)
        # The past cross keys and values (none at the first step) equal the ones computed
        # again here: keep the last encoder-length ones, so both graph inputs are used.
        length = states.shape[1]
        cross_key = torch.cat([past_cross[0], cross_key], dim=2)[:, :, -length:]
        cross_value = torch.cat([past_cross[1], cross_value], dim=2)[:, :, -length:]
        cross_query = _heads(self.cross_q(self.cross_norm(hidden)), shape)
        attended = _attend(cross_query, cross_key, cross_value, None, shape)
        hidden = hidden + self.cross_out(attended)
        hidden = hidden + self.mlp(self.mlp_norm(hidden))
        return hidden, key, value, cross_key, cross_value


class TinyDecoder(nn.Module):
    """The merged decoder's interface over TinyDecoderLayer; logits tie to the embedding."""

    def __init__(self, shape: WhisperShape, vocab_size: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, shape.width)
        self.positions = nn.Parameter(torch.randn(shape.positions, shape.width) * 0.1)
        self.layers = nn.ModuleList(TinyDecoderLayer(shape) for _ in range(shape.decoder_layers))
        self.norm = nn.LayerNorm(shape.width)

    def forward(
        self,
        input_ids: torch.Tensor,
        states: torch.Tensor,
        use_cache_branch: torch.Tensor,
        *past: torch.Tensor,
    ) -> tuple[torch.Tensor, ...]:
        """Logits for each new token, then (self key, value, cross key, value) per layer."""
        start = past[0].shape[2]
        count = input_ids.shape[1]
        hidden = self.embedding(input_ids) + self.positions[start : start + count]
        query_positions = torch.arange(count) + start
        key_positions = torch.arange(start + count)
        mask = key_positions[None, :] > query_positions[:, None]
        presents: list[torch.Tensor] = []
        for index, layer in enumerate(self.layers):
            self_key, self_value, cross_key, cross_value = past[4 * index : 4 * index + 4]
            hidden, *present = layer(
                hidden, states, self_key, self_value, (cross_key, cross_value), mask
            )
            presents.extend(present)
        logits = self.norm(hidden) @ self.embedding.weight.T
        # Keep use_cache_branch an input of the graph (its value changes nothing here).
        logits = logits + 0.0 * use_cache_branch.to(logits.dtype)
        return (logits, *presents)


def _heads(tensor: torch.Tensor, shape: WhisperShape) -> torch.Tensor:
    """(1, tokens, width) -> (1, heads, tokens, head width)."""
    return tensor.reshape(1, -1, shape.heads, shape.head_width).transpose(1, 2)


def _attend(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    mask: torch.Tensor | None,
    shape: WhisperShape,
) -> torch.Tensor:
    """Scaled dot-product attention, heads merged back to (1, tokens, width)."""
    scores = query @ key.transpose(2, 3) / shape.head_width**0.5
    if mask is not None:
        scores = scores.masked_fill(mask, float("-inf"))
    return (scores.softmax(-1) @ value).transpose(1, 2).reshape(1, -1, shape.width)
