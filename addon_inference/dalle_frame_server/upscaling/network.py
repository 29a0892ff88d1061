"""A compact super-resolution network of realesr-general-x4v3's architecture (SRVGG style).

Real-ESRGAN's compact model works entirely at the input's resolution: a first 3x3 convolution
to `features` channels, `body_layers` 3x3 convolutions of `features` channels, each followed
by a per-channel PReLU (the first convolution too), a last 3x3 convolution to
3 * scale^2 channels, then a pixel shuffle to `scale` times the size, with the
nearest-neighbour upsampled input added so the network only learns the residual detail.
realesr-general-x4v3 is 64 features, 32 body layers, scale 4 (about 1.2 M parameters).
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass
from typing import Final

import torch
from torch import nn
from torch.nn import functional


@dataclass(frozen=True, kw_only=True)
class SrShape:
    """The sizes of one compact SR network."""

    features: int
    body_layers: int
    scale: int

    def __post_init__(self) -> None:
        if self.features < 1 or self.body_layers < 0 or self.scale < 1:
            raise ValueError(
                f"an SR network needs features >= 1, body_layers >= 0 and scale >= 1, not {self}"
            )

    @property
    def receptive_radius(self) -> int:
        """Input pixels each side that influence one output pixel (one per 3x3 convolution)."""
        return self.body_layers + 2


REAL_SHAPE: Final = SrShape(features=64, body_layers=32, scale=4)
"""realesr-general-x4v3's shape (Real-ESRGAN's SRVGGNetCompact with num_conv=32)."""
TEST_SHAPE: Final = SrShape(features=8, body_layers=2, scale=4)
"""The `test` upscaler's shape: tiny, still every kind of layer."""


class CompactSrNetwork(nn.Module):
    """RGB in [0, 1], shape (N, 3, H, W) -> RGB, shape (N, 3, H * scale, W * scale)."""

    def __init__(self, shape: SrShape) -> None:
        super().__init__()
        self.shape = shape
        layers: list[nn.Module] = [nn.Conv2d(3, shape.features, 3, padding=1)]
        layers.append(nn.PReLU(num_parameters=shape.features))
        for _ in range(shape.body_layers):
            layers.append(nn.Conv2d(shape.features, shape.features, 3, padding=1))
            layers.append(nn.PReLU(num_parameters=shape.features))
        layers.append(nn.Conv2d(shape.features, 3 * shape.scale**2, 3, padding=1))
        self.body = nn.Sequential(*layers)
        self.shuffle = nn.PixelShuffle(shape.scale)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """Return the upscaled image (not clamped: callers clip to [0, 1])."""
        detail = self.shuffle(self.body(image))
        base = functional.interpolate(image, scale_factor=self.shape.scale, mode="nearest")
        return detail + base


class MixedRelu(nn.Module):
    """PReLU written as relu(x) * (1 - a) + x * a: the same function, other ONNX operators.

    ONNX Runtime's CPU provider runs convolutions in a blocked memory layout (NCHWc) and
    fuses what follows them; a PRelu node is not among the operators it keeps in that layout,
    so each of the 33 PReLUs would convert the activations out of it and back. Relu, Mul and
    Add stay in it (see `bench.upscale_speed`'s prelu-graph row for the difference).
    """

    def __init__(self, prelu: nn.PReLU) -> None:
        super().__init__()
        self.slope: torch.Tensor
        self.keep: torch.Tensor
        slope = prelu.weight.detach().reshape(1, -1, 1, 1).clone()
        self.register_buffer("slope", slope)
        self.register_buffer("keep", 1.0 - slope)

    def forward(self, values: torch.Tensor) -> torch.Tensor:
        """Return the PReLU of `values`."""
        return torch.relu(values) * self.keep + values * self.slope


def random_network(shape: SrShape, *, seed: int, detail_gain: float = 1.0) -> CompactSrNetwork:
    """Return a network of `shape` with deterministic random weights (it paints noise-ish detail).

    `detail_gain` scales the last convolution, so the random detail stays a visible texture
    over the nearest-upsampled picture instead of drowning it.
    """
    generator = torch.Generator().manual_seed(seed)
    network = CompactSrNetwork(shape).eval()
    with torch.no_grad():
        for module in network.modules():
            if isinstance(module, nn.Conv2d):
                fan_in = module.in_channels * 9
                module.weight.copy_(
                    torch.randn(module.weight.shape, generator=generator) / fan_in**0.5
                )
                assert module.bias is not None
                module.bias.zero_()
            elif isinstance(module, nn.PReLU):
                module.weight.fill_(0.25)
        last = network.body[-1]
        assert isinstance(last, nn.Conv2d)
        last.weight.mul_(detail_gain)
    return network


def export_onnx(
    network: CompactSrNetwork,
    path: str,
    *,
    fixed_size: tuple[int, int] | None = None,
    mixed_relu: bool = True,
) -> None:
    """Export the network to ONNX (opset 17): batch, height and width free, or fixed ones.

    `fixed_size` (height, width) writes a graph that takes only that size, as some published
    exports do (the upscaler then runs it in tiles of exactly that size). `mixed_relu` writes
    each PReLU as `MixedRelu` (faster in ONNX Runtime on a CPU); False keeps PRelu nodes, as
    published exports have them.
    """
    if mixed_relu:
        network = copy.deepcopy(network)
        for index, layer in enumerate(network.body):
            if isinstance(layer, nn.PReLU):
                network.body[index] = MixedRelu(layer)
    height, width = fixed_size or (16, 16)
    probe = torch.rand(1, 3, height, width)
    dynamic_axes = {
        "image": {0: "batch", 2: "height", 3: "width"},
        "upscaled": {0: "batch", 2: "out_height", 3: "out_width"},
    }
    with torch.no_grad(), warnings.catch_warnings():
        # The TorchScript exporter is deprecated, but it writes this plain graph in one file
        # in a fraction of a second (as the ASR exporter does).
        warnings.simplefilter("ignore")
        torch.onnx.export(
            network,
            (probe,),
            path,
            input_names=["image"],
            output_names=["upscaled"],
            dynamic_axes=None if fixed_size else dynamic_axes,
            opset_version=17,
            dynamo=False,
        )
