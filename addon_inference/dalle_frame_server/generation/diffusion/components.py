"""A diffusion pipeline folder loaded as the parts our generator runs, and nothing more.

Loads the tokenizers, text encoders, UNet and only the VAE's decoder side (a text-to-image
call never encodes a picture), with the scheduler's config. On CPU the weights may stay in
the file's half precision and be upcast layer by layer at run time (`keep_half_weights`):
float16 to float32 is exact, so the arithmetic is the same as with float32 weights while the
weights take half the memory.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .presets import DiffusionPreset, PipelineKind
from .tiny_vae import load_tiny_decoder

_LOGGER = logging.getLogger(__name__)


@dataclass(kw_only=True)
class PipelineParts:
    """What a text-to-image call uses, on one device."""

    kind: PipelineKind
    tokenizers: list[Any]
    text_encoders: list[nn.Module]
    unet: Any
    """The UNet2DConditionModel (Any: diffusers' lazy imports give mypy no types)."""
    vae: Any
    """The AutoencoderKL (or, with the tiny decoder, the AutoencoderTiny) without its encoder."""
    scheduler_class: Any
    scheduler_config: dict[str, Any]
    compute_dtype: torch.dtype
    """The dtype the arithmetic runs in (weights may be stored in half and upcast per layer)."""
    vae_decoder: str = "full"
    """Which VAE decoder runs: "full" (the model's own) or "tiny" (TAESD, approximate)."""


def load_parts(
    folder: Path,
    preset: DiffusionPreset,
    device: torch.device,
    dtype: torch.dtype,
    *,
    unet_weights: Path | None = None,
    half_storage: bool = False,
    tiny_vae: Path | None = None,
) -> PipelineParts:
    """Load a pipeline folder's parts on `device`, computing in `dtype`.

    `unet_weights`: a safetensors state dict replacing the folder's UNet weights
    (SDXL-Lightning). `half_storage`: keep float16 weights and upcast per layer (CPU float32).
    `tiny_vae`: a TAESD folder whose decoder replaces the folder's VAE (`tiny_vae.py`).
    Raises ValueError when the folder is incomplete or damaged (the message names the part).
    """
    import diffusers
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from safetensors.torch import load_file
    from transformers import CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

    load_dtype = torch.float16 if half_storage else dtype
    variant = preset.variant
    try:
        tokenizers: list[Any] = [CLIPTokenizer.from_pretrained(folder / "tokenizer")]
        encoders: list[nn.Module] = [
            CLIPTextModel.from_pretrained(
                folder / "text_encoder", dtype=load_dtype, variant=variant
            )
        ]
        if preset.pipeline == "sdxl":
            tokenizers.append(CLIPTokenizer.from_pretrained(folder / "tokenizer_2"))
            encoders.append(
                CLIPTextModelWithProjection.from_pretrained(
                    folder / "text_encoder_2", dtype=load_dtype, variant=variant
                )
            )
        if unet_weights is None:
            unet = UNet2DConditionModel.from_pretrained(
                folder, subfolder="unet", torch_dtype=load_dtype, variant=variant
            )
        else:
            config = UNet2DConditionModel.load_config(folder, subfolder="unet")
            with torch.device("meta"):
                unet = UNet2DConditionModel.from_config(config)
            unet.load_state_dict(load_file(unet_weights), assign=True)
            unet.to(load_dtype)
        if tiny_vae is None:
            vae = AutoencoderKL.from_pretrained(
                folder, subfolder="vae", torch_dtype=load_dtype, variant=variant
            )
        else:
            vae = load_tiny_decoder(tiny_vae, dtype)
        scheduler_config = dict(
            diffusers.EulerDiscreteScheduler.load_config(folder, subfolder="scheduler")
        )
    except (OSError, KeyError, RuntimeError) as error:
        raise ValueError(
            f"the pipeline in {folder} cannot be loaded ({type(error).__name__}: {error})"
        ) from error
    scheduler_class = getattr(diffusers, str(scheduler_config.get("_class_name")), None)
    if scheduler_class is None:
        raise ValueError(f"{folder}: unknown scheduler {scheduler_config.get('_class_name')!r}")
    scheduler_config.update(preset.scheduler)
    # A text-to-image call only decodes: drop the encoder side.
    vae.encoder = None
    if tiny_vae is None:
        vae.quant_conv = None
    modules: list[nn.Module] = [*encoders, unet, vae]
    for module in modules:
        module.eval()
        module.requires_grad_(False)
        module.to(device)
    if half_storage:
        # The tiny decoder is loaded in the compute dtype already (10 MB): no hooks.
        for module in modules if tiny_vae is None else [*encoders, unet]:
            keep_half_weights(module, dtype)
    _LOGGER.info(
        "Loaded %s from %s on %s (%s%s%s)",
        preset.name,
        folder,
        device,
        str(dtype).removeprefix("torch."),
        ", weights kept in float16" if half_storage else "",
        "" if tiny_vae is None else ", tiny VAE decoder (approximate)",
    )
    return PipelineParts(
        kind=preset.pipeline,
        tokenizers=tokenizers,
        text_encoders=encoders,
        unet=unet,
        vae=vae,
        scheduler_class=scheduler_class,
        scheduler_config=scheduler_config,
        compute_dtype=dtype,
        vae_decoder="full" if tiny_vae is None else "tiny",
    )


def keep_half_weights(model: nn.Module, compute_dtype: torch.dtype) -> None:
    """Run `model` in `compute_dtype` while its parameters stay as stored (float16).

    Every module that holds parameters gets hooks: before its forward its parameters are
    swapped for `compute_dtype` copies, after it the stored ones come back. Float16 to
    float32 is exact, so results equal a float32 model's; memory holds one layer's copy.
    """
    for module in model.modules():
        if any(param is not None for param in module._parameters.values()):
            module.register_forward_pre_hook(_upcast_hook(compute_dtype))
            module.register_forward_hook(_restore_hook)


def _upcast_hook(compute_dtype: torch.dtype) -> Any:
    """Return a forward pre-hook that swaps a module's parameters for upcast copies."""

    def upcast(module: nn.Module, _args: object) -> None:
        stored = dict(module._parameters)
        module.__dict__["_stored_parameters"] = stored
        for name, param in stored.items():
            if param is not None:
                module._parameters[name] = param.to(compute_dtype)  # type: ignore[assignment]

    return upcast


def _restore_hook(module: nn.Module, _args: object, _output: object) -> None:
    """Put a module's stored parameters back after its forward."""
    stored = module.__dict__.pop("_stored_parameters", None)
    if stored is not None:
        module._parameters.update(stored)
