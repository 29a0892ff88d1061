"""Where a Whisper model lives: `<models-dir>/asr/<name>/` with two graphs, tokens and config.

`encoder.onnx` (input_features (1, mel bins, 3000) -> last_hidden_state), `decoder.onnx` (the
merged decoder with past key values, as Hugging Face Optimum exports it), `vocab.json`,
`added_tokens.json`, `config.json` (the sizes) and `asr_model.json`, written last; a folder
without it is incomplete and never loaded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from .base import ASR_SAMPLE_RATE
from .model_folder import FORMAT_VERSION, METADATA_FILE

WHISPER_ARCHITECTURE: Final = "whisper"
"""`architecture` in asr_model.json; wav2vec2 folders have none."""


@dataclass(frozen=True)
class WhisperConfig:
    """The sizes the decoder loop needs, from the model's config.json."""

    d_model: int
    decoder_layers: int
    decoder_attention_heads: int
    num_mel_bins: int
    max_target_positions: int

    @property
    def head_size(self) -> int:
        """Width of one attention head."""
        return self.d_model // self.decoder_attention_heads


@dataclass(frozen=True)
class WhisperModelFolder:
    """Where one Whisper model's files are."""

    root: Path

    @property
    def encoder(self) -> Path:
        """The encoder graph."""
        return self.root / "encoder.onnx"

    @property
    def decoder(self) -> Path:
        """The merged decoder graph (first step without past, later steps with it)."""
        return self.root / "decoder.onnx"

    @property
    def vocab(self) -> Path:
        """Text tokens {token: id}."""
        return self.root / "vocab.json"

    @property
    def added_tokens(self) -> Path:
        """Special tokens {token: id}: languages, task, timestamps."""
        return self.root / "added_tokens.json"

    @property
    def config(self) -> Path:
        """The model's sizes (Hugging Face's config.json)."""
        return self.root / "config.json"

    @property
    def metadata(self) -> Path:
        """What the folder holds; written last."""
        return self.root / METADATA_FILE

    @property
    def files(self) -> tuple[Path, ...]:
        """Every file but the metadata."""
        return (self.encoder, self.decoder, self.vocab, self.added_tokens, self.config)

    def read_metadata(self) -> dict[str, object] | None:
        """Return the metadata, or None when missing, unreadable or not a Whisper folder's."""
        try:
            metadata = json.loads(self.metadata.read_text(encoding="utf8"))
        except (OSError, ValueError):
            return None
        if not isinstance(metadata, dict) or metadata.get("architecture") != WHISPER_ARCHITECTURE:
            return None
        return metadata

    def write_metadata(self, *, source: str, weights: str, **extra: object) -> None:
        """Write the metadata, last, once every other file is in place and checked."""
        metadata = {
            "format_version": FORMAT_VERSION,
            "architecture": WHISPER_ARCHITECTURE,
            "source": source,
            "sample_rate": ASR_SAMPLE_RATE,
            "weights": weights,
            **extra,
        }
        self.metadata.write_text(json.dumps(metadata, indent=2) + "\n", "utf8")

    def is_complete(self) -> bool:
        """Whether every file is there and the metadata says Whisper."""
        return all(path.is_file() for path in self.files) and self.read_metadata() is not None

    def read_config(self) -> WhisperConfig:
        """Read the sizes; ValueError saying what is missing."""
        try:
            config = json.loads(self.config.read_text(encoding="utf8"))
            return WhisperConfig(
                d_model=int(config["d_model"]),
                decoder_layers=int(config["decoder_layers"]),
                decoder_attention_heads=int(config["decoder_attention_heads"]),
                num_mel_bins=int(config.get("num_mel_bins", 80)),
                max_target_positions=int(config.get("max_target_positions", 448)),
            )
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ValueError(
                f"cannot read the Whisper sizes in {self.config} ({error!r})"
            ) from error


def is_whisper_folder(root: Path) -> bool:
    """Whether `root` holds a complete Whisper model (else it may be a wav2vec2 one)."""
    return WhisperModelFolder(root).is_complete()
