"""`MinDalleGenerator`: prompts and seeds in, images out, through a `GenerationBackend`."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image

from .failures import model_failure
from .interface import (
    DecodeOutcome,
    DecodeRequest,
    GenerationBackend,
    ProgressCallback,
    SamplingSettings,
    decode_one,
)
from .models.loading import DalleModules
from .models.shapes import PAD_TOKEN, TEXT_TOKEN_COUNT
from .png import encode_png
from .text_to_image import MAX_SEED, Capabilities, GenerationRequest, Picture, TextToImage

_LOGGER = logging.getLogger(__name__)

MIN_DALLE_CAPABILITIES = Capabilities(
    family="min-dalle",
    default_size=(256, 256),
    min_side=256,
    max_side=768,
    multiple=256,
    max_pixels=768 * 768,
    grid_sizes=(1, 2, 3),
    sampling=True,
    licence="MIT (min-dalle code and its converted DALL·E Mini/Mega weights)",
)
"""min-dalle paints 256-pixel squares, 1-3 to a side: no size, steps or guidance settings."""


class MinDalleGenerator(TextToImage):
    """min-dalle's tokenizer and networks, generating with the chosen backend.

    Tokenizes exactly as stock `MinDalle.generate_raw_image_stream` does (at most 64 tokens,
    row 0 the unconditional `<s> </s>` prompt, row 1 the prompt, padding 1), then lets the
    backend encode, decode and detokenize. Randomness comes only from a `torch.Generator`
    seeded with the request's seed, so the same request gives the same pixels.
    """

    def __init__(
        self,
        modules: DalleModules,
        backend: GenerationBackend,
        *,
        model_name: str,
        device: torch.device,
        dtype: torch.dtype,
    ) -> None:
        self._modules = modules
        self.backend = backend
        self.model_name = model_name
        self.torch_device = device
        self.device = str(device)
        self.dtype = str(dtype).removeprefix("torch.")
        self.capabilities = MIN_DALLE_CAPABILITIES

    def describe(self) -> dict[str, object]:
        """Return the backend's name and its int8 path (int8_path.py), for /v1/health."""
        return {"backend": self.backend.name, "int8_path": self.backend.int8_path}

    def text_tokens(self, prompt: str) -> torch.Tensor:
        """Return the (2, 64) token rows min-dalle feeds its encoder for `prompt`."""
        tokens = self._modules.tokenizer.tokenize(prompt)
        # As stock: the prompt is cut to 64 tokens, and row 0 takes the first and last of them.
        tokens = tokens[:TEXT_TOKEN_COUNT]
        rows = np.full((2, TEXT_TOKEN_COUNT), PAD_TOKEN, dtype=np.int32)
        rows[0, :2] = [tokens[0], tokens[-1]]
        rows[1, : len(tokens)] = tokens
        return torch.tensor(rows, dtype=torch.long, device=self.torch_device)

    def generate(
        self, request: GenerationRequest, progress: ProgressCallback | None = None
    ) -> Image.Image:
        """Return the RGB image (256*grid_size square) for `request`; blocking."""
        started = time.monotonic()
        with torch.inference_mode():
            image = self._image(decode_one(self.backend, self.decode_request(request, progress)))
        _LOGGER.debug(
            "Generated %dx%d (seed %d, %s backend) in %.2f s",
            request.grid_size,
            request.grid_size,
            request.seed,
            self.backend.name,
            time.monotonic() - started,
        )
        return image

    def can_batch(self, requests: Sequence[GenerationRequest]) -> bool:
        """Whether the backend decodes these requests as one batch (exact ones where proven)."""
        planner = self.backend.planner
        return (
            len(requests) > 1
            and planner is not None
            and planner.can_join([request.grid_size**2 for request in requests])
        )

    def generate_batch(
        self,
        requests: Sequence[GenerationRequest],
        progress: Sequence[ProgressCallback | None],
    ) -> list[Image.Image | Exception]:
        """Generate requests `can_batch` accepted, decoding them as one batch; blocking.

        Each request keeps its own seed, settings and progress callback; a request whose
        callback raises (its client left) gets that exception in its place.
        """
        if not self.can_batch(requests):
            raise ValueError("these requests cannot be decoded as one batch")
        started = time.monotonic()
        images = self._images(requests, progress)
        _LOGGER.debug(
            "Generated %d requests as one batch (%s backend) in %.2f s",
            len(requests),
            self.backend.name,
            time.monotonic() - started,
        )
        return images

    def generate_pngs(
        self,
        requests: Sequence[GenerationRequest],
        progress: Sequence[ProgressCallback | None],
    ) -> list[Picture | Exception]:
        """Generate one turn as PNG (see `TextToImage`); model errors as ModelFailedError."""
        started = time.monotonic()
        try:
            if len(requests) == 1:
                images = self._images(requests, progress)
                _LOGGER.debug(
                    "Generated %dx%d (seed %d, %s backend) in %.2f s",
                    requests[0].grid_size,
                    requests[0].grid_size,
                    requests[0].seed,
                    self.backend.name,
                    time.monotonic() - started,
                )
            else:
                images = self.generate_batch(requests, progress)
            return [
                image
                if isinstance(image, Exception)
                else Picture(png=encode_png(image), width=image.width, height=image.height)
                for image in images
            ]
        except Exception as error:
            raise model_failure(error) from error

    def decode_request(
        self, request: GenerationRequest, progress: ProgressCallback | None = None
    ) -> DecodeRequest:
        """Tokenize and encode a request: everything its decoding needs."""
        if not 0 <= request.seed <= MAX_SEED:
            raise ValueError(f"seed must be 0..{MAX_SEED}, not {request.seed}")
        text_tokens = self.text_tokens(request.prompt)
        return DecodeRequest(
            text_tokens=text_tokens,
            encoder_state=self.backend.encode(text_tokens),
            image_count=request.grid_size**2,
            settings=SamplingSettings(
                temperature=request.temperature,
                top_k=request.top_k,
                supercondition_factor=request.supercondition_factor,
            ),
            generator=torch.Generator(device=self.torch_device).manual_seed(request.seed),
            progress=progress,
        )

    def _images(
        self,
        requests: Sequence[GenerationRequest],
        progress: Sequence[ProgressCallback | None],
    ) -> list[Image.Image | Exception]:
        """Decode requests with one backend call; each one's image, or its callback's error."""
        with torch.inference_mode():
            decodes = [
                self.decode_request(request, callback)
                for request, callback in zip(requests, progress, strict=True)
            ]
            outcomes: list[DecodeOutcome] = self.backend.decode(decodes)
            return [
                outcome if isinstance(outcome, Exception) else self._image(outcome)
                for outcome in outcomes
            ]

    def _image(self, image_tokens: torch.Tensor) -> Image.Image:
        """Detokenize image tokens into one RGB grid image."""
        grid = self.backend.detokenize(image_tokens)
        return Image.fromarray(grid.to(torch.uint8).to("cpu").numpy())
