"""A diffusion preset's files through huggingface_hub, against a local imitation of the hub.

The server on 127.0.0.1 answers the two calls huggingface_hub makes per file (HEAD, then GET
of `/<repo>/resolve/<commit>/<path>`) with the hub's headers: X-Repo-Commit, the git blob
sha1 as ETag of a small file, the sha256 and size as X-Linked-Etag/X-Linked-Size of a large
one. The endpoint is passed explicitly; offline mode is off.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web

from dalle_frame_server.downloads import DownloadError
from dalle_frame_server.generation.diffusion.hub_download import (
    HUB_CACHE_FOLDER,
    ensure_preset_files,
)
from dalle_frame_server.generation.diffusion.presets import (
    TEST_DIFFUSION,
    DiffusionPreset,
    HubFiles,
)

COMMIT = "0123456789abcdef0123456789abcdef01234567"
REPO = "example-org/tiny-turbo"
SMALL = "unet/config.json"
LARGE = "unet/diffusion_pytorch_model.fp16.safetensors"
FILES = {
    SMALL: b'{"sample_size": 64}\n',
    LARGE: bytes(range(256)) * 4096,  # 1 MiB
}


@dataclass
class FakeHub:
    """What the fake hub serves and what it saw."""

    files: dict[str, bytes]
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)
    cut_first_get: bool = False
    corrupt: bool = False
    status: int | None = None
    missing: set[str] = field(default_factory=set)

    def headers(self, path: str) -> dict[str, str]:
        data = self.files[path]
        headers = {"X-Repo-Commit": COMMIT, "Content-Length": str(len(data))}
        if path == LARGE:
            headers["X-Linked-Etag"] = f'"{hashlib.sha256(data).hexdigest()}"'
            headers["X-Linked-Size"] = str(len(data))
            headers["ETag"] = '"large-file-pointer"'
        else:
            blob = hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False)
            headers["ETag"] = f'"{blob.hexdigest()}"'
        return headers

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        repo = f"{request.match_info['org']}/{request.match_info['name']}"
        self.requests.append((request.method, path, request.headers.get("Range")))
        if self.status is not None:
            return web.Response(status=self.status, text="the hub is down")
        if repo != REPO or request.match_info["revision"] != COMMIT or path in self.missing:
            return web.Response(
                status=404,
                headers={"X-Error-Code": "EntryNotFound", "X-Repo-Commit": COMMIT},
                text="Entry not found",
            )
        data = self.files[path]
        headers = self.headers(path)
        if request.method == "HEAD":
            return web.Response(headers=headers)
        if self.corrupt and path == LARGE:
            data = data[:-1] + b"\x00"
        start = 0
        if request.headers.get("Range"):
            start = int(request.headers["Range"].removeprefix("bytes=").split("-")[0])
        response = web.StreamResponse(status=206 if start else 200)
        response.content_length = len(data) - start
        if start:
            response.headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        await response.prepare(request)
        if self.cut_first_get and path == LARGE and not start:
            self.cut_first_get = False
            await response.write(data[: len(data) // 3])
            assert request.transport is not None
            request.transport.close()  # the connection breaks off mid-body
            return response
        await response.write(data[start:])
        return response


@pytest.fixture(autouse=True)
def short_hub_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """huggingface_hub retries a 5xx or refused HEAD five times over 23 s; 0.1 s here."""
    from huggingface_hub.utils import _http

    defaults = dict(_http.http_backoff.__kwdefaults__ or {})
    defaults.update(base_wait_time=0.01, max_wait_time=0.02)
    monkeypatch.setattr(_http.http_backoff, "__kwdefaults__", defaults)


@pytest.fixture
async def hub(aiohttp_server) -> tuple[FakeHub, str]:
    """A fake hub on 127.0.0.1 and its endpoint URL."""
    fake = FakeHub(files=dict(FILES))
    app = web.Application()
    app.router.add_route("*", "/{org}/{name}/resolve/{revision}/{path:.+}", fake.handle)
    server = await aiohttp_server(app, host="127.0.0.1")
    return fake, str(server.make_url("")).rstrip("/")


def _preset(*files: str) -> DiffusionPreset:
    return DiffusionPreset(
        name="hub-test",
        title="files from the fake hub",
        pipeline="sd",
        capabilities=TEST_DIFFUSION.capabilities,
        source=HubFiles(repo=REPO, revision=COMMIT, files=files or (SMALL, LARGE)),
    )


def test_offline_mode_is_off() -> None:
    """These tests pass by reaching the local hub, not by huggingface_hub's offline mode."""
    from huggingface_hub import constants

    assert not constants.HF_HUB_OFFLINE


async def test_downloads_once_verified_with_progress(hub, tmp_path: Path) -> None:
    fake, endpoint = hub
    seen: list[tuple[str, int, int | None]] = []
    result = await ensure_preset_files(
        _preset(), tmp_path, endpoint=endpoint, progress=lambda *report: seen.append(report)
    )
    for name, data in FILES.items():
        assert (result.folder / name).read_bytes() == data
    assert result.folder.is_relative_to(tmp_path / HUB_CACHE_FOLDER)
    assert seen[-1] == (f"{REPO}/{LARGE}", len(FILES[LARGE]), len(FILES[LARGE]))
    count = len(fake.requests)
    again = await ensure_preset_files(_preset(), tmp_path, endpoint=endpoint)
    assert again == result
    assert len(fake.requests) == count  # present at the pinned commit: no network at all


async def test_a_broken_connection_resumes_where_it_stopped(
    hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """huggingface_hub keeps what it received in whole chunks (10 MB; 64 KiB here, so that a
    1 MiB file has several) and asks for the rest with a Range request."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "DOWNLOAD_CHUNK_SIZE", 64 * 1024)
    fake, endpoint = hub
    fake.cut_first_get = True
    result = await ensure_preset_files(_preset(), tmp_path, endpoint=endpoint)
    assert (result.folder / LARGE).read_bytes() == FILES[LARGE]
    ranges = [part for method, path, part in fake.requests if method == "GET" and path == LARGE]
    assert ranges[0] is None, fake.requests
    cut = len(FILES[LARGE]) // 3
    assert ranges[1] == f"bytes={cut - cut % (64 * 1024)}-", fake.requests


async def test_corrupt_content_is_deleted_and_final(hub, tmp_path: Path) -> None:
    fake, endpoint = hub
    fake.corrupt = True
    with pytest.raises(DownloadError, match=r"hashes to .* the damaged file was deleted") as error:
        await ensure_preset_files(_preset(), tmp_path, endpoint=endpoint)
    assert not error.value.retryable
    blobs = list((tmp_path / HUB_CACHE_FOLDER).rglob("blobs/*"))
    assert hashlib.sha256(FILES[LARGE]).hexdigest() not in {blob.name for blob in blobs}
    fake.corrupt = False  # the mirror is repaired: the next start downloads it anew
    result = await ensure_preset_files(_preset(), tmp_path, endpoint=endpoint)
    assert (result.folder / LARGE).read_bytes() == FILES[LARGE]


async def test_a_missing_file_is_a_final_error_naming_it(hub, tmp_path: Path) -> None:
    fake, endpoint = hub
    fake.missing.add(LARGE)
    with pytest.raises(DownloadError, match=f"{REPO}/{LARGE} at 0123456789ab") as error:
        await ensure_preset_files(_preset(), tmp_path, endpoint=endpoint)
    assert not error.value.retryable
    assert "check the download URL" in str(error.value)


@pytest.mark.parametrize("status", [500, 503])
async def test_a_server_error_is_retryable(hub, tmp_path: Path, status: int) -> None:
    fake, endpoint = hub
    fake.status = status
    with pytest.raises(DownloadError) as error:
        await ensure_preset_files(_preset(SMALL), tmp_path, endpoint=endpoint)
    assert error.value.retryable
    assert f"HTTP {status}" in str(error.value)


async def test_nothing_listening_is_retryable(tmp_path: Path) -> None:
    from tests.stack import free_port

    with pytest.raises(DownloadError) as error:
        await ensure_preset_files(
            _preset(SMALL), tmp_path, endpoint=f"http://127.0.0.1:{free_port()}"
        )
    assert error.value.retryable
