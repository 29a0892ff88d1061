"""`DiffusionGenerator`: prompts and seeds in, pictures out, through a few-step diffusers UNet.

It runs the same arithmetic as a stock `StableDiffusionPipeline` / `StableDiffusionXLPipeline`
call without classifier-free guidance (the presets' distilled models use none), in the same
order and with the same random draws, so the same seed gives the stock pipeline's pixels;
it skips what such a call never needs (the VAE encoder, the safety checker, the pipeline
object) and runs under `torch.inference_mode`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image

from ..failures import model_failure
from ..interface import ProgressCallback
from ..png import encode_png
from ..text_to_image import (
    MAX_SEED,
    GenerationRequest,
    Picture,
    TextToImage,
    painted_size,
)
from .components import PipelineParts
from .presets import DiffusionPreset
from .tiny_vae import describe_vae_decoder

_LOGGER = logging.getLogger(__name__)


class DiffusionGenerator(TextToImage):
    """A loaded diffusion preset; blocking methods, call them from a worker thread."""

    def __init__(
        self,
        parts: PipelineParts,
        preset: DiffusionPreset,
        *,
        device: torch.device,
        batching: bool,
        weights: str = "as loaded",
    ) -> None:
        self.parts = parts
        self.preset = preset
        self.model_name = preset.name
        self.torch_device = device
        self.device = str(device)
        self.dtype = str(parts.compute_dtype).removeprefix("torch.")
        self.capabilities = preset.capabilities
        self.batching = batching
        """Whether waiting requests of one size and step count run as one batch."""
        self._weights = weights

    def describe(self) -> dict[str, object]:
        """Return how the model runs, for /v1/health."""
        return {
            "pipeline": self.preset.pipeline,
            "weights": self._weights,
            "batching": self.batching,
            "vae_decoder": describe_vae_decoder(self.parts.vae_decoder),
        }

    def painted_size(self, request: GenerationRequest) -> tuple[int, int]:
        """Return the (width, height) this model paints for `request`."""
        return painted_size(self.capabilities, request.width, request.height, request.grid_size)

    def steps_of(self, request: GenerationRequest) -> int:
        """Return the denoising steps of `request` (the model's default when it gives none)."""
        steps = self.capabilities.steps
        if request.steps is not None:
            return request.steps
        return 1 if steps is None else steps.default

    def can_batch(self, requests: Sequence[GenerationRequest]) -> bool:
        """Whether these requests run as one batch: batching on, same size and steps."""
        if not self.batching or len(requests) < 2:
            return False
        shapes = {(self.painted_size(request), self.steps_of(request)) for request in requests}
        return len(shapes) == 1

    def generate_pngs(
        self,
        requests: Sequence[GenerationRequest],
        progress: Sequence[ProgressCallback | None],
    ) -> list[Picture | Exception]:
        """Generate one turn as PNG (see `TextToImage`); model errors as ModelFailedError."""
        if len(requests) > 1 and not self.can_batch(requests):
            raise ValueError("these requests cannot run as one batch")
        started = time.monotonic()
        try:
            images = self.generate_images(requests, progress)
        except Exception as error:
            raise model_failure(error) from error
        _LOGGER.debug(
            "Generated %d picture(s) with %s in %.2f s",
            len(requests),
            self.model_name,
            time.monotonic() - started,
        )
        return [
            image
            if isinstance(image, Exception)
            else Picture(png=encode_png(image), width=image.width, height=image.height)
            for image in images
        ]

    def generate_images(
        self,
        requests: Sequence[GenerationRequest],
        progress: Sequence[ProgressCallback | None],
    ) -> list[Image.Image | Exception]:
        """Run requests of one size and step count as one batch; each image or its error."""
        for request in requests:
            if not 0 <= request.seed <= MAX_SEED:
                raise ValueError(f"seed must be 0..{MAX_SEED}, not {request.seed}")
        width, height = self.painted_size(requests[0])
        steps = self.steps_of(requests[0])
        outcomes: list[Image.Image | Exception | None] = [None] * len(requests)
        with torch.inference_mode():
            latents, alive = self._denoise(requests, progress, width, height, steps, outcomes)
            if alive:
                for index, image in zip(alive, self._decode(latents), strict=True):
                    outcomes[index] = image
        finished = [outcome for outcome in outcomes if outcome is not None]
        if len(finished) != len(requests):
            raise RuntimeError("a request of the batch got neither a picture nor an error")
        return finished

    def _denoise(
        self,
        requests: Sequence[GenerationRequest],
        progress: Sequence[ProgressCallback | None],
        width: int,
        height: int,
        steps: int,
        outcomes: list[Image.Image | Exception | None],
    ) -> tuple[torch.Tensor, list[int]]:
        """Denoise the batch's latents; drop a request whose callback raised (its client left)."""
        from diffusers.utils.torch_utils import randn_tensor

        parts = self.parts
        device = self.torch_device
        embeds, added = self._encode([request.prompt for request in requests], width, height)
        generators = [torch.Generator(device=device).manual_seed(r.seed) for r in requests]
        scheduler = parts.scheduler_class.from_config(parts.scheduler_config)
        scheduler.set_timesteps(steps, device=device)
        scale = 2 ** (len(parts.vae.config.block_out_channels) - 1)
        shape = (len(requests), parts.unet.config.in_channels, height // scale, width // scale)
        latents = randn_tensor(shape, generator=generators, device=device, dtype=embeds.dtype)
        latents = latents * scheduler.init_noise_sigma
        alive = list(range(len(requests)))
        for step, timestep in enumerate(scheduler.timesteps):
            model_input = scheduler.scale_model_input(latents, timestep)
            noise = parts.unet(
                model_input,
                timestep,
                encoder_hidden_states=embeds,
                timestep_cond=None,
                cross_attention_kwargs=None,
                added_cond_kwargs=added,
                return_dict=False,
            )[0]
            latents = scheduler.step(
                noise, timestep, latents, generator=generators, return_dict=False
            )[0]
            keep = []
            for row, index in enumerate(alive):
                callback = progress[index]
                try:
                    if callback is not None:
                        callback(step + 1, steps)
                except Exception as error:  # the callback's own way to cancel
                    outcomes[index] = error
                else:
                    keep.append(row)
            if len(keep) < len(alive):
                if not keep:
                    return latents[:0], []
                rows = torch.tensor(keep, device=device)
                latents, embeds = latents[rows], embeds[rows]
                added = None if added is None else {k: v[rows] for k, v in added.items()}
                generators = [generators[row] for row in keep]
                alive = [alive[row] for row in keep]
        return latents, alive

    def _encode(
        self, prompts: list[str], width: int, height: int
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor] | None]:
        """Return the prompts' text embeddings (and SDXL's pooled embeddings and size ids)."""
        parts = self.parts
        device = self.torch_device
        if parts.kind == "sd":
            (tokenizer,), (encoder,) = parts.tokenizers, parts.text_encoders
            ids = self._token_ids(tokenizer, prompts)
            embeds = encoder(ids, attention_mask=None)[0]
            return embeds.to(dtype=parts.compute_dtype, device=device), None
        hidden: list[torch.Tensor] = []
        pooled: torch.Tensor | None = None
        for tokenizer, encoder in zip(parts.tokenizers, parts.text_encoders, strict=True):
            output = encoder(self._token_ids(tokenizer, prompts), output_hidden_states=True)
            if output[0].ndim == 2:
                pooled = output[0]
            hidden.append(output.hidden_states[-2])
        if pooled is None:
            raise ValueError("the second text encoder gave no pooled embedding")
        embeds = torch.concat(hidden, dim=-1).to(dtype=parts.compute_dtype, device=device)
        # original size, crop's top-left corner, target size: as the stock pipeline's defaults
        time_ids = torch.tensor([[height, width, 0, 0, height, width]], dtype=embeds.dtype)
        added = {
            "text_embeds": pooled.to(device),
            "time_ids": time_ids.to(device).repeat(len(prompts), 1),
        }
        return embeds, added

    def _token_ids(self, tokenizer: Any, prompts: list[str]) -> torch.Tensor:
        """Tokenize as the stock pipelines do: padded to the model's length, cut beyond it."""
        return tokenizer(
            prompts,
            padding="max_length",
            max_length=tokenizer.model_max_length,
            truncation=True,
            return_tensors="pt",
        ).input_ids.to(self.torch_device)

    def _decode(self, latents: torch.Tensor) -> list[Image.Image]:
        """Decode latents to RGB pictures as the stock pipeline's "pil" output does.

        The same for both decoders: AutoencoderKL divides by its scaling factor, TAESD's is
        1.0 (it decodes the UNet's latents as they are); both give pixels in [-1, 1].
        """
        vae = self.parts.vae
        upcast = vae.dtype == torch.float16 and bool(getattr(vae.config, "force_upcast", False))
        if upcast and self.torch_device.type == "cuda":
            # SDXL's VAE overflows in float16: the stock pipeline decodes it in float32.
            vae.to(torch.float32)
            latents = latents.to(torch.float32)
        try:
            pixels = vae.decode(latents / vae.config.scaling_factor, return_dict=False)[0]
        finally:
            if upcast and self.torch_device.type == "cuda":
                vae.to(torch.float16)
        pixels = (pixels / 2 + 0.5).clamp(0, 1)
        array = pixels.cpu().permute(0, 2, 3, 1).float().numpy()
        return [Image.fromarray(row) for row in (array * 255).round().astype(np.uint8)]
