"""The `reference` backend: stock min-dalle's arithmetic step for step, seeded locally.

Encoding, the 256 decoder steps, the sampling and the detokenizer run exactly as min-dalle
0.4.11's `MinDalle.generate_raw_image_stream` and `DalleBartDecoder.sample_tokens` run them
(same modules, same einsum attention, same autocast), with one difference: the image tokens
are drawn by `torch.multinomial(..., generator=generator)` from the request's own
`torch.Generator` instead of torch's global RNG. Seeded with the same seed, a fresh generator
yields the same random stream `torch.manual_seed` gives the global one, so for seed > 0 the
images equal stock min-dalle's pixel for pixel.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import torch

from ..batching import BatchPlanner
from ..interface import DecodeOutcome, DecodeRequest
from ..models.loading import DalleModules
from ..models.shapes import IMAGE_TOKEN_COUNT, IMAGE_VOCAB_USED, PAD_TOKEN, START_TOKEN


class ReferenceBackend:
    """Stock min-dalle's encode, decode and detokenize over loaded modules (see module doc)."""

    name = "reference"
    exact = True
    int8_path: str | None = None
    planner: BatchPlanner | None = None
    """Never batches: stock decodes one request at a time."""

    def __init__(self, modules: DalleModules) -> None:
        self._modules = modules
        parameter = next(modules.decoder.parameters())
        self.device = parameter.device
        self.dtype = parameter.dtype

    def encode(self, text_tokens: torch.Tensor) -> torch.Tensor:
        """Encode (2, 64) text tokens (row 0 unconditional, row 1 the prompt)."""
        with self._autocast():
            return self._modules.encoder.forward(text_tokens)

    def decode(self, requests: Sequence[DecodeRequest]) -> list[DecodeOutcome]:
        """Draw each request's image tokens, one request after another (see the module doc)."""
        return [self._decode_one(request) for request in requests]

    def _decode_one(self, request: DecodeRequest) -> DecodeOutcome:
        """Draw (image_count, 256) image tokens, randomness only from the request's generator.

        Stops at the step whose progress callback raises, and returns that exception.
        """
        image_count, settings = request.image_count, request.settings
        decoder = self._modules.decoder
        text_tokens, encoder_state = request.text_tokens, request.encoder_state
        with self._autocast():
            expanded_indices = [0] * image_count + [1] * image_count
            text_tokens = text_tokens[expanded_indices]
            encoder_state = encoder_state[expanded_indices]
            attention_mask = text_tokens.not_equal(PAD_TOKEN)[:, None, None, :]
            attention_state = torch.zeros(
                size=(
                    decoder.layer_count,
                    image_count * 4,
                    IMAGE_TOKEN_COUNT,
                    decoder.embed_count,
                ),
                device=self.device,
            )
            image_tokens = torch.full(
                (image_count, IMAGE_TOKEN_COUNT + 1),
                START_TOKEN,
                dtype=torch.long,
                device=self.device,
            )
        token_indices = torch.arange(IMAGE_TOKEN_COUNT, device=self.device)
        sampling = torch.tensor(
            [settings.temperature, settings.top_k, settings.supercondition_factor],
            dtype=torch.float32,
            device=self.device,
        )
        for i in range(IMAGE_TOKEN_COUNT):
            with self._autocast():
                image_tokens[:, i + 1], attention_state = self._sample_tokens(
                    sampling,
                    request.generator,
                    attention_mask=attention_mask,
                    encoder_state=encoder_state,
                    attention_state=attention_state,
                    prev_tokens=image_tokens[:, [i]],
                    token_index=token_indices[[i]],
                )
            if request.progress is not None:
                try:
                    request.progress(i + 1, IMAGE_TOKEN_COUNT)
                except Exception as error:  # the callback's way of saying "stop" (client left)
                    return error
        return image_tokens[:, 1:]

    def detokenize(self, image_tokens: torch.Tensor) -> torch.Tensor:
        """Turn (image_count, 256) tokens into a float (256*g, 256*g, 3) grid in 0..255."""
        return self._modules.detokenizer.forward(False, image_tokens)

    def _sample_tokens(
        self,
        sampling: torch.Tensor,
        generator: torch.Generator,
        **decoder_inputs: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One decoder step and min-dalle's sampling, drawing from `generator`."""
        logits, attention_state = self._modules.decoder.forward(**decoder_inputs)
        image_count = logits.shape[0] // 2
        temperature = sampling[[0]]
        top_k = sampling[[1]].to(torch.long)
        supercondition_factor = sampling[[2]]
        logits = logits[:, -1, :IMAGE_VOCAB_USED]
        logits = (
            logits[:image_count] * (1 - supercondition_factor)
            + logits[image_count:] * supercondition_factor
        )
        logits_sorted, _ = logits.sort(descending=True)
        is_kept = logits >= logits_sorted[:, top_k - 1]
        logits -= logits_sorted[:, [0]]
        logits /= temperature
        logits.exp_()
        logits *= is_kept.to(torch.float32)
        image_tokens = torch.multinomial(logits, 1, generator=generator)[:, 0]
        return image_tokens, attention_state

    def _autocast(self) -> contextlib.AbstractContextManager[object]:
        """min-dalle's `torch.cuda.amp.autocast(dtype)`: active only for half dtypes on CUDA."""
        enabled = self.device.type == "cuda" and self.dtype != torch.float32
        return torch.autocast("cuda", dtype=self.dtype, enabled=enabled)
