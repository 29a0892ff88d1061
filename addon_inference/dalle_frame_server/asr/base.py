"""The speech-to-text interface the HTTP layer uses."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

ASR_SAMPLE_RATE = 16_000
"""wav2vec2 and Whisper hear 16 kHz mono."""


@dataclass(frozen=True)
class Transcription:
    """What was heard, and in which language (given, detected, or the model's only one)."""

    text: str
    language: str


class Transcriber(ABC):
    """A loaded speech recognizer. `transcribe` is blocking: call it from a worker thread."""

    model_name: str
    """"test" or the name of an exported model folder."""
    languages: tuple[str, ...] = ("en",)
    """ISO 639 codes of the languages the model understands (wav2vec2-960h: English)."""

    @abstractmethod
    def transcribe(self, samples: np.ndarray) -> str:
        """Return the text (lower case) of float32 mono samples at 16 kHz, range -1..1."""

    def transcribe_speech(self, samples: np.ndarray, language: str | None = None) -> Transcription:
        """Transcribe in `language` (one of `languages`; None: the model decides); blocking.

        A one-language model ignores `language` once the caller checked it is in `languages`.
        """
        return Transcription(self.transcribe(samples), language or self.languages[0])
