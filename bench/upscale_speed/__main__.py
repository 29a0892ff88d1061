"""Time the upscaler on a painted-size picture against a plain Lanczos resize, in one run.

    .venvs/server/bin/python -m bench.upscale_speed [--targets 800x480,1600x1200] [--runs 5]
        [--size 256] [--threads N] [--shape real|test] [--out result.json]

The network has realesr-general-x4v3's real shape (64 features, 32 body layers, 4x; 1.2 M
parameters) with random weights (seeded): the arithmetic, and so the time, is the real
model's; the pictures are not. It is exported by the server's own exporter and run by the
server's own `OnnxUpscaler`. Variants take turns in every run, on one random picture:

- `lanczos`: the reference, a cover crop then a Lanczos resize to the target (no network);
- `sr`: what the server does: crop to the target's aspect, super-resolve, Lanczos to size;
- `sr-uncropped`: super-resolve the whole picture, then crop and resize (what cropping first
  saves);
- `sr-fit`: crop, shrink with Lanczos to target / scale, then super-resolve (less network
  work, but the painted detail is shrunk first: an experiment, not what the server does);
- `sr-prelu-graph`: `sr` with the PReLUs left as ONNX PRelu nodes, as published ONNX exports
  have them (the server writes them as `MixedRelu`: same function, faster on a CPU).

Seconds per picture are medians of wall time; "CPU s" is the process's CPU time for the same
picture (all threads together): on a machine whose other jobs take the cores, CPU seconds /
threads estimates the wall time the machine would give alone (ONNX Runtime's spinning
threads inflate it a little). The ratio is to `sr`. Compare rows of one run, not runs of
different days.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from dalle_frame_server.upscaling.geometry import cover_crop_box
from dalle_frame_server.upscaling.network import (
    REAL_SHAPE,
    TEST_SHAPE,
    SrShape,
    export_onnx,
    random_network,
)
from dalle_frame_server.upscaling.onnx_upscaler import OnnxUpscaler

MODEL_SEED = 18
SHAPES: dict[str, SrShape] = {"real": REAL_SHAPE, "test": TEST_SHAPE}
VARIANTS = ("lanczos", "sr", "sr-uncropped", "sr-fit", "sr-prelu-graph")

Variant = Callable[[Image.Image, int, int], Image.Image]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Return the command line's options."""
    parser = argparse.ArgumentParser(prog="python -m bench.upscale_speed", description=__doc__)
    parser.add_argument("--targets", default="800x480,1600x1200", help="WxH,WxH,...")
    parser.add_argument("--size", type=int, default=256, help="the painted square's side")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per variant and target")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--shape", choices=tuple(SHAPES), default="real")
    parser.add_argument("--out", type=Path, default=None, help="also write the results as JSON")
    return parser.parse_args(argv)


def parse_targets(text: str) -> list[tuple[int, int]]:
    """Parse "800x480,1600x1200" (ValueError naming a bad item)."""
    targets = []
    for item in text.split(","):
        width, _, height = item.strip().partition("x")
        if not (width.isdigit() and height.isdigit()) or int(width) < 1 or int(height) < 1:
            raise ValueError(f"a target is WIDTHxHEIGHT in pixels, not {item!r}")
        targets.append((int(width), int(height)))
    return targets


def variants(upscaler: OnnxUpscaler, prelu_upscaler: OnnxUpscaler) -> dict[str, Variant]:
    """Return the timed variants, each picture -> width x height."""

    def lanczos(picture: Image.Image, width: int, height: int) -> Image.Image:
        crop = picture.crop(cover_crop_box(picture.width, picture.height, width, height))
        return crop.resize((width, height), Image.Resampling.LANCZOS)

    def uncropped(picture: Image.Image, width: int, height: int) -> Image.Image:
        return lanczos(upscaler.super_resolve(picture), width, height)

    def fit(picture: Image.Image, width: int, height: int) -> Image.Image:
        crop = picture.crop(cover_crop_box(picture.width, picture.height, width, height))
        small = (math.ceil(width / upscaler.scale), math.ceil(height / upscaler.scale))
        if small[0] < crop.width:
            crop = crop.resize(small, Image.Resampling.LANCZOS)
        return lanczos(upscaler.super_resolve(crop), width, height)

    return {
        "lanczos": lanczos,
        "sr": upscaler.upscale,
        "sr-uncropped": uncropped,
        "sr-fit": fit,
        "sr-prelu-graph": prelu_upscaler.upscale,
    }


def run(args: argparse.Namespace) -> dict[str, object]:
    """Build the network, time every variant on every target; return the results."""
    targets = parse_targets(args.targets)
    shape = SHAPES[args.shape]
    pixels = np.random.default_rng(0).integers(0, 256, (args.size, args.size, 3), dtype=np.uint8)
    picture = Image.fromarray(pixels, mode="RGB")
    with tempfile.TemporaryDirectory() as folder:
        network = random_network(shape, seed=MODEL_SEED, detail_gain=0.3)
        graph = Path(folder) / "upscaler.onnx"
        export_onnx(network, str(graph))
        upscaler = OnnxUpscaler(graph, model_name=f"{args.shape}-shaped", threads=args.threads)
        prelu_graph = Path(folder) / "upscaler-prelu.onnx"
        export_onnx(network, str(prelu_graph), mixed_relu=False)
        prelu_upscaler = OnnxUpscaler(prelu_graph, model_name="prelu", threads=args.threads)
    timed = variants(upscaler, prelu_upscaler)
    rows: list[dict[str, object]] = []
    for width, height in targets:
        seconds: dict[str, list[float]] = {name: [] for name in VARIANTS}
        cpu_seconds: dict[str, list[float]] = {name: [] for name in VARIANTS}
        for name in VARIANTS:  # one untimed warm-up each (ONNX Runtime plans its buffers)
            timed[name](picture, width, height)
        for _ in range(args.runs):
            for name in VARIANTS:
                started, cpu_started = time.perf_counter(), time.process_time()
                result = timed[name](picture, width, height)
                seconds[name].append(time.perf_counter() - started)
                cpu_seconds[name].append(time.process_time() - cpu_started)
                if result.size != (width, height):
                    raise AssertionError(f"{name} made {result.size}, not {(width, height)}")
        reference = statistics.median(seconds["sr"])
        for name in VARIANTS:
            median = statistics.median(seconds[name])
            rows.append(
                {
                    "target": f"{width}x{height}",
                    "variant": name,
                    "seconds": round(median, 4),
                    "min_seconds": round(min(seconds[name]), 4),
                    "cpu_seconds": round(statistics.median(cpu_seconds[name]), 4),
                    "ratio_to_sr": round(median / reference, 3),
                }
            )
    return {
        "shape": vars(shape),
        "weights": "random (seeded): realesr-general-x4v3's shape, not its weights",
        "picture": f"{args.size}x{args.size}",
        "threads": args.threads,
        "runs": args.runs,
        "providers": upscaler.providers,
        "rows": rows,
    }


def table(results: dict[str, object]) -> str:
    """Return the results as a Markdown table."""
    lines = [
        "| target | variant | s per picture (median) | min | CPU s (median) | ratio to sr |",
        "|---|---|---|---|---|---|",
    ]
    rows = results["rows"]
    assert isinstance(rows, list)
    for row in rows:
        lines.append(
            f"| {row['target']} | {row['variant']} | {row['seconds']:.3f} | "
            f"{row['min_seconds']:.3f} | {row['cpu_seconds']:.3f} | {row['ratio_to_sr']:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print (and optionally save) the table."""
    args = parse_args(argv)
    results = run(args)
    print(
        f"upscaler, {results['picture']} picture, {args.shape}-shaped random weights "
        f"{results['shape']}, {args.threads} threads, {args.runs} runs, {results['providers']}"
    )
    print(table(results))
    if args.out is not None:
        args.out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf8")


if __name__ == "__main__":
    main()
