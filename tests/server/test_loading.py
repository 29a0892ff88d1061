"""The real loaders behind the app: test models, downloads that fail, models switched off."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from aiohttp import web

from dalle_frame_server.api.app import create_app
from dalle_frame_server.generation.models.files import model_files
from dalle_frame_server.generation.models.loading import ModelPaths
from dalle_frame_server.settings import ServerSettings
from tests.server.conftest import AUTH
from tests.server.helpers import make_wav, wait_until_ready


async def _health_when(client, predicate) -> dict:
    """Poll health until predicate(health) holds (at most a minute)."""
    async with asyncio.timeout(60):
        while True:
            health = await (await client.get("/v1/health")).json()
            if predicate(health):
                return health
            await asyncio.sleep(0.05)


async def test_real_loaders_serve_the_test_models(aiohttp_client, models_dir: Path) -> None:
    """The default loaders find the built test models and say they paint noise."""
    app = create_app(ServerSettings(models_dir=models_dir, model="test", asr_model="test"))
    client = await aiohttp_client(app)
    health = await wait_until_ready(client)
    assert health["generator"]["model"] == "test"
    assert health["generator"]["notice"] == "test model: random weights, paints noise"
    assert health["generator"]["backend"] == "fast"
    assert health["asr"]["notice"].startswith("test ASR model: random weights")
    memory = health["memory"]
    assert memory["gpu"] is None  # no CUDA in use on this CPU
    assert 50 < memory["rss_mb"] <= memory["peak_rss_mb"]
    response = await client.post(
        "/v1/transcribe", data=make_wav(), headers={"Content-Type": "audio/wav"}
    )
    assert response.status == 200


@pytest.fixture
async def mini_host(aiohttp_server, test_model_paths: ModelPaths) -> tuple[str, list[str]]:
    """A local host serving the *test* model's files under mini's names (so: wrong shape)."""
    local = {
        "vocab.json": test_model_paths.vocab,
        "merges.txt": test_model_paths.merges,
        "encoder.pt": test_model_paths.encoder,
        "decoder.pt": test_model_paths.decoder,
        "detoker.pt": test_model_paths.detokenizer,
    }
    served = {file.remote_name: local[Path(file.local_path).name] for file in model_files("mini")}
    missing: list[str] = []

    async def serve(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name in missing or name not in served:
            return web.Response(status=404)
        return web.FileResponse(served[name])

    app = web.Application()
    app.router.add_get("/files/{name}", serve)
    server = await aiohttp_server(app)
    return str(server.make_url("/files/")), missing


async def test_missing_remote_file_fails_the_generator_for_good(
    aiohttp_client, mini_host, tmp_path: Path
) -> None:
    """A 404 on a weight file: health says error, generate says why (503)."""
    base_url, missing = mini_host
    missing.append("decoder_mini.pt")
    settings = ServerSettings(
        models_dir=tmp_path, model="mini", asr_model="none", download_url=base_url
    )
    client = await aiohttp_client(create_app(settings))
    health = await _health_when(client, lambda h: h["status"] == "error")
    assert "404" in health["generator"]["error"]
    assert health["asr"]["state"] == "disabled"
    response = await client.post("/v1/generate", json={"prompt": "a cat"})
    assert response.status == 503
    body = await response.json()
    assert body["error"]["code"] == "model_not_available"
    assert "decoder_mini.pt" in body["error"]["message"]


async def test_file_of_the_wrong_model_is_never_loaded(
    aiohttp_client, mini_host, tmp_path: Path
) -> None:
    """Downloaded files that do not fit mini's networks are refused with the file's name."""
    base_url, _missing = mini_host
    settings = ServerSettings(
        models_dir=tmp_path, model="mini", asr_model="none", download_url=base_url
    )
    client = await aiohttp_client(create_app(settings))
    health = await _health_when(client, lambda h: h["status"] == "error")
    assert "encoder.pt does not fit" in health["generator"]["error"]
    assert "delete that file" in health["generator"]["error"]


async def test_unreachable_host_keeps_retrying(aiohttp_client, tmp_path: Path) -> None:
    """No network: the generator stays "loading" with the reason, and will try again."""
    settings = ServerSettings(
        models_dir=tmp_path,
        model="mini",
        asr_model="none",
        download_url="http://127.0.0.1:9/",
        load_retry_seconds=3600,
    )
    client = await aiohttp_client(create_app(settings))
    health = await _health_when(client, lambda h: h["generator"]["error"] is not None)
    assert health["status"] == "loading"
    assert health["generator"]["detail"] == "waiting to try again"
    assert "cannot reach" in health["generator"]["error"]
    response = await client.post("/v1/generate", json={"prompt": "a cat"})
    assert response.status == 503
    assert response.headers["Retry-After"] == "30"
    assert "cannot reach" in (await response.json())["error"]["message"]


async def test_asr_model_not_exported_leaves_generation_working(
    aiohttp_client, models_dir: Path
) -> None:
    """An ASR model that was never exported fails ASR only, with the export command."""
    settings = ServerSettings(models_dir=models_dir, model="test", asr_model="my-wav2vec2")
    client = await aiohttp_client(create_app(settings))
    health = await _health_when(client, lambda h: h["status"] != "loading")
    assert health["status"] == "ok"
    assert health["generator"]["ready"] is True
    assert health["asr"]["state"] == "failed"
    assert "python -m dalle_frame_server.asr.export" in health["asr"]["error"]
    response = await client.post(
        "/v1/transcribe", data=make_wav(), headers={"Content-Type": "audio/wav", **AUTH}
    )
    assert response.status == 503
    assert (await response.json())["error"]["code"] == "model_not_available"


async def test_test_model_is_rebuilt_when_damaged(tmp_path: Path, models_dir: Path) -> None:
    """A test model with a missing file or an old marker is built again."""
    from dalle_frame_server.generation.models.tiny_model import ensure_test_model

    shutil.copytree(models_dir / "test", tmp_path / "test")
    paths = ensure_test_model(tmp_path)
    before = paths.decoder.stat().st_mtime_ns
    assert ensure_test_model(tmp_path).decoder.stat().st_mtime_ns == before  # left alone
    paths.encoder.unlink()
    ensure_test_model(tmp_path)
    assert paths.encoder.is_file()
    marker = tmp_path / "test" / "random_model.json"
    marker.write_text(marker.read_text().replace('"version": 1', '"version": 0'))
    ensure_test_model(tmp_path)
    assert '"version": 1' in marker.read_text()
