"""The demo: GPU server + a real Home Assistant + the Pi satellite, end to end, on this machine.

Starts the GPU server (real `mini` weights when they are in models/ or downloadable, else the
`test` model, which paints noise), a fresh Home Assistant onboarded through its REST API, adds
the integration through the config flow REST API, starts the satellite with the `file`
display, presses the frame's "new prompt" button as the satellite would, and waits for the
frame image. Stays up until Ctrl-C, then shuts everything down.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import socket
import sys
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.stack import (
    HOST,
    ROOT,
    GpuServer,
    HomeAssistant,
    Satellite,
    free_port,
    reset_dir,
)

MINI_FILES = ("dalle_bart_mini/encoder.pt", "dalle_bart_mini/decoder.pt", "vqgan/detoker.pt")
HF_PROBE = "https://huggingface.co/kuprel/min-dalle/resolve/main/config.json"


def port_or_free(preferred: int) -> int:
    """Return `preferred` when nothing listens on it on 127.0.0.1, else a free port."""
    with socket.socket() as sock:
        try:
            sock.bind((HOST, preferred))
        except OSError:
            return free_port()
    return preferred


def banner(lines: list[str]) -> None:
    """Print a framed message that stands out in the terminal."""
    width = max(len(line) for line in lines) + 4
    print("\n" + "#" * width)
    for line in lines:
        print(f"# {line.ljust(width - 4)} #")
    print("#" * width + "\n", flush=True)


async def choose_model(models_dir: Path) -> str:
    """Return "mini" when its weights are present or downloadable, else "test"."""
    if all((models_dir / name).is_file() for name in MINI_FILES):
        return "mini"
    # The system resolver in a thread: the aiodns build in HA's environment cannot resolve.
    connector = aiohttp.TCPConnector(resolver=aiohttp.ThreadedResolver())
    async with aiohttp.ClientSession(connector=connector) as probe:
        with contextlib.suppress(aiohttp.ClientError, TimeoutError, OSError):
            async with probe.head(HF_PROBE, timeout=aiohttp.ClientTimeout(total=5)) as response:
                if response.status < 400:
                    return "mini"
    return "test"


async def run(args: argparse.Namespace, work: Path, models_dir: Path) -> None:
    """Bring the stack up, make one frame image, and wait for Ctrl-C."""
    started = time.monotonic()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    async with aiohttp.ClientSession() as session:
        model = args.model or await choose_model(models_dir)
        if model == "test":
            banner(
                [
                    "GPU server model: test (tiny RANDOM weights, made on this machine).",
                    "The art will be NOISE: real min-dalle weights cannot be had here.",
                    f"Put the mini weights in {models_dir} (or run where huggingface.co",
                    "is reachable) to paint real pictures.",
                ]
            )
        server = GpuServer(
            work / "server", model=model, models_dir=models_dir, port=port_or_free(args.server_port)
        )
        ha = HomeAssistant(work / "homeassistant", port=port_or_free(args.ha_port))
        satellite: Satellite | None = None
        try:
            print(f"[demo] starting the GPU server ({model}) …", flush=True)
            (work / "server").mkdir()
            await server.start(session, limit=3600 if model != "test" else 300)
            print(f"[demo] GPU server ready at {server.url}", flush=True)

            print("[demo] starting Home Assistant …", flush=True)
            await ha.start(session)
            await ha.onboard(session)
            result = await ha.add_frame(session, server)
            print(f"[demo] integration added: {result.get('title')} ({result.get('type')})")
            dashboard = await ha.add_dashboard(session)

            token = await ha.long_lived_token(session, "dalle_frame satellite")
            frame_png = work / "frame.png"
            satellite = Satellite(work / "satellite", ha_url=ha.url, token=token, output=frame_png)
            satellite.start()
            await satellite.wait_connected()
            print("[demo] satellite connected to Home Assistant", flush=True)

            print("[demo] pressing the frame's 'new prompt' button …", flush=True)
            t0 = time.monotonic()
            await satellite.press("B")
            await satellite.wait_for_refresh(after=0, limit=args.timeout)
            print(f"[demo] first frame image after {time.monotonic() - t0:.1f} s")

            banner(
                [
                    f"dalle_frame demo is up ({time.monotonic() - started:.0f} s).",
                    f"Home Assistant: {ha.url}  user: {ha.username}  password: {ha.password}",
                    f"Dashboard:      {ha.url}{dashboard}",
                    f"GPU server:     {server.url}  (model: {model})",
                    f"Frame image:    {frame_png}",
                    f"Logs:           {work}",
                    "Press Ctrl-C to stop.",
                ]
            )
            await stop.wait()
        finally:
            print("[demo] shutting down …", flush=True)
            if satellite:
                satellite.stop()
            ha.stop()
            server.stop()
            print("[demo] stopped.", flush=True)


def main() -> None:
    """Parse arguments and run the demo."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--work-dir", default=str(ROOT / "demo_data"), help="logs and state")
    parser.add_argument("--models-dir", default=str(ROOT / "models"), help="model weights")
    parser.add_argument("--model", choices=("test", "mini", "mega"), help="force a model")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds to wait for art")
    parser.add_argument("--ha-port", type=int, default=8123, help="HA's port (a free one if taken)")
    parser.add_argument(
        "--server-port", type=int, default=8765, help="GPU server's port (a free one if taken)"
    )
    args = parser.parse_args()
    work = reset_dir(Path(args.work_dir).resolve())
    models_dir = Path(args.models_dir).resolve()
    models_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(run(args, work, models_dir))


if __name__ == "__main__":
    main()
