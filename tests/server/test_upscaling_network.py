"""The compact SR network (realesr-general-x4v3's architecture): its shape rules."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dalle_frame_server.upscaling.network import (
    REAL_SHAPE,
    TEST_SHAPE,
    CompactSrNetwork,
    MixedRelu,
    SrShape,
    random_network,
)


def test_output_is_scale_times_larger_for_any_size() -> None:
    """(N, 3, H, W) -> (N, 3, sH, sW) for odd and even sizes alike."""
    network = random_network(TEST_SHAPE, seed=0)
    with torch.no_grad():
        result = network(torch.rand(2, 3, 7, 12))
    assert result.shape == (2, 3, 7 * TEST_SHAPE.scale, 12 * TEST_SHAPE.scale)


def test_real_shape_is_realesr_general_x4v3() -> None:
    """64 features, 32 body layers, 4x: 34 convolutions, 33 PReLUs, 1.21 M parameters."""
    network = CompactSrNetwork(REAL_SHAPE)
    convs = [module for module in network.modules() if isinstance(module, nn.Conv2d)]
    prelus = [module for module in network.modules() if isinstance(module, nn.PReLU)]
    assert len(convs) == 34 and len(prelus) == 33
    assert convs[0].in_channels == 3 and convs[-1].out_channels == 3 * 4**2
    assert all(prelu.num_parameters == 64 for prelu in prelus)
    assert sum(parameter.numel() for parameter in network.parameters()) == 1_213_296


def test_without_detail_the_network_is_nearest_upsampling() -> None:
    """The residual is added to the nearest-upsampled input: a zero last layer leaves just that."""
    network = random_network(TEST_SHAPE, seed=1, detail_gain=0.0)
    image = torch.rand(1, 3, 5, 6)
    with torch.no_grad():
        result = network(image)
    expected = image.repeat_interleave(4, dim=2).repeat_interleave(4, dim=3)
    assert torch.equal(result, expected)


def test_a_pixel_reaches_only_the_receptive_radius() -> None:
    """Changing one input pixel changes output only within receptive_radius input pixels."""
    shape = SrShape(features=4, body_layers=3, scale=2)
    network = random_network(shape, seed=2)
    image = torch.rand(1, 3, 21, 21)
    changed = image.clone()
    changed[0, :, 10, 10] += 0.5
    with torch.no_grad():
        difference = (network(changed) - network(image)).abs().sum(dim=(0, 1))
    rows, cols = torch.nonzero(difference > 0, as_tuple=True)
    radius = shape.receptive_radius
    assert rows.min() // 2 == 10 - radius and rows.max() // 2 == 10 + radius
    assert cols.min() // 2 == 10 - radius and cols.max() // 2 == 10 + radius


def test_random_weights_are_deterministic() -> None:
    """Same seed, same weights (the test upscaler is rebuilt identically)."""
    first = random_network(TEST_SHAPE, seed=5).state_dict()
    second = random_network(TEST_SHAPE, seed=5).state_dict()
    assert all(torch.equal(first[name], second[name]) for name in first)


@pytest.mark.parametrize(
    "bad",
    [{"features": 0, "body_layers": 1, "scale": 4}, {"features": 8, "body_layers": 1, "scale": 0}],
)
def test_impossible_shapes_are_refused(bad: dict[str, int]) -> None:
    """A network without features or scale is refused with its numbers."""
    with pytest.raises(ValueError, match="needs features >= 1"):
        SrShape(**bad)


def test_mixed_relu_is_prelu() -> None:
    """relu(x) * (1 - a) + x * a equals PReLU for slopes of either sign."""
    prelu = nn.PReLU(num_parameters=4)
    with torch.no_grad():
        prelu.weight.copy_(torch.tensor([0.25, -0.5, 0.0, 1.5]))
    values = torch.randn(2, 4, 5, 5)
    with torch.no_grad():
        torch.testing.assert_close(MixedRelu(prelu)(values), prelu(values))
