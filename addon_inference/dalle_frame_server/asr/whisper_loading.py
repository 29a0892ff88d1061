"""Which `asr_model` values are Whisper models, and how one is prepared and opened.

`test-multilingual` is built locally; `whisper-base` is downloaded once (whisper_pretrained);
any other folder under `<models-dir>/asr/` whose metadata says Whisper is opened as it is.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from ..downloads import DownloadProgress
from .model_folder import asr_model_folder
from .whisper_folder import WhisperModelFolder
from .whisper_pretrained import PRETRAINED_WHISPER_MODELS, ensure_pretrained_whisper_model
from .whisper_tiny_model import (
    TEST_MULTILINGUAL_MODEL_NAME,
    TEST_MULTILINGUAL_NOTICE,
    ensure_test_multilingual_model,
)
from .whisper_transcriber import OnnxWhisperTranscriber

_LOGGER = logging.getLogger(__name__)


def is_whisper_model(name: str, models_dir: Path) -> bool:
    """Whether the `asr_model` value `name` names a Whisper model."""
    if name == TEST_MULTILINGUAL_MODEL_NAME or name in PRETRAINED_WHISPER_MODELS:
        return True
    return WhisperModelFolder(asr_model_folder(models_dir, name).root).is_complete()


async def load_whisper_transcriber(
    name: str,
    models_dir: Path,
    *,
    base_url: str,
    use_cuda: bool,
    threads: int | None,
    set_detail: Callable[[str], None],
    progress: DownloadProgress,
) -> OnnxWhisperTranscriber:
    """Build, download or find the Whisper model `name`, then open it (off the event loop)."""
    if name == TEST_MULTILINGUAL_MODEL_NAME:
        _LOGGER.warning("ASR: %s", TEST_MULTILINGUAL_NOTICE)
        set_detail("building the test multilingual ASR model")
        folder = await asyncio.to_thread(ensure_test_multilingual_model, models_dir)
    elif (spec := PRETRAINED_WHISPER_MODELS.get(name)) is not None:
        set_detail(f"checking the {name} files")
        folder = await ensure_pretrained_whisper_model(
            spec, models_dir, base_url=base_url, progress=progress
        )
    else:
        folder = WhisperModelFolder(asr_model_folder(models_dir, name).root)
    set_detail("opening the ASR model")
    return await asyncio.to_thread(
        OnnxWhisperTranscriber, folder, model_name=name, use_cuda=use_cuda, threads=threads
    )
