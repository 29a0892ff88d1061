"""`OnnxCtcTranscriber`: a wav2vec2 CTC model exported to ONNX, run in ONNX Runtime."""

from __future__ import annotations

import logging

import numpy as np
import onnxruntime

from ..errors import ModelNotAvailableError
from ..onnx_sessions import CPU_PROVIDER, session_settings
from .base import Transcriber
from .ctc import CtcVocabulary
from .model_folder import AsrModelFolder
from .wav_audio import normalize_for_wav2vec2

_LOGGER = logging.getLogger(__name__)


class OnnxCtcTranscriber(Transcriber):
    """Normalizes audio as wav2vec2 expects, runs the graph, decodes greedily."""

    def __init__(
        self,
        folder: AsrModelFolder,
        *,
        model_name: str,
        use_cuda: bool,
        threads: int | None = None,
    ) -> None:
        if not folder.is_complete():
            raise ModelNotAvailableError(
                f"the ASR model in {folder.root} is missing or incomplete; export it with "
                "python -m dalle_frame_server.asr.export --out " + str(folder.root)
            )
        self.model_name = model_name
        self.vocabulary = CtcVocabulary.from_file(folder.vocab)
        metadata = folder.read_metadata() or {}
        self.weights = str(metadata.get("weights", "float32"))
        """How the export stored the weights: float32, int8 (CPU) or float16 (GPU)."""
        options, providers = session_settings(threads, use_cuda=use_cuda, purpose="ASR")
        try:
            self._session = onnxruntime.InferenceSession(
                str(folder.model), options, providers=providers
            )
        except Exception as error:  # onnxruntime raises its own exception types
            advice = "export the model again"
            if self.weights == "float16" and providers == [CPU_PROVIDER]:
                advice = (
                    "it was exported with --float16 for GPUs; for a CPU server export it "
                    "without --float16"
                )
            raise ModelNotAvailableError(
                f"ONNX Runtime cannot load {folder.model} ({error}); {advice}"
            ) from error
        inputs = [node.name for node in self._session.get_inputs()]
        if inputs != ["input_values"]:
            raise ModelNotAvailableError(
                f"{folder.model} takes {inputs}, not ['input_values']: not a wav2vec2 CTC export"
            )
        self.provider = self._session.get_providers()[0]
        _LOGGER.info(
            "ASR model %s loaded (%s, %s weights)", model_name, self.provider, self.weights
        )
        if self.weights == "float16" and self.provider == CPU_PROVIDER:
            _LOGGER.warning(
                "ASR model %s was exported with --float16 for GPUs; ONNX Runtime's CPU provider "
                "runs it through float32 casts (no faster, no smaller than float32). For a CPU "
                "server export it without --float16 (or with --int8)",
                model_name,
            )

    def transcribe(self, samples: np.ndarray) -> str:
        """Return the text (lower case) of float32 mono 16 kHz samples in -1..1; blocking."""
        batch = normalize_for_wav2vec2(samples)[None, :]
        (logits,) = self._session.run(["logits"], {"input_values": batch})
        return self.vocabulary.decode_greedy(logits[0])
