"""realesr-general-x4v3's download against a local stand-in for GitHub (127.0.0.1 only).

The stand-in answers the release URL with a redirect to an asset URL, as GitHub does, and
serves a checkpoint of the real network's shape with random weights; the spec's pinned sha256
is replaced by that file's where a test needs the download to pass.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnxruntime
import pytest
import torch
from aiohttp import web

from dalle_frame_server.downloads import DownloadError, DownloadPolicy
from dalle_frame_server.upscaling.network import TEST_SHAPE, random_network
from dalle_frame_server.upscaling.onnx_upscaler import OnnxUpscaler
from dalle_frame_server.upscaling.pretrained import (
    REALESR_GENERAL_X4V3,
    ensure_pretrained_upscaler,
    pretrained_graph_path,
)

FAST = DownloadPolicy(attempts=2, retry_delay=0.0, read_timeout=5.0)


@dataclass
class ReleaseHost:
    """Serves `/<repo>/releases/download/<tag>/<file>` as a redirect to `/assets/<file>`."""

    files: dict[str, bytes] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)

    def app(self) -> web.Application:
        """Return the aiohttp application."""
        app = web.Application()
        app.router.add_route("*", "/assets/{name}", self.asset)
        app.router.add_route("*", "/{path:.*}", self.release)
        return app

    async def release(self, request: web.Request) -> web.Response:
        """Redirect a known release file to its asset; 404 otherwise."""
        self.requests.append((request.method, request.path))
        name = request.path.rsplit("/", 1)[-1]
        if name not in self.files:
            return web.Response(status=404)
        raise web.HTTPFound(f"/assets/{name}")

    async def asset(self, request: web.Request) -> web.Response:
        """Serve the body (no hash headers, as GitHub's asset host)."""
        self.requests.append((request.method, request.path))
        data = self.files.get(request.match_info["name"])
        if data is None:
            return web.Response(status=404)
        return web.Response(body=data)


def _checkpoint(network: torch.nn.Module) -> bytes:
    """Save a network's weights as Real-ESRGAN does: {"params": state_dict}."""
    buffer = io.BytesIO()
    torch.save({"params": network.state_dict()}, buffer)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def real_shaped_checkpoint() -> bytes:
    """A checkpoint of realesr-general-x4v3's shape with random weights (4.9 MB)."""
    return _checkpoint(random_network(REALESR_GENERAL_X4V3.shape, seed=3, detail_gain=0.3))


@pytest.fixture
async def release_host(aiohttp_server, real_shaped_checkpoint: bytes):
    """(host, base URL, spec pinned to the hosted checkpoint's sha256)."""
    host = ReleaseHost(files={REALESR_GENERAL_X4V3.file_name: real_shaped_checkpoint})
    server = await aiohttp_server(host.app())
    pinned = dataclasses.replace(
        REALESR_GENERAL_X4V3, sha256=hashlib.sha256(real_shaped_checkpoint).hexdigest()
    )
    return host, str(server.make_url("")), pinned


async def test_downloads_exports_and_opens(release_host, tmp_path: Path) -> None:
    """Fetched through the redirect, hash checked, exported to ONNX that matches the network."""
    host, base_url, spec = release_host
    graph = await ensure_pretrained_upscaler(spec, tmp_path, base_url=base_url, policy=FAST)
    assert graph == tmp_path / "upscalers" / "realesr-general-x4v3" / "model.onnx"
    assert graph.with_name("realesr-general-x4v3.pth").is_file()
    assert not list(graph.parent.glob("*.part"))
    upscaler = OnnxUpscaler(graph, model_name=spec.name, threads=1)
    assert upscaler.scale == 4 and upscaler.facts.fixed_side is None
    release_path = f"/xinntao/Real-ESRGAN/releases/download/v0.2.5.0/{spec.file_name}"
    assert ("GET", release_path) in host.requests
    fetched = list(host.requests)
    await ensure_pretrained_upscaler(spec, tmp_path, base_url=base_url, policy=FAST)
    assert host.requests == fetched  # present: no network at all


async def test_graph_computes_what_the_checkpoint_holds(
    release_host, tmp_path: Path, real_shaped_checkpoint: bytes
) -> None:
    """The exported graph (PReLU as MixedRelu) equals the checkpoint's network in torch."""
    _, base_url, spec = release_host
    graph = await ensure_pretrained_upscaler(spec, tmp_path, base_url=base_url, policy=FAST)
    network = random_network(REALESR_GENERAL_X4V3.shape, seed=3, detail_gain=0.3)
    probe = torch.rand(1, 3, 30, 20)
    with torch.no_grad():
        expected = network(probe).numpy()
    session = onnxruntime.InferenceSession(str(graph), providers=["CPUExecutionProvider"])
    (result,) = session.run(None, {"image": probe.numpy()})
    np.testing.assert_allclose(result, expected, atol=1e-4)


async def test_a_body_that_misses_the_pinned_hash_is_deleted(release_host, tmp_path: Path) -> None:
    """The official pin against another file: refused after the download, nothing kept."""
    _, base_url, _ = release_host
    with pytest.raises(DownloadError, match="does not match the expected 8dc7edb9") as caught:
        await ensure_pretrained_upscaler(
            REALESR_GENERAL_X4V3, tmp_path, base_url=base_url, policy=FAST
        )
    assert caught.value.retryable is False
    folder = pretrained_graph_path(tmp_path, REALESR_GENERAL_X4V3).parent
    assert not any(folder.iterdir())


async def test_a_missing_file_is_a_404_that_is_not_retried(release_host, tmp_path: Path) -> None:
    """A 404 names the URL and is final (no retry loop on a wrong mirror)."""
    host, base_url, spec = release_host
    host.files.clear()
    with pytest.raises(DownloadError, match="answered HTTP 404") as caught:
        await ensure_pretrained_upscaler(spec, tmp_path, base_url=base_url, policy=FAST)
    assert caught.value.retryable is False
    assert not pretrained_graph_path(tmp_path, spec).exists()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<html>not a checkpoint</html>", "torch cannot read the checkpoint"),
        (_checkpoint(random_network(TEST_SHAPE, seed=0)), "is not a .* compact SR network"),
    ],
)
async def test_a_file_that_is_not_the_network_is_refused_and_deleted(
    release_host, tmp_path: Path, body: bytes, reason: str
) -> None:
    """A verified file that is no checkpoint of this network is deleted, with the reason."""
    host, base_url, spec = release_host
    host.files[spec.file_name] = body
    spec = dataclasses.replace(spec, sha256=hashlib.sha256(body).hexdigest())
    with pytest.raises(DownloadError, match=reason) as caught:
        await ensure_pretrained_upscaler(spec, tmp_path, base_url=base_url, policy=FAST)
    assert caught.value.retryable is False
    assert not any(pretrained_graph_path(tmp_path, spec).parent.iterdir())
