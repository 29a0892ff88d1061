"""Greedy CTC decoding with a wav2vec2 vocabulary file (JSON, never evaluated as code)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Final

import numpy as np

from ..errors import ModelNotAvailableError

WORD_DELIMITER: Final = "|"
BLANK_TOKEN: Final = "<pad>"
"""wav2vec2's CTC blank is its padding token."""
_SPECIAL_TOKENS: Final = frozenset({"<pad>", "<s>", "</s>", "<unk>"})


class CtcVocabulary:
    """Maps CTC output ids to characters; knows the blank and the word delimiter."""

    def __init__(self, token_ids: dict[str, int]) -> None:
        if BLANK_TOKEN not in token_ids:
            raise ValueError(f"the vocabulary has no {BLANK_TOKEN} (CTC blank) token")
        size = max(token_ids.values()) + 1
        self.characters = [""] * size
        """The text each id stands for ("" for special tokens, " " for the word delimiter)."""
        for token, token_id in token_ids.items():
            if token in _SPECIAL_TOKENS:
                continue
            self.characters[token_id] = " " if token == WORD_DELIMITER else token
        self.blank_id = token_ids[BLANK_TOKEN]
        self.size = size

    @classmethod
    def from_file(cls, path: Path) -> CtcVocabulary:
        """Read a Hugging Face `vocab.json` ({token: id}); ModelNotAvailableError if broken."""
        try:
            token_ids = json.loads(path.read_text(encoding="utf8"))
        except (OSError, UnicodeDecodeError, ValueError) as error:
            raise ModelNotAvailableError(
                f"cannot read the ASR vocabulary {path}: {error}"
            ) from error
        if (
            not isinstance(token_ids, dict)
            or not token_ids
            or not all(
                isinstance(token, str) and isinstance(token_id, int) and 0 <= token_id < 100_000
                for token, token_id in token_ids.items()
            )
        ):
            raise ModelNotAvailableError(f"{path} is not a {{token: id}} vocabulary")
        try:
            return cls(token_ids)
        except ValueError as error:
            raise ModelNotAvailableError(f"{path}: {error}") from error

    def decode_greedy(self, logits: np.ndarray) -> str:
        """Decode (frames, vocabulary) logits: best id per frame, repeats merged, blanks dropped."""
        if logits.ndim != 2 or logits.shape[1] != self.size:
            raise ValueError(
                f"logits of shape {logits.shape} do not fit a vocabulary of {self.size} tokens"
            )
        best = logits.argmax(axis=1)
        if best.size == 0:
            return ""
        changes = np.concatenate([[True], best[1:] != best[:-1]])
        kept = best[changes]
        text = "".join(self.characters[token_id] for token_id in kept if token_id != self.blank_id)
        return " ".join(text.lower().split())
