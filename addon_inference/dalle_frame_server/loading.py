"""Loading the two models in the background while the HTTP server already answers.

The default loaders build or download the files, then load them in a worker thread. Tests
and embedders may pass their own loaders to `create_app` (same signatures).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Final, TypeVar

import torch

from .asr.base import Transcriber
from .asr.export import export_checkpoint
from .asr.model_folder import (
    LARGE_ASR_CHECKPOINT,
    LARGE_ASR_MODEL,
    AsrModelFolder,
    asr_model_folder,
)
from .asr.onnx_transcriber import OnnxCtcTranscriber
from .asr.pretrained import PRETRAINED_ASR_MODELS, ensure_pretrained_asr_model
from .asr.tiny_model import TEST_ASR_MODEL_NAME, TEST_ASR_NOTICE, ensure_test_asr_model
from .asr.whisper_loading import is_whisper_model, load_whisper_transcriber
from .downloads import DownloadError, DownloadProgress
from .errors import ModelNotAvailableError
from .generation.diffusion.loader import is_diffusion_model, load_diffusion_generator
from .generation.generator import MinDalleGenerator
from .generation.min_dalle.backends import make_backend
from .generation.models.devices import choose_device_and_dtype
from .generation.models.loading import load_dalle_modules
from .generation.models.shapes import MEGA_SHAPE, MINI_SHAPE, TEST_SHAPE, DalleShape
from .generation.models.store import ensure_real_model
from .generation.models.tiny_model import TEST_MODEL_NAME, TEST_MODEL_NOTICE, ensure_test_model
from .generation.text_to_image import TextToImage
from .model_slot import ModelSlot
from .settings import ServerSettings
from .upscaling.loading import with_upscaler

_LOGGER = logging.getLogger(__name__)

ModelT = TypeVar("ModelT")
GeneratorLoader = Callable[[ServerSettings, ModelSlot[TextToImage]], Awaitable[TextToImage]]
TranscriberLoader = Callable[[ServerSettings, ModelSlot[Transcriber]], Awaitable[Transcriber]]

ASR_DISABLED: Final = "none"
"""--asr-model none: no speech recognition (transcribe answers 503)."""

_SHAPES: dict[str, DalleShape] = {"test": TEST_SHAPE, "mini": MINI_SHAPE, "mega": MEGA_SHAPE}


async def load_generator(settings: ServerSettings, slot: ModelSlot[TextToImage]) -> TextToImage:
    """Build or download the text-to-image model's files, then load them on the device."""
    if is_diffusion_model(settings.model):
        diffusion = await load_diffusion_generator(
            settings.model,
            settings.models_dir,
            device_name=settings.device,
            dtype_name=settings.dtype,
            set_detail=slot.set_detail,
            progress=_download_progress(slot),
            endpoint=settings.diffusion_download_url,
            vae_decoder=settings.vae_decoder,
        )
        return await with_upscaler(
            settings,
            diffusion,
            use_cuda=str(diffusion.device).startswith("cuda"),
            set_detail=slot.set_detail,
            progress=_download_progress(slot),
        )
    device, dtype = choose_device_and_dtype(settings.device, settings.dtype)
    models_dir = settings.models_dir
    if settings.model == TEST_MODEL_NAME:
        _LOGGER.warning("Generator: %s", TEST_MODEL_NOTICE)
        slot.set_detail("building the test model")
        paths = await asyncio.to_thread(ensure_test_model, models_dir)
        remedy = f"delete {models_dir / TEST_MODEL_NAME} and start again to rebuild it"
    else:
        slot.set_detail("checking the model files")
        paths = await ensure_real_model(
            settings.model,
            models_dir,
            base_url=settings.download_url,
            progress=_download_progress(slot),
        )
        remedy = "delete that file and start again to download it anew"
    slot.set_detail(f"loading the weights on {device}")
    modules = await asyncio.to_thread(
        load_dalle_modules, paths, _SHAPES[settings.model], device, dtype, remedy=remedy
    )
    backend = make_backend(settings.backend, modules)
    _LOGGER.info("Generation backend: %s", backend.name)
    generator = MinDalleGenerator(
        modules, backend, model_name=settings.model, device=device, dtype=dtype
    )
    return await with_upscaler(
        settings,
        generator,
        use_cuda=str(device).startswith("cuda"),
        set_detail=slot.set_detail,
        progress=_download_progress(slot),
    )


async def load_transcriber(settings: ServerSettings, slot: ModelSlot[Transcriber]) -> Transcriber:
    """Build (test) or find (exported) the ASR model, then open it in ONNX Runtime."""
    if is_whisper_model(settings.asr_model, settings.models_dir):
        device = settings.device or ("cuda" if torch.cuda.is_available() else "cpu")
        return await load_whisper_transcriber(
            settings.asr_model,
            settings.models_dir,
            base_url=settings.asr_download_url,
            use_cuda=device.startswith("cuda"),
            threads=settings.threads,
            set_detail=slot.set_detail,
            progress=_download_progress(slot),
        )
    if settings.asr_model == TEST_ASR_MODEL_NAME:
        _LOGGER.warning("ASR: %s", TEST_ASR_NOTICE)
        slot.set_detail("building the test ASR model")
        folder = await asyncio.to_thread(ensure_test_asr_model, settings.models_dir)
    else:
        folder = asr_model_folder(settings.models_dir, settings.asr_model)
        pretrained = PRETRAINED_ASR_MODELS.get(settings.asr_model)
        if not folder.is_complete() and pretrained is not None:
            folder = await ensure_pretrained_asr_model(
                pretrained,
                settings.models_dir,
                base_url=settings.asr_download_url,
                progress=_download_progress(slot),
            )
        if not folder.is_complete() and settings.asr_model == LARGE_ASR_MODEL:
            slot.set_detail(f"downloading and exporting {LARGE_ASR_CHECKPOINT} (once)")
            folder = await asyncio.to_thread(_export_large_asr_model, folder.root)
        if not folder.is_complete():
            raise ModelNotAvailableError(
                f"no exported ASR model in {folder.root}; export one once where the internet is "
                "reachable: python -m dalle_frame_server.asr.export --checkpoint <hugging face "
                f"id> --out {folder.root}"
            )
    slot.set_detail("opening the ASR model")
    device = settings.device or ("cuda" if torch.cuda.is_available() else "cpu")
    return await asyncio.to_thread(
        OnnxCtcTranscriber,
        folder,
        model_name=settings.asr_model,
        use_cuda=device.startswith("cuda"),
        threads=settings.threads,
    )


def _download_progress(slot: ModelSlot[Any]) -> DownloadProgress:
    """Show a download's progress in the slot's detail (and so in /v1/health)."""

    def progress(name: str, done: int, total: int | None) -> None:
        share = f" ({100 * done / total:.0f}%)" if total else ""
        slot.set_detail(f"downloading {name}: {done / 2**20:.0f} MiB{share}")

    return progress


def _export_large_asr_model(out_dir: Path) -> AsrModelFolder:
    """Download and export the large checkpoint; ModelNotAvailableError when impossible."""
    try:
        return export_checkpoint(LARGE_ASR_CHECKPOINT, out_dir)
    except Exception as error:  # transformers and the hub raise many kinds of errors
        raise ModelNotAvailableError(
            f"could not download and export {LARGE_ASR_CHECKPOINT} ({type(error).__name__}: "
            f"{error}); run python -m dalle_frame_server.asr.export --checkpoint "
            f"{LARGE_ASR_CHECKPOINT} --out {out_dir} where the internet is reachable"
        ) from error


async def keep_loading(
    slot: ModelSlot[ModelT],
    load: Callable[[], Awaitable[ModelT]],
    *,
    retry_seconds: float,
) -> None:
    """Run `load` until the model is in `slot`; retry failed downloads, give up on bad files."""
    while True:
        try:
            model = await load()
        except DownloadError as error:
            slot.set_failed(str(error), retrying=error.retryable)
            if not error.retryable:
                _LOGGER.error("The %s model cannot be downloaded: %s", slot.kind, error)
                return
            _LOGGER.warning(
                "The %s model's download failed (%s); trying again in %.0f s",
                slot.kind,
                error,
                retry_seconds,
            )
            await asyncio.sleep(retry_seconds)
            continue
        except (ModelNotAvailableError, ValueError) as error:
            _LOGGER.error("The %s model cannot be loaded: %s", slot.kind, error)
            slot.set_failed(str(error), retrying=False)
            return
        except Exception as error:
            _LOGGER.exception("The %s model failed to load", slot.kind)
            slot.set_failed(f"{type(error).__name__}: {error}", retrying=False)
            return
        slot.set_ready(model)
        _LOGGER.info("The %s model %r is ready", slot.kind, slot.name)
        return
