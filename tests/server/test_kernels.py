"""The fast backends' building blocks against min-dalle's own modules, and their bad input."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dalle_frame_server.generation.interface import DecodeRequest, SamplingSettings
from dalle_frame_server.generation.min_dalle.fast import FastBackend
from dalle_frame_server.generation.min_dalle.kernels.attention import (
    attend,
    attention_bias,
    causal_bias_table,
    keys_for_bmm,
    values_for_bmm,
)
from dalle_frame_server.generation.min_dalle.kernels.int8 import Int8Projection
from dalle_frame_server.generation.min_dalle.kernels.linear import (
    DenseProjection,
    ProjectionGroup,
    check_stacking,
    stack_linear_weights,
    stacking_is_exact,
)
from dalle_frame_server.generation.min_dalle.kernels.sampling import (
    draw_tokens,
    kept_count,
    sampling_tensor,
)
from dalle_frame_server.generation.models.loading import ModelPaths, load_dalle_modules
from dalle_frame_server.generation.models.min_dalle_classes import AttentionBase
from dalle_frame_server.generation.models.shapes import TEST_SHAPE


def _seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _stock_sample(
    logits: torch.Tensor, settings: torch.Tensor, generator: torch.Generator
) -> torch.Tensor:
    """min-dalle 0.4.11's `sample_tokens` after the forward pass, drawing from `generator`."""
    image_count = logits.shape[0] // 2
    temperature = settings[[0]]
    top_k = settings[[1]].to(torch.long)
    supercondition_factor = settings[[2]]
    logits = logits[:, -1, : 2**14]
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
    return torch.multinomial(logits, 1, generator=generator)[:, 0]


@pytest.mark.parametrize(
    ("top_k", "temperature", "factor", "images"),
    [(128, 1.0, 16.0, 1), (1, 1.0, 16.0, 2), (7, 0.3, 2.5, 3), (16384, 3.0, 1.0, 1)],
)
def test_topk_sampling_draws_what_sorting_draws(
    top_k: int, temperature: float, factor: float, images: int
) -> None:
    """Same kept set, same multinomial input, so the same tokens from the same generator."""
    for trial in range(5):
        logits = torch.randn(2 * images, 1, 16385, generator=_seeded(trial)) * 3
        # Ties at the top-k boundary: a quarter of the values repeat.
        logits[:, :, 0:16384:4] = logits[:, :, 1:16384:4]
        settings = SamplingSettings(
            top_k=top_k, temperature=temperature, supercondition_factor=factor
        )
        tensor = sampling_tensor(settings, torch.device("cpu"))
        expected = _stock_sample(logits.clone(), tensor, _seeded(100 + trial))
        flat = logits[:, -1]
        ours = draw_tokens(
            flat[:images], flat[images:], tensor, kept_count(settings), _seeded(100 + trial)
        )
        assert torch.equal(ours, expected)


def test_attention_equals_min_dalle_attention() -> None:
    """`attend` over prepared keys/values equals `AttentionBase.forward` bit for bit."""
    torch.manual_seed(0)
    heads, embed = 4, 64
    module = AttentionBase(heads, embed).eval()
    for queries_count, keys_count in [(1, 256), (1, 64), (64, 64)]:
        keys = torch.randn(6, keys_count, embed)
        values = torch.randn(6, keys_count, embed)
        queries = torch.randn(6, queries_count, embed)
        mask = torch.rand(6, 1, 1, keys_count) > 0.3
        with torch.no_grad():
            expected = module.forward(keys, values, queries.clone(), mask)
            ours = module.out_proj(
                attend(
                    queries.clone(),
                    keys_for_bmm(keys, heads),
                    values_for_bmm(values, heads),
                    attention_bias(mask),
                )
            )
        assert torch.equal(ours, expected)


def test_causal_bias_rows_equal_min_dalle_masks() -> None:
    """Row i of the table is the bias min-dalle's decoder layer builds at step i."""
    # Imported here: dalle_frame_server's min_dalle_classes has undone min-dalle's global
    # side effects by now (a top-level import would run them first).
    from min_dalle.models.dalle_bart_decoder import DecoderLayer

    table = causal_bias_table(256, torch.device("cpu"))
    layer = DecoderLayer(head_count=2, embed_count=8, glu_embed_count=8, device="cpu")
    for step in (0, 1, 100, 255):
        mask = (layer.token_indices <= torch.tensor([[step]]))[:, None, None, :]
        assert torch.equal(table[step], attention_bias(mask).view(256))


def test_stacked_projection_group_equals_parts_when_probe_says_so() -> None:
    """A probed-exact stack gives each part's output; the modules become views of it."""
    torch.manual_seed(1)
    linears = [nn.Linear(32, 48, bias=False), nn.Linear(32, 16, bias=False)]
    x = torch.randn(2, 1, 32)
    with torch.no_grad():
        expected = [linear(x) for linear in linears]
        stacked = stack_linear_weights(linears)
        group = ProjectionGroup(
            DenseProjection(stacked),
            [48, 16],
            [DenseProjection(linear.weight) for linear in linears],
        )
        for part, want in zip(group(x, stacked=False), expected, strict=True):
            assert torch.equal(part, want)
        if stacking_is_exact([linear.weight for linear in linears], [2]):
            for part, want in zip(group(x, stacked=True), expected, strict=True):
                assert torch.equal(part, want)
    assert linears[1].weight.untyped_storage().data_ptr() == stacked.untyped_storage().data_ptr()


def test_stacking_probe_notices_a_difference() -> None:
    """A GEMM whose stacked columns differ in the last bit is reported as not exact."""
    weights = [torch.randn(8, 4), torch.randn(8, 4)]

    def off_by_a_bit(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        out = torch.nn.functional.linear(x, weight)
        return torch.nextafter(out, out + 1) if weight.shape[0] == 16 else out

    assert stacking_is_exact(weights, [2], run=off_by_a_bit) is False


def test_stacking_refuses_linears_with_bias() -> None:
    """min-dalle's projections have no bias; stacking one with a bias is refused."""
    with pytest.raises(ValueError, match="bias-free"):
        stack_linear_weights([nn.Linear(4, 4), nn.Linear(4, 4, bias=False)])


def test_int8_projection_is_close_to_float() -> None:
    """Per-channel int8 weights, dynamic activations: within ~2% of the float result."""
    generator = _seeded(3)
    weight = torch.randn(300, 128, generator=generator) / 11
    x = torch.randn(4, 1, 128, generator=generator)
    projection = Int8Projection.from_weight(weight)
    ours = projection(x)
    expected = torch.nn.functional.linear(x, weight)
    assert ours.shape == expected.shape == (4, 1, 300)
    assert (ours - expected).norm() / expected.norm() < 0.02
    assert torch.equal(projection(torch.zeros(2, 128)), torch.zeros(2, 300))


def test_int8_projection_refuses_other_devices() -> None:
    """int8 runs on the CPU only, and says so."""
    with pytest.raises(ValueError, match="CPU only"):
        Int8Projection.from_weight(torch.empty(4, 4, device="meta"))


def test_decode_refuses_no_images(test_model_paths: ModelPaths) -> None:
    """An image count below one is refused with a clear error, before any work."""
    modules = load_dalle_modules(
        test_model_paths, TEST_SHAPE, torch.device("cpu"), torch.float32, remedy="-"
    )
    backend = FastBackend(modules)
    text = torch.ones(2, 64, dtype=torch.long)
    with pytest.raises(ValueError, match="image_count must be at least 1"):
        backend.decode(
            [
                DecodeRequest(
                    text_tokens=text,
                    encoder_state=torch.zeros(2, 64, TEST_SHAPE.embed_count),
                    image_count=0,
                    settings=SamplingSettings(),
                    generator=_seeded(0),
                )
            ]
        )


def test_check_stacking_reports_each_row_count() -> None:
    """Verdicts per row count, for the stacked GEMM and for views of the stacked weights."""
    weights = [torch.randn(24, 16), torch.randn(8, 16)]

    def off_at_four_rows(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        # Integer-valued operands: every summation order gives the same bits, except the
        # deliberate change of the stacked GEMM at four rows.
        out = torch.nn.functional.linear(x.round(), weight.round())
        return torch.nextafter(out, out + 1) if weight.shape[0] == 32 and x.shape[0] == 4 else out

    check = check_stacking(weights, [2, 4, 6], run=off_at_four_rows)
    assert check.stacked_exact == {2: True, 4: False, 6: True}
    assert check.views_always_exact
