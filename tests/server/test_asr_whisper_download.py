"""whisper-base is downloaded once from a pinned revision, checked, and never used unchecked.

A local stand-in for the hub (127.0.0.1) serves the test multilingual model's files under
whisper-base's repository paths, with the pins replaced by those files' sha256.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from dataclasses import replace
from pathlib import Path

import pytest

from dalle_frame_server.api.app import create_app
from dalle_frame_server.asr import whisper_pretrained
from dalle_frame_server.asr.whisper_folder import WhisperModelFolder
from dalle_frame_server.asr.whisper_pretrained import (
    WHISPER_BASE,
    PretrainedWhisperModel,
    ensure_pretrained_whisper_model,
)
from dalle_frame_server.asr.whisper_tiny_model import (
    TEST_MULTILINGUAL_LANGUAGES,
    ensure_test_multilingual_model,
)
from dalle_frame_server.asr.whisper_transcriber import OnnxWhisperTranscriber
from dalle_frame_server.downloads import DownloadError, DownloadPolicy
from tests.server.conftest import AUTH
from tests.server.helpers import make_wav, wait_until_ready
from tests.server.test_asr_pretrained import RepoHost

FAST = DownloadPolicy(attempts=2, retry_delay=0.0, read_timeout=5.0)


def _path(spec: PretrainedWhisperModel, file: str) -> str:
    return f"/{spec.repository}/resolve/{spec.revision}/{file}"


@pytest.fixture(scope="module")
def source_folder(models_dir: Path) -> WhisperModelFolder:
    """The files the stand-in hub serves: the test multilingual model's."""
    return ensure_test_multilingual_model(models_dir)


@pytest.fixture
async def hosted(aiohttp_server, source_folder: WhisperModelFolder):
    """(host, base URL, whisper-base's spec pinned to the hosted files)."""
    files: dict[str, bytes] = {}
    pinned = []
    for file in WHISPER_BASE.files:
        data = (source_folder.root / file.target).read_bytes()
        files[_path(WHISPER_BASE, file.path)] = data
        sha = hashlib.sha256(data).hexdigest() if file.sha256 is not None else None
        pinned.append(replace(file, sha256=sha))
    spec = dataclasses.replace(WHISPER_BASE, files=tuple(pinned))
    host = RepoHost(files=files)
    server = await aiohttp_server(host.app())
    return host, str(server.make_url("")), spec


async def test_downloads_checks_and_transcribes(hosted, tmp_path: Path) -> None:
    """Every file is fetched and checked, the metadata written; later starts stay offline."""
    host, base_url, spec = hosted
    folder = await ensure_pretrained_whisper_model(spec, tmp_path, base_url=base_url, policy=FAST)
    assert folder.root == tmp_path / "asr" / "whisper-base"
    metadata = folder.read_metadata()
    assert metadata is not None
    assert metadata["repository"] == f"onnx-community/whisper-base@{spec.revision}"
    assert metadata["weights"] == "int8"
    transcriber = OnnxWhisperTranscriber(folder, model_name=spec.name, use_cuda=False, threads=1)
    assert transcriber.languages == TEST_MULTILINGUAL_LANGUAGES
    fetched = list(host.requests)
    assert {("GET", _path(spec, file.path)) for file in spec.files} <= set(fetched)
    await ensure_pretrained_whisper_model(spec, tmp_path, base_url=base_url, policy=FAST)
    assert host.requests == fetched


async def test_a_file_that_is_not_the_pinned_one_is_refused(hosted, tmp_path: Path) -> None:
    """A host announcing another sha256 for the decoder: refused, nothing fetched for it."""
    host, base_url, spec = hosted
    decoder = spec.files[1]
    host.announced_sha256[_path(spec, decoder.path)] = "0" * 64
    with pytest.raises(DownloadError, match="not the pinned") as caught:
        await ensure_pretrained_whisper_model(spec, tmp_path, base_url=base_url, policy=FAST)
    assert caught.value.retryable is False
    assert ("GET", _path(spec, decoder.path)) not in host.requests
    assert not WhisperModelFolder(tmp_path / "asr" / spec.name).is_complete()


async def test_a_body_that_misses_the_pin_is_deleted(hosted, tmp_path: Path) -> None:
    """Where the host publishes no sha256, the body itself must hash to the pin."""
    host, base_url, spec = hosted
    encoder = spec.files[0]
    host.announced_sha256[_path(spec, encoder.path)] = "not-a-sha256"
    wrong = dataclasses.replace(spec, files=(replace(encoder, sha256="1" * 64), *spec.files[1:]))
    with pytest.raises(DownloadError, match="does not match the expected 1111"):
        await ensure_pretrained_whisper_model(wrong, tmp_path, base_url=base_url, policy=FAST)
    folder = WhisperModelFolder(tmp_path / "asr" / spec.name)
    assert not folder.encoder.exists()
    assert not any(folder.root.glob("*.part"))


async def test_files_that_are_not_a_whisper_model_are_deleted(hosted, tmp_path: Path) -> None:
    """A vocabulary (unpinned) without text tokens fails the check: all files deleted."""
    host, base_url, spec = hosted
    host.files[_path(spec, "vocab.json")] = b'{"<|endoftext|>": 0}'
    with pytest.raises(DownloadError, match="lacks 256 of the 256 single-byte") as caught:
        await ensure_pretrained_whisper_model(spec, tmp_path, base_url=base_url, policy=FAST)
    assert caught.value.retryable is False
    folder = WhisperModelFolder(tmp_path / "asr" / spec.name)
    assert not any(path.exists() for path in folder.files)
    assert not folder.metadata.exists()


async def test_server_downloads_whisper_base_on_first_start(
    hosted, aiohttp_client, server_settings, loaders, tmp_path: Path, monkeypatch
) -> None:
    """asr_model whisper-base: downloaded at start-up, health lists its languages."""
    _, base_url, spec = hosted
    monkeypatch.setitem(whisper_pretrained.PRETRAINED_WHISPER_MODELS, spec.name, spec)
    settings = replace(
        server_settings, models_dir=tmp_path, asr_model="whisper-base", asr_download_url=base_url
    )
    client = await aiohttp_client(create_app(settings, generator_loader=loaders.generator))
    health = await wait_until_ready(client)
    assert health["asr"]["languages"] == list(TEST_MULTILINGUAL_LANGUAGES)
    response = await client.post(
        "/v1/transcribe?language=es",
        data=make_wav(),
        headers={"Content-Type": "audio/wav", **AUTH},
    )
    assert response.status == 200, await response.text()
    assert (await response.json())["language"] == "es"


def test_the_pin_names_immutable_files() -> None:
    """A commit, sha256 for the graphs, and the hub's resolve URLs of the int8 graphs."""
    spec = WHISPER_BASE
    assert re.fullmatch(r"[0-9a-f]{40}", spec.revision)
    graphs = [file for file in spec.files if file.target.endswith(".onnx")]
    assert [file.target for file in graphs] == ["encoder.onnx", "decoder.onnx"]
    assert all(file.sha256 and re.fullmatch(r"[0-9a-f]{64}", file.sha256) for file in graphs)
    assert spec.url(whisper_pretrained.HUGGING_FACE_URL, graphs[0].path) == (
        "https://huggingface.co/onnx-community/whisper-base/resolve/"
        f"{spec.revision}/onnx/encoder_model_quantized.onnx"
    )
