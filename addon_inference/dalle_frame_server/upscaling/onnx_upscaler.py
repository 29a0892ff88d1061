"""The upscaler: a super-resolution ONNX graph in ONNX Runtime, cropped, tiled and resized.

`OnnxUpscaler.upscale(image, width, height)` first crops the picture to the target's aspect
(centred, "cover"), then, when the crop is smaller than the target, runs the network on it in
tiles (bounded memory: a tile's activations, not the picture's), and finally resizes with
Lanczos to exactly width x height. A graph with a fixed input size is run in tiles of exactly
that size. The graph takes RGB in [0, 1] as (1, 3, H, W) float32 and returns (1, 3, sH, sW).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import onnxruntime
from PIL import Image

from ..onnx_sessions import session_settings
from .geometry import cover_crop_box, tile_spans

MAX_TARGET_SIDE: Final = 8192
"""The largest side `upscale` produces (a 13.3" panel is 1600x1200)."""
DEFAULT_TILE: Final = 512
"""Input pixels per tile side for graphs of free size (64 features x 512^2 x 4 B = 64 MiB)."""
DEFAULT_CONTEXT: Final = 34
"""Extra input pixels each side of a tile: realesr-general-x4v3's receptive radius (34)."""
_PROBE_SIDE: Final = 16


@dataclass(frozen=True, kw_only=True)
class GraphFacts:
    """What a checked upscaler graph is: its input name, scale and fixed tile (if any)."""

    input_name: str
    scale: int
    fixed_side: tuple[int, int] | None
    """(height, width) the graph requires; None when it takes any size."""


class OnnxUpscaler:
    """One super-resolution graph, opened in ONNX Runtime. `upscale` blocks: use a worker thread."""

    def __init__(
        self,
        graph: Path,
        *,
        model_name: str,
        use_cuda: bool = False,
        threads: int | None = None,
        tile: int = DEFAULT_TILE,
        context: int = DEFAULT_CONTEXT,
    ) -> None:
        """Open and check the graph; ValueError says why a graph is not an upscaler."""
        self.model_name = model_name
        options, providers = session_settings(
            threads or os.cpu_count() or 1, use_cuda=use_cuda, purpose="upscaling"
        )
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.inter_op_num_threads = 1
        try:
            self._session = onnxruntime.InferenceSession(
                str(graph), sess_options=options, providers=providers
            )
        except Exception as error:  # onnxruntime raises its own exception types
            raise ValueError(f"ONNX Runtime cannot open {graph}: {error}") from error
        self.providers: list[str] = list(self._session.get_providers())
        self.facts = check_graph(self._session)
        self.scale = self.facts.scale
        self.tile_height, self.tile_width = self.facts.fixed_side or (tile, tile)
        if self.facts.fixed_side is not None:
            context = min(context, (min(self.facts.fixed_side) - 1) // 4)
        self.context = context

    def upscale(self, image: Image.Image, width: int, height: int) -> Image.Image:
        """Return the picture cropped to width:height (centred), upscaled, exactly width x height.

        A crop already at least that large is only resized. Raises ValueError for a size
        outside 1..MAX_TARGET_SIDE.
        """
        for name, value in (("width", width), ("height", height)):
            if not 1 <= value <= MAX_TARGET_SIDE:
                raise ValueError(
                    f"the upscaled {name} must be 1..{MAX_TARGET_SIDE} pixels, not {value}"
                )
        rgb = image.convert("RGB")
        box = cover_crop_box(rgb.width, rgb.height, width, height)
        cropped = rgb.crop(box)
        if cropped.width < width or cropped.height < height:
            cropped = self.super_resolve(cropped)
        if cropped.size == (width, height):
            return cropped
        return cropped.resize((width, height), Image.Resampling.LANCZOS)

    def super_resolve(self, image: Image.Image) -> Image.Image:
        """Return the RGB picture `scale` times larger, as the network paints it (tiled)."""
        pixels = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
        chw = np.ascontiguousarray(pixels.transpose(2, 0, 1))
        result = self.run_tiled(chw)
        out = (np.clip(result, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
        return Image.fromarray(np.ascontiguousarray(out.transpose(1, 2, 0)), mode="RGB")

    def run_tiled(self, chw: np.ndarray) -> np.ndarray:
        """Run the network over a (3, H, W) float32 array in tiles; return (3, sH, sW)."""
        _, height, width = chw.shape
        scale = self.scale
        out = np.empty((3, height * scale, width * scale), dtype=np.float32)
        for rows in tile_spans(height, self.tile_height, self.context):
            for cols in tile_spans(width, self.tile_width, self.context):
                window = chw[
                    :, rows.window_start : rows.window_end, cols.window_start : cols.window_end
                ]
                upscaled = self._run(window)
                top = (rows.core_start - rows.window_start) * scale
                left = (cols.core_start - cols.window_start) * scale
                core_height = (rows.core_end - rows.core_start) * scale
                core_width = (cols.core_end - cols.core_start) * scale
                out[
                    :,
                    rows.core_start * scale : rows.core_end * scale,
                    cols.core_start * scale : cols.core_end * scale,
                ] = upscaled[:, top : top + core_height, left : left + core_width]
        return out

    def _run(self, window: np.ndarray) -> np.ndarray:
        """Run one (3, h, w) window; a fixed-size graph gets it padded with its edge pixels."""
        _, height, width = window.shape
        fixed = self.facts.fixed_side
        if fixed is not None and (height, width) != fixed:
            window = np.pad(
                window, ((0, 0), (0, fixed[0] - height), (0, fixed[1] - width)), mode="edge"
            )
        (upscaled,) = self._session.run(
            None, {self.facts.input_name: np.ascontiguousarray(window)[None]}
        )[:1]
        return np.asarray(upscaled[0, :, : height * self.scale, : width * self.scale])


def check_graph(session: onnxruntime.InferenceSession) -> GraphFacts:
    """Check that a session maps (1, 3, H, W) RGB to (1, 3, sH, sW); return its facts.

    Raises ValueError saying what does not fit.
    """
    inputs = session.get_inputs()
    if len(inputs) != 1:
        raise ValueError(f"an upscaler graph takes one image, this one takes {len(inputs)} inputs")
    graph_input = inputs[0]
    shape = list(graph_input.shape)
    if graph_input.type != "tensor(float)" or len(shape) != 4 or shape[1] != 3:
        raise ValueError(
            f"the graph's input {graph_input.name!r} is {graph_input.type} {shape}, not float32 "
            "(batch, 3, height, width)"
        )
    fixed: tuple[int, int] | None = None
    if isinstance(shape[2], int) and isinstance(shape[3], int):
        fixed = (shape[2], shape[3])
    elif isinstance(shape[2], int) or isinstance(shape[3], int):
        raise ValueError(f"the graph fixes one side of its input only ({shape})")
    probe_height, probe_width = fixed or (_PROBE_SIDE, _PROBE_SIDE + 8)
    probe = np.linspace(0.0, 1.0, 3 * probe_height * probe_width, dtype=np.float32)
    try:
        outputs = session.run(
            None, {graph_input.name: probe.reshape(1, 3, probe_height, probe_width)}
        )
    except Exception as error:  # onnxruntime raises its own exception types
        raise ValueError(f"the graph does not run on a picture: {error}") from error
    result = np.asarray(outputs[0])
    if result.ndim != 4 or result.shape[:2] != (1, 3):
        raise ValueError(f"the graph returns shape {result.shape}, not (1, 3, height, width)")
    scale = result.shape[2] // probe_height
    if scale < 1 or result.shape[2:] != (probe_height * scale, probe_width * scale):
        raise ValueError(
            f"the graph maps {probe_height}x{probe_width} to {result.shape[2]}x{result.shape[3]}: "
            "not one whole scale for both sides"
        )
    if not np.isfinite(result).all():
        raise ValueError("the graph paints non-finite values")
    return GraphFacts(input_name=graph_input.name, scale=scale, fixed_side=fixed)
