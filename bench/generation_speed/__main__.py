"""Benchmark the server's min-dalle backends against stock min-dalle on the same weights and seeds.

    .venvs/server/bin/python -m bench.generation_speed [--models test,mini] [--rounds 3]

Every (model, variant) runs in a fresh process per round, so peak RSS is per variant, and the
variants take turns within each round (the order rotates), so a noisy machine slows them alike.
Prints a table and writes JSON (build/bench-results/generation_speed.json by default). Figures are
medians over rounds; speedups are against stock in the same run. On a GPU machine add
`--device cuda --models mega` (fp16 by default there). `--isa avx2` caps every library of
every worker (stock's too) to AVX2: a machine with AVX-512 and VNNI then runs the kernels of
one without (`--isa avx512`: AVX-512 without VNNI; isa.py); the table's first line says what
the workers' libraries used.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch

from .isa import ISA_CAPS, isa_environment
from .models import DEFAULT_MODELS_DIR, ensure_bench_model
from .report import summarize, table
from .steps import STEPPED_VARIANTS

_LOGGER = logging.getLogger("bench.generation_speed")

PROMPTS = ("a lighthouse in a storm", "an alpine lake at dawn, oil painting", "a red cat on a mat")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m bench.generation_speed", description=__doc__)
    parser.add_argument("--models", default="test,mini", help="test, mini, mega (comma list)")
    parser.add_argument(
        "--variants",
        default="stock,reference,fast,int8,int8-raw,fp16",
        help="stock and server backends",
    )
    parser.add_argument("--grids", default="1,3", help="grid sizes (1..3)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (one seed each)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default=None, help="float32 on CPU, float16 on CUDA")
    parser.add_argument("--threads", type=int, default=None, help="torch threads in workers")
    parser.add_argument(
        "--queue",
        default="4x1,2x2",
        help="queues decoded as one batch, e.g. 4x1 = four 1-image requests ('' for none)",
    )
    parser.add_argument(
        "--paired-steps",
        type=int,
        default=64,
        help="decoder steps timed alternately per variant in one process (0: skip)",
    )
    parser.add_argument(
        "--default-malloc",
        action="store_true",
        help="leave glibc's allocator as it is (default: keep freed memory, in every variant)",
    )
    parser.add_argument(
        "--isa",
        choices=tuple(ISA_CAPS),
        default="native",
        help="cap MKL, oneDNN, fbgemm and ATen to one ISA in every worker (avx2: a machine "
        "without AVX-512 and VNNI; avx512: AVX-512 without VNNI)",
    )
    parser.add_argument("--top-k", type=int, default=128)
    parser.add_argument("--models-dir", type=Path, default=DEFAULT_MODELS_DIR)
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("build/bench-results/generation_speed.json"),
        help="JSON file",
    )
    return parser.parse_args(argv)


def run_worker(job: dict[str, Any], isa: str = "native") -> dict[str, Any]:
    """Run one job in a fresh `bench.generation_speed.worker` process; return its JSON result.

    isa: a key of `ISA_CAPS`, the cap every library of the worker gets.
    """
    env = isa_environment(isa, os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [".", os.environ.get("PYTHONPATH")]))
    completed = subprocess.run(
        [sys.executable, "-m", "bench.generation_speed.worker"],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"worker for {job['variant']} failed ({completed.returncode}):\n"
            + completed.stderr[-3000:]
        )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def queue_jobs(spec: str, seed: int, top_k: int) -> list[dict[str, Any]]:
    """Batched decoding jobs for a spec such as '4x1,2x2': each run sequentially, batched exactly,
    and batched regardless of exactness."""
    queues = []
    for item in filter(None, spec.split(",")):
        count, grid = (int(part) for part in item.split("x"))
        requests = [
            {
                "prompt": PROMPTS[index % len(PROMPTS)],
                "seed": seed + 100 * index,
                "grid_size": grid,
                "top_k": top_k,
            }
            for index in range(count)
        ]
        for mode in ("sequential", "exact", "any"):
            queues.append({"name": item, "mode": mode, "requests": requests})
    return queues


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the table."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    dtype = args.dtype or ("float16" if args.device.startswith("cuda") else "float32")
    grids = [int(grid) for grid in args.grids.split(",")]
    variants = args.variants.split(",")
    for cpu_only in ("int8", "int8-raw", "fp16"):
        if args.device.startswith("cuda") and cpu_only in variants:
            _LOGGER.warning("The %s backend is CPU-only: left out on %s", cpu_only, args.device)
            variants.remove(cpu_only)
    runs: list[dict[str, Any]] = []
    paired: dict[str, Any] = {}
    for model_name in args.models.split(","):
        model = ensure_bench_model(model_name, args.models_dir)
        if args.paired_steps:
            started = time.monotonic()
            paired[model_name] = run_worker(
                {
                    "kind": "steps",
                    "model_root": str(model.root),
                    "shape": model.shape.as_dict(),
                    "variants": [v for v in variants if v == "stock" or v in STEPPED_VARIANTS],
                    "grids": grids,
                    "steps": args.paired_steps,
                    "device": args.device,
                    "dtype": dtype,
                    "threads": args.threads,
                    "keep_freed_memory": not args.default_malloc,
                    "variant": "paired steps",
                },
                args.isa,
            )
            _LOGGER.info("%s paired steps: %.0f s", model_name, time.monotonic() - started)
        for round_number in range(args.rounds):
            seed = 1000 + round_number
            shift = round_number % len(variants)
            for variant in variants[shift:] + variants[:shift]:
                requests = [
                    {
                        "prompt": PROMPTS[round_number % len(PROMPTS)],
                        "seed": seed,
                        "grid_size": grid,
                        "top_k": args.top_k,
                    }
                    for grid in grids
                ]
                queues = (
                    queue_jobs(args.queue, seed, args.top_k)
                    if variant in STEPPED_VARIANTS and round_number == 0
                    else []
                )
                job = {
                    "model_root": str(model.root),
                    "shape": model.shape.as_dict(),
                    "variant": variant,
                    "device": args.device,
                    "dtype": dtype,
                    "threads": args.threads,
                    "keep_freed_memory": not args.default_malloc,
                    "requests": requests,
                    "queues": queues,
                }
                started = time.monotonic()
                result = run_worker(job, args.isa)
                _LOGGER.info(
                    "%s %s round %d: %.0f s",
                    model_name,
                    variant,
                    round_number,
                    time.monotonic() - started,
                )
                runs.append(
                    {
                        "model": model_name,
                        "variant": variant,
                        "round": round_number,
                        "job": job,
                        **result,
                    }
                )
                partial = args.out.with_suffix(".partial.json")
                partial.parent.mkdir(parents=True, exist_ok=True)
                partial.write_text(json.dumps(runs))
    summary = summarize(runs)
    summary["paired_steps"] = paired
    summary["isa"] = args.isa
    print(table(summary))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    environment = {
        "machine": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "device": args.device,
        "dtype": dtype,
        "isa": args.isa,
        "isa_caps": ISA_CAPS[args.isa],
        "glibc_keeps_freed_memory": not args.default_malloc,
        "command": " ".join(
            [Path(sys.executable).name, "-m", "bench.generation_speed", *sys.argv[1:]]
        ),
    }
    args.out.write_text(
        json.dumps(
            {"environment": environment, "summary": summary, "runs": _without_tokens(runs)},
            indent=1,
        )
    )
    print(f"\nJSON written to {args.out}")


def _without_tokens(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Runs without the token lists (they are compared in the summary; too long to keep)."""
    light = []
    for run in runs:
        run = dict(run)
        run["outcomes"] = [{k: v for k, v in o.items() if k != "tokens"} for o in run["outcomes"]]
        run["queue"] = [
            {
                **q,
                "outcomes": [{k: v for k, v in o.items() if k != "tokens"} for o in q["outcomes"]],
            }
            for q in run["queue"]
        ]
        light.append(run)
    return light


if __name__ == "__main__":
    main()
