"""ASR models published already in ONNX: downloaded once, verified, used without an export.

Exporting wav2vec2 on the box needs torch, transformers and memory (the large model about
7 GB), more than a 4 GB Home Assistant box has. A pre-exported graph needs neither: it is
downloaded from a pinned revision, its sha256 checked against the one pinned here, its
vocabulary checked, then opened in ONNX Runtime once on a short clip to prove it is a wav2vec2
CTC graph (input `input_values`, logits over the vocabulary) before the metadata is written,
last, as the exporter does. A folder without the metadata is never loaded.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import aiohttp
import numpy as np
import onnxruntime

from ..downloads import DownloadError, DownloadPolicy, DownloadProgress, download_file
from ..errors import ModelNotAvailableError
from .base import ASR_SAMPLE_RATE
from .ctc import CtcVocabulary
from .model_folder import AsrModelFolder, asr_model_folder

_LOGGER = logging.getLogger(__name__)

HUGGING_FACE_URL: Final = "https://huggingface.co"


@dataclass(frozen=True, kw_only=True)
class PretrainedAsrModel:
    """One pre-exported model: where its files are, at which revision, and their checksum."""

    name: str
    """The `asr_model` option value and the folder name under `<models-dir>/asr/`."""
    repository: str
    revision: str
    """A commit, so the files never change under the pinned checksum."""
    graph_path: str
    graph_sha256: str
    vocab_path: str
    weights: str
    """How the graph stores its weights (float32 or int8), as the exporter records it."""
    source: str
    """What the graph was exported from, for the metadata and the log."""

    def url(self, base_url: str, path: str) -> str:
        """Return the download URL of `path` in the repository at the pinned revision."""
        return f"{base_url.rstrip('/')}/{self.repository}/resolve/{self.revision}/{path}"


WAV2VEC2_BASE_960H: Final = PretrainedAsrModel(
    name="wav2vec2-base-960h",
    repository="Xenova/wav2vec2-base-960h",
    revision="9ce1509b228e594b70ed699f6f0993cefdc59bf5",
    graph_path="onnx/model_quantized.onnx",
    graph_sha256="cd5040c147381580ed73258143dd8e0c28e800a09e74ee42ee2b3e8cb4d760a3",
    vocab_path="vocab.json",
    weights="int8",
    source="facebook/wav2vec2-base-960h (ONNX export with int8 weights, Xenova/wav2vec2-base-960h)",
)
"""The CPU default: English wav2vec2 base, 95 MB, about 0.2 GB resident in ONNX Runtime."""

PRETRAINED_ASR_MODELS: Final = {model.name: model for model in (WAV2VEC2_BASE_960H,)}


async def ensure_pretrained_asr_model(
    spec: PretrainedAsrModel,
    models_dir: Path,
    *,
    base_url: str = HUGGING_FACE_URL,
    policy: DownloadPolicy | None = None,
    progress: DownloadProgress | None = None,
) -> AsrModelFolder:
    """Return the model's folder, downloading and checking its files first when incomplete.

    Raises DownloadError when a file cannot be fetched, or (not retryable) when the files are
    not the pinned graph or not a usable wav2vec2 CTC model; the bad files are then deleted.
    """
    folder = asr_model_folder(models_dir, spec.name)
    if folder.is_complete():
        return folder
    folder.root.mkdir(parents=True, exist_ok=True)
    _LOGGER.info("ASR model %s: downloading %s@%s", spec.name, spec.repository, spec.revision[:7])
    async with aiohttp.ClientSession() as session:
        await download_file(
            session,
            spec.url(base_url, spec.graph_path),
            folder.model,
            policy=policy,
            progress=progress,
            expected_sha256=spec.graph_sha256,
        )
        await download_file(
            session, spec.url(base_url, spec.vocab_path), folder.vocab, policy=policy
        )
    try:  # opens the graph and runs it once: off the event loop
        vocab_size = await asyncio.to_thread(check_pretrained_files, folder)
    except ValueError as error:
        folder.model.unlink(missing_ok=True)
        folder.vocab.unlink(missing_ok=True)
        raise DownloadError(
            f"the ASR model {spec.name} from {spec.repository} is not usable ({error}); the "
            "files were deleted; choose another asr_model or report this",
            retryable=False,
        ) from error
    folder.write_metadata(
        source=spec.source,
        vocab_size=vocab_size,
        weights=spec.weights,
        repository=f"{spec.repository}@{spec.revision}",
    )
    _LOGGER.info("ASR model %s is ready in %s", spec.name, folder.root)
    return folder


def check_pretrained_files(folder: AsrModelFolder) -> int:
    """Check the vocabulary and that the graph maps a clip to logits over it; return its size.

    Raises ValueError saying what is wrong.
    """
    try:
        vocabulary = CtcVocabulary.from_file(folder.vocab)
    except ModelNotAvailableError as error:
        raise ValueError(str(error)) from error
    vocab_size = vocabulary.size
    try:
        session = onnxruntime.InferenceSession(
            str(folder.model), providers=["CPUExecutionProvider"]
        )
    except Exception as error:  # onnxruntime raises its own exception types
        raise ValueError(f"ONNX Runtime cannot open the graph: {error}") from error
    inputs = [item.name for item in session.get_inputs()]
    if inputs != ["input_values"]:
        raise ValueError(f"the graph takes {inputs}, not ['input_values']")
    clip = np.zeros((1, ASR_SAMPLE_RATE // 2), dtype=np.float32)
    try:
        (logits,) = session.run(None, {"input_values": clip})[:1]
    except Exception as error:  # onnxruntime raises its own exception types
        raise ValueError(f"the graph does not run on a clip of audio: {error}") from error
    if logits.ndim != 3 or logits.shape[0] != 1 or logits.shape[2] != vocab_size:
        raise ValueError(
            f"the graph's logits have shape {tuple(logits.shape)}, not (1, frames, {vocab_size})"
        )
    vocabulary.decode_greedy(logits[0])
    return vocab_size
