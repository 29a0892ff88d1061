"""Benchmark the server's DiffusionGenerator against a stock diffusers pipeline call.

    .venvs/server/bin/python -m bench.diffusion_speed [--weights sd-turbo-shaped] [--rounds 2]

Same weights, seed, prompt and size, one variant per process (so each peak RSS is its own),
`--rounds` processes per variant taking turns (the quickest picture is kept):
`ours` (the server's loader and generator, PNG encoding included) and `stock`
(`StableDiffusionPipeline.from_pretrained(...)(...)`, float32, guidance 0). The default
weights are SD-Turbo-shaped random weights (its real configs, random init, written once to
build/bench-models; nothing is downloaded): the timing and memory are the real model's, the
pictures noise. `--weights test-diffusion` runs the tiny test pipeline (seconds; the test
suite runs it so the benchmark cannot rot). Prints the pixel comparison, seconds per picture
and to each step's end, peak RSS and the ratios; writes JSON.

`tiny` (in `--variants`, on by default) is `ours` with the opt-in tiny VAE decoder
(`--vae-decoder tiny`): TAESD-shaped random weights (diffusers' AutoencoderTiny defaults,
TAESD's shapes), or the test preset's tiny decoder. Its pixel difference to `ours` is printed
but says nothing about TAESD's quality: both decoders have random weights here.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from .weights import DEFAULT_BENCH_DIR, ensure_sd_turbo_shaped, ensure_taesd_shaped

VARIANTS = ("stock", "ours", "tiny")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m bench.diffusion_speed", description=__doc__)
    parser.add_argument(
        "--weights", default="sd-turbo-shaped", choices=("sd-turbo-shaped", "test-diffusion")
    )
    parser.add_argument("--size", default="512x512", help="WIDTHxHEIGHT painted")
    parser.add_argument("--steps", type=int, default=1)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--prompt", default="a lighthouse in a storm, oil painting")
    parser.add_argument(
        "--rounds", type=int, default=2, help="processes per variant, alternating; best time kept"
    )
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: all cores)")
    parser.add_argument("--batch", type=int, default=1, help="also time N singles vs a batch")
    parser.add_argument(
        "--variants",
        default=",".join(VARIANTS),
        help="comma-separated, stock and ours always run; tiny: ours with the tiny VAE decoder",
    )
    parser.add_argument("--models-dir", type=Path, default=DEFAULT_BENCH_DIR)
    parser.add_argument(
        "--out", type=Path, default=Path("build/bench-results/diffusion_speed.json")
    )
    return parser.parse_args(argv)


def weights_folder(args: argparse.Namespace) -> tuple[Path, str]:
    """Return the pipeline folder and the preset whose settings it runs with."""
    if args.weights == "test-diffusion":
        from dalle_frame_server.generation.diffusion.presets import TEST_DIFFUSION
        from dalle_frame_server.generation.diffusion.test_pipelines import ensure_test_pipeline

        return ensure_test_pipeline(TEST_DIFFUSION, args.models_dir), "test-diffusion"
    return ensure_sd_turbo_shaped(args.models_dir), "sd-turbo"


def tiny_vae_folder(args: argparse.Namespace) -> Path:
    """Return the tiny VAE decoder's folder: TAESD-shaped, or the test preset's."""
    if args.weights == "test-diffusion":
        from dalle_frame_server.generation.diffusion.presets import TEST_DIFFUSION
        from dalle_frame_server.generation.diffusion.test_pipelines import ensure_test_tiny_vae

        return ensure_test_tiny_vae(TEST_DIFFUSION, args.models_dir)
    return ensure_taesd_shaped(args.models_dir)


def run_variant(variant: str, job: dict[str, Any]) -> dict[str, Any]:
    """Run one variant in a fresh process; return its JSON line."""
    job = {**job, "variant": variant, "png": str(Path(job["out_dir"]) / f"{variant}.png")}
    completed = subprocess.run(
        [sys.executable, "-m", "bench.diffusion_speed.worker", json.dumps(job)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    if completed.returncode != 0:
        raise SystemExit(f"{variant} failed:\n{completed.stderr[-4000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the run with the quickest picture, with every run's picture time and peak RSS."""
    best = dict(min(runs, key=lambda run: min(run["paint_s"])))
    best["paint_s"] = [time for run in runs for time in run["paint_s"]]
    best["peak_rss_mb"] = max(run["peak_rss_mb"] for run in runs)
    return best


def pixels(path: str) -> np.ndarray:
    """Return a PNG's RGB pixels."""
    return np.asarray(Image.open(io.BytesIO(Path(path).read_bytes())).convert("RGB"))


def compare_tiny(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Print and return the tiny decoder's speed, memory and pixel difference against ours."""
    tiny, ours, stock = results["tiny"], results["ours"], results["stock"]
    full_pixels, tiny_pixels = pixels(ours["png"]), pixels(tiny["png"])
    if full_pixels.shape != tiny_pixels.shape:
        raise SystemExit(f"tiny painted {tiny_pixels.shape}, the full decoder {full_pixels.shape}")
    difference = np.abs(full_pixels.astype(np.int16) - tiny_pixels.astype(np.int16))
    summary = {
        "speedup_vs_stock": min(stock["paint_s"]) / min(tiny["paint_s"]),
        "speedup_vs_ours": min(ours["paint_s"]) / min(tiny["paint_s"]),
        "rss_ratio_vs_stock": tiny["peak_rss_mb"] / stock["peak_rss_mb"],
        "mean_difference": float(difference.mean()),
        "max_difference": int(difference.max()),
    }
    print(
        f"tiny vs stock: {summary['speedup_vs_stock']:.2f}x as fast per picture "
        f"({summary['speedup_vs_ours']:.2f}x ours), peak RSS "
        f"{100 * summary['rss_ratio_vs_stock']:.0f}% of stock"
    )
    print(
        f"tiny vs the full decoder (ours), same latents: mean pixel difference "
        f"{summary['mean_difference']:.1f}, max {summary['max_difference']} (of 255). "
        "MEANINGLESS for quality: both decoders have random weights here; only the real "
        "TAESD against the real VAE tells how close the pictures are"
    )
    return summary


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    width, height = (int(side) for side in args.size.split("x"))
    variants = [name for name in VARIANTS if name in {"stock", "ours", *args.variants.split(",")}]
    unknown = set(args.variants.split(",")) - set(VARIANTS)
    if unknown:
        raise SystemExit(f"--variants: unknown {', '.join(sorted(unknown))} (of {VARIANTS})")
    folder, preset = weights_folder(args)
    tiny_vae = tiny_vae_folder(args) if "tiny" in variants else None
    args.out.parent.mkdir(parents=True, exist_ok=True)
    job = {
        "folder": str(folder),
        "tiny_vae": str(tiny_vae) if tiny_vae else None,
        "preset": preset,
        "width": width,
        "height": height,
        "steps": args.steps,
        "seed": args.seed,
        "prompt": args.prompt,
        "rounds": args.rounds,
        "threads": args.threads,
        "batch": args.batch,
        "out_dir": str(args.out.parent),
    }
    threads = args.threads or torch.get_num_threads()
    print(
        f"weights: {args.weights} ({folder}); "
        + (
            "SD-Turbo's real configs with random weights (no download): real timing and "
            "memory, noise pictures"
            if args.weights == "sd-turbo-shaped"
            else "the tiny test pipeline (paints noise)"
        )
    )
    print(f"{width}x{height}, {args.steps} step(s), seed {args.seed}, {threads} torch threads")
    # One process per variant and round, the order alternating: a noisy machine slows all.
    runs: dict[str, list[dict[str, Any]]] = {variant: [] for variant in variants}
    for round_index in range(args.rounds):
        order = variants if round_index % 2 == 0 else variants[::-1]
        for variant in order:
            runs[variant].append(run_variant(variant, {**job, "rounds": 1}))
    results = {variant: _best(variant_runs) for variant, variant_runs in runs.items()}
    ours, stock = pixels(results["ours"]["png"]), pixels(results["stock"]["png"])
    difference = np.abs(ours.astype(np.int16) - stock.astype(np.int16))
    identical = bool(ours.shape == stock.shape and not difference.any())
    print(
        f"pixels: {'identical' if identical else 'DIFFERENT'} "
        f"(max difference {int(difference.max())}, {int((difference > 0).sum())} values differ;"
        f" picture std {ours.std():.1f})"
    )
    print(
        f"{'variant':8} {'load s':>8} {'picture s':>10} {'to step ends s':>22} {'peak RSS MiB':>13}"
    )
    for name, result in results.items():
        marks = ", ".join(f"{mark:.2f}" for mark in result["step_marks"][-1])
        print(
            f"{name:8} {result['load_s']:8.2f} {min(result['paint_s']):10.2f} {marks:>22} "
            f"{result['peak_rss_mb']:13.0f}"
        )
    speedup = min(results["stock"]["paint_s"]) / min(results["ours"]["paint_s"])
    memory = results["ours"]["peak_rss_mb"] / results["stock"]["peak_rss_mb"]
    print(
        f"ours vs stock: {speedup:.2f}x as fast per picture, peak RSS {100 * memory:.0f}% of stock"
    )
    tiny_summary = compare_tiny(results) if "tiny" in results else None
    for name, result in results.items():
        marks = result["step_marks"][-1]
        per_step = (marks[-1] - marks[0]) / (len(marks) - 1) if len(marks) > 1 else marks[0]
        print(
            f"{name}: {per_step:.2f} s per step"
            + (" (first step, text encoding included)" if len(marks) == 1 else "")
            + f", decode and output after the last step {min(result['paint_s']) - marks[-1]:.2f} s"
        )
    if "batch_s" in results["ours"]:
        print(
            f"batch of {args.batch}: {results['ours']['batch_s']:.2f} s, as singles "
            f"{results['ours']['singles_s']:.2f} s"
        )
    summary = {
        "args": {key: str(value) for key, value in vars(args).items()},
        "identical": identical,
        "max_difference": int(difference.max()),
        "speedup": speedup,
        "rss_ratio": memory,
        "tiny": tiny_summary,
        "results": results,
    }
    args.out.write_text(json.dumps(summary, indent=2))
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
