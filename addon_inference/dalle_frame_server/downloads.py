"""Verified, resumable downloads of large files over HTTP, renamed into place atomically.

A file is streamed to `<name>.part` next to its final path. A later attempt (after a cut
connection, or on the next start) continues the `.part` file with an HTTP Range request. When
the body is complete its size and, where the host publishes one, its sha256 are checked; only
then is `.part` renamed to the final name. So a final path only ever holds a whole, verified
file, and nothing half-downloaded is ever loaded.

Hugging Face publishes the size and sha256 of large (LFS) files on its `resolve` URLs as the
`X-Linked-Size` and `X-Linked-Etag` headers of the redirect it answers with; for small files
the `ETag` is a git blob hash (not a sha256) and only the size can be checked.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import aiohttp

_LOGGER = logging.getLogger(__name__)

CHUNK_BYTES: Final = 1 << 20
PROGRESS_LOG_SECONDS: Final = 10.0
"""At most one progress log line per file this often (plus one at the end)."""

_SHA256_HEX: Final = re.compile(r"[0-9a-f]{64}")

DownloadProgress = Callable[[str, int, int | None], None]
"""Called as progress(file name, bytes so far, total bytes or None) while downloading."""


class DownloadError(Exception):
    """A download failed; the message names the file and what to do."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable
        """Whether trying again later may work (network trouble, not a bad file or a 404)."""


@dataclass(frozen=True)
class RemoteFileInfo:
    """What the host says about a file before it is fetched."""

    size: int | None
    sha256: str | None


@dataclass(frozen=True, kw_only=True)
class DownloadPolicy:
    """How persistent a download is."""

    attempts: int = 5
    """Attempts per file within one call (each continues where the last one stopped)."""
    retry_delay: float = 2.0
    """Seconds before the second attempt; doubled for each further one."""
    connect_timeout: float = 30.0
    read_timeout: float = 120.0
    """Seconds without a byte before a stalled connection is dropped (and resumed)."""


async def download_file(
    session: aiohttp.ClientSession,
    url: str,
    destination: Path,
    *,
    policy: DownloadPolicy | None = None,
    progress: DownloadProgress | None = None,
    expected_sha256: str | None = None,
) -> None:
    """Download `url` to `destination` unless it is already there (then no network at all).

    `expected_sha256` pins the file: a host that publishes another sha256 is refused before
    anything is fetched, and the body must hash to it even where the host publishes none.
    Raises DownloadError when the file cannot be fetched or fails verification; a file that
    fails verification is deleted, so the next attempt starts afresh.
    """
    if is_present(destination):
        return
    policy = policy or DownloadPolicy()
    info = await remote_file_info(session, url, policy)
    if expected_sha256 is not None:
        if info.sha256 is not None and info.sha256 != expected_sha256:
            raise DownloadError(
                f"{destination.name}: the host publishes sha256 {info.sha256}, not the pinned "
                f"{expected_sha256}; the file at {url} has changed, nothing was downloaded",
                retryable=False,
            )
        info = RemoteFileInfo(size=info.size, sha256=expected_sha256)
    _prepare_folder(destination, info)
    delay = policy.retry_delay
    for attempt in range(1, policy.attempts + 1):
        try:
            await _fetch_to_part(session, url, destination, info, policy, progress)
            # Hashing gigabytes takes seconds: off the event loop.
            await asyncio.to_thread(_verify_and_install, destination, info)
            return
        except DownloadError as error:
            if not error.retryable or attempt == policy.attempts:
                raise
            _LOGGER.warning(
                "Download of %s interrupted (%s); resuming in %.0f s (attempt %d of %d)",
                destination.name,
                error,
                delay,
                attempt + 1,
                policy.attempts,
            )
            await asyncio.sleep(delay)
            delay *= 2


async def remote_file_info(
    session: aiohttp.ClientSession, url: str, policy: DownloadPolicy
) -> RemoteFileInfo:
    """Ask the host for a file's size and sha256 with a HEAD request (redirects not followed)."""
    try:
        async with session.head(
            url,
            allow_redirects=False,
            headers={"Accept-Encoding": "identity"},
            timeout=_timeout(policy),
        ) as response:
            if response.status >= 400:
                raise _http_error(url, response.status)
            headers = response.headers
            size_text = headers.get("X-Linked-Size")
            if size_text is None and response.status < 300:
                size_text = headers.get("Content-Length")
            etag = headers.get("X-Linked-Etag") or headers.get("ETag") or ""
    except (aiohttp.ClientError, TimeoutError) as error:
        raise DownloadError(f"cannot reach {url} ({_describe(error)})", retryable=True) from error
    etag = etag.removeprefix("W/").strip('"').lower()
    size = int(size_text) if size_text is not None and size_text.isdigit() else None
    return RemoteFileInfo(size=size, sha256=etag if _SHA256_HEX.fullmatch(etag) else None)


def part_path(destination: Path) -> Path:
    """Return where the unfinished download of `destination` is kept."""
    return destination.with_name(destination.name + ".part")


async def _fetch_to_part(
    session: aiohttp.ClientSession,
    url: str,
    destination: Path,
    info: RemoteFileInfo,
    policy: DownloadPolicy,
    progress: DownloadProgress | None,
) -> None:
    """Fetch the rest of the file into its `.part` file, continuing what is there."""
    partial = part_path(destination)
    have = partial.stat().st_size if partial.is_file() else 0
    if info.size is not None and have > info.size:
        _LOGGER.warning("%s is longer than the file; starting again", partial.name)
        partial.unlink()
        have = 0
    if info.size is not None and have == info.size:
        return
    headers = {"Accept-Encoding": "identity"}
    if have:
        headers["Range"] = f"bytes={have}-"
    try:
        async with session.get(url, headers=headers, timeout=_timeout(policy)) as response:
            if response.status == 416 and have:
                # The server has nothing past what we have: the size check decides.
                return
            if response.status >= 400:
                raise _http_error(url, response.status)
            if have and response.status != 206:
                _LOGGER.info("%s: the host ignored the range; starting again", destination.name)
                have = 0
            if have:
                _LOGGER.info("Resuming %s at %s", destination.name, _mib(have))
            else:
                _LOGGER.info(
                    "Downloading %s (%s) from %s",
                    destination.name,
                    _mib(info.size) if info.size is not None else "size unknown",
                    url,
                )
            await _stream_body(response, partial, have, info, destination.name, progress)
    except (aiohttp.ClientError, TimeoutError) as error:
        raise DownloadError(
            f"download of {destination.name} broke off ({_describe(error)})", retryable=True
        ) from error


async def _stream_body(
    response: aiohttp.ClientResponse,
    partial: Path,
    have: int,
    info: RemoteFileInfo,
    name: str,
    progress: DownloadProgress | None,
) -> None:
    """Append the response body to `partial`, logging progress."""
    started = time.monotonic()
    last_log = started
    received = 0
    with partial.open("ab" if have else "wb") as file:
        async for chunk in response.content.iter_chunked(CHUNK_BYTES):
            file.write(chunk)
            received += len(chunk)
            done = have + received
            if progress is not None:
                progress(name, done, info.size)
            now = time.monotonic()
            if now - last_log >= PROGRESS_LOG_SECONDS:
                last_log = now
                _log_progress(name, done, info.size, received / max(now - started, 1e-6))
    _log_progress(
        name, have + received, info.size, received / max(time.monotonic() - started, 1e-6)
    )


def _verify_and_install(destination: Path, info: RemoteFileInfo) -> None:
    """Check the `.part` file's size and sha256, then rename it to `destination`."""
    partial = part_path(destination)
    size = partial.stat().st_size
    if info.size is not None and size != info.size:
        partial.unlink()
        raise DownloadError(
            f"{destination.name}: received {size} bytes, the host announced {info.size}; "
            "the partial file was deleted and the next attempt starts afresh",
            retryable=True,
        )
    if size == 0:
        partial.unlink()
        raise DownloadError(f"{destination.name}: the host sent an empty file", retryable=True)
    if info.sha256 is not None:
        digest = _sha256_of(partial)
        if digest != info.sha256:
            partial.unlink()
            raise DownloadError(
                f"{destination.name}: sha256 {digest} does not match the expected {info.sha256}; "
                "the damaged file was deleted (try again; if it repeats, the mirror is bad)",
                retryable=False,
            )
        _LOGGER.info("%s: sha256 verified", destination.name)
    else:
        _LOGGER.info("%s: size verified (the host publishes no sha256 for it)", destination.name)
    with partial.open("rb+") as file:
        file.flush()
        # Durable before the rename, so a power cut cannot leave a short file under the name.
        os.fsync(file.fileno())
    partial.replace(destination)


def _sha256_of(path: Path) -> str:
    """Return the hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(CHUNK_BYTES * 8):
            digest.update(chunk)
    return digest.hexdigest()


def is_present(destination: Path) -> bool:
    """Whether the final file exists (a local metadata lookup, no network)."""
    return destination.is_file()


def _prepare_folder(destination: Path, info: RemoteFileInfo) -> None:
    """Create the destination's folder; refuse a download that cannot fit on the disk."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    if info.size is None:
        return
    partial = part_path(destination)
    missing = info.size - (partial.stat().st_size if partial.is_file() else 0)
    free = shutil.disk_usage(destination.parent).free
    if missing > free:
        raise DownloadError(
            f"{destination.name} needs {_mib(missing)} more, but {destination.parent} has only "
            f"{_mib(free)} free; free some space or choose another models folder",
            retryable=False,
        )


def _http_error(url: str, status: int) -> DownloadError:
    """Describe an HTTP error status for the log and health."""
    if status in (401, 403, 404, 410):
        return DownloadError(
            f"{url} answered HTTP {status}: the file is not there (check the download URL)",
            retryable=False,
        )
    return DownloadError(f"{url} answered HTTP {status}", retryable=True)


def _timeout(policy: DownloadPolicy) -> aiohttp.ClientTimeout:
    """Return connect and per-read timeouts, no total limit (large files take long)."""
    return aiohttp.ClientTimeout(
        total=None, sock_connect=policy.connect_timeout, sock_read=policy.read_timeout
    )


def _log_progress(name: str, done: int, total: int | None, rate: float) -> None:
    """Log one progress line."""
    if total:
        _LOGGER.info(
            "%s: %s of %s (%.0f%%), %s/s", name, _mib(done), _mib(total), 100 * done / total,
            _mib(int(rate)),
        )  # fmt: skip
    else:
        _LOGGER.info("%s: %s, %s/s", name, _mib(done), _mib(int(rate)))


def _mib(count: int | None) -> str:
    """Format a byte count in MiB."""
    return "?" if count is None else f"{count / 2**20:.1f} MiB"


def _describe(error: BaseException) -> str:
    """Name an exception briefly."""
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
