"""Benchmark Triton mode against the built-in queue: several frames asking at once.

    .venvs/triton/bin/python -m bench.triton_throughput [--clients 8] [--requests 2]
        [--model test|mini] [--setups builtin,triton-1,triton-2]

Runs, one after another on this machine, (1) the single-process server (the server
environment, its own queue), (2) the front with one Triton node, (3) the front with two nodes,
all with the same model and backend (`--model test`: tiny random weights, 256 real decoder
steps and the full-size VQGAN, which then takes most of the time; `--model mini`: random
weights of min-dalle mini's shapes, whose decoder takes most of the time as with the real
weights; `--backend int8` by default, which batches its 1-image requests here). For each: one
client alone (`--sequential` requests one after another: the per-image rate and the front +
Triton overhead), then `--clients` clients each sending `--requests` requests back to back.
Prints images per minute, p50/p95 latency and the gain of concurrency over one-after-another
(the batching gain where the backend batches), and writes JSON
(build/bench-results/triton_throughput.json). Two nodes on one machine share its cores: the
two-node figure is the overhead of spreading, not a second GPU's gain.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

from tests.stack import ROOT, reset_dir, wait_for
from tests.triton.processes import (
    SERVER_PYTHON,
    TritonFrontProcess,
    TritonNodeProcess,
    build_test_models,
)

RESULTS = Path("build/bench-results/triton_throughput.json")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m bench.triton_throughput", description=__doc__)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=2, help="requests per client")
    parser.add_argument("--sequential", type=int, default=3, help="requests of the lone client")
    parser.add_argument(
        "--setups", default="builtin,triton-1,triton-2", help="builtin, triton-1, triton-2"
    )
    parser.add_argument(
        "--backend",
        default="int8",
        help="generation backend for every setup (int8 batches 1-image requests of the test "
        "model on this CPU; fast does not)",
    )
    parser.add_argument(
        "--alternate",
        type=int,
        default=0,
        help="also run both the single-process server and the one-node front at once and send "
        "them this many single requests in turn (the overhead under the same load; 0: skip)",
    )
    parser.add_argument(
        "--model",
        choices=("test", "mini"),
        default="test",
        help="test: the tiny test model (its full-size VQGAN dominates the time); mini: "
        "random weights of min-dalle mini's shapes (the decoder dominates, as with real weights)",
    )
    parser.add_argument("--work-dir", type=Path, default=Path("build/bench-triton"))
    parser.add_argument("--out", type=Path, default=RESULTS)
    return parser.parse_args(argv)


@asynccontextmanager
async def running(
    setup: str,
    work_dir: Path,
    models_dir: Path,
    queue_size: int,
    backend: str,
    model: str = "test",
) -> AsyncIterator[tuple[str, dict]]:
    """Start one setup; yield its base URL and headers; stop it afterwards."""
    async with aiohttp.ClientSession() as session:
        queue = ["--queue-size", str(queue_size), "--backend", backend, "--model", model]
        if setup == "builtin":
            # The single-process server, from its own environment, on the same model files.
            server = TritonFrontProcess(
                reset_dir(work_dir / setup),
                [],
                python=SERVER_PYTHON,
                models_dir=models_dir,
                extra_args=queue,
            )
            try:
                server.start()
                await wait_for(lambda: ready(session, server.url), "the server", 300)
                yield server.url, server.headers
            finally:
                server.stop()
            return
        count = int(setup.split("-")[1])
        setup_dir = reset_dir(work_dir / setup)
        nodes = [
            TritonNodeProcess(
                f"node-{index}",
                setup_dir,
                models_dir,
                model=model,
                extra_args=["--backend", backend],
            )
            for index in range(count)
        ]
        front = TritonFrontProcess(setup_dir, [node.url for node in nodes], extra_args=queue)
        try:
            for node in nodes:
                node.start()
            front.start()
            for node in nodes:
                await node.wait_ready(session)
            await front.wait_nodes_up(session, count)
            yield front.url, front.headers
        finally:
            front.stop()
            for node in nodes:
                node.stop()


async def ready(session: aiohttp.ClientSession, url: str) -> bool:
    """Whether /v1/health says ok."""
    async with session.get(f"{url}/v1/health") as response:
        return bool((await response.json())["status"] == "ok")


async def one_request(
    session: aiohttp.ClientSession, url: str, headers: dict[str, str], seed: int
) -> float:
    """Generate one picture; return its latency in seconds."""
    started = time.monotonic()
    async with session.post(
        f"{url}/v1/generate",
        json={"prompt": f"benchmark picture {seed}", "seed": seed},
        headers=headers,
        timeout=aiohttp.ClientTimeout(total=1800),
    ) as response:
        body = await response.read()
        if response.status != 200:
            raise RuntimeError(f"request {seed} failed: {response.status} {body[:200]!r}")
    return time.monotonic() - started


async def load(url: str, headers: dict[str, str], clients: int, requests: int) -> dict[str, Any]:
    """`clients` clients, each sending `requests` requests back to back."""
    async with aiohttp.ClientSession() as session:

        async def client(index: int) -> list[float]:
            return [
                await one_request(session, url, headers, index * 100 + number)
                for number in range(requests)
            ]

        started = time.monotonic()
        latencies = [
            latency
            for results in await asyncio.gather(*(client(i) for i in range(clients)))
            for latency in results
        ]
        wall = time.monotonic() - started
    return summary(latencies, wall)


def summary(latencies: list[float], wall: float) -> dict[str, Any]:
    """Images per minute and latency percentiles."""
    ordered = sorted(latencies)

    def percentile(share: float) -> float:
        return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]

    return {
        "images": len(ordered),
        "wall_seconds": round(wall, 2),
        "images_per_minute": round(60 * len(ordered) / wall, 2),
        "p50_seconds": round(statistics.median(ordered), 2),
        "p95_seconds": round(percentile(0.95), 2),
    }


def link_mini_shaped_model(models_dir: Path) -> None:
    """Put min-dalle mini's layout, with the benchmarks' random weights, into `models_dir`.

    The weights are made once (in the server environment) by bench.generation_speed's models
    and linked here; the server and the nodes take files that are present as they are.
    """
    subprocess.run(
        [
            str(SERVER_PYTHON),
            "-c",
            "from bench.generation_speed.models import ensure_bench_model; "
            "print(ensure_bench_model('mini').root)",
        ],
        check=True,
        cwd=ROOT,
    )
    source = (ROOT / "build/bench-models/mini-random").resolve()
    for part in ("dalle_bart_mini", "vqgan"):
        link = models_dir / part
        if not link.exists():
            link.symlink_to(source / part, target_is_directory=True)


def run(argv: list[str] | None = None, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run the setups and return the figures."""
    args = parse_args(argv)
    models_dir = args.work_dir / "models"
    models_dir.mkdir(parents=True, exist_ok=True)
    build_test_models(models_dir)
    if args.model == "mini":
        link_mini_shaped_model(models_dir)
    figures: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared with other jobs)",
        "model": args.model if args.model == "test" else "mini-shaped random weights",
        "backend": args.backend,
        "clients": args.clients,
        "requests_per_client": args.requests,
        "setups": {},
    }

    async def measure(setup: str) -> dict[str, Any]:
        async with running(
            setup, args.work_dir, models_dir, args.clients, args.backend, args.model
        ) as (
            url,
            headers,
        ):
            await load(url, headers, 1, 1)  # warm up (first-turn allocations, probes)
            alone = await load(url, headers, 1, args.sequential)
            together = await load(url, headers, args.clients, args.requests)
        together["gain_over_sequential"] = round(
            together["images_per_minute"] / alone["images_per_minute"], 2
        )
        return {"sequential": alone, "concurrent": together}

    for setup in args.setups.split(","):
        log(f"measuring {setup} ...")
        figures["setups"][setup] = asyncio.run(measure(setup))
        log(json.dumps(figures["setups"][setup]))
    if args.alternate:
        log("measuring the overhead, alternating requests ...")
        figures["alternating"] = asyncio.run(
            alternate(args.work_dir, models_dir, args.backend, args.alternate)
        )
        log(json.dumps(figures["alternating"]))
    builtin = figures["setups"].get("builtin")
    for setup, result in figures["setups"].items():
        if builtin is not None and setup != "builtin":
            result["sequential_overhead_vs_builtin"] = round(
                result["sequential"]["p50_seconds"] / builtin["sequential"]["p50_seconds"] - 1, 3
            )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2))
    log(table(figures))
    return figures


async def alternate(work_dir: Path, models_dir: Path, backend: str, rounds: int) -> dict[str, Any]:
    """Single requests to the server and to the one-node front in turn (same load on both)."""
    latencies: dict[str, list[float]] = {"builtin": [], "triton-1": []}
    async with (
        running("builtin", work_dir, models_dir, 1, backend) as builtin,
        running("triton-1", work_dir, models_dir, 1, backend) as front,
        aiohttp.ClientSession() as session,
    ):
        targets = {"builtin": builtin, "triton-1": front}
        for url, headers in targets.values():
            await one_request(session, url, headers, 0)  # warm up
        for number in range(rounds):
            for name, (url, headers) in targets.items():
                latencies[name].append(await one_request(session, url, headers, number + 1))
    medians = {name: statistics.median(values) for name, values in latencies.items()}
    return {
        "rounds": rounds,
        "median_seconds": {name: round(value, 3) for name, value in medians.items()},
        "overhead": round(medians["triton-1"] / medians["builtin"] - 1, 3),
        "latencies": {name: [round(v, 3) for v in values] for name, values in latencies.items()},
    }


def table(figures: dict[str, Any]) -> str:
    """The figures as a text table."""
    rows = ["setup      | alone img/min | alone p50 s | concurrent img/min | p50 s | p95 s | gain"]
    for setup, result in figures["setups"].items():
        alone, together = result["sequential"], result["concurrent"]
        rows.append(
            f"{setup:<10} | {alone['images_per_minute']:>13} | {alone['p50_seconds']:>11} | "
            f"{together['images_per_minute']:>18} | {together['p50_seconds']:>5} | "
            f"{together['p95_seconds']:>5} | {together['gain_over_sequential']}"
        )
    return "\n".join(rows)


if __name__ == "__main__":
    run()
