"""Decoding several requests as one batch, and knowing when that keeps every image exact.

A batch puts the unconditional rows of every request first, then their prompt rows, exactly as
stock min-dalle lays out the images of one grid. Whether each request's rows then come out of
the batched GEMMs with the same bits as when the request runs alone depends on the BLAS kernels
chosen for the two row counts (with MKL on a 2-core EPYC, 2 rows and 4+ rows use different
kernels: a 1-image request cannot join another exactly, but 4- and 9-image grids can).
`BatchPlanner` checks it on this machine, once per combination of request sizes, by running
one real decoder step both ways on random inputs and comparing the logits bit for bit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import torch

from .interface import DecodeRequest

_LOGGER = logging.getLogger(__name__)


def batch_rows(requests: Sequence[DecodeRequest]) -> tuple[torch.Tensor, torch.Tensor]:
    """Expand requests into decoder rows: every request's unconditional rows, then its prompt rows.

    Returns (rows, 64) text tokens and (rows, 64, embed) encoder states; for one request this is
    stock min-dalle's `[0] * n + [1] * n` expansion.
    """
    order = [(request, 0) for request in requests] + [(request, 1) for request in requests]
    text = torch.cat([request.text_tokens[[row] * request.image_count] for request, row in order])
    state = torch.cat(
        [request.encoder_state[[row] * request.image_count] for request, row in order]
    )
    return text, state


StepProbe = Callable[[Sequence[int]], bool]
"""Given image counts, whether decoding them together gives each the logits it gets alone."""


class BatchPlanner:
    """Splits requests into batches; in exact mode only into batches proven to keep the bits."""

    def __init__(self, probe: StepProbe, *, exact: bool, max_images: int) -> None:
        self._probe = probe
        self.exact = exact
        self.max_images = max_images
        self._verdicts: dict[tuple[int, ...], bool] = {}

    def can_join(self, image_counts: Sequence[int]) -> bool:
        """Whether requests of these image counts may decode as one batch."""
        key = tuple(image_counts)
        if len(key) == 1:
            return True
        if sum(key) > self.max_images:
            return False
        if not self.exact:
            return True
        if key not in self._verdicts:
            self._verdicts[key] = self._probe(key)
            _LOGGER.debug(
                "Batching requests of %s images together %s exact on this machine",
                "+".join(map(str, key)),
                "is" if self._verdicts[key] else "is not",
            )
        return self._verdicts[key]

    def batches(self, requests: Sequence[DecodeRequest]) -> list[list[int]]:
        """Group request positions into batches, first fit, keeping the requests' order inside."""
        batches: list[list[int]] = []
        for position, request in enumerate(requests):
            for batch in batches:
                counts = [requests[member].image_count for member in batch]
                if self.can_join([*counts, request.image_count]):
                    batch.append(position)
                    break
            else:
                batches.append([position])
        return batches
