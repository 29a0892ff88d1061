"""The diffusion presets' table, the size rule on every preset, and the add-on's option list."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dalle_frame_server.generation.diffusion.presets import DIFFUSION_PRESETS
from dalle_frame_server.generation.generator import MIN_DALLE_CAPABILITIES
from dalle_frame_server.generation.text_to_image import painted_size
from dalle_frame_server.settings import GENERATOR_MODELS

ROOT = Path(__file__).resolve().parents[2]
PANELS = [(600, 448), (640, 400), (600, 400), (800, 480), (1600, 1200), (512, 512)]


@pytest.mark.parametrize("preset", DIFFUSION_PRESETS.values(), ids=lambda preset: preset.name)
def test_preset_is_complete_and_consistent(preset) -> None:
    capabilities = preset.capabilities
    assert capabilities.family == "diffusion"
    assert preset.name in GENERATOR_MODELS
    width, height = capabilities.default_size
    for side in (width, height):
        assert capabilities.min_side <= side <= capabilities.max_side
        assert side % capabilities.multiple == 0
    assert width * height <= capabilities.max_pixels
    assert capabilities.steps is not None
    assert capabilities.steps.min <= capabilities.steps.default <= capabilities.steps.max
    assert capabilities.guidance is None  # distilled: run without classifier-free guidance
    assert capabilities.licence and preset.memory and preset.speed
    assert preset.scheduler == {"timestep_spacing": "trailing"}
    if preset.test:
        assert preset.source is None and preset.name.startswith("test-")
        return
    for files in filter(None, (preset.source, preset.unet_file)):
        assert re.fullmatch(r"[0-9a-f]{40}", files.revision), "pinned to a commit"
        assert len(set(files.files)) == len(files.files)
        weights = [name for name in files.files if name.endswith(".safetensors")]
        assert weights and all(".fp16." in name or files is preset.unet_file for name in weights)
    assert preset.variant == "fp16"
    folders = {name.split("/")[0] for name in preset.source.files if "/" in name}
    expected = {"scheduler", "text_encoder", "tokenizer", "unet", "vae"}
    if preset.pipeline == "sdxl":
        expected |= {"text_encoder_2", "tokenizer_2"}
    assert folders == expected


@pytest.mark.parametrize("preset", DIFFUSION_PRESETS.values(), ids=lambda preset: preset.name)
@pytest.mark.parametrize("panel", PANELS)
@pytest.mark.parametrize("portrait", [False, True])
def test_painted_size_keeps_the_panel_aspect_within_the_model(preset, panel, portrait) -> None:
    capabilities = preset.capabilities
    width, height = panel[::-1] if portrait else panel
    painted_w, painted_h = painted_size(capabilities, width, height)
    assert painted_w * painted_h <= capabilities.max_pixels
    for side in (painted_w, painted_h):
        assert capabilities.min_side <= side <= capabilities.max_side
        assert side % capabilities.multiple == 0
    assert (painted_w >= painted_h) == (width >= height)
    assert abs(painted_w / painted_h - width / height) / (width / height) < 0.05


def test_painted_size_defaults_and_min_dalle() -> None:
    preset = DIFFUSION_PRESETS["sd-turbo"]
    assert painted_size(preset.capabilities, None, None) == (512, 512)
    assert painted_size(preset.capabilities, 512, 512) == (512, 512)
    assert painted_size(preset.capabilities, 800, 480) == (656, 392)
    lightning = DIFFUSION_PRESETS["sdxl-lightning"].capabilities
    assert painted_size(lightning, 512, 512) == (512, 512)
    assert painted_size(lightning, 1024, 1024) == (1024, 1024)
    assert painted_size(lightning, 2048, 2048) == (1024, 1024)
    assert painted_size(MIN_DALLE_CAPABILITIES, 800, 480, 2) == (512, 512)
    assert painted_size(MIN_DALLE_CAPABILITIES, None, None, 3) == (768, 768)
    with pytest.raises(ValueError, match="positive"):
        painted_size(preset.capabilities, 0, 480)


def test_add_on_options_and_docs_name_every_preset() -> None:
    config = (ROOT / "addon_inference" / "config.yaml").read_text()
    docs = (ROOT / "addon_inference" / "DOCS.md").read_text()
    translation = (ROOT / "addon_inference" / "translations" / "en.yaml").read_text()
    for name in DIFFUSION_PRESETS:
        assert f"|{name}" in config
        assert f"`{name}`" in docs
        assert name in translation


def test_the_server_starts_without_diffusers() -> None:
    """min-dalle servers (the arm64 root among them) need neither diffusers nor the hub."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "for name in ('diffusers', 'huggingface_hub', 'transformers', 'safetensors'):\n"
        "    sys.modules[name] = None\n"
        "import dalle_frame_server.__main__, dalle_frame_server.loading\n"
        "import dalle_frame_server.api.app\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
