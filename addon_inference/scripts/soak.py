"""Soak: many `test` generations against the real server process; RSS at start and end.

    .venvs/server/bin/python addon_inference/scripts/soak.py --count 500

Each generation takes a few seconds on a CPU (the full-size VQGAN detokenizer dominates), so
500 take about half an hour on 2 cores. RSS is taken after a warm-up generation and after the
last one; a leak shows as steady growth, reported per 100 generations.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from server_process import ServerProcess, generate


def _server(models_dir: Path) -> ServerProcess:
    """Return the soaked server: the test model, no ASR."""
    return ServerProcess(
        ["--model", "test", "--asr-model", "none", "--models-dir", str(models_dir.resolve())],
        Path("build/soak/server.log").resolve(),
    )


async def main() -> None:
    """Run the soak and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--models-dir", type=Path, default=Path("build/soak/models"))
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--report-every", type=int, default=50)
    args = parser.parse_args()
    server = _server(args.models_dir)
    server.start()
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3600)) as session:
            await server.wait_ready(session)
            await generate(session, server.url, "warm up", 1)
            start_rss = server.rss_mib()
            started = time.monotonic()
            print(f"RSS after warm-up: {start_rss:.0f} MiB", flush=True)
            queue: asyncio.Queue[int] = asyncio.Queue()
            for index in range(args.count):
                queue.put_nowait(index)

            checkpoints: list[float] = []

            async def worker() -> None:
                while not queue.empty():
                    index = queue.get_nowait()
                    await generate(session, server.url, f"soak {index}", index + 2)
                    if (index + 1) % args.report_every == 0:
                        checkpoints.append(server.rss_mib())
                        print(
                            f"{index + 1} generations, RSS {checkpoints[-1]:.0f} MiB, "
                            f"{time.monotonic() - started:.0f} s",
                            flush=True,
                        )

            await asyncio.gather(*(worker() for _ in range(args.concurrency)))
            end_rss = server.rss_mib()
    finally:
        server.stop()
    print(
        f"{args.count} generations in {time.monotonic() - started:.0f} s; RSS {start_rss:.0f} -> "
        f"{end_rss:.0f} MiB ({end_rss - start_rss:+.0f} MiB)"
    )
    if checkpoints:
        # The allocators settle in the first generations; growth after that would be a leak.
        print(f"after the first checkpoint: {end_rss - checkpoints[0]:+.0f} MiB")


if __name__ == "__main__":
    asyncio.run(main())
