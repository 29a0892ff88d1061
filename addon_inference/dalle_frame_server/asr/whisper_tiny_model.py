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
    f"{TEST_MULTILINGUAL_SEED}), v1"
)
TEST_MULTILINGUAL_NOTICE: Final = (
    "test-multilingual ASR model: random weights, transcribes gibberish in "
    + ", ".join(TEST_MULTILINGUAL_LANGUAGES)
)
_OPSET: Final = 17
_WIDTH: Final = 16
_HEADS: Final = 2
_LAYERS: Final = 2
_MEL_BINS: Final = 80
_POSITIONS: Final = 24


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
    staging = WhisperModelFolder(folder.root.with_name(folder.root.name + ".part"))
    shutil.rmtree(staging.root, ignore_errors=True)
    staging.root.mkdir(parents=True)
    try:
        _build(staging)
        shutil.rmtree(folder.root, ignore_errors=True)
        staging.root.rename(folder.root)
    finally:
        shutil.rmtree(staging.root, ignore_errors=True)
    return folder


def _build(folder: WhisperModelFolder) -> None:
    """Write the graphs, tokens and config, check them in ONNX Runtime, write the metadata."""
    vocab, added = test_multilingual_tokens()
    vocab_size = len(vocab) + len(added)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(TEST_MULTILINGUAL_SEED)
        encoder, decoder = TinyEncoder().eval(), TinyDecoder(vocab_size).eval()
    features = torch.zeros(1, _MEL_BINS, CHUNK_FRAMES)
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
            for layer in range(_LAYERS)
            for part in ("decoder", "encoder")
            for kind in ("key", "value")
        ]
        past = [torch.zeros(1, _HEADS, 1, _WIDTH // _HEADS) for _ in past_names]
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
        "d_model": _WIDTH,
        "decoder_layers": _LAYERS,
        "decoder_attention_heads": _HEADS,
        "num_mel_bins": _MEL_BINS,
        "max_target_positions": _POSITIONS,
        "vocab_size": vocab_size,
    }
    folder.config.write_text(json.dumps(config, indent=2) + "\n", "utf8")
    folder.write_metadata(source=TEST_MULTILINGUAL_SOURCE, weights="float32")
    transcriber = OnnxWhisperTranscriber(folder, model_name="check", use_cuda=False, threads=1)
    transcriber.transcribe_speech(np.zeros(8000, dtype=np.float32), "en", max_new_tokens=2)


class TinyEncoder(nn.Module):
    """Whisper's encoder shape: two convolutions (the second halves time), positions, one block."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(_MEL_BINS, _WIDTH, 3, padding=1)
        self.conv2 = nn.Conv1d(_WIDTH, _WIDTH, 3, stride=2, padding=1)
        self.positions = nn.Parameter(torch.randn(CHUNK_FRAMES // 2, _WIDTH) * 0.1)
        self.attention_norm, self.mlp_norm, self.norm = (nn.LayerNorm(_WIDTH) for _ in range(3))
        self.qkv = nn.Linear(_WIDTH, 3 * _WIDTH)
        self.attention_out = nn.Linear(_WIDTH, _WIDTH)
        self.mlp = nn.Sequential(
            nn.Linear(_WIDTH, 2 * _WIDTH), nn.GELU(), nn.Linear(2 * _WIDTH, _WIDTH)
        )

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """(1, mel bins, 3000) -> (1, 1500, width)."""
        hidden = nn.functional.gelu(self.conv2(nn.functional.gelu(self.conv1(features))))
        hidden = hidden.transpose(1, 2) + self.positions
        query, key, value = (
            _heads(part) for part in self.qkv(self.attention_norm(hidden)).chunk(3, -1)
        )
        hidden = hidden + self.attention_out(_attend(query, key, value, None))
        hidden = hidden + self.mlp(self.mlp_norm(hidden))
        return self.norm(hidden)


class TinyDecoderLayer(nn.Module):
    """Self-attention over past and new tokens, cross-attention, a feed-forward block."""

    def __init__(self) -> None:
        super().__init__()
        self.self_norm, self.cross_norm, self.mlp_norm = (nn.LayerNorm(_WIDTH) for _ in range(3))
        self.self_qkv = nn.Linear(_WIDTH, 3 * _WIDTH)
        self.self_out = nn.Linear(_WIDTH, _WIDTH)
        self.cross_q = nn.Linear(_WIDTH, _WIDTH)
        self.cross_kv = nn.Linear(_WIDTH, 2 * _WIDTH)
        self.cross_out = nn.Linear(_WIDTH, _WIDTH)
        self.mlp = nn.Sequential(
            nn.Linear(_WIDTH, 2 * _WIDTH), nn.GELU(), nn.Linear(2 * _WIDTH, _WIDTH)
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
        query, key, value = (
            _heads(part) for part in self.self_qkv(self.self_norm(hidden)).chunk(3, -1)
        )
        key = torch.cat([past_key, key], dim=2)
        value = torch.cat([past_value, value], dim=2)
        hidden = hidden + self.self_out(_attend(query, key, value, mask))
        cross_key, cross_value = (_heads(part) for part in self.cross_kv(states).chunk(2, -1))
        # The past cross keys and values (none at the first step) equal the ones computed
        # again here: keep the last encoder-length ones, so both graph inputs are used.
        length = states.shape[1]
        cross_key = torch.cat([past_cross[0], cross_key], dim=2)[:, :, -length:]
        cross_value = torch.cat([past_cross[1], cross_value], dim=2)[:, :, -length:]
        cross_query = _heads(self.cross_q(self.cross_norm(hidden)))
        hidden = hidden + self.cross_out(_attend(cross_query, cross_key, cross_value, None))
        hidden = hidden + self.mlp(self.mlp_norm(hidden))
        return hidden, key, value, cross_key, cross_value


class TinyDecoder(nn.Module):
    """The merged decoder's interface over TinyDecoderLayer; logits tie to the embedding."""

    def __init__(self, vocab_size: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, _WIDTH)
        self.positions = nn.Parameter(torch.randn(_POSITIONS, _WIDTH) * 0.1)
        self.layers = nn.ModuleList(TinyDecoderLayer() for _ in range(_LAYERS))
        self.norm = nn.LayerNorm(_WIDTH)

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


def _heads(tensor: torch.Tensor) -> torch.Tensor:
    """(1, tokens, width) -> (1, heads, tokens, head width)."""
    return tensor.reshape(1, -1, _HEADS, _WIDTH // _HEADS).transpose(1, 2)


def _attend(
    query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, mask: torch.Tensor | None
) -> torch.Tensor:
    """Scaled dot-product attention, heads merged back to (1, tokens, width)."""
    scores = query @ key.transpose(2, 3) / (_WIDTH // _HEADS) ** 0.5
    if mask is not None:
        scores = scores.masked_fill(mask, float("-inf"))
    return (scores.softmax(-1) @ value).transpose(1, 2).reshape(1, -1, _WIDTH)
