"""Memory and speed of the server's Whisper path with whisper-base's shapes (random weights).

    .venvs/server/bin/python -m bench.asr_whisper [--seconds 3] [--tokens 20] [--threads N]

whisper-base cannot be downloaded here, so a random model with its exact sizes (width 512,
8 heads, 6 encoder and 6 decoder layers, 448 positions, a 51865-token vocabulary) is built
once with the server's own builder into build/bench-models/whisper-base-shaped/ (never
committed), its MatMul weights quantized to int8 per channel as onnx-community's int8 files
are. A fresh process then opens it as the server does and reports: resident memory after
opening, the encoder's time on one clip, the decoder's time per token (the random model's
tokens, end of text ignored), and the peak resident memory. The real int8 graphs are made by
another quantizer and may differ by some tens of MB and per cent.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from dalle_frame_server.asr.export import quantize_int8
from dalle_frame_server.asr.whisper_folder import WhisperModelFolder
from dalle_frame_server.asr.whisper_tiny_model import BASE_SHAPE, build_whisper_shaped
from dalle_frame_server.asr.whisper_tokens import (
    END_OF_TEXT,
    NO_TIMESTAMPS,
    START_OF_TRANSCRIPT,
    TRANSCRIBE,
    byte_to_character,
)

_ROOT = Path(__file__).resolve().parents[2]
_FOLDER = _ROOT / "build" / "bench-models" / "whisper-base-shaped"
_SOURCE = "bench: random weights with whisper-base's shapes, int8 MatMul weights, v1"
_TEXT_TOKENS = 50257
_LANGUAGES = 99

_MEASURE = """
import json, resource, sys, time
import numpy as np
from pathlib import Path
from dalle_frame_server.asr.whisper_folder import WhisperModelFolder
from dalle_frame_server.asr.whisper_features import log_mel_features
from dalle_frame_server.asr.whisper_transcriber import OnnxWhisperTranscriber
from dalle_frame_server.memory_usage import memory_usage

folder, seconds = Path(sys.argv[1]), float(sys.argv[2])
tokens, threads = int(sys.argv[3]), int(sys.argv[4])
before = memory_usage()["rss_mb"]
model = OnnxWhisperTranscriber(
    WhisperModelFolder(folder), model_name="bench", use_cuda=False, threads=threads or None
)
opened = memory_usage()["rss_mb"]
samples = (np.random.default_rng(0).standard_normal(int(seconds * 16000)) * 0.1).astype(np.float32)
started = time.perf_counter()
features = log_mel_features(samples)
features_s = time.perf_counter() - started
started = time.perf_counter()
(states,) = model._encoder.run(None, {"input_features": features})[:1]
encoder_s = time.perf_counter() - started
past = model._empty_past()
feed = model.tokens.prompt("en")
steps = []
for index in range(tokens):
    started = time.perf_counter()
    outputs = model._run_decoder(feed, states, past)
    for name in model._past_names("past_key_values"):
        if index == 0 or ".decoder." in name:
            past[name] = outputs["present" + name.removeprefix("past_key_values")]
    feed = [int(np.argmax(outputs["logits"][0, -1, : model.tokens.end_of_text]))]
    steps.append(time.perf_counter() - started)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
print(json.dumps({
    "rss_before_mb": before, "rss_opened_mb": opened, "peak_rss_mb": peak,
    "features_s": round(features_s, 3), "encoder_s": round(encoder_s, 3),
    "first_step_s": round(steps[0], 3),
    "per_token_s": round(sorted(steps[1:])[len(steps[1:]) // 2], 4),
}))
"""


def base_tokens() -> tuple[dict[str, int], dict[str, int]]:
    """A whisper-base-sized vocabulary: 256 byte tokens, fillers, then Whisper's specials."""
    vocab = {char: byte for byte, char in byte_to_character().items()}
    vocab.update({f"filler{index}": index for index in range(256, _TEXT_TOKENS)})
    letters = "abcdefghijklmnopqrstuvwxyz"
    codes = ["en", "de", "fr", "es", "nl"]
    codes += [a + b for a in letters for b in letters if a + b not in codes][: _LANGUAGES - 5]
    special = [END_OF_TEXT, START_OF_TRANSCRIPT, *(f"<|{code}|>" for code in codes)]
    special += ["<|translate|>", TRANSCRIBE, "<|startoflm|>", "<|startofprev|>"]
    special += ["<|nocaptions|>", NO_TIMESTAMPS]
    special += [f"<|{index * 0.02:.2f}|>" for index in range(1501)]
    added = {token: _TEXT_TOKENS + offset for offset, token in enumerate(special)}
    return vocab, added


def ensure_model() -> WhisperModelFolder:
    """Build the whisper-base-shaped int8 model once."""
    folder = WhisperModelFolder(_FOLDER)
    metadata = folder.read_metadata() if folder.is_complete() else None
    if metadata is not None and metadata.get("source") == _SOURCE:
        return folder
    vocab, added = base_tokens()
    print("building a whisper-base-shaped random model (once) ...", file=sys.stderr)
    build_whisper_shaped(_FOLDER, BASE_SHAPE, vocab, added, seed=74, source=_SOURCE)
    for graph in (folder.encoder, folder.decoder):
        quantized = graph.with_suffix(".int8.onnx")
        quantize_int8(graph, quantized)
        quantized.replace(graph)
    folder.write_metadata(source=_SOURCE, weights="int8")
    return folder


def main() -> None:
    """Build once, then measure in a fresh process."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--tokens", type=int, default=20)
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()
    folder = ensure_model()
    sizes = {path.name: round(path.stat().st_size / 2**20, 1) for path in folder.files}
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            _MEASURE,
            str(folder.root),
            str(args.seconds),
            str(args.tokens),
            str(args.threads),
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        sys.exit(f"the measurement failed:\n{result.stderr}")
    report = {"files_mb": sizes, **json.loads(result.stdout.strip().splitlines()[-1])}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
