"""Pre-exported ASR models: downloaded from a pinned revision, checked, never exported on the box.

A local stand-in for the hub serves the test ASR model's graph (a tiny random wav2vec2 exported
by the server's own exporter) under the pinned model's repository path, with the pin replaced by
that graph's sha256.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web
from onnx import TensorProto, helper

from dalle_frame_server.api.app import create_app
from dalle_frame_server.asr import pretrained
from dalle_frame_server.asr.model_folder import DEFAULT_ASR_MODEL, AsrModelFolder
from dalle_frame_server.asr.onnx_transcriber import OnnxCtcTranscriber
from dalle_frame_server.asr.pretrained import (
    WAV2VEC2_BASE_960H,
    PretrainedAsrModel,
    ensure_pretrained_asr_model,
)
from dalle_frame_server.asr.tiny_model import WAV2VEC2_VOCAB
from dalle_frame_server.downloads import DownloadError, DownloadPolicy
from dalle_frame_server.settings import ServerSettings
from tests.server.conftest import AUTH
from tests.server.helpers import make_wav, wait_until_ready

FAST = DownloadPolicy(attempts=2, retry_delay=0.0, read_timeout=5.0)


@dataclass
class RepoHost:
    """Serves `/<repo>/resolve/<revision>/<path>` as the hub does (sha256 of large files)."""

    files: dict[str, bytes] = field(default_factory=dict)
    announced_sha256: dict[str, str] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)

    def app(self) -> web.Application:
        """Return the aiohttp application."""
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self.serve)
        return app

    async def serve(self, request: web.Request) -> web.Response:
        """HEAD: size and sha256 headers; GET: the body."""
        self.requests.append((request.method, request.path))
        data = self.files.get(request.path)
        if data is None:
            return web.Response(status=404)
        sha = self.announced_sha256.get(request.path, hashlib.sha256(data).hexdigest())
        headers = {"X-Linked-Size": str(len(data)), "X-Linked-Etag": f'"{sha}"'}
        if request.method == "HEAD":
            return web.Response(headers={**headers, "Content-Length": str(len(data))})
        return web.Response(body=data, headers=headers)


def _path(spec: PretrainedAsrModel, file: str) -> str:
    return f"/{spec.repository}/resolve/{spec.revision}/{file}"


@pytest.fixture
async def hosted(aiohttp_server, test_asr_folder: AsrModelFolder):
    """(host, base URL, spec pinned to the hosted graph) with the test graph and vocabulary."""
    graph = test_asr_folder.model.read_bytes()
    spec = dataclasses.replace(WAV2VEC2_BASE_960H, graph_sha256=hashlib.sha256(graph).hexdigest())
    host = RepoHost(
        files={
            _path(spec, spec.graph_path): graph,
            _path(spec, spec.vocab_path): json.dumps(WAV2VEC2_VOCAB).encode(),
        }
    )
    server = await aiohttp_server(host.app())
    return host, str(server.make_url("")), spec


async def test_downloads_checks_and_transcribes(hosted, tmp_path: Path) -> None:
    """The graph and vocabulary are fetched, checked, recorded; later starts stay offline."""
    host, base_url, spec = hosted
    folder = await ensure_pretrained_asr_model(spec, tmp_path, base_url=base_url, policy=FAST)
    assert folder.root == tmp_path / "asr" / "wav2vec2-base-960h"
    metadata = folder.read_metadata()
    assert metadata is not None
    assert metadata["weights"] == "int8"
    assert metadata["vocab_size"] == len(WAV2VEC2_VOCAB)
    assert metadata["repository"] == f"Xenova/wav2vec2-base-960h@{spec.revision}"
    transcriber = OnnxCtcTranscriber(folder, model_name=spec.name, use_cuda=False)
    assert isinstance(transcriber.transcribe(_samples()), str)
    fetched = list(host.requests)
    assert ("GET", _path(spec, spec.graph_path)) in fetched
    await ensure_pretrained_asr_model(spec, tmp_path, base_url=base_url, policy=FAST)
    assert host.requests == fetched  # complete: no network at all


async def test_host_announcing_another_sha256_is_refused_before_fetching(
    hosted, tmp_path: Path
) -> None:
    """A changed file at the pinned URL is refused with the reason; nothing is downloaded."""
    host, base_url, spec = hosted
    host.announced_sha256[_path(spec, spec.graph_path)] = "0" * 64
    with pytest.raises(DownloadError, match="not the pinned") as caught:
        await ensure_pretrained_asr_model(spec, tmp_path, base_url=base_url, policy=FAST)
    assert caught.value.retryable is False
    assert ("GET", _path(spec, spec.graph_path)) not in host.requests
    assert not any((tmp_path / "asr" / spec.name).glob("model.onnx*"))


async def test_body_that_misses_the_pin_is_deleted(hosted, tmp_path: Path) -> None:
    """Without a published sha256 the body itself must hash to the pin."""
    host, base_url, spec = hosted
    wrong = dataclasses.replace(spec, graph_sha256="1" * 64)
    host.announced_sha256[_path(spec, spec.graph_path)] = "not-a-sha256"
    with pytest.raises(DownloadError, match="does not match the expected 1111"):
        await ensure_pretrained_asr_model(wrong, tmp_path, base_url=base_url, policy=FAST)
    folder = tmp_path / "asr" / spec.name
    assert not (folder / "model.onnx").exists()
    assert not (folder / "model.onnx.part").exists()


async def test_graph_that_is_not_wav2vec2_is_refused(hosted, tmp_path: Path) -> None:
    """A verified file that is not a wav2vec2 CTC graph is deleted; the folder stays incomplete."""
    host, base_url, spec = hosted
    graph = _identity_graph()
    spec = dataclasses.replace(spec, graph_sha256=hashlib.sha256(graph).hexdigest())
    host.files[_path(spec, spec.graph_path)] = graph
    with pytest.raises(DownloadError, match=r"takes \['x'\], not \['input_values'\]") as caught:
        await ensure_pretrained_asr_model(spec, tmp_path, base_url=base_url, policy=FAST)
    assert caught.value.retryable is False
    folder = AsrModelFolder(tmp_path / "asr" / spec.name)
    assert not folder.model.exists()
    assert not folder.vocab.exists()
    assert not folder.is_complete()


async def test_graph_that_cannot_take_audio_is_refused(hosted, tmp_path: Path) -> None:
    """An `input_values` of another type fails the clip check: refused, files deleted."""
    host, base_url, spec = hosted
    graph = _identity_graph("input_values", TensorProto.INT64)
    spec = dataclasses.replace(spec, graph_sha256=hashlib.sha256(graph).hexdigest())
    host.files[_path(spec, spec.graph_path)] = graph
    with pytest.raises(DownloadError, match="does not run on a clip of audio"):
        await ensure_pretrained_asr_model(spec, tmp_path, base_url=base_url, policy=FAST)
    assert not AsrModelFolder(tmp_path / "asr" / spec.name).model.exists()


async def test_vocabulary_that_does_not_fit_the_graph_is_refused(hosted, tmp_path: Path) -> None:
    """A vocabulary of another size than the graph's logits is refused, with both sizes."""
    host, base_url, spec = hosted
    host.files[_path(spec, spec.vocab_path)] = json.dumps({"<pad>": 0, "|": 1}).encode()
    with pytest.raises(DownloadError, match=r"not \(1, frames, 2\)"):
        await ensure_pretrained_asr_model(spec, tmp_path, base_url=base_url, policy=FAST)
    host.files[_path(spec, spec.vocab_path)] = b"{not json"
    with pytest.raises(DownloadError, match="cannot read the ASR vocabulary"):
        await ensure_pretrained_asr_model(spec, tmp_path, base_url=base_url, policy=FAST)


async def test_server_default_asr_model_is_downloaded_on_first_start(
    hosted, aiohttp_client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default asr_model comes from the hub at start-up and transcribes, no export."""
    _, base_url, spec = hosted
    assert spec.name == DEFAULT_ASR_MODEL
    monkeypatch.setitem(pretrained.PRETRAINED_ASR_MODELS, spec.name, spec)
    monkeypatch.setattr(
        "dalle_frame_server.loading.export_checkpoint",
        lambda *args, **kwargs: pytest.fail("the default model must not be exported"),
    )
    settings = ServerSettings(
        models_dir=tmp_path, model="test", asr_model=DEFAULT_ASR_MODEL, asr_download_url=base_url
    )
    client = await aiohttp_client(create_app(settings))
    health = await wait_until_ready(client)
    assert health["asr"]["ready"] is True
    response = await client.post(
        "/v1/transcribe", data=make_wav(), headers={"Content-Type": "audio/wav", **AUTH}
    )
    assert response.status == 200, await response.text()


def test_the_pinned_default_names_one_immutable_file() -> None:
    """The real pin: a commit, a sha256, and the hub's resolve URL of the int8 graph."""
    spec = WAV2VEC2_BASE_960H
    assert re.fullmatch(r"[0-9a-f]{40}", spec.revision)
    assert re.fullmatch(r"[0-9a-f]{64}", spec.graph_sha256)
    assert spec.url(pretrained.HUGGING_FACE_URL, spec.graph_path) == (
        "https://huggingface.co/Xenova/wav2vec2-base-960h/resolve/"
        "9ce1509b228e594b70ed699f6f0993cefdc59bf5/onnx/model_quantized.onnx"
    )
    assert pretrained.PRETRAINED_ASR_MODELS[DEFAULT_ASR_MODEL] is spec


def _samples():
    """One second of a quiet tone at 16 kHz."""
    import numpy as np

    time = np.arange(16_000, dtype=np.float32) / 16_000
    return (0.1 * np.sin(2 * np.pi * 440 * time)).astype(np.float32)


def _identity_graph(name: str = "x", element_type: int = TensorProto.FLOAT) -> bytes:
    """A valid ONNX graph with the wrong interface (by default its input is x)."""
    value = helper.make_tensor_value_info(name, element_type, [None, None])
    out = helper.make_tensor_value_info("y", element_type, [None, None])
    graph = helper.make_graph([helper.make_node("Identity", [name], ["y"])], "g", [value], [out])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()
