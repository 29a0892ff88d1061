"""Start-up time and seconds per image of the real server process, for the report.

    .venvs/server/bin/python addon_inference/scripts/server_figures.py --model test
    .venvs/server/bin/python addon_inference/scripts/server_figures.py --model mini-random

`test` measures a cold start (the test models are built into an empty folder), a warm start
(the files exist) and N images. `mini-random` first writes mini-shaped *random* weights (1.8 GB,
deterministic, never committed) into the work folder, then serves them as `--model mini`: the
server finds every file present, downloads nothing, and runs mini's real shapes (it paints
noise). Ratios are against the test model's warm figures measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from server_process import ServerProcess, generate

from dalle_frame_server.generation.models.random_weights import write_random_model
from dalle_frame_server.generation.models.shapes import MINI_SHAPE

PROMPTS = ("a lighthouse in a storm", "a red car", "planet earth", "a watercolor of a cat")


async def measure(arguments: list[str], log_path: Path, images: int) -> dict[str, float]:
    """Start a server, wait until ready, generate `images` images; return the figures."""
    server = ServerProcess(arguments, log_path)
    server.start()
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3600)) as session:
            ready = await server.wait_ready(session)
            client_seconds, device_seconds = [], []
            for index in range(images):
                client, device = await generate(
                    session, server.url, PROMPTS[index % len(PROMPTS)], seed=index + 1
                )
                client_seconds.append(client)
                device_seconds.append(device)
            rss = server.rss_mib()
    finally:
        server.stop()
    return {
        "ready_s": ready,
        "first_image_s": client_seconds[0],
        "median_image_s": statistics.median(client_seconds),
        "median_device_s": statistics.median(device_seconds),
        "rss_mib": rss,
    }


def report(name: str, figures: dict[str, float], reference: dict[str, float] | None) -> None:
    """Print one line of figures (and ratios against the reference)."""
    line = (
        f"{name:28s} ready {figures['ready_s']:7.1f} s | first image "
        f"{figures['first_image_s']:6.1f} s | median image {figures['median_image_s']:6.1f} s"
        f" (device {figures['median_device_s']:.1f} s) | RSS {figures['rss_mib']:.0f} MiB"
    )
    if reference is not None:
        line += (
            f" | x{figures['ready_s'] / reference['ready_s']:.1f} start-up, "
            f"x{figures['median_image_s'] / reference['median_image_s']:.1f} per image"
        )
    print(line, flush=True)


async def main() -> None:
    """Run the measurements asked for."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", choices=("test", "mini-random"), default="test")
    parser.add_argument("--work-dir", type=Path, default=Path("build/server-figures"))
    parser.add_argument("--images", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--backend", default="reference")
    args = parser.parse_args()
    work = args.work_dir.resolve()
    common = ["--asr-model", "test", "--backend", args.backend]
    if args.threads:
        common += ["--threads", str(args.threads)]

    test_dir = work / "test-models"
    shutil.rmtree(test_dir, ignore_errors=True)
    cold = await measure(
        ["--model", "test", "--models-dir", str(test_dir), *common], work / "cold.log", 1
    )
    report("test, cold start (builds)", cold, None)
    warm = await measure(
        ["--model", "test", "--models-dir", str(test_dir), *common], work / "warm.log", args.images
    )
    report("test, warm start", warm, None)
    if args.model == "mini-random":
        mini_root = work / "mini-random"
        if not (mini_root / "random_model.json").is_file():
            started = time.monotonic()
            write_random_model(work, MINI_SHAPE, seed=1, layout_name="mini-random")
            print(f"wrote mini-shaped random weights in {time.monotonic() - started:.0f} s")
        mini_args = ["--model", "mini", "--models-dir", str(mini_root), *common]
        mini_args += ["--asr-model", "test"]
        mini = await measure(mini_args, work / "mini.log", args.images)
        report("mini-shaped random weights", mini, warm)


if __name__ == "__main__":
    asyncio.run(main())
