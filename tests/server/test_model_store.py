"""Downloading min-dalle's files: against a local HTTP server that behaves like Hugging Face."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from dalle_frame_server.downloads import DownloadError, DownloadPolicy, download_file, part_path
from dalle_frame_server.generation.models.files import model_files
from dalle_frame_server.generation.models.store import ensure_real_model

FAST = DownloadPolicy(attempts=3, retry_delay=0.0, read_timeout=5.0)


@dataclass
class FakeHub:
    """A local stand-in for huggingface.co/<repo>/resolve/main/ serving small fake files.

    Like the hub, HEAD on /resolve/ answers a redirect carrying X-Linked-Size and
    X-Linked-Etag (sha256) for "large" files, and the size and a git-style ETag for small
    ones; GET follows the redirect to /blobs/, which honours Range.
    """

    files: dict[str, bytes] = field(default_factory=dict)
    large: set[str] = field(default_factory=set)
    announced_sha256: dict[str, str] = field(default_factory=dict)
    announced_size: dict[str, int] = field(default_factory=dict)
    cut_after: dict[str, int] = field(default_factory=dict)
    """Serve only this many bytes of a file, once, then drop the connection."""
    ignore_range: bool = False
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)
    """(method, path, Range header) of every request."""

    def app(self) -> web.Application:
        """Return the aiohttp application."""
        app = web.Application()
        app.router.add_route("HEAD", "/resolve/main/{name}", self.head)
        app.router.add_get("/resolve/main/{name}", self.resolve, allow_head=False)
        app.router.add_get("/blobs/{name}", self.blob, allow_head=False)
        return app

    async def head(self, request: web.Request) -> web.Response:
        """Metadata, as the hub answers it."""
        name = request.match_info["name"]
        self.requests.append(("HEAD", request.path, request.headers.get("Range")))
        if name not in self.files:
            return web.Response(status=404)
        data = self.files[name]
        if name in self.large:
            sha = self.announced_sha256.get(name, hashlib.sha256(data).hexdigest())
            return web.Response(
                status=302,
                headers={
                    "Location": f"/blobs/{name}",
                    "X-Linked-Size": str(self.announced_size.get(name, len(data))),
                    "X-Linked-Etag": f'"{sha}"',
                    "ETag": '"0123456789abcdef0123456789abcdef01234567"',
                },
            )
        git_sha1 = hashlib.sha1(data, usedforsecurity=False).hexdigest()
        return web.Response(headers={"ETag": f'"{git_sha1}"', "Content-Length": str(len(data))})

    async def resolve(self, request: web.Request) -> web.StreamResponse:
        """Large files redirect to the blob store; small ones are served directly."""
        name = request.match_info["name"]
        if name not in self.files:
            return web.Response(status=404)
        if name in self.large:
            raise web.HTTPFound(f"/blobs/{name}")
        return await self.blob(request)

    async def blob(self, request: web.Request) -> web.StreamResponse:
        """Serve a file, honouring Range (unless told not to), cutting it if told to."""
        name = request.match_info["name"]
        range_header = request.headers.get("Range")
        self.requests.append(("GET", request.path, range_header))
        data = self.files[name]
        start = 0
        status = 200
        if range_header and not self.ignore_range:
            start = int(range_header.removeprefix("bytes=").rstrip("-"))
            if start >= len(data):
                return web.Response(status=416)
            status = 206
        body = data[start:]
        response = web.StreamResponse(status=status)
        response.content_length = len(body)
        if status == 206:
            response.headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        await response.prepare(request)
        cut = self.cut_after.pop(name, None)
        if cut is not None:
            await response.write(body[:cut])
            assert request.transport is not None
            request.transport.close()
            return response
        await response.write(body)
        return response


@pytest.fixture
async def hub(aiohttp_server) -> tuple[FakeHub, str]:
    """A FakeHub with mini's five files (small fake contents) and its base URL."""
    fake = FakeHub()
    for file in model_files("mini"):
        fake.files[file.remote_name] = hashlib.sha512(file.remote_name.encode()).digest() * 400
        if file.remote_name.endswith(".pt"):
            fake.large.add(file.remote_name)
    server = await aiohttp_server(fake.app())
    return fake, str(server.make_url("/resolve/main/"))


async def test_downloads_every_file_verified(
    hub, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """All five files land in min-dalle's layout; sha256 checked for the large ones."""
    fake, base_url = hub
    caplog.set_level(logging.INFO)
    paths = await ensure_real_model("mini", tmp_path, base_url=base_url, policy=FAST)
    for file in model_files("mini"):
        assert (tmp_path / file.local_path).read_bytes() == fake.files[file.remote_name]
    assert paths.decoder == tmp_path / "dalle_bart_mini/decoder.pt"
    assert paths.detokenizer == tmp_path / "vqgan/detoker.pt"
    assert not any(part_path(tmp_path / file.local_path).exists() for file in model_files("mini"))
    assert caplog.text.count("sha256 verified") == 3
    assert caplog.text.count("size verified") == 2


async def test_no_network_when_the_files_are_present(hub, tmp_path: Path) -> None:
    """A second call makes no request at all, even to an address that does not answer."""
    fake, base_url = hub
    await ensure_real_model("mini", tmp_path, base_url=base_url, policy=FAST)
    count = len(fake.requests)
    await ensure_real_model("mini", tmp_path, base_url=base_url, policy=FAST)
    await ensure_real_model("mini", tmp_path, base_url="http://127.0.0.1:9/", policy=FAST)
    assert len(fake.requests) == count


async def test_resumes_after_a_cut_connection(hub, tmp_path: Path) -> None:
    """A connection dropped mid-file is resumed with a Range request, not started over."""
    fake, base_url = hub
    fake.cut_after["decoder_mini.pt"] = 10_000
    await ensure_real_model("mini", tmp_path, base_url=base_url, policy=FAST)
    decoder = tmp_path / "dalle_bart_mini/decoder.pt"
    assert decoder.read_bytes() == fake.files["decoder_mini.pt"]
    ranges = [r for method, path, r in fake.requests if path == "/blobs/decoder_mini.pt"]
    assert ranges[0] is None
    assert ranges[1] is not None
    resumed_at = int(ranges[1].removeprefix("bytes=").rstrip("-"))
    assert 0 < resumed_at <= 10_000


async def test_resumes_a_part_file_left_by_an_earlier_run(hub, tmp_path: Path) -> None:
    """A .part file from a run that was killed is continued on the next start."""
    fake, base_url = hub
    data = fake.files["encoder_mini.pt"]
    destination = tmp_path / "encoder.pt"
    part_path(destination).write_bytes(data[:5000])
    async with aiohttp.ClientSession() as session:
        await download_file(session, base_url + "encoder_mini.pt", destination, policy=FAST)
    assert destination.read_bytes() == data
    assert ("GET", "/blobs/encoder_mini.pt", "bytes=5000-") in fake.requests


async def test_host_ignoring_range_starts_again(hub, tmp_path: Path) -> None:
    """If the host answers 200 to a Range request the file is fetched whole, still correct."""
    fake, base_url = hub
    fake.ignore_range = True
    data = fake.files["encoder_mini.pt"]
    destination = tmp_path / "encoder.pt"
    part_path(destination).write_bytes(data[:5000])
    async with aiohttp.ClientSession() as session:
        await download_file(session, base_url + "encoder_mini.pt", destination, policy=FAST)
    assert destination.read_bytes() == data


async def test_wrong_checksum_is_refused_and_nothing_kept(hub, tmp_path: Path) -> None:
    """A body whose sha256 differs from the announced one never becomes the model file."""
    fake, base_url = hub
    fake.announced_sha256["decoder_mini.pt"] = "0" * 64
    with pytest.raises(DownloadError, match="sha256") as raised:
        await ensure_real_model("mini", tmp_path, base_url=base_url, policy=FAST)
    assert raised.value.retryable is False
    decoder = tmp_path / "dalle_bart_mini/decoder.pt"
    assert not decoder.exists()
    assert not part_path(decoder).exists()


async def test_short_body_is_not_installed(hub, tmp_path: Path) -> None:
    """A body that breaks off and cannot be resumed (attempts used up) is not installed."""
    fake, base_url = hub
    fake.cut_after["detoker.pt"] = 100
    destination = tmp_path / "detoker.pt"
    policy = DownloadPolicy(attempts=1, retry_delay=0.0, read_timeout=5.0)
    async with aiohttp.ClientSession() as session:
        with pytest.raises(DownloadError) as raised:
            await download_file(session, base_url + "detoker.pt", destination, policy=policy)
    assert raised.value.retryable is True
    assert not destination.exists()
    assert part_path(destination).stat().st_size == 100  # kept to be resumed next time


async def test_missing_file_is_a_clear_error(hub, tmp_path: Path) -> None:
    """404 names the URL and is not retried."""
    fake, base_url = hub
    del fake.files["vocab_mini.json"]
    with pytest.raises(DownloadError, match="404") as raised:
        await ensure_real_model("mini", tmp_path, base_url=base_url, policy=FAST)
    assert "vocab_mini.json" in str(raised.value)
    assert raised.value.retryable is False


async def test_unreachable_host_is_retryable(tmp_path: Path) -> None:
    """No server at the address: a retryable error that names it."""
    with pytest.raises(DownloadError, match="cannot reach") as raised:
        await ensure_real_model("mini", tmp_path, base_url="http://127.0.0.1:9/", policy=FAST)
    assert raised.value.retryable is True


async def test_not_enough_disk_space_is_refused_before_downloading(hub, tmp_path: Path) -> None:
    """A file bigger than the free space is refused before a byte is fetched."""
    fake, base_url = hub
    fake.announced_size["decoder_mini.pt"] = 2**60
    destination = tmp_path / "decoder.pt"
    async with aiohttp.ClientSession() as session:
        with pytest.raises(DownloadError, match="free") as raised:
            await download_file(session, base_url + "decoder_mini.pt", destination, policy=FAST)
    assert raised.value.retryable is False
    assert not any(method == "GET" for method, _path, _range in fake.requests)
