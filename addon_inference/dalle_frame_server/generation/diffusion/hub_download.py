"""A diffusion preset's files, fetched once through huggingface_hub into the models folder.

Files come from the hub (or a mirror: `endpoint`) at the preset's pinned commit, into a hub
cache under `<models-dir>/huggingface/`. huggingface_hub streams each file to a temporary
file, resumes a broken connection with a Range request, checks the size and moves the file
into place; a file already in the cache for that commit costs no network at all. After a
download this module also checks the content against the hub's etag: the sha256 for large
(LFS) files, the git blob hash for small ones; a mismatch deletes the file.

Errors become `downloads.DownloadError`: retryable for network trouble and 5xx answers (the
server tries again later), final for a missing repository, commit or file, and for content
that fails its check.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from ...downloads import DownloadError, DownloadProgress
from .presets import DiffusionPreset, HubFiles

_LOGGER = logging.getLogger(__name__)

HUB_CACHE_FOLDER: Final = "huggingface"
"""The hub cache's folder under the models folder."""
HUGGING_FACE_HUB: Final = "https://huggingface.co"
_SHA256: Final = re.compile(r"[0-9a-f]{64}")
_GIT_SHA1: Final = re.compile(r"[0-9a-f]{40}")
_CHUNK: Final = 8 << 20


@dataclass(frozen=True)
class PresetFolder:
    """Where a downloaded preset lies."""

    folder: Path
    """The pipeline folder (the hub cache's snapshot of the source commit)."""
    unet_weights: Path | None
    """The replacement UNet state dict, where the preset has one."""


async def ensure_preset_files(
    preset: DiffusionPreset,
    models_dir: Path,
    *,
    endpoint: str = HUGGING_FACE_HUB,
    progress: DownloadProgress | None = None,
) -> PresetFolder:
    """Return the preset's files, downloading the missing ones first (in a worker thread)."""
    if preset.source is None:
        raise ValueError(f"{preset.name} is built locally, not downloaded")
    loop = asyncio.get_running_loop()

    def report(name: str, done: int, total: int | None) -> None:
        if progress is not None:
            loop.call_soon_threadsafe(progress, name, done, total)

    cache = models_dir / HUB_CACHE_FOLDER
    source = preset.source
    folder = await asyncio.to_thread(fetch_files, source, cache, endpoint, report)
    unet_weights = None
    if preset.unet_file is not None:
        unet_files = preset.unet_file
        unet_folder = await asyncio.to_thread(fetch_files, unet_files, cache, endpoint, report)
        unet_weights = unet_folder / unet_files.files[0]
    return PresetFolder(folder=folder, unet_weights=unet_weights)


def fetch_files(
    files: HubFiles, cache: Path, endpoint: str, progress: DownloadProgress | None = None
) -> Path:
    """Download `files` into the hub cache `cache` (blocking); return their snapshot folder."""
    from huggingface_hub import hf_hub_download, try_to_load_from_cache

    snapshot: Path | None = None
    for name in files.files:
        cached = try_to_load_from_cache(files.repo, name, cache_dir=cache, revision=files.revision)
        fresh = not isinstance(cached, str)
        try:
            path = hf_hub_download(
                files.repo,
                name,
                revision=files.revision,
                cache_dir=cache,
                endpoint=endpoint.rstrip("/"),
                token=False,
                tqdm_class=_progress_bar_class(f"{files.repo}/{name}", progress),
            )
        except Exception as error:  # huggingface_hub raises many kinds; sort them
            raise download_error(files, name, error) from error
        if fresh:
            verify_against_etag(Path(path), f"{files.repo}/{name}")
        snapshot = Path(path).parents[len(Path(name).parts) - 1]
    if snapshot is None:
        raise ValueError(f"{files.repo}: no files listed")
    return snapshot


def verify_against_etag(path: Path, label: str) -> None:
    """Check a freshly downloaded file against its blob name (the hub's etag); delete on mismatch.

    The hub cache names a blob by the file's etag: the sha256 of an LFS file, the git blob
    sha1 of a small one.
    """
    blob = path.resolve()
    etag = blob.name
    if _SHA256.fullmatch(etag):
        digest = hashlib.sha256()
    elif _GIT_SHA1.fullmatch(etag):
        digest = hashlib.sha1(usedforsecurity=False)
        digest.update(b"blob %d\0" % blob.stat().st_size)
    else:
        _LOGGER.info("%s: the host gave no hash to check it against (size checked)", label)
        return
    with blob.open("rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    if digest.hexdigest() != etag:
        path.unlink(missing_ok=True)
        blob.unlink(missing_ok=True)
        raise DownloadError(
            f"{label}: the downloaded content hashes to {digest.hexdigest()}, not the "
            f"{etag} the host announced; the damaged file was deleted (start again to "
            "download it anew; if it repeats, the mirror is bad)",
            retryable=False,
        )
    _LOGGER.info("%s: verified against its etag", label)


def download_error(files: HubFiles, name: str, error: Exception) -> DownloadError:
    """Sort a huggingface_hub error into a retryable or final DownloadError that says why."""
    from huggingface_hub.errors import (
        EntryNotFoundError,
        FileMetadataError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    label = f"{files.repo}/{name} at {files.revision[:12]}"
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, LocalEntryNotFoundError):
            # "not in the cache and the hub could not be asked": the reason is its cause
            cause = cause.__cause__ or cause.__context__
            continue
        if isinstance(cause, (RepositoryNotFoundError, RevisionNotFoundError, EntryNotFoundError)):
            return DownloadError(
                f"{label} is not on the hub ({type(cause).__name__}); check the download URL",
                retryable=False,
            )
        if isinstance(cause, HfHubHTTPError) and cause.response is not None:
            status = cause.response.status_code
            final = status in (401, 403, 404, 410)
            return DownloadError(
                f"{label}: the hub answered HTTP {status}"
                + ("; check the download URL" if final else "; trying again later"),
                retryable=not final,
            )
        if isinstance(cause, FileMetadataError):
            return DownloadError(
                f"{label}: the host does not answer like a Hugging Face hub ({cause}); check "
                "the download URL",
                retryable=False,
            )
        cause = cause.__cause__ or cause.__context__
    return DownloadError(
        f"download of {label} failed ({type(error).__name__}: {error})", retryable=True
    )


def _progress_bar_class(label: str, progress: DownloadProgress | None) -> Any:
    """Return a tqdm class that reports huggingface_hub's progress to `progress`, silently."""
    from tqdm.auto import tqdm  # type: ignore[import-untyped]

    class ProgressReport(tqdm):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self._done = int(kwargs.get("initial") or 0)
            self._total = kwargs.get("total")
            kwargs["disable"] = True
            super().__init__(*args, **kwargs)

        def update(self, n: float | None = 1) -> bool | None:
            self._done += int(n or 0)
            if progress is not None:
                progress(label, self._done, self._total)
            return None

    return ProgressReport
