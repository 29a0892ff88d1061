"""Measure the server's peak memory on a first start with the add-on's defaults (a 4 GB box).

    .venvs/server/bin/python -m bench.first_start_memory [--reference] [--threads N]

The add-on's defaults are `model: mini`, `backend: fast` and the default `asr_model`, which is
downloaded already in ONNX on first start. Here the files are model-shaped random weights made
locally (the real ones cannot be downloaded): mini-shaped min-dalle files
(bench.generation_speed's), and a wav2vec2-base-shaped random model exported with int8 weights
by the server's own exporter, served by a local stand-in for the hub at the pinned repository
path. The server runs as its own process (`python -m dalle_frame_server`'s entry point), with
the pin set to that file's sha256: it downloads the ASR model, checks it, loads both models,
paints one picture and transcribes a 3 s clip. The row reports the process's peak resident
memory (VmHWM), which includes the first start, and the seconds each phase took.

`--reference` adds the former default in the same run: `wav2vec2-large-960h-lv60-self`,
exported from the checkpoint on first start (here: a large-shaped random model in place of the
hub's checkpoint; the export is the server's own), then the same picture and clip.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import wave
from pathlib import Path

import numpy as np
from aiohttp import web

from bench.generation_speed.models import ensure_bench_model

_ROOT = Path(__file__).resolve().parents[2]
_WORK = _ROOT / "build" / "bench-models"

_SERVER = """
import dataclasses, sys
from dalle_frame_server.asr import pretrained
from dalle_frame_server import loading
spec = pretrained.PRETRAINED_ASR_MODELS["wav2vec2-base-960h"]
pretrained.PRETRAINED_ASR_MODELS[spec.name] = dataclasses.replace(spec, graph_sha256=sys.argv[1])
if sys.argv[2] == "large":
    from bench.asr.__main__ import large_model
    from dalle_frame_server.asr.export import export_ctc_model
    from dalle_frame_server.asr.tiny_model import WAV2VEC2_VOCAB

    def export_checkpoint(checkpoint, out_dir, **kwargs):
        return export_ctc_model(large_model(), WAV2VEC2_VOCAB, out_dir, source=checkpoint)

    loading.export_checkpoint = export_checkpoint
from dalle_frame_server.__main__ import run
run(sys.argv[3:])
"""


def _base_graph(folder: Path) -> bytes:
    """A wav2vec2-base-shaped random model exported with int8 weights (made once)."""
    graph = folder / "model.onnx"
    if not graph.is_file():
        code = (
            "import sys, torch; from pathlib import Path\n"
            "from transformers import Wav2Vec2Config, Wav2Vec2ForCTC\n"
            "from dalle_frame_server.asr.export import export_ctc_model\n"
            "from dalle_frame_server.asr.tiny_model import WAV2VEC2_VOCAB\n"
            "torch.manual_seed(21)\n"
            "model = Wav2Vec2ForCTC(Wav2Vec2Config(vocab_size=len(WAV2VEC2_VOCAB))).eval()\n"
            "out = Path(sys.argv[1])\n"
            "export_ctc_model(model, WAV2VEC2_VOCAB, out, source='bench', int8=True)\n"
        )
        subprocess.run([sys.executable, "-c", code, str(folder)], check=True)
    return graph.read_bytes()


def _serve_hub(files: dict[str, bytes]) -> tuple[str, asyncio.AbstractEventLoop]:
    """Serve `files` by path on 127.0.0.1 in a background thread; return the base URL."""
    import threading

    async def handle(request: web.Request) -> web.Response:
        data = files.get(request.path)
        if data is None:
            return web.Response(status=404)
        headers = {"X-Linked-Size": str(len(data)), "Content-Length": str(len(data))}
        return web.Response(body=None if request.method == "HEAD" else data, headers=headers)

    app = web.Application()
    app.router.add_route("*", "/{path:.*}", handle)
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = runner.addresses[0][1]
    threading.Thread(target=loop.run_forever, daemon=True).start()
    return f"http://127.0.0.1:{port}", loop


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _clip(seconds: float = 3.0) -> bytes:
    rng = np.random.default_rng(3)
    samples = (rng.standard_normal(int(16_000 * seconds)) * 3000).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(16_000)
        writer.writeframes(samples.tobytes())
    return buffer.getvalue()


def _peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def _post(url: str, body: bytes, content_type: str) -> None:
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": content_type}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=1800) as response:
        response.read()


def run_case(asr_model: str, sha: str, hub_url: str, threads: int | None) -> dict[str, float]:
    """Start a fresh server, paint and transcribe once; return its timings and peak memory."""
    mini = ensure_bench_model("mini", _WORK)
    with tempfile.TemporaryDirectory(prefix="first-start-") as scratch:
        models = Path(scratch)
        for name in ("dalle_bart_mini", "vqgan"):  # the min-dalle files, never written to
            (models / name).symlink_to(mini.root / name)
        port = _free_port()
        args = ["--model", "mini", "--backend", "fast", "--asr-model", asr_model]
        args += ["--models-dir", str(models), "--port", str(port), "--asr-download-url", hub_url]
        if threads:
            args += ["--threads", str(threads)]
        kind = "large" if "large" in asr_model else "base"
        env = {**os.environ, "PYTHONPATH": str(_ROOT)}
        started = time.monotonic()
        server = subprocess.Popen(
            [sys.executable, "-c", _SERVER, sha, kind, *args], env=env, cwd=_ROOT
        )
        try:
            base = f"http://127.0.0.1:{port}"
            while True:
                try:
                    with urllib.request.urlopen(f"{base}/v1/health", timeout=5) as response:
                        health = json.load(response)
                    if health["status"] != "loading":
                        break
                except OSError:
                    pass
                if server.poll() is not None:
                    raise RuntimeError(f"the server exited with {server.returncode}")
                time.sleep(0.2)
            if health["status"] != "ok" or not health["asr"]["ready"]:
                raise RuntimeError(f"server not ready: {health}")
            ready = time.monotonic()
            body = json.dumps({"prompt": "a lighthouse in a storm", "seed": 1}).encode()
            _post(f"{base}/v1/generate", body, "application/json")
            painted = time.monotonic()
            _post(f"{base}/v1/transcribe", _clip(), "audio/wav")
            heard = time.monotonic()
            peak = _peak_mb(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=60)
    return {
        "start_s": ready - started,
        "paint_s": painted - ready,
        "transcribe_s": heard - painted,
        "peak_mb": peak,
    }


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.first_start_memory", description=__doc__)
    parser.add_argument("--reference", action="store_true", help="also the former default")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    from dalle_frame_server.asr.model_folder import DEFAULT_ASR_MODEL, LARGE_ASR_MODEL
    from dalle_frame_server.asr.pretrained import PRETRAINED_ASR_MODELS

    spec = PRETRAINED_ASR_MODELS[DEFAULT_ASR_MODEL]
    graph = _base_graph(_WORK / "asr-base-int8")
    vocab = (_WORK / "asr-base-int8" / "vocab.json").read_bytes()
    files = {
        f"/{spec.repository}/resolve/{spec.revision}/{spec.graph_path}": graph,
        f"/{spec.repository}/resolve/{spec.revision}/{spec.vocab_path}": vocab,
    }
    hub_url, _ = _serve_hub(files)
    sha = hashlib.sha256(graph).hexdigest()
    cases = [DEFAULT_ASR_MODEL] + ([LARGE_ASR_MODEL] if args.reference else [])
    rows = {case: run_case(case, sha, hub_url, args.threads) for case in cases}
    print(f"\nfirst start with model mini, backend fast (random weights, {os.cpu_count()} cores)")
    print(f"{'asr_model':32} {'start s':>8} {'paint s':>8} {'hear s':>7} {'peak RSS MB':>12}")
    for case, row in rows.items():
        print(
            f"{case:32} {row['start_s']:8.1f} {row['paint_s']:8.1f} "
            f"{row['transcribe_s']:7.2f} {row['peak_mb']:12.0f}"
        )
    if args.reference:
        ratio = rows[DEFAULT_ASR_MODEL]["peak_mb"] / rows[LARGE_ASR_MODEL]["peak_mb"]
        print(f"peak RSS, default / former default: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
