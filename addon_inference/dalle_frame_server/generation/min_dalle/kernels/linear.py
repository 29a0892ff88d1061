"""Linear projections for the fast backends: plain, stacked into one GEMM, and the exactness probe.

Stacking the weights of projections that read the same input (q|k|v, GLU fc0|fc1) turns two or
three GEMMs into one. Whether the stacked GEMM gives bit-identical columns depends on the BLAS
kernel the library picks for the shapes (on one 2-core EPYC with MKL, q|k|v at 2 rows is
identical but fc0|fc1 is not), so `check_stacking` checks it on this machine, for the row
counts in use, and the callers fall back to one GEMM per part when it is not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import torch
import torch.nn.functional as F
from torch import nn

if TYPE_CHECKING:
    from .parallel import ColumnSplitter


class Projection(Protocol):
    """A linear map without bias: (..., in) -> (..., out)."""

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the projection."""


class DenseProjection:
    """`F.linear(x, weight)`: the arithmetic of a bias-free `nn.Linear`.

    With a `ColumnSplitter` (kernels/parallel.py), the GEMM runs as column blocks of one batched
    GEMM on all torch threads, at the row counts where that was checked to give the same bits.
    """

    __slots__ = ("blocks", "splitter", "weight")

    def __init__(self, weight: torch.Tensor, splitter: ColumnSplitter | None = None) -> None:
        self.weight = weight
        self.splitter = splitter
        self.blocks = splitter.blocks(weight) if splitter is not None else None

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the projection."""
        if self.blocks is not None:
            return self.splitter.linear(x, self.blocks)  # type: ignore[union-attr]
        return F.linear(x, self.weight)


class ProjectionGroup:
    """Projections of one input: one GEMM over stacked weights, or one GEMM per part.

    `stacked` maps to the concatenation of every part's output; `parts` (optional) computes them
    one by one. Calling with `stacked=True` splits the stacked output into views.
    """

    __slots__ = ("parts", "sizes", "stacked")

    def __init__(
        self,
        stacked: Projection,
        sizes: Sequence[int],
        parts: Sequence[Projection] | None = None,
    ) -> None:
        self.stacked = stacked
        self.sizes = tuple(sizes)
        self.parts = tuple(parts) if parts is not None else None

    def __call__(self, x: torch.Tensor, *, stacked: bool) -> tuple[torch.Tensor, ...]:
        """Return each part's output (views into one tensor when `stacked`)."""
        if stacked or self.parts is None:
            return self.stacked(x).split(self.sizes, dim=-1)
        return tuple(part(x) for part in self.parts)


def stack_linear_weights(linears: Sequence[nn.Linear]) -> torch.Tensor:
    """Concatenate bias-free linears' weights and make each module's weight a view of the result.

    Memory-neutral: the modules keep working (same values, same contiguous row-major layout),
    and their old weight tensors are released. Returns the stacked (sum of outs, in) weight.
    """
    if any(linear.bias is not None for linear in linears):
        raise ValueError("only bias-free linear layers can be stacked")
    stacked = torch.cat([linear.weight.detach() for linear in linears])
    start = 0
    for linear in linears:
        rows = linear.weight.shape[0]
        linear.weight = nn.Parameter(stacked[start : start + rows], requires_grad=False)
        start += rows
    return stacked


@dataclass(frozen=True)
class StackingCheck:
    """Per row count: whether a stacked GEMM and GEMMs over views of it match standalone parts."""

    stacked_exact: dict[int, bool]
    """One GEMM over the stacked weights gives each part's columns bit for bit."""
    views_exact: dict[int, bool]
    """A part computed from a view into the stacked tensor equals it from a standalone copy."""

    @property
    def views_always_exact(self) -> bool:
        """Whether the modules may use views of the stacked weights at every row count."""
        return all(self.views_exact.values())


def check_stacking(
    weights: Sequence[torch.Tensor],
    row_counts: Iterable[int],
    *,
    run: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = F.linear,
    seed: int = 0,
) -> StackingCheck:
    """Compare stacked, view and standalone GEMMs over `weights`, bit for bit.

    Checked for inputs of each of `row_counts` rows, shaped (rows, 1, in) as the decoder's
    states are. The inputs are random from a local generator; the outcome depends only on the
    shapes, because BLAS picks its kernel (and so its summation order) from the shapes alone.
    """
    sizes = [weight.shape[0] for weight in weights]
    stacked = torch.cat(list(weights))
    standalone = [weight.clone() for weight in weights]
    views = stacked.split(sizes)
    generator = torch.Generator(device="cpu").manual_seed(seed)
    stacked_exact: dict[int, bool] = {}
    views_exact: dict[int, bool] = {}
    for rows in row_counts:
        x = torch.randn(rows, 1, stacked.shape[1], generator=generator)
        x = x.to(device=stacked.device, dtype=stacked.dtype)
        expected = [run(x, alone) for alone in standalone]
        whole = run(x, stacked).split(sizes, dim=-1)
        stacked_exact[rows] = all(
            torch.equal(part, want) for part, want in zip(whole, expected, strict=True)
        )
        views_exact[rows] = all(
            torch.equal(run(x, v), e) for v, e in zip(views, expected, strict=True)
        )
    return StackingCheck(stacked_exact, views_exact)


def stacking_is_exact(
    weights: Sequence[torch.Tensor],
    row_counts: Iterable[int],
    *,
    run: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = F.linear,
) -> bool:
    """Whether stacking `weights` is exact (stacked GEMM and views) at every row count."""
    check = check_stacking(weights, row_counts, run=run)
    return check.views_always_exact and all(check.stacked_exact.values())
