"""Where an exported ASR model lives: `<models-dir>/asr/<name>/` (graph, vocabulary, metadata)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from .base import ASR_SAMPLE_RATE

ASR_FOLDER: Final = "asr"
MODEL_FILE: Final = "model.onnx"
VOCAB_FILE: Final = "vocab.json"
METADATA_FILE: Final = "asr_model.json"
"""Written last by the exporter: a folder without it is incomplete."""

FORMAT_VERSION: Final = 1
DEFAULT_ASR_MODEL: Final = "wav2vec2-base-960h"
"""The default: downloaded already in ONNX (asr.pretrained), so it fits a 4 GB box."""
LARGE_ASR_CHECKPOINT: Final = "facebook/wav2vec2-large-960h-lv60-self"
LARGE_ASR_MODEL: Final = "wav2vec2-large-960h-lv60-self"
"""Exported from LARGE_ASR_CHECKPOINT on first start when chosen (about 7 GB while exporting)."""


@dataclass(frozen=True)
class AsrModelFolder:
    """Where one exported model's files are."""

    root: Path

    @property
    def model(self) -> Path:
        """The ONNX graph: input `input_values` (batch, samples), output `logits`."""
        return self.root / MODEL_FILE

    @property
    def vocab(self) -> Path:
        """The CTC vocabulary ({token: id})."""
        return self.root / VOCAB_FILE

    @property
    def metadata(self) -> Path:
        """What was exported, from which checkpoint, in which format version."""
        return self.root / METADATA_FILE

    def read_metadata(self) -> dict[str, object] | None:
        """Return the metadata, or None when the folder is incomplete or unreadable."""
        try:
            metadata = json.loads(self.metadata.read_text(encoding="utf8"))
        except (OSError, ValueError):
            return None
        return metadata if isinstance(metadata, dict) else None

    def write_metadata(
        self, *, source: str, vocab_size: int, weights: str, **extra: object
    ) -> None:
        """Write the metadata; the graph and vocabulary must be in place (it is written last)."""
        metadata = {
            "format_version": FORMAT_VERSION,
            "source": source,
            "sample_rate": ASR_SAMPLE_RATE,
            "vocab_size": vocab_size,
            "weights": weights,
            **extra,
        }
        self.metadata.write_text(json.dumps(metadata, indent=2) + "\n", "utf8")

    def is_complete(self) -> bool:
        """Whether all three files are there (the exporter writes the metadata last)."""
        return self.model.is_file() and self.vocab.is_file() and self.read_metadata() is not None


def asr_model_folder(models_dir: Path, name: str) -> AsrModelFolder:
    """Return the folder of the ASR model called `name` (a folder name, or a path to one)."""
    candidate = Path(name)
    if candidate.is_absolute() or name.startswith("."):
        return AsrModelFolder(candidate)
    return AsrModelFolder(models_dir / ASR_FOLDER / name)
