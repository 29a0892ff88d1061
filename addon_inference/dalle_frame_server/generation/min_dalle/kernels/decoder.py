"""One decoder step of min-dalle with the per-image work hoisted out of the 256-step loop.

Same arithmetic as `DalleBartDecoder.forward` for one token (the tests compare logits and
tokens bit for bit with stock min-dalle), minus what stock repeats needlessly at every step:

- the cross-attention keys and values of the 64 text tokens are computed once per batch
  (stock recomputes them in every layer at every step: a third of its time on a CPU);
- the self-attention cache is kept in the layout `bmm` wants (stock's einsum copies the whole
  256-slot cache of every layer twice per step);
- masks and biases are built once; nothing is allocated for the cache at each step.

Every per-step input lives in a `DecodeBuffers` tensor (the previous tokens, the step index),
never in a Python number, so one step can be captured once as a CUDA graph and replayed
(kernels/step_runner.py); on the CPU the same code runs eagerly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from ...models.shapes import IMAGE_TOKEN_COUNT, PAD_TOKEN
from .attention import attend, attention_bias, causal_bias_table, keys_for_bmm, values_for_bmm
from .weights import DecoderLayerWeights, DecoderWeights, GluWeights


@dataclass(frozen=True, slots=True)
class StackingPlan:
    """Which projection groups run as one stacked GEMM for a given number of rows."""

    qkv: bool
    glu: bool


@dataclass(slots=True)
class DecodeBuffers:
    """Everything one batch of `rows` decoder rows reads and writes during its 256 steps."""

    rows: int
    keys_t: torch.Tensor
    """Self-attention keys, (layers, rows, heads, head size, 256): written one slot per step."""
    values: torch.Tensor
    """Self-attention values, (layers, rows, heads, 256, head size)."""
    cross_keys_t: torch.Tensor
    """Cross-attention keys of the text, (layers, rows, heads, head size, 64): fixed per batch."""
    cross_values: torch.Tensor
    """(layers, rows, heads, 64, head size)."""
    cross_bias: torch.Tensor
    """(rows, 1, 1, 64): min-dalle's -1e12 bias on padded text positions."""
    bias_table: torch.Tensor
    """(256, 256): the causal self-attention bias of each step."""
    previous_tokens: torch.Tensor
    """(rows, 1) image tokens drawn at the previous step (the start token at step 0)."""
    step_index: torch.Tensor
    """(1,) the step being computed."""


class FastDecoder:
    """min-dalle's decoder for batches of any size.

    One image token per call (`step`), or several steps at once (`run_positions`, to check
    drafted tokens).
    """

    def __init__(
        self,
        weights: DecoderWeights,
        *,
        cache_dtype: torch.dtype,
        plans: dict[int, StackingPlan] | None = None,
        probe: Callable[[int], StackingPlan] | None = None,
    ) -> None:
        """Gather the step's weights; see the class doc."""
        self.weights = weights
        self.cache_dtype = cache_dtype
        self._plans = dict(plans or {})
        self._probe = probe

    def plan(self, rows: int) -> StackingPlan:
        """Return the stacking plan for `rows` rows (probed once per row count)."""
        plan = self._plans.get(rows)
        if plan is None:
            plan = self._probe(rows) if self._probe is not None else StackingPlan(False, False)
            self._plans[rows] = plan
        return plan

    def new_buffers(self, rows: int, device: torch.device) -> DecodeBuffers:
        """Allocate the buffers of a batch of `rows` rows (zeroed caches)."""
        weights = self.weights
        layers = len(weights.layers)
        heads = weights.head_count
        size = weights.embed_count // heads
        cache: dict[str, Any] = {"device": device, "dtype": self.cache_dtype}
        return DecodeBuffers(
            rows=rows,
            keys_t=torch.zeros(layers, rows, heads, size, IMAGE_TOKEN_COUNT, **cache),
            values=torch.zeros(layers, rows, heads, IMAGE_TOKEN_COUNT, size, **cache),
            cross_keys_t=torch.zeros(layers, rows, heads, size, 64, **cache),
            cross_values=torch.zeros(layers, rows, heads, 64, size, **cache),
            cross_bias=torch.zeros(rows, 1, 1, 64, device=device),
            bias_table=causal_bias_table(IMAGE_TOKEN_COUNT, device),
            previous_tokens=torch.zeros(rows, 1, dtype=torch.long, device=device),
            step_index=torch.zeros(1, dtype=torch.long, device=device),
        )

    def start(
        self,
        buffers: DecodeBuffers,
        *,
        text_tokens: torch.Tensor,
        encoder_state: torch.Tensor,
        start_token: int,
    ) -> None:
        """Reset `buffers` for a new batch: text keys/values, mask bias, empty cache, step 0.

        text_tokens (rows, 64) and encoder_state (rows, 64, embed) are already expanded to one
        row per decoder row (unconditional rows first), as stock min-dalle expands them.
        """
        heads = self.weights.head_count
        buffers.keys_t.zero_()
        buffers.values.zero_()
        for index, layer in enumerate(self.weights.layers):
            # Stock applies k_proj/v_proj to the same expanded (rows, 64, embed) state.
            keys = F.linear(encoder_state, layer.cross_key)
            values = F.linear(encoder_state, layer.cross_value)
            buffers.cross_keys_t[index].copy_(keys_for_bmm(keys, heads))
            buffers.cross_values[index].copy_(values_for_bmm(values, heads))
        mask = text_tokens.not_equal(PAD_TOKEN)[:, None, None, :]
        buffers.cross_bias.copy_(attention_bias(mask))
        buffers.previous_tokens.fill_(start_token)
        buffers.step_index.zero_()

    def step(self, buffers: DecodeBuffers) -> torch.Tensor:
        """Run one step on `buffers`; return the (rows, 1, image vocab + 1) logits.

        Reads `previous_tokens` and `step_index`, writes the new keys and values into the
        cache slot `step_index`. Only tensor operations: capturable as a CUDA graph.
        """
        return self._forward(buffers, buffers.previous_tokens, buffers.step_index)

    def run_positions(
        self, buffers: DecodeBuffers, tokens: torch.Tensor, first: int
    ) -> torch.Tensor:
        """Run the steps `first` .. `first + n - 1` at once; return (rows, n, vocab + 1) logits.

        tokens: (rows, n), the input token of each of those steps. Writes their keys and
        values into the cache slots `first` .. `first + n - 1`; each position attends to the
        slots up to its own, as a step at that index would. Reads the cache before `first`.
        One GEMM per projection reads the weights once for all n positions; the results are
        a step's up to the last bits (other row counts run other BLAS kernels), which is what
        checking drafted tokens needs (min_dalle/drafting.py).
        """
        count = tokens.shape[1]
        if not 0 <= first <= buffers.keys_t.shape[-1] - count:
            raise ValueError(f"steps {first}..{first + count - 1} are outside the cache")
        positions = torch.arange(first, first + count, device=tokens.device)
        return self._forward(buffers, tokens, positions)

    def _forward(
        self, buffers: DecodeBuffers, tokens: torch.Tensor, positions: torch.Tensor
    ) -> torch.Tensor:
        """Run the decoder on (rows, n) input `tokens` at the n cache `positions`."""
        weights = self.weights
        plan = self.plan(buffers.rows)
        state = F.embedding(tokens, weights.token_embedding)
        state += F.embedding(positions, weights.position_embedding)
        state = weights.embedding_norm(state)
        table = buffers.bias_table
        self_bias = table.index_select(0, positions).view(1, 1, -1, table.shape[-1])
        for number, layer in enumerate(weights.layers):
            state = self._layer(layer, state, buffers, number, positions, self_bias, plan)
        state = weights.final_norm(state)
        return weights.head(state)

    def _layer(
        self,
        layer: DecoderLayerWeights,
        state: torch.Tensor,
        buffers: DecodeBuffers,
        number: int,
        positions: torch.Tensor,
        self_bias: torch.Tensor,
        plan: StackingPlan,
    ) -> torch.Tensor:
        """One `DecoderLayer.forward` for the tokens at `positions` (one per step)."""
        rows, count = state.shape[0], state.shape[1]
        keys_t = buffers.keys_t[number]
        values = buffers.values[number]
        heads, size = keys_t.shape[1], keys_t.shape[2]

        residual = state
        state = layer.pre_self_norm(state)
        queries, keys, new_values = layer.self_qkv(state, stacked=plan.qkv)
        keys = keys.reshape(rows, count, heads, size).permute(0, 2, 3, 1)
        keys_t.index_copy_(3, positions, keys.to(keys_t.dtype))
        new_values = new_values.reshape(rows, count, heads, size).transpose(1, 2)
        values.index_copy_(2, positions, new_values.to(values.dtype))
        state = layer.self_out(attend(queries, keys_t, values, self_bias))
        state = layer.self_norm(state)
        state = residual + state

        residual = state
        state = layer.pre_cross_norm(state)
        queries = layer.cross_query(state)
        state = attend(
            queries, buffers.cross_keys_t[number], buffers.cross_values[number], buffers.cross_bias
        )
        state = layer.cross_out(state)
        state = layer.cross_norm(state)
        state = residual + state

        residual = state
        state = glu(layer.glu, state, stacked=plan.glu)
        return residual + state


def glu(weights: GluWeights, state: torch.Tensor, *, stacked: bool) -> torch.Tensor:
    """min-dalle's `GLU.forward`: ln1(gelu(fc0(ln0 z)) * fc1(ln0 z)) then fc2."""
    state = weights.norm_in(state)
    gate, value = weights.gate_and_value(state, stacked=stacked)
    # GELU on a strided view runs another kernel whose results differ in the last bit.
    gate = F.gelu(gate.contiguous())
    state = weights.norm_mid(gate * value)
    return weights.out(state)
