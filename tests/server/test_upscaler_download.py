"""realesr-general-x4v3's download against a local stand-in for the hub (127.0.0.1 only).

The host serves the test upscaler's graph under the pinned repository path; the spec is pinned
to that graph's sha256 where a test needs a pin.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web

from dalle_frame_server.downloads import DownloadError, DownloadPolicy
from dalle_frame_server.upscaling.network import SrShape, export_onnx, random_network
from dalle_frame_server.upscaling.onnx_upscaler import OnnxUpscaler
from dalle_frame_server.upscaling.pretrained import (
    REALESR_GENERAL_X4V3,
    PretrainedUpscaler,
    ensure_pretrained_upscaler,
    pretrained_graph_path,
)
from dalle_frame_server.upscaling.tiny_model import ensure_test_upscaler

FAST = DownloadPolicy(attempts=2, retry_delay=0.0, read_timeout=5.0)


@dataclass
class HubStandIn:
    """Serves `/<repo>/resolve/<revision>/<path>` with the hub's size and sha256 headers."""

    files: dict[str, bytes] = field(default_factory=dict)
    announced_sha256: dict[str, str] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)

    def app(self) -> web.Application:
        """Return the aiohttp application."""
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self.serve)
        return app

    async def serve(self, request: web.Request) -> web.Response:
        """HEAD: size and sha256 headers; GET: the body; unknown paths: 404."""
        self.requests.append((request.method, request.path))
        data = self.files.get(request.path)
        if data is None:
            return web.Response(status=404)
        sha = self.announced_sha256.get(request.path, hashlib.sha256(data).hexdigest())
        headers = {"X-Linked-Size": str(len(data)), "X-Linked-Etag": f'"{sha}"'}
        if request.method == "HEAD":
            return web.Response(headers={**headers, "Content-Length": str(len(data))})
        return web.Response(body=data, headers=headers)


def _path(spec: PretrainedUpscaler) -> str:
    return f"/{spec.repository}/resolve/{spec.revision}/{spec.graph_path}"


@pytest.fixture
async def hub(aiohttp_server, models_dir: Path) -> tuple[HubStandIn, str]:
    """(host, base URL) serving the test upscaler's graph as realesr-general-x4v3."""
    graph = ensure_test_upscaler(models_dir).read_bytes()
    host = HubStandIn(files={_path(REALESR_GENERAL_X4V3): graph})
    server = await aiohttp_server(host.app())
    return host, str(server.make_url(""))


async def test_downloads_checks_and_opens(hub, tmp_path: Path) -> None:
    """The graph is fetched (hub sha256 checked), run once, opened; later starts stay offline."""
    host, base_url = hub
    graph = await ensure_pretrained_upscaler(
        REALESR_GENERAL_X4V3, tmp_path, base_url=base_url, policy=FAST
    )
    assert graph == tmp_path / "upscalers" / "realesr-general-x4v3" / "model.onnx"
    assert OnnxUpscaler(graph, model_name="realesr-general-x4v3", threads=1).scale == 4
    fetched = list(host.requests)
    assert ("GET", _path(REALESR_GENERAL_X4V3)) in fetched
    await ensure_pretrained_upscaler(REALESR_GENERAL_X4V3, tmp_path, base_url=base_url, policy=FAST)
    assert host.requests == fetched  # present: no network at all


async def test_a_body_that_misses_the_pinned_hash_is_deleted(hub, tmp_path: Path) -> None:
    """With a pinned sha256 and no published one, a different body is refused and deleted."""
    host, base_url = hub
    host.announced_sha256[_path(REALESR_GENERAL_X4V3)] = "not-a-sha256"
    pinned = dataclasses.replace(REALESR_GENERAL_X4V3, graph_sha256="1" * 64)
    with pytest.raises(DownloadError, match="does not match the expected 1111") as caught:
        await ensure_pretrained_upscaler(pinned, tmp_path, base_url=base_url, policy=FAST)
    assert caught.value.retryable is False
    graph = pretrained_graph_path(tmp_path, pinned)
    assert not graph.exists() and not graph.with_name("model.onnx.part").exists()


async def test_a_body_that_misses_the_hubs_hash_is_deleted(hub, tmp_path: Path) -> None:
    """Without a pin, the sha256 the hub publishes must match the body."""
    host, base_url = hub
    host.announced_sha256[_path(REALESR_GENERAL_X4V3)] = "2" * 64
    with pytest.raises(DownloadError, match="does not match the expected 2222"):
        await ensure_pretrained_upscaler(
            REALESR_GENERAL_X4V3, tmp_path, base_url=base_url, policy=FAST
        )
    assert not pretrained_graph_path(tmp_path, REALESR_GENERAL_X4V3).exists()


async def test_a_missing_file_is_a_404_that_is_not_retried(hub, tmp_path: Path) -> None:
    """A 404 names the URL and is final (no retry loop on a wrong mirror)."""
    host, base_url = hub
    host.files.clear()
    with pytest.raises(DownloadError, match="answered HTTP 404") as caught:
        await ensure_pretrained_upscaler(
            REALESR_GENERAL_X4V3, tmp_path, base_url=base_url, policy=FAST
        )
    assert caught.value.retryable is False
    assert not pretrained_graph_path(tmp_path, REALESR_GENERAL_X4V3).exists()


async def test_a_graph_of_another_scale_is_refused_and_deleted(hub, tmp_path: Path) -> None:
    """A verified file that enlarges 2x, not 4x, is deleted with the reason."""
    host, base_url = hub
    other = tmp_path / "x2.onnx"
    export_onnx(random_network(SrShape(features=4, body_layers=1, scale=2), seed=0), str(other))
    host.files[_path(REALESR_GENERAL_X4V3)] = other.read_bytes()
    models = tmp_path / "models"
    with pytest.raises(DownloadError, match="enlarges 2x, not 4x"):
        await ensure_pretrained_upscaler(
            REALESR_GENERAL_X4V3, models, base_url=base_url, policy=FAST
        )
    assert not pretrained_graph_path(models, REALESR_GENERAL_X4V3).exists()


async def test_a_file_that_is_no_graph_is_refused_and_deleted(hub, tmp_path: Path) -> None:
    """A verified download that ONNX Runtime cannot open is deleted, not kept for next time."""
    host, base_url = hub
    host.files[_path(REALESR_GENERAL_X4V3)] = b"<html>not a graph</html>"
    with pytest.raises(DownloadError, match="is not usable"):
        await ensure_pretrained_upscaler(
            REALESR_GENERAL_X4V3, tmp_path, base_url=base_url, policy=FAST
        )
    assert not pretrained_graph_path(tmp_path, REALESR_GENERAL_X4V3).exists()
