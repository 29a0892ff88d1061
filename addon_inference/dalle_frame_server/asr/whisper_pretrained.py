"""Whisper models published already in ONNX: downloaded once, verified, then used as they are.

`whisper-base` is onnx-community/whisper-base (OpenAI's Whisper base, MIT, exported by Hugging
Face Optimum with int8 weights): the encoder and the merged decoder at a pinned commit. The
graphs' and token files' sha256 below are the ones a byte-for-byte mirror of that commit
(ChatPanel/whisper-base) publishes for it; they could not be checked against the hub itself
from here. `vocab.json`'s sha256 was not published there: it is checked by content (a
{token: id} map below `<|endoftext|>`, and the graphs must run with it). After the download
both graphs are opened and run on half a second of silence in English (two tokens), then
`asr_model.json` is written, last; on any failure the files are deleted.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import aiohttp
import numpy as np

from ..downloads import DownloadError, DownloadPolicy, DownloadProgress, download_file
from ..errors import ModelNotAvailableError
from .base import ASR_SAMPLE_RATE
from .model_folder import asr_model_folder
from .pretrained import HUGGING_FACE_URL
from .whisper_folder import WhisperModelFolder
from .whisper_transcriber import OnnxWhisperTranscriber

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class PretrainedFile:
    """One file of the repository and where it goes in the model folder."""

    path: str
    """Path in the repository."""
    target: str
    """File name in the model folder."""
    sha256: str | None
    """None where no published checksum was found (then checked by content)."""


@dataclass(frozen=True, kw_only=True)
class PretrainedWhisperModel:
    """One pre-exported Whisper: repository, pinned commit, files."""

    name: str
    repository: str
    revision: str
    files: tuple[PretrainedFile, ...]
    weights: str
    source: str

    def url(self, base_url: str, path: str) -> str:
        """Return the download URL of `path` at the pinned revision."""
        return f"{base_url.rstrip('/')}/{self.repository}/resolve/{self.revision}/{path}"


WHISPER_BASE: Final = PretrainedWhisperModel(
    name="whisper-base",
    repository="onnx-community/whisper-base",
    revision="27a07b4b52b3a4c5886134bb4320e93e1a4bbc7c",
    files=(
        PretrainedFile(
            path="onnx/encoder_model_quantized.onnx",
            target="encoder.onnx",
            sha256="5862993336bf33acd23736071aae2b32261d3b1b2f37780194460d4ef974dd46",
        ),
        PretrainedFile(
            path="onnx/decoder_model_merged_quantized.onnx",
            target="decoder.onnx",
            sha256="fa3ef9902734ce5ae6f9ef2bdb2ba9a6c4b5785b09f4f420ce036573dc9d090b",
        ),
        PretrainedFile(
            path="added_tokens.json",
            target="added_tokens.json",
            sha256="9715fd2243b6f06a5858b5e32950d2853f73dd5bc201aafcf76f5082a2d8acd1",
        ),
        PretrainedFile(
            path="config.json",
            target="config.json",
            sha256="f4d0608f7d918166da7edb3e188de5ef1bfe70d9802e785d271fd88111e9cf4b",
        ),
        PretrainedFile(path="vocab.json", target="vocab.json", sha256=None),
    ),
    weights="int8",
    source="openai/whisper-base (MIT; ONNX export with int8 weights, onnx-community/whisper-base)",
)
"""Multilingual (99 languages), about 77 MB of graphs; see DOCS.md for memory and speed."""

PRETRAINED_WHISPER_MODELS: Final = {model.name: model for model in (WHISPER_BASE,)}


async def ensure_pretrained_whisper_model(
    spec: PretrainedWhisperModel,
    models_dir: Path,
    *,
    base_url: str = HUGGING_FACE_URL,
    policy: DownloadPolicy | None = None,
    progress: DownloadProgress | None = None,
) -> WhisperModelFolder:
    """Return the model's folder, downloading and checking its files first when incomplete.

    Raises DownloadError: retryable when a file cannot be fetched; not retryable when a file
    is not the pinned one or the files are not a usable Whisper model (they are deleted).
    """
    folder = WhisperModelFolder(asr_model_folder(models_dir, spec.name).root)
    if folder.is_complete():
        return folder
    folder.root.mkdir(parents=True, exist_ok=True)
    _LOGGER.info("ASR model %s: downloading %s@%s", spec.name, spec.repository, spec.revision[:7])
    async with aiohttp.ClientSession() as session:
        for file in spec.files:
            await download_file(
                session,
                spec.url(base_url, file.path),
                folder.root / file.target,
                policy=policy,
                progress=progress,
                expected_sha256=file.sha256,
            )
    try:  # opens both graphs and runs them: off the event loop
        await asyncio.to_thread(check_whisper_files, folder)
    except ValueError as error:
        for path in folder.files:
            path.unlink(missing_ok=True)
        raise DownloadError(
            f"the ASR model {spec.name} from {spec.repository} is not usable ({error}); the "
            "files were deleted; choose another asr_model or report this",
            retryable=False,
        ) from error
    folder.write_metadata(
        source=spec.source, weights=spec.weights, repository=f"{spec.repository}@{spec.revision}"
    )
    _LOGGER.info("ASR model %s is ready in %s", spec.name, folder.root)
    return folder


def check_whisper_files(folder: WhisperModelFolder) -> tuple[str, ...]:
    """Open the graphs and tokens, transcribe a short silence; return the languages.

    Raises ValueError saying what is wrong.
    """
    try:
        transcriber = OnnxWhisperTranscriber(
            folder, model_name=folder.root.name, use_cuda=False, threads=1, checking=True
        )
        transcriber.transcribe_speech(
            np.zeros(ASR_SAMPLE_RATE // 2, dtype=np.float32),
            transcriber.languages[0],
            max_new_tokens=2,
        )
    except ModelNotAvailableError as error:
        raise ValueError(error.message) from error
    except Exception as error:  # onnxruntime raises its own exception types
        raise ValueError(f"the graphs do not run on a clip of audio: {error}") from error
    return transcriber.languages
