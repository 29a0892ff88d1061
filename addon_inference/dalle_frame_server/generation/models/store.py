"""min-dalle's real weights in the model directory: downloaded once, then used offline."""

from __future__ import annotations

import logging
from pathlib import Path

import aiohttp

from ...downloads import DownloadPolicy, DownloadProgress, download_file, is_present
from .files import model_files
from .loading import ModelPaths, model_paths

_LOGGER = logging.getLogger(__name__)


def missing_files(model: str, models_dir: Path) -> list[str]:
    """Return the local paths (relative to models_dir) of `model`'s files that are absent."""
    return [
        file.local_path
        for file in model_files(model)
        if not is_present(models_dir / file.local_path)
    ]


async def ensure_real_model(
    model: str,
    models_dir: Path,
    *,
    base_url: str,
    policy: DownloadPolicy | None = None,
    progress: DownloadProgress | None = None,
) -> ModelPaths:
    """Return the files of `model` ("mini" or "mega"), downloading the missing ones first.

    When every file is present nothing touches the network. Otherwise each missing file is
    fetched from `base_url` + its remote name (resumable, verified, renamed into place).
    Raises downloads.DownloadError when a file cannot be fetched.
    """
    paths = model_paths(models_dir, model)
    missing = [file for file in model_files(model) if not is_present(models_dir / file.local_path)]
    if not missing:
        return paths
    _LOGGER.info(
        "Model %s: %d of %d files to download into %s",
        model,
        len(missing),
        len(model_files(model)),
        models_dir,
    )
    base = base_url if base_url.endswith("/") else base_url + "/"
    async with aiohttp.ClientSession() as session:
        for file in missing:
            await download_file(
                session,
                base + file.remote_name,
                models_dir / file.local_path,
                policy=policy,
                progress=progress,
            )
    return paths
