"""The `test-diffusion` and `test-sdxl` models: tiny random pipelines built locally, paint noise.

Each is a real diffusers pipeline folder (model_index.json, unet/, vae/, text encoders,
tokenizers, scheduler/) written by the stock `save_pretrained`, from small configs and a CLIP
tokenizer whose vocabulary and merges this module writes itself: no hub, no download. The
server loads them by the same code as the real presets, so every code path runs; only the
pictures are meaningless. Built once into `<models-dir>/<name>/` and rebuilt when the marker
names another build.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import torch

from .presets import DiffusionPreset

_LOGGER = logging.getLogger(__name__)

TEST_PIPELINE_SEED: Final = 20260407
"""Seed of the test pipelines' weights: every machine builds the same files."""
BUILD_MARKER: Final = "dalle_frame_test_build.json"
_BUILD_VERSION: Final = 1
TEXT_HIDDEN: Final = 32
"""Hidden size of each tiny text encoder (SDXL's UNet sees two of them side by side)."""


def ensure_test_pipeline(preset: DiffusionPreset, models_dir: Path) -> Path:
    """Return the folder of a test preset's pipeline, building it first when needed."""
    if not preset.test:
        raise ValueError(f"{preset.name} is not a test model")
    return build_once(
        models_dir / preset.name,
        {"version": _BUILD_VERSION, "seed": TEST_PIPELINE_SEED, "kind": preset.pipeline},
        lambda staging: build_pipeline(preset.pipeline, staging),
        f"{preset.name} (random weights, paints noise)",
    )


def build_once(
    folder: Path, expected: dict[str, Any], build: Callable[[Path], None], what: str
) -> Path:
    """Return `folder` when its marker is `expected`; else `build` it anew and mark it.

    Built in a staging folder beside it and moved into place, so an interrupted build leaves
    no half folder that looks finished.
    """
    marker = folder / BUILD_MARKER
    if marker.is_file():
        try:
            if json.loads(marker.read_text()) == expected:
                return folder
        except (OSError, ValueError):
            pass
    _LOGGER.info("Building %s in %s", what, folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        build(staging)
        (staging / BUILD_MARKER).write_text(json.dumps(expected))
        if folder.exists():
            shutil.rmtree(folder)
        staging.replace(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def build_pipeline(kind: str, folder: Path) -> None:
    """Write a tiny random SD ("sd") or SDXL ("sdxl") pipeline folder with stock diffusers."""
    from diffusers import (
        AutoencoderKL,
        EulerDiscreteScheduler,
        StableDiffusionPipeline,
        StableDiffusionXLPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    torch.manual_seed(TEST_PIPELINE_SEED)
    sdxl = kind == "sdxl"
    tokenizer = make_clip_tokenizer()
    text_config = CLIPTextConfig(
        vocab_size=len(tokenizer),
        hidden_size=TEXT_HIDDEN,
        intermediate_size=37,
        num_hidden_layers=2,
        num_attention_heads=4,
        max_position_embeddings=77,
        projection_dim=TEXT_HIDDEN,
        hidden_act="gelu",
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    unet_extra: dict[str, object] = {}
    if sdxl:
        unet_extra = {
            "addition_embed_type": "text_time",
            "addition_time_embed_dim": 8,
            "projection_class_embeddings_input_dim": 6 * 8 + TEXT_HIDDEN,
            "transformer_layers_per_block": (1, 2),
        }
    unet = UNet2DConditionModel(
        sample_size=16,
        in_channels=4,
        out_channels=4,
        block_out_channels=(32, 64),
        layers_per_block=2,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 4),
        cross_attention_dim=TEXT_HIDDEN * (2 if sdxl else 1),
        use_linear_projection=True,
        norm_num_groups=8,
        **unet_extra,
    )
    # Four blocks, as the real VAEs: 8x between latents and pixels.
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(8, 16, 16, 16),
        layers_per_block=1,
        latent_channels=4,
        norm_num_groups=4,
        sample_size=128,
        scaling_factor=0.13025 if sdxl else 0.18215,
    )
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        timestep_spacing="trailing",
        steps_offset=1,
    )
    pipeline: Any
    if sdxl:
        pipeline = StableDiffusionXLPipeline(
            vae=vae,
            text_encoder=CLIPTextModel(text_config),
            text_encoder_2=CLIPTextModelWithProjection(text_config),
            tokenizer=tokenizer,
            tokenizer_2=make_clip_tokenizer(),
            unet=unet,
            scheduler=scheduler,
        )
    else:
        pipeline = StableDiffusionPipeline(
            vae=vae,
            text_encoder=CLIPTextModel(text_config),
            tokenizer=tokenizer,
            unet=unet,
            scheduler=scheduler,
            safety_checker=None,
            feature_extractor=None,
            requires_safety_checker=False,
        )
    pipeline.save_pretrained(folder, safe_serialization=True)


TINY_VAE_SUFFIX: Final = "-tiny-vae"
"""A test preset's tiny decoder lies in `<models-dir>/<name>-tiny-vae/`."""
TEST_TINY_VAE_CONFIG: Final[dict[str, Any]] = {
    "encoder_block_out_channels": (8, 8, 8, 8),
    "decoder_block_out_channels": (8, 8, 8, 8),
    "num_encoder_blocks": (1, 1, 1, 1),
    "num_decoder_blocks": (1, 1, 1, 1),
    "latent_channels": 4,
    "scaling_factor": 1.0,
}
"""A TAESD-like AutoencoderTiny (4 blocks: 8x between latents and pixels, as TAESD), tiny."""


def ensure_test_tiny_vae(preset: DiffusionPreset, models_dir: Path) -> Path:
    """Return the folder of a test preset's tiny random AutoencoderTiny, building it first.

    The stand-in for TAESD in `--vae-decoder tiny`: random weights, so it paints noise that
    has nothing to do with what the full decoder paints.
    """
    from diffusers import AutoencoderTiny

    if not preset.test:
        raise ValueError(f"{preset.name} is not a test model")

    def build(staging: Path) -> None:
        torch.manual_seed(TEST_PIPELINE_SEED)
        vae: Any = AutoencoderTiny(**TEST_TINY_VAE_CONFIG)
        vae.save_pretrained(staging, safe_serialization=True)

    return build_once(
        models_dir / f"{preset.name}{TINY_VAE_SUFFIX}",
        {"seed": TEST_PIPELINE_SEED, "config": repr(TEST_TINY_VAE_CONFIG)},
        build,
        "a tiny VAE decoder (random weights, paints noise)",
    )


def make_clip_tokenizer() -> Any:
    """Return a CLIP BPE tokenizer over bytes with a few merges, written here (no hub)."""
    from transformers import CLIPTokenizer

    byte_chars = _byte_characters()
    vocab_list = byte_chars + [char + "</w>" for char in byte_chars]
    merges = [("t", "h"), ("th", "e</w>"), ("a", "n"), ("an", "d</w>"), ("c", "a"), ("ca", "t</w>")]
    vocab_list += ["th", "the</w>", "an", "and</w>", "ca", "cat</w>"]
    vocab_list += ["<|startoftext|>", "<|endoftext|>"]
    vocab = {token: index for index, token in enumerate(vocab_list)}
    return CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=77)  # type: ignore[arg-type]


def _byte_characters() -> list[str]:
    """Return the 256 characters byte-level BPE writes the bytes 0..255 as (GPT-2's map)."""
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    chars = list(printable)
    extra = 0
    for byte in range(256):
        if byte not in printable:
            chars.append(256 + extra)
            extra += 1
    return [chr(code) for code in chars]
