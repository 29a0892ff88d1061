"""The opt-in tiny VAE decoder (--vae-decoder tiny): pixels, scaling, options, download, server.

The test presets' tiny decoder is a small random AutoencoderTiny (it paints noise); the real
TAESD files are served by a local imitation of the hub at the pinned commits.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from aiohttp import web
from PIL import Image

from dalle_frame_server.__main__ import build_parser, settings_from_args
from dalle_frame_server.api.app import create_app
from dalle_frame_server.downloads import DownloadError
from dalle_frame_server.generation.diffusion.components import load_parts
from dalle_frame_server.generation.diffusion.generator import DiffusionGenerator
from dalle_frame_server.generation.diffusion.loader import load_diffusion_generator
from dalle_frame_server.generation.diffusion.presets import (
    DIFFUSION_PRESETS,
    SD_TURBO,
    SDXL_LIGHTNING,
    SDXL_TURBO,
    TEST_DIFFUSION,
)
from dalle_frame_server.generation.diffusion.test_pipelines import (
    TEST_TINY_VAE_CONFIG,
    ensure_test_pipeline,
    ensure_test_tiny_vae,
)
from dalle_frame_server.generation.diffusion.tiny_vae import (
    TAESD,
    TAESDXL,
    TINY_VAE_FILES,
    check_vae_decoder,
    ensure_tiny_vae_files,
    load_tiny_decoder,
    tiny_vae_files,
)
from dalle_frame_server.generation.text_to_image import GenerationRequest, painted_size
from dalle_frame_server.settings import ServerSettings
from tests.server.conftest import AUTH, TOKEN
from tests.server.helpers import wait_until_ready

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CPU = torch.device("cpu")
PROMPT = "a cat and the sea"


def _generator(models_dir: Path, name: str, *, tiny: bool) -> DiffusionGenerator:
    preset = DIFFUSION_PRESETS[name]
    folder = ensure_test_pipeline(preset, models_dir)
    tiny_vae = ensure_test_tiny_vae(preset, models_dir) if tiny else None
    parts = load_parts(folder, preset, CPU, torch.float32, tiny_vae=tiny_vae)
    return DiffusionGenerator(parts, preset, device=CPU, batching=False)


@pytest.fixture(scope="module")
def tiny(models_dir: Path) -> DiffusionGenerator:
    """test-diffusion with its tiny random decoder."""
    return _generator(models_dir, "test-diffusion", tiny=True)


def _request(seed: int = 5) -> GenerationRequest:
    return GenerationRequest(prompt=PROMPT, seed=seed, width=96, height=64, steps=2)


def _pixels(image: Image.Image | Exception) -> np.ndarray:
    assert isinstance(image, Image.Image), image
    return np.asarray(image).astype(np.int16)


def test_same_seed_same_picture_at_the_painted_size(tiny: DiffusionGenerator) -> None:
    first, again, other = (tiny.generate_pngs([_request(seed)], [None])[0] for seed in (3, 3, 4))
    assert not isinstance(first, Exception) and not isinstance(again, Exception)
    assert not isinstance(other, Exception)
    assert first.png == again.png
    assert first.png != other.png
    expected = painted_size(TEST_DIFFUSION.capabilities, 96, 64)
    assert (first.width, first.height) == expected
    assert Image.open(io.BytesIO(first.png)).size == expected


@pytest.mark.parametrize("name", ["test-diffusion", "test-sdxl"])
def test_pixels_equal_a_stock_pipeline_given_the_tiny_decoder(models_dir: Path, name: str) -> None:
    """Stock diffusers with `vae=AutoencoderTiny` paints our pixels: the latents reach TAESD
    with its scaling (1.0) and its [-1, 1] output becomes pixels as the stock pipeline does."""
    from diffusers import AutoencoderTiny, DiffusionPipeline, EulerDiscreteScheduler

    preset = DIFFUSION_PRESETS[name]
    ours = _generator(models_dir, name, tiny=True).generate_images([_request(11)], [None])[0]
    tiny_vae = AutoencoderTiny.from_pretrained(ensure_test_tiny_vae(preset, models_dir))
    stock = DiffusionPipeline.from_pretrained(models_dir / name, vae=tiny_vae)
    stock.scheduler = EulerDiscreteScheduler.from_config(
        stock.scheduler.config, timestep_spacing="trailing"
    )
    stock.set_progress_bar_config(disable=True)
    theirs = stock(
        PROMPT,
        width=96,
        height=64,
        num_inference_steps=2,
        guidance_scale=0.0,
        generator=torch.Generator().manual_seed(11),
    ).images[0]
    assert np.array_equal(_pixels(ours), _pixels(theirs))
    assert _pixels(ours).std() > 1  # a picture, not a flat field


def test_differs_from_the_full_decoder_and_says_so(
    tiny: DiffusionGenerator, models_dir: Path
) -> None:
    """Same latents, another decoder: another picture (it is an approximation), same size."""
    full = _generator(models_dir, "test-diffusion", tiny=False)
    tiny_image = _pixels(tiny.generate_images([_request(7)], [None])[0])
    full_image = _pixels(full.generate_images([_request(7)], [None])[0])
    assert tiny_image.shape == full_image.shape
    assert not np.array_equal(tiny_image, full_image)
    assert tiny.describe()["vae_decoder"] == "tiny (approximate)"
    assert full.describe()["vae_decoder"] == "full"
    assert tiny.parts.vae.encoder is None  # only the decoder side is kept
    assert type(tiny.parts.vae).__name__ == "AutoencoderTiny"


def test_a_config_with_another_latent_scaling_is_refused(tmp_path: Path) -> None:
    """A TAESD decodes the UNet's latents as they are; a scaling factor would darken or
    brighten every picture, so such files are refused with the reason."""
    from diffusers import AutoencoderTiny

    AutoencoderTiny(**{**TEST_TINY_VAE_CONFIG, "scaling_factor": 0.18215}).save_pretrained(
        tmp_path / "scaled"
    )
    with pytest.raises(ValueError, match=r"scaling_factor 0\.18215.*not TAESD's"):
        load_tiny_decoder(tmp_path / "scaled", torch.float32)
    with pytest.raises(ValueError, match="cannot be loaded"):
        load_tiny_decoder(tmp_path / "missing", torch.float32)


def test_each_preset_takes_the_decoder_of_its_latent_space() -> None:
    assert tiny_vae_files(SD_TURBO) is TAESD
    assert tiny_vae_files(SDXL_TURBO) is TAESDXL
    assert tiny_vae_files(SDXL_LIGHTNING) is TAESDXL
    for files in (TAESD, TAESDXL):
        assert len(files.revision) == 40 and int(files.revision, 16) >= 0
        assert files.files == ("config.json", "diffusion_pytorch_model.safetensors")


def test_option_validation(monkeypatch: pytest.MonkeyPatch, capsys, caplog) -> None:
    """Unknown values are refused with the choices, from the command line and the
    environment; full is the default; tiny with min-dalle is ignored with a warning."""
    parser = build_parser()
    assert settings_from_args(parser.parse_args(["--model", "test"])).vae_decoder == "full"
    with pytest.raises(SystemExit):
        parser.parse_args(["--vae-decoder", "huge"])
    assert "invalid choice: 'huge'" in capsys.readouterr().err
    monkeypatch.setenv("DALLE_FRAME_VAE_DECODER", "huge")
    with pytest.raises(ValueError, match="--vae-decoder must be one of full, tiny, not 'huge'"):
        settings_from_args(build_parser().parse_args(["--model", "test-diffusion"]))
    monkeypatch.setenv("DALLE_FRAME_VAE_DECODER", "tiny")
    args = build_parser().parse_args(["--model", "test-diffusion"])
    assert settings_from_args(args).vae_decoder == "tiny"
    with caplog.at_level(logging.WARNING):
        assert settings_from_args(build_parser().parse_args(["--model", "test"])).vae_decoder
    assert "applies to diffusion models only" in caplog.text
    assert check_vae_decoder("full") == "full"


async def test_the_loader_refuses_an_unknown_decoder(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="--vae-decoder must be one of"):
        await load_diffusion_generator(
            "test-diffusion",
            tmp_path,
            device_name="cpu",
            dtype_name=None,
            set_detail=lambda _detail: None,
            vae_decoder="huge",
        )
    assert not await asyncio.to_thread(os.listdir, tmp_path)  # refused before building anything


class TinyVaeHub:
    """A local imitation of the hub serving TAESD's and TAESDXL's files at their commits."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.requests: list[tuple[str, str]] = []
        self.corrupt = False

    async def handle(self, request: web.Request) -> web.StreamResponse:
        repo = f"{request.match_info['org']}/{request.match_info['name']}"
        revision, path = request.match_info["revision"], request.match_info["path"]
        self.requests.append((request.method, f"{repo}@{revision}/{path}"))
        pinned = {TAESD.repo: TAESD.revision, TAESDXL.repo: TAESDXL.revision}
        if pinned.get(repo) != revision or path not in self.files:
            return web.Response(
                status=404, headers={"X-Error-Code": "EntryNotFound"}, text="Entry not found"
            )
        data = self.files[path]
        headers = {"X-Repo-Commit": revision, "Content-Length": str(len(data))}
        if path.endswith(".safetensors"):  # an LFS file: sha256 and size
            headers["X-Linked-Etag"] = f'"{hashlib.sha256(data).hexdigest()}"'
            headers["X-Linked-Size"] = str(len(data))
            headers["ETag"] = '"lfs-pointer"'
        else:  # a small file: its git blob sha1
            blob = hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False)
            headers["ETag"] = f'"{blob.hexdigest()}"'
        if request.method == "HEAD":
            return web.Response(headers=headers)
        if self.corrupt and path.endswith(".safetensors"):
            data = data[:-1] + bytes([data[-1] ^ 1])
        return web.Response(body=data, headers={"Content-Length": str(len(data))})


@pytest.fixture
async def taesd_hub(aiohttp_server, models_dir: Path) -> tuple[TinyVaeHub, str]:
    """The fake hub, serving the test preset's tiny decoder files under TAESD's names."""
    folder = ensure_test_tiny_vae(TEST_DIFFUSION, models_dir)
    fake = TinyVaeHub({name: (folder / name).read_bytes() for name in TINY_VAE_FILES})
    app = web.Application()
    app.router.add_route("*", "/{org}/{name}/resolve/{revision}/{path:.+}", fake.handle)
    server = await aiohttp_server(app, host="127.0.0.1")
    return fake, str(server.make_url("")).rstrip("/")


async def test_the_tiny_decoder_is_downloaded_once_at_its_commit_and_loads(
    taesd_hub, tmp_path: Path
) -> None:
    fake, endpoint = taesd_hub
    seen: list[tuple[str, int, int | None]] = []
    folder = await ensure_tiny_vae_files(
        SD_TURBO, tmp_path, endpoint=endpoint, progress=lambda *report: seen.append(report)
    )
    assert {path.name for path in folder.iterdir()} == set(TINY_VAE_FILES)
    assert f"{TAESD.revision}" in str(folder)  # the hub cache's snapshot of the pinned commit
    weights = f"{TAESD.repo}/diffusion_pytorch_model.safetensors"
    size = len(fake.files["diffusion_pytorch_model.safetensors"])
    assert seen[-1] == (weights, size, size)
    vae = load_tiny_decoder(folder, torch.float32)
    assert vae.encoder is None and float(vae.config.scaling_factor) == 1.0
    count = len(fake.requests)
    assert await ensure_tiny_vae_files(SD_TURBO, tmp_path, endpoint=endpoint) == folder
    assert len(fake.requests) == count  # in the cache at the pinned commit: no network
    xl_folder = await ensure_tiny_vae_files(SDXL_TURBO, tmp_path, endpoint=endpoint)
    assert TAESDXL.revision in str(xl_folder) and "taesdxl" in str(xl_folder)


async def test_damaged_content_is_deleted_and_a_missing_commit_is_final(
    taesd_hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, endpoint = taesd_hub
    fake.corrupt = True
    with pytest.raises(DownloadError, match="the damaged file was deleted") as damaged:
        await ensure_tiny_vae_files(SD_TURBO, tmp_path / "a", endpoint=endpoint)
    assert not damaged.value.retryable
    fake.corrupt = False
    monkeypatch.setattr(
        "dalle_frame_server.generation.diffusion.tiny_vae.TAESD",
        TAESD.__class__(repo=TAESD.repo, revision="f" * 40, files=TAESD.files),
    )
    with pytest.raises(DownloadError, match="ffffffffffff") as missing:
        await ensure_tiny_vae_files(SD_TURBO, tmp_path / "b", endpoint=endpoint)
    assert not missing.value.retryable
    with pytest.raises(ValueError, match="builds its tiny decoder locally"):
        await ensure_tiny_vae_files(TEST_DIFFUSION, tmp_path, endpoint=endpoint)


async def test_the_server_with_the_tiny_decoder_answers_generate(
    aiohttp_client, models_dir: Path, loaders
) -> None:
    settings = ServerSettings(
        models_dir=models_dir,
        model="test-diffusion",
        asr_model="test",
        token=TOKEN,
        threads=1,
        vae_decoder="tiny",
    )
    client = await aiohttp_client(create_app(settings, transcriber_loader=loaders.transcriber))
    health = await wait_until_ready(client)
    assert health["generator"]["vae_decoder"] == "tiny (approximate)"
    request = {"prompt": "a lighthouse", "seed": 9, "width": 800, "height": 480}
    pictures = []
    for _ in range(2):
        response = await client.post("/v1/generate", json=request, headers=AUTH)
        assert response.status == 200, await response.text()
        pictures.append(await response.read())
    expected = painted_size(TEST_DIFFUSION.capabilities, 800, 480)
    assert Image.open(io.BytesIO(pictures[0])).size == expected
    assert pictures[0] == pictures[1]
