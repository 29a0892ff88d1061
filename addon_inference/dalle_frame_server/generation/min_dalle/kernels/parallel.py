"""All cores for the decoder's few-row GEMMs: column blocks as one batched GEMM, the same bits.

For a 1-image request every decoder GEMM has 2 rows. MKL runs such a GEMM on one thread (on
the 2-core EPYC it streams weights at ~8.6 GB/s, a third of what the memory delivers), so the
other cores idle through the step. `ColumnSplitter` views a (out, in) weight as equal blocks of
output columns, (blocks, out / blocks, in), and runs them as one `torch.bmm` against the same
input: torch spreads the blocks over its threads, with no Python thread hand-off per GEMM.

Each output element is still one dot product computed by the same kernel, so the result is
bit-identical where the check confirms it, per weight shape and row count (blocks hold a
multiple of 16 columns, MKL's column blocking; on that machine the last `out % 16` columns of a
GEMM come from MKL's remainder kernel and differ in the last bit when computed inside a block,
so they come from a GEMM of their own over those columns and the 16 before them, where they
are the remainder again: a GEMM of the remainder columns alone can take yet another path, e.g.
the image-token head's one odd column at 2 rows, a matrix-vector product that never matched,
so the head, a fifth of the step, ran on one thread). Measured there on the mini decoder's
projections (all 12 layers, `bench/min_dalle` shapes): 2 rows 91 -> 46 ms, 8 rows 79 -> 52
ms, 18 rows 109 -> 82 ms. A shape and row count whose check fails runs as a plain `F.linear`.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Final

import torch
import torch.nn.functional as F

_LOGGER = logging.getLogger(__name__)

COLUMN_ALIGNMENT: Final = 16
"""Every block holds a multiple of this many output columns."""

BLOCKS_PER_THREAD: Final = 4
"""Blocks per torch thread (on 2 cores: 2 blocks 61 ms, 8 blocks 46 ms, 16 blocks 47 ms)."""

CHECK_TRIALS: Final = 2
"""Random inputs compared bit for bit before a (shape, rows) pair is split."""


@dataclass(frozen=True, slots=True)
class ColumnBlocks:
    """A weight seen as equal column blocks plus the columns that stay out of them."""

    weight: torch.Tensor
    """The whole (out, in) weight (the plain `F.linear` fallback)."""
    blocks: torch.Tensor
    """(blocks, columns per block, in): a view of the weight's first rows."""
    rest: torch.Tensor | None
    """(16 + out % 16, in): the last rows and the 16 before them, a GEMM of their own whose last
    `out % 16` columns are kept; None when `out` is a multiple of 16."""


def block_count(columns: int, target: int) -> int:
    """Blocks of a multiple of 16 columns dividing `columns` nearest `target` (0: none)."""
    units = columns // COLUMN_ALIGNMENT
    candidates = [count for count in range(2, units + 1) if units % count == 0]
    if not candidates:
        return 0
    return min(candidates, key=lambda count: abs(math.log(count / target)))


class ColumnSplitter:
    """Runs bias-free linears as column blocks of one batched GEMM, where that is exact."""

    def __init__(self, threads: int, blocks_per_thread: int = BLOCKS_PER_THREAD) -> None:
        if threads < 2:
            raise ValueError(f"a column split needs at least 2 threads, not {threads}")
        self.target_blocks = threads * blocks_per_thread
        self._verdicts: dict[tuple[int, int, int, int, torch.dtype, torch.device], bool] = {}

    def blocks(self, weight: torch.Tensor) -> ColumnBlocks | None:
        """Return `weight` seen as column blocks (views), or None when it is too narrow."""
        count, inputs = weight.shape
        blocks = block_count(count, self.target_blocks)
        if blocks == 0 or not weight.is_contiguous():
            return None
        blocked = blocks * ((count // COLUMN_ALIGNMENT) // blocks) * COLUMN_ALIGNMENT
        return ColumnBlocks(
            weight=weight,
            blocks=weight[:blocked].view(blocks, blocked // blocks, inputs),
            rest=weight[blocked - COLUMN_ALIGNMENT :] if blocked < count else None,
        )

    def linear(self, x: torch.Tensor, blocks: ColumnBlocks) -> torch.Tensor:
        """`F.linear(x, weight)` from its column blocks where checked exact, else plainly.

        The row count is made a Python int: while a step is traced (kernels/traced_step.py)
        sizes come as tensors, which would miss the verdicts made by the eager step before
        (and record their checks in the trace).
        """
        if not self.is_exact(blocks, int(x.numel() // x.shape[-1])):
            return F.linear(x, blocks.weight)
        return split_linear(x, blocks)

    def is_exact(self, blocks: ColumnBlocks, rows: int) -> bool:
        """Whether the split gives `F.linear`'s bits at `rows` rows (checked once per shape).

        Checked again when torch's thread count changes (BLAS may pick other kernels then).
        """
        weight = blocks.weight
        shape = (int(weight.shape[0]), int(weight.shape[1]))  # ints while traced, too
        key = (rows, torch.get_num_threads(), *shape, weight.dtype, weight.device)
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = self._verdicts[key] = split_is_exact(blocks, rows)
            _LOGGER.debug(
                "Column split of %dx%d GEMMs at %d rows into %d blocks: %s",
                *weight.shape,
                rows,
                blocks.blocks.shape[0],
                "exact" if verdict else "not exact, not used",
            )
        return verdict


def split_linear(x: torch.Tensor, blocks: ColumnBlocks) -> torch.Tensor:
    """`F.linear(x, weight)` computed as one `bmm` over the column blocks (and the rest)."""
    inputs = x.shape[-1]
    flat = x.reshape(-1, inputs)
    rows = flat.shape[0]
    count, per_block, _ = blocks.blocks.shape
    output = torch.bmm(flat.expand(count, rows, inputs), blocks.blocks.transpose(1, 2))
    output = output.transpose(0, 1).reshape(rows, count * per_block)
    if blocks.rest is not None:
        tail = F.linear(flat, blocks.rest)[:, COLUMN_ALIGNMENT:]
        output = torch.cat([output, tail], dim=1)
    return output.view(*x.shape[:-1], blocks.weight.shape[0])


def split_is_exact(blocks: ColumnBlocks, rows: int, *, seed: int = 0) -> bool:
    """Compare the split with `F.linear` on random (rows, 1, in) inputs, bit for bit.

    The outcome depends only on the shapes: BLAS picks its kernel (and so its summation order)
    from them, not from the values.
    """
    weight = blocks.weight
    generator = torch.Generator(device="cpu").manual_seed(seed)
    for _ in range(CHECK_TRIALS):
        x = torch.randn(rows, 1, weight.shape[1], generator=generator)
        x = x.to(device=weight.device, dtype=weight.dtype)
        if not torch.equal(split_linear(x, blocks), F.linear(x, weight)):
            return False
    return True
