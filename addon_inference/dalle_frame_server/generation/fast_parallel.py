"""All cores for the decoder's one-image GEMMs: column blocks on threads, the same bits.

For a 1-image request every decoder GEMM has 2 rows. MKL runs such a GEMM on one thread (on
the 2-core EPYC it streams weights at ~8.6 GB/s, a third of what the memory delivers), so the
other cores idle through the step. `ColumnSplitter` computes the output columns in blocks,
one per thread. Each output element is still one dot product computed by the same kernel, so
the result is bit-identical where `stacking_is_exact` confirms it for the split (blocks start
at multiples of 16 columns, MKL's column blocking; on that machine a split at column 1365 of
2730 changed bits, one at 1376 did not). Measured on the 2-core EPYC, mini decoder step at 2
rows: 118 ms -> 84 ms. With 8 or more rows MKL threads the GEMM itself; no split there.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Final

import torch
import torch.nn.functional as F

from .fast_linear import stacking_is_exact

_LOGGER = logging.getLogger(__name__)

COLUMN_ALIGNMENT: Final = 16
"""Every block starts at a multiple of this many output columns."""

SPLIT_ROWS: Final = frozenset({2})
"""Row counts whose GEMMs are split: the 1-image batch, which MKL runs on one thread."""


def _linear(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """`F.linear` on a helper thread (inference mode is per thread)."""
    with torch.inference_mode():
        return F.linear(x, weight)


class ColumnSplitter:
    """Runs bias-free linears as column blocks on `parts` threads, where that is exact."""

    def __init__(self, parts: int, rows: Iterable[int] = SPLIT_ROWS) -> None:
        if parts < 2:
            raise ValueError(f"a column split needs at least 2 parts, not {parts}")
        self.parts = parts
        self.rows = frozenset(rows)
        self._pool = ThreadPoolExecutor(max_workers=parts - 1, thread_name_prefix="dalle-gemm")
        self._verdicts: dict[tuple[int, int, torch.dtype, torch.device], bool] = {}

    def blocks(self, weight: torch.Tensor) -> tuple[torch.Tensor, ...] | None:
        """Return views of `weight`'s row blocks, or None when splitting would change a bit."""
        count, inputs = weight.shape
        step = -(-count // self.parts // COLUMN_ALIGNMENT) * COLUMN_ALIGNMENT
        cuts = list(range(step, count, step))[: self.parts - 1]
        if not cuts:
            return None
        bounds = [0, *cuts, count]
        blocks = tuple(weight[start:end] for start, end in itertools.pairwise(bounds))
        key = (count, inputs, weight.dtype, weight.device)
        if key not in self._verdicts:
            with torch.inference_mode():
                self._verdicts[key] = stacking_is_exact(list(blocks), sorted(self.rows))
            _LOGGER.debug(
                "%d-thread column split of %dx%d GEMMs: %s",
                len(blocks),
                count,
                inputs,
                "exact" if self._verdicts[key] else "not exact, not used",
            )
        return blocks if self._verdicts[key] else None

    def linear(self, x: torch.Tensor, blocks: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """`F.linear(x, weight)` from its blocks, all but the first on helper threads."""
        others = [self._pool.submit(_linear, x, block) for block in blocks[1:]]
        first = F.linear(x, blocks[0])
        return torch.cat([first, *(other.result() for other in others)], dim=-1)

    def close(self) -> None:
        """Stop the helper threads."""
        self._pool.shutdown(wait=False)
