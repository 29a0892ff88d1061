"""SD-Turbo-shaped random weights for the benchmark: its real configs, random init, no download.

The configs below are SD-Turbo's (the SD 2.1 UNet, the OpenCLIP ViT-H text encoder, the SD
VAE), written here so nothing is fetched; the weights are drawn at random and saved in
float16 as the fp16 files of the hub are, with the pipeline's layout. The tokenizer is the
test pipelines' small byte-level one (its ids are valid for the 49408-token encoder). The
pictures are noise; the arithmetic is the real model's.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Final

import torch

from dalle_frame_server.generation.diffusion.presets import SD_TURBO
from dalle_frame_server.generation.diffusion.test_pipelines import make_clip_tokenizer

_LOGGER = logging.getLogger(__name__)

DEFAULT_BENCH_DIR: Final = Path("build/bench-models")
MARKER: Final = "bench_weights.json"
SEED: Final = 20260412

SD_TURBO_UNET: Final = {
    "sample_size": 64,
    "in_channels": 4,
    "out_channels": 4,
    "block_out_channels": (320, 640, 1280, 1280),
    "layers_per_block": 2,
    "down_block_types": ("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
    "up_block_types": ("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
    "attention_head_dim": (5, 10, 20, 20),
    "cross_attention_dim": 1024,
    "use_linear_projection": True,
    "norm_num_groups": 32,
    "flip_sin_to_cos": True,
    "freq_shift": 0,
}
SD_TURBO_TEXT: Final = {
    "vocab_size": 49408,
    "hidden_size": 1024,
    "intermediate_size": 4096,
    "num_hidden_layers": 23,
    "num_attention_heads": 16,
    "max_position_embeddings": 77,
    "projection_dim": 512,
    "hidden_act": "gelu",
}
SD_VAE: Final = {
    "in_channels": 3,
    "out_channels": 3,
    "down_block_types": ("DownEncoderBlock2D",) * 4,
    "up_block_types": ("UpDecoderBlock2D",) * 4,
    "block_out_channels": (128, 256, 512, 512),
    "layers_per_block": 2,
    "latent_channels": 4,
    "norm_num_groups": 32,
    "sample_size": 768,
    "scaling_factor": 0.18215,
}


def ensure_taesd_shaped(bench_dir: Path = DEFAULT_BENCH_DIR) -> Path:
    """Return the folder of a TAESD-shaped random AutoencoderTiny, writing it once (10 MB).

    diffusers' AutoencoderTiny defaults are TAESD's shapes (64 channels, 3-3-3-1 decoder
    blocks); the weights are random, so its pictures say nothing about TAESD's quality.
    """
    from diffusers import AutoencoderTiny

    folder = bench_dir / "taesd-shaped"
    marker = {"seed": SEED, "config": "AutoencoderTiny defaults"}
    if (folder / MARKER).is_file() and json.loads((folder / MARKER).read_text()) == marker:
        return folder
    _LOGGER.info("Writing TAESD-shaped random weights to %s (once)", folder)
    torch.manual_seed(SEED)
    if folder.exists():
        shutil.rmtree(folder)
    AutoencoderTiny().save_pretrained(folder, safe_serialization=True)
    (folder / MARKER).write_text(json.dumps(marker))
    return folder


def ensure_sd_turbo_shaped(bench_dir: Path = DEFAULT_BENCH_DIR) -> Path:
    """Return the folder of the SD-Turbo-shaped random pipeline, writing it once (~2.6 GB)."""
    folder = bench_dir / "sd-turbo-shaped"
    marker = {"seed": SEED, "unet": repr(SD_TURBO_UNET), "text": repr(SD_TURBO_TEXT)}
    if (folder / MARKER).is_file() and json.loads((folder / MARKER).read_text()) == marker:
        return folder
    from diffusers import (
        AutoencoderKL,
        EulerDiscreteScheduler,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel

    _LOGGER.info("Writing SD-Turbo-shaped random weights to %s (once)", folder)
    torch.manual_seed(SEED)
    tokenizer = make_clip_tokenizer()
    text = CLIPTextModel(
        CLIPTextConfig(
            **SD_TURBO_TEXT,
            bos_token_id=tokenizer.bos_token_id,  # type: ignore[attr-defined]
            eos_token_id=tokenizer.eos_token_id,  # type: ignore[attr-defined]
            pad_token_id=tokenizer.pad_token_id,  # type: ignore[attr-defined]
        )
    ).to(torch.float16)
    unet = UNet2DConditionModel(**SD_TURBO_UNET).to(torch.float16)  # type: ignore[arg-type]
    vae = AutoencoderKL(**SD_VAE).to(torch.float16)  # type: ignore[arg-type]
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        timestep_spacing="trailing",
        steps_offset=1,
    )
    pipeline = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,  # type: ignore[arg-type]
        feature_extractor=None,  # type: ignore[arg-type]
        requires_safety_checker=False,
    )
    if folder.exists():
        shutil.rmtree(folder)
    pipeline.save_pretrained(folder, safe_serialization=True, variant=SD_TURBO.variant)
    (folder / MARKER).write_text(json.dumps(marker))
    return folder
