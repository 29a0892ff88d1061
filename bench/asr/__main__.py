"""Benchmark wav2vec2 CTC in ONNX Runtime against the PyTorch transformers reference.

    .venvs/server/bin/python -m bench.asr [--seconds 3] [--runs 7] [--threads N]

A random-weight `Wav2Vec2ForCTC` with facebook/wav2vec2-large-960h-lv60-self's exact shapes
(24 layers, hidden 1024, 315 M parameters) is built once and exported with the server's own
exporter into build/bench-models/asr-large/ (never committed; about 1.2 GB). Then, on the same
weights and one clip of noise: PyTorch, ONNX Runtime as the server creates its session, ONNX
Runtime with each graph optimization level, a MatMul-only per-channel dynamic int8 model, and
the float16 model of the server's `--float16` export (for GPU servers). The float16 row runs on
ONNX Runtime's CUDA provider where onnxruntime-gpu sees a GPU and says "(CUDA)"; otherwise it
runs on the CPU provider and says "(CPU)" (ORT casts its weights back to float32 there: no
speed-up is expected; the row shows that it runs and how many frames it keeps).
Variants take turns in every run; the table shows medians, the ratio to PyTorch, and how many
frames pick the same token as PyTorch (random weights: no word error rate can be measured).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime
import torch

from dalle_frame_server.asr.export import convert_float16, export_ctc_model, quantize_int8
from dalle_frame_server.asr.model_folder import AsrModelFolder
from dalle_frame_server.asr.tiny_model import WAV2VEC2_VOCAB

_LOGGER = logging.getLogger("bench.asr")

LARGE_SOURCE = "bench: random Wav2Vec2ForCTC with wav2vec2-large-960h-lv60-self's shapes, v1"
MODEL_SEED = 20
SAMPLE_RATE = 16_000

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"

OPTIMIZATION_LEVELS = {
    "disabled": onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL,
    "basic": onnxruntime.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    "extended": onnxruntime.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    "all": onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL,
}


def large_model() -> torch.nn.Module:
    """A random `Wav2Vec2ForCTC` shaped like wav2vec2-large-960h-lv60-self (seeded)."""
    from transformers import Wav2Vec2Config, Wav2Vec2ForCTC

    config = Wav2Vec2Config(
        vocab_size=len(WAV2VEC2_VOCAB),
        pad_token_id=WAV2VEC2_VOCAB["<pad>"],
        hidden_size=1024,
        num_hidden_layers=24,
        num_attention_heads=16,
        intermediate_size=4096,
        conv_bias=True,
        feat_extract_norm="layer",
        do_stable_layer_norm=True,
        feat_extract_activation="gelu",
        hidden_act="gelu",
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(MODEL_SEED)
        return Wav2Vec2ForCTC(config).eval()


def ensure_exports(root: Path, model: torch.nn.Module) -> tuple[Path, Path, Path]:
    """The fp32 export (server's exporter), its int8 (MatMul, per channel) and float16 forms."""
    folder = AsrModelFolder(root / "fp32")
    metadata = folder.read_metadata() if folder.is_complete() else None
    if metadata is None or metadata.get("source") != LARGE_SOURCE:
        _LOGGER.info("Exporting the large-shaped model to %s (once, ~1 min)", folder.root)
        export_ctc_model(model, WAV2VEC2_VOCAB, folder.root, source=LARGE_SOURCE)
    int8 = _derived(folder.model, root / "int8-matmul-per-channel.onnx", quantize_int8, "int8")
    float16 = _derived(folder.model, root / "float16.onnx", convert_float16, "float16")
    return folder.model, int8, float16


def _derived(source: Path, target: Path, convert: Callable[[Path, Path], None], form: str) -> Path:
    """Write `convert(source)` to `target` unless it is newer than `source`; return `target`."""
    if not target.is_file() or target.stat().st_mtime < source.stat().st_mtime:
        _LOGGER.info("Converting the float32 graph to its %s form in %s", form, target)
        partial = target.with_name(target.name + ".part")
        convert(source, partial)
        partial.replace(target)
    return target


def ort_session(
    path: Path, *, threads: int | None, level: str | None, provider: str = CPU
) -> onnxruntime.InferenceSession:
    """A session; `level` None keeps ONNX Runtime's defaults (what the server does)."""
    options = onnxruntime.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    if level is not None:
        options.graph_optimization_level = OPTIMIZATION_LEVELS[level]
    providers = [provider] if provider == CPU else [provider, CPU]
    return onnxruntime.InferenceSession(str(path), options, providers=providers)


def main() -> None:
    """Build, export, time and print."""
    parser = argparse.ArgumentParser(prog="python -m bench.asr", description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0, help="clip length")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--threads", type=int, default=None, help="torch and ORT threads")
    parser.add_argument("--models-dir", type=Path, default=Path("build/bench-models"))
    parser.add_argument("--out", type=Path, default=Path("build/bench-results/asr.json"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    threads = args.threads or torch.get_num_threads()
    torch.set_num_threads(threads)

    model = large_model()
    fp32_path, int8_path, float16_path = ensure_exports(args.models_dir / "asr-large", model)
    clip = np.random.default_rng(0).standard_normal(int(args.seconds * SAMPLE_RATE))
    clip = ((clip - clip.mean()) / (clip.std() + 1e-7)).astype(np.float32)[None, :]

    runners: dict[str, Callable[[], np.ndarray]] = {}
    tensor = torch.from_numpy(clip)

    def run_torch() -> np.ndarray:
        with torch.inference_mode():
            return model(tensor).logits.numpy()

    runners["pytorch"] = run_torch
    sessions = {"ort server default": ort_session(fp32_path, threads=args.threads, level=None)}
    for level in OPTIMIZATION_LEVELS:
        sessions[f"ort {level}"] = ort_session(fp32_path, threads=threads, level=level)
    sessions["ort int8 matmul/channel"] = ort_session(int8_path, threads=threads, level="all")
    float16_session = ort_session(
        float16_path,
        threads=args.threads,
        level=None,
        provider=CUDA if CUDA in onnxruntime.get_available_providers() else CPU,
    )
    float16_provider = float16_session.get_providers()[0]  # the one it really got
    sessions[f"ort float16 ({float16_provider.removesuffix('ExecutionProvider')})"] = (
        float16_session
    )
    for name, session in sessions.items():
        runners[name] = lambda session=session: session.run(["logits"], {"input_values": clip})[0]

    outputs = {name: run() for name, run in runners.items()}  # warm-up, and the logits
    times: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(args.runs):
        for name, run in runners.items():
            started = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - started)

    reference = outputs["pytorch"]
    base = statistics.median(times["pytorch"])
    rows: list[dict[str, Any]] = []
    for name in runners:
        median = statistics.median(times[name])
        rows.append(
            {
                "variant": name,
                "seconds": median,
                "speedup_vs_pytorch": base / median,
                "real_time_factor": median / args.seconds,
                "max_abs_logit_difference": float(np.abs(outputs[name] - reference).max()),
                "frame_argmax_agreement": float(
                    (outputs[name].argmax(-1) == reference.argmax(-1)).mean()
                ),
            }
        )
    print(f"\nwav2vec2-large shapes, {args.seconds:g} s clip, {threads} threads, {args.runs} runs")
    print(f"{'variant':<26}{'seconds':>9}{'x torch':>9}{'RTF':>7}{'max |d|':>10}{'argmax =':>10}")
    for row in rows:
        print(
            f"{row['variant']:<26}{row['seconds']:>9.3f}{row['speedup_vs_pytorch']:>9.2f}"
            f"{row['real_time_factor']:>7.3f}{row['max_abs_logit_difference']:>10.2e}"
            f"{row['frame_argmax_agreement']:>10.3f}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    environment = {
        "cpu_count": os.cpu_count(),
        "threads": threads,
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
        "clip_seconds": args.seconds,
        "runs": args.runs,
        "float16_provider": float16_provider,
    }
    args.out.write_text(json.dumps({"environment": environment, "rows": rows}, indent=1))
    print(f"\nJSON written to {args.out}")


if __name__ == "__main__":
    main()
