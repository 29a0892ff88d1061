"""One benchmark variant in its own process, so its peak memory is its own.

Reads a JSON job from stdin, loads the model as the variant would, runs the job's requests
(and optionally a queue of requests through one `decode` call), and prints one JSON line with the
timings, tokens, pixel digests and memory figures. Run by `bench.generation_speed`, not by hand.
"""

from __future__ import annotations

import json
import logging
import resource
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from dalle_frame_server.generation.models.devices import DTYPES
from dalle_frame_server.generation.models.loading import load_dalle_modules, model_paths
from dalle_frame_server.generation.models.memory import keep_freed_memory
from dalle_frame_server.generation.models.shapes import MEGA_SHAPE, DalleShape
from dalle_frame_server.generation.text_to_image import GenerationRequest

from .isa import seen_isa
from .steps import paired_step_times
from .stock import load_stock_min_dalle
from .variants import Outcome, ServerVariant, StockVariant


def current_rss_mb() -> float:
    """Resident memory of this process now, in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb() -> float:
    """Largest resident memory this process has had, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """Load the variant, run the requests, return the results as plain data."""
    if job.get("threads"):
        torch.set_num_threads(int(job["threads"]))
    if job.get("keep_freed_memory"):
        keep_freed_memory()
    device = torch.device(job["device"])
    dtype = DTYPES[job["dtype"]]
    shape = DalleShape(**job["shape"])
    root = Path(job["model_root"])
    if job.get("kind") == "steps":
        return paired_step_times(
            root,
            shape,
            variants=job["variants"],
            grids=job["grids"],
            steps=job["steps"],
            device=device,
            dtype=dtype,
        )
    started = time.perf_counter()
    if job["variant"] == "stock":
        variant: StockVariant | ServerVariant = StockVariant(
            load_stock_min_dalle(root, shape, device=device, dtype=dtype)
        )
    else:
        layout = "mega" if shape == MEGA_SHAPE else "mini"
        modules = load_dalle_modules(
            model_paths(root, layout), shape, device, dtype, remedy="rerun the benchmark"
        )
        variant = ServerVariant(modules, job["variant"], device)
    load_seconds = time.perf_counter() - started
    result: dict[str, Any] = {
        "load_seconds": load_seconds,
        "rss_after_load_mb": current_rss_mb(),
        "threads": torch.get_num_threads(),
        "isa_seen": seen_isa(),
        "int8_path": variant.backend.int8_path if isinstance(variant, ServerVariant) else None,
        "outcomes": [],
        "queue": [],
    }
    for request in job["requests"]:
        outcome = variant.generate(GenerationRequest(**request))
        result["outcomes"].append(_plain(outcome))
    for queue in job.get("queues", []):
        if not isinstance(variant, ServerVariant):
            break
        requests = [GenerationRequest(**request) for request in queue["requests"]]
        if queue["mode"] == "any":
            variant.backend.planner.exact = False
        outcomes = variant.decode_queue(requests, batched=queue["mode"] != "sequential")
        variant.backend.planner.exact = variant.backend.exact
        result["queue"].append(
            {
                "name": queue["name"],
                "mode": queue["mode"],
                "requests": queue["requests"],
                "outcomes": [_plain(o) for o in outcomes],
            }
        )
    result["peak_rss_mb"] = peak_rss_mb()
    if device.type == "cuda":
        result["gpu_peak_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
    return result


def _plain(outcome: Outcome) -> dict[str, Any]:
    """An outcome as JSON-ready data."""
    return {
        "timings": asdict(outcome.timings),
        "tokens": outcome.tokens,
        "pixels_sha256": outcome.pixels_sha256,
    }


def main() -> None:
    """Read the job from stdin and print the result as the last line of stdout."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    job = json.loads(sys.stdin.read())
    result = run_job(job)
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
