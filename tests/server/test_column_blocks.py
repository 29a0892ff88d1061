"""Column blocks of one batched GEMM (kernels/parallel.py): `F.linear`'s bits, or no split."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from dalle_frame_server.generation.min_dalle.kernels import parallel
from dalle_frame_server.generation.min_dalle.kernels.linear import DenseProjection
from dalle_frame_server.generation.min_dalle.kernels.parallel import (
    ColumnSplitter,
    block_count,
    split_is_exact,
    split_linear,
)


@pytest.mark.parametrize(
    ("columns", "target", "expected"),
    [(1024, 8, 8), (3072, 8, 8), (2730, 8, 10), (16416, 8, 9), (16, 8, 0), (40, 8, 2)],
)
def test_block_count_picks_16_column_multiples_near_the_target(
    columns: int, target: int, expected: int
) -> None:
    """Blocks divide the 16-aligned columns evenly; too narrow a weight is not split."""
    assert block_count(columns, target) == expected
    if expected:
        assert (columns // 16) % expected == 0


@pytest.mark.parametrize(("out", "inputs"), [(1024, 256), (2730, 1024), (200, 2730), (16385, 64)])
@pytest.mark.parametrize("rows", [2, 8, 18])
def test_split_equals_linear_where_the_check_says_so(out: int, inputs: int, rows: int) -> None:
    """Blocks are views of the weight (no copy); the split result has F.linear's shape and,
    where the check passes, its exact bits; elsewhere the splitter falls back to F.linear."""
    generator = torch.Generator().manual_seed(out + rows)
    weight = torch.randn(out, inputs, generator=generator)
    splitter = ColumnSplitter(2)
    blocks = splitter.blocks(weight)
    assert blocks is not None
    assert blocks.blocks.data_ptr() == weight.data_ptr()
    blocked = blocks.blocks.shape[0] * blocks.blocks.shape[1]
    if out % 16:
        # The remainder columns come from a GEMM over them and the 16 columns before them.
        assert blocks.rest is not None
        assert blocks.rest.shape[0] == 16 + out % 16
        assert blocked + out % 16 == out
        assert blocks.rest.data_ptr() == weight[blocked - 16].data_ptr()
    else:
        assert blocks.rest is None
        assert blocked == out
    x = torch.randn(rows, 1, inputs, generator=generator)
    expected = F.linear(x, weight)
    split = split_linear(x, blocks)
    assert split.shape == expected.shape
    torch.testing.assert_close(split, expected, rtol=1e-5, atol=1e-4)  # other kernels' order
    if split_is_exact(blocks, rows):
        assert torch.equal(splitter.linear(x, blocks), expected)
    assert torch.equal(DenseProjection(weight, splitter)(x), expected)


def test_a_split_that_changes_bits_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """When the check finds other bits, the projection runs plain F.linear (checked once)."""
    calls: list[int] = []

    def never_exact(blocks: parallel.ColumnBlocks, rows: int, *, seed: int = 0) -> bool:
        calls.append(rows)
        return False

    def must_not_run(x: torch.Tensor, blocks: parallel.ColumnBlocks) -> torch.Tensor:
        raise AssertionError("the split ran although it was found inexact")

    weight = torch.randn(512, 64)
    splitter = ColumnSplitter(2)
    blocks = splitter.blocks(weight)
    assert blocks is not None
    monkeypatch.setattr(parallel, "split_is_exact", never_exact)
    monkeypatch.setattr(parallel, "split_linear", must_not_run)
    x = torch.randn(2, 1, 64)
    for _ in range(3):
        assert torch.equal(splitter.linear(x, blocks), F.linear(x, weight))
    assert calls == [2]


def test_narrow_or_strided_weights_are_not_split() -> None:
    """Fewer than 32 columns, or a weight that is not contiguous, stay a plain GEMM."""
    splitter = ColumnSplitter(2)
    assert splitter.blocks(torch.randn(16, 64)) is None
    assert splitter.blocks(torch.randn(64, 512).t()) is None


def test_a_splitter_needs_two_threads() -> None:
    """One thread has nothing to spread the blocks over."""
    with pytest.raises(ValueError, match="at least 2 threads"):
        ColumnSplitter(1)
