"""The speech-to-text interface the HTTP layer uses."""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

ASR_SAMPLE_RATE = 16_000
"""wav2vec2 hears 16 kHz mono."""


class Transcriber(ABC):
    """A loaded speech recognizer. `transcribe` is blocking: call it from a worker thread."""

    model_name: str
    """"test" or the name of an exported model folder."""

    @abstractmethod
    def transcribe(self, samples: np.ndarray) -> str:
        """Return the text (lower case) of float32 mono samples at 16 kHz, range -1..1."""
