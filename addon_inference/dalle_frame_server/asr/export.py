"""Export a Hugging Face wav2vec2 CTC checkpoint to ONNX plus its vocabulary, for the server.

Run once where the internet is reachable (it downloads the checkpoint), e.g.

    python -m dalle_frame_server.asr.export --checkpoint facebook/wav2vec2-large-960h-lv60-self
        --out <models-dir>/asr/wav2vec2-large-960h-lv60-self

The result is a folder with `model.onnx` (input `input_values` (batch, samples) of normalized
16 kHz audio, output `logits` (batch, frames, vocabulary)), `vocab.json` and `asr_model.json`.
The server's `test` ASR model is a tiny random `Wav2Vec2ForCTC` exported by the same function.

`--int8` quantizes the MatMul weights to int8 per channel (ONNX Runtime's dynamic
quantization) for CPU servers: about 2x faster (large model, 3 s clip, 2-core EPYC: 0.69 s ->
0.36 s with `bench.asr`), approximate (the export logs how many frames of its check clip keep
the float model's token).

`--float16` converts every weight and operator to float16 for GPU servers (ONNX Runtime's
CUDA provider; half the file and GPU memory) and keeps the graph's input and output in float32,
so the server feeds and reads the same arrays. ONNX Runtime's CPU provider runs such a graph
too, but by casting the weights back to float32 when the session loads and running most
operators in float32 (measured with ORT 1.31): no smaller in memory and no faster, so a CPU
server loads it with a warning, and a CPU run cannot show whether float16 activations overflow
on a GPU. The export therefore checks twice on its check clip: the converted graph in ONNX
Runtime (float16 weights; its frame agreement with the float32 model goes into the metadata)
and the model in PyTorch in float16 (every activation stored in float16, as on a GPU), and
refuses the export when that overflows (non-finite logits).
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import shutil
import sys
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Final

import numpy as np
import torch

from .base import ASR_SAMPLE_RATE
from .model_folder import (
    LARGE_ASR_CHECKPOINT,
    AsrModelFolder,
)

if TYPE_CHECKING:
    from torch import nn

_LOGGER = logging.getLogger(__name__)

OPSET: Final = 17
CHECK_TOLERANCE: Final = 1e-3
"""Largest difference allowed between ONNX Runtime's and PyTorch's logits on the check clip."""


def export_ctc_model(
    model: nn.Module,
    vocab: dict[str, int],
    out_dir: Path,
    *,
    source: str,
    int8: bool = False,
    float16: bool = False,
) -> AsrModelFolder:
    """Export a `Wav2Vec2ForCTC`-like model (input_values -> logits) and its vocabulary.

    Writes into `<out_dir>.part/` and renames it to `out_dir` when every file is written and
    ONNX Runtime's logits match PyTorch's on a check clip; an existing `out_dir` is replaced.
    With `int8` or `float16` (not both), the checked float32 graph is then converted (see the
    module doc). When a step fails, the staging folder is removed and `out_dir` is untouched.
    """
    if int8 and float16:
        raise ValueError("choose int8 (CPU servers) or float16 (GPU servers), not both")
    started = time.monotonic()
    staging = out_dir.with_name(out_dir.name + ".part")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        _export_into(
            AsrModelFolder(staging), model, vocab, source=source, int8=int8, float16=float16
        )
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(out_dir, ignore_errors=True)
    staging.replace(out_dir)
    _LOGGER.info("Exported %s to %s in %.1f s", source, out_dir, time.monotonic() - started)
    return AsrModelFolder(out_dir)


def _export_into(
    folder: AsrModelFolder,
    model: nn.Module,
    vocab: dict[str, int],
    *,
    source: str,
    int8: bool,
    float16: bool,
) -> None:
    """Write the checked graph, the vocabulary and (last) the metadata into `folder`."""
    model = model.eval()
    check_clip = torch.from_numpy(_check_clip())
    with torch.no_grad(), warnings.catch_warnings():
        # The TorchScript exporter is deprecated in favour of torch.export, but it exports
        # wav2vec2 in a fraction of a second with dynamic batch and length axes, as one file.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (check_clip,),
            str(folder.model),
            input_names=["input_values"],
            output_names=["logits"],
            dynamic_axes={
                "input_values": {0: "batch", 1: "samples"},
                "logits": {0: "batch", 1: "frames"},
            },
            opset_version=OPSET,
            dynamo=False,
        )
        expected = model(check_clip).logits.numpy()
    _check_onnx(folder, check_clip.numpy(), expected)
    agreement: float | None = None
    if int8:
        agreement = _quantize(folder, check_clip.numpy(), expected)
    elif float16:
        agreement = _halve(folder, model, check_clip, expected)
    folder.vocab.write_text(json.dumps(vocab, ensure_ascii=False, indent=1) + "\n", "utf8")
    extra: dict[str, object] = {"torch": torch.__version__}
    if agreement is not None:
        extra["check_frame_agreement"] = round(agreement, 4)
    folder.write_metadata(
        source=source,
        vocab_size=len(vocab),
        weights="int8" if int8 else "float16" if float16 else "float32",
        **extra,
    )


def export_checkpoint(
    checkpoint: str, out_dir: Path, *, int8: bool = False, float16: bool = False
) -> AsrModelFolder:
    """Download a Hugging Face wav2vec2 CTC checkpoint and export it (needs the internet)."""
    from transformers import Wav2Vec2CTCTokenizer, Wav2Vec2ForCTC

    _LOGGER.info("Loading %s (downloaded on first use)", checkpoint)
    model = Wav2Vec2ForCTC.from_pretrained(checkpoint)
    vocab = Wav2Vec2CTCTokenizer.from_pretrained(checkpoint).get_vocab()
    return export_ctc_model(
        model, dict(vocab), out_dir, source=checkpoint, int8=int8, float16=float16
    )


def _check_clip() -> np.ndarray:
    """Return one second of deterministic, normalized noise shaped (1, samples)."""
    noise = np.random.default_rng(0).standard_normal(ASR_SAMPLE_RATE).astype(np.float32)
    return noise[None, :]


def _check_onnx(folder: AsrModelFolder, clip: np.ndarray, expected: np.ndarray) -> None:
    """Run the exported graph in ONNX Runtime and compare with PyTorch's logits."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(folder.model), providers=["CPUExecutionProvider"])
    (logits,) = session.run(["logits"], {"input_values": clip})
    difference = float(np.abs(logits - expected).max())
    if difference > CHECK_TOLERANCE:
        raise RuntimeError(
            f"the exported model's logits differ from PyTorch's by {difference:.2g} "
            f"(more than {CHECK_TOLERANCE}); the export is broken"
        )
    _LOGGER.debug("ONNX check passed (largest difference %.2g)", difference)


def quantize_int8(source: Path, target: Path) -> None:
    """Write `source`'s graph to `target` with int8 MatMul weights (per channel, dynamic)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        source,
        target,
        op_types_to_quantize=["MatMul"],
        per_channel=True,
        weight_type=QuantType.QInt8,
    )


def _quantize(folder: AsrModelFolder, clip: np.ndarray, expected: np.ndarray) -> float:
    """Replace the folder's float graph with its int8 form; return the check clip's agreement.

    The agreement is the share of frames whose most likely token equals the float model's.
    """
    import onnxruntime

    quantized = folder.model.with_name("model.int8.onnx")
    quantize_int8(folder.model, quantized)
    session = onnxruntime.InferenceSession(str(quantized), providers=["CPUExecutionProvider"])
    (logits,) = session.run(["logits"], {"input_values": clip})
    agreement = _frame_agreement(logits, expected)
    quantized.replace(folder.model)
    _LOGGER.info(
        "Quantized to int8: %.1f%% of the check clip's frames keep the float model's token",
        100 * agreement,
    )
    return agreement


def convert_float16(source: Path, target: Path) -> None:
    """Write `source`'s float32 graph to `target` in float16, with float32 input and output.

    Every initializer and operator becomes float16 except the converter's default block list
    (operators without float16 kernels); casts are inserted at the graph's edges.
    """
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    halved = convert_float_to_float16(onnx.load(str(source)), keep_io_types=True)
    onnx.save(halved, str(target))


def _halve(
    folder: AsrModelFolder, model: nn.Module, clip: torch.Tensor, expected: np.ndarray
) -> float:
    """Replace the folder's float32 graph with its float16 form; return the check agreement.

    The agreement is the share of the check clip's frames whose most likely token in the
    float16 graph (run by ONNX Runtime's CPU provider) equals the float32 model's. Raises
    RuntimeError when the model run with float16 activations gives non-finite logits (an
    activation overflowed float16's range, as it would on a GPU).
    """
    import onnxruntime

    with torch.no_grad():
        arithmetic = copy.deepcopy(model).half()(clip.half()).logits.float().numpy()
    if not np.isfinite(arithmetic).all():
        raise RuntimeError(
            "this model overflows float16 (non-finite logits on the check clip with float16 "
            "activations); export it without --float16"
        )
    halved = folder.model.with_name("model.float16.onnx")
    convert_float16(folder.model, halved)
    session = onnxruntime.InferenceSession(str(halved), providers=["CPUExecutionProvider"])
    (logits,) = session.run(["logits"], {"input_values": clip.numpy()})
    del session
    halved.replace(folder.model)
    agreement = _frame_agreement(logits, expected)
    _LOGGER.info(
        "Converted to float16: %.1f%% of the check clip's frames keep the float32 model's "
        "token (largest logit difference %.2g; with float16 activations in PyTorch %.1f%%, %.2g)",
        100 * agreement,
        float(np.abs(logits - expected).max()),
        100 * _frame_agreement(arithmetic, expected),
        float(np.abs(arithmetic - expected).max()),
    )
    return agreement


def _frame_agreement(logits: np.ndarray, expected: np.ndarray) -> float:
    """Return the share of frames whose most likely token is the same in both logits."""
    return float((logits.argmax(-1) == expected.argmax(-1)).mean())


def main(argv: list[str] | None = None) -> int:
    """Command line: export a checkpoint into a models folder."""
    parser = argparse.ArgumentParser(
        prog="python -m dalle_frame_server.asr.export",
        description="Export a Hugging Face wav2vec2 CTC checkpoint to ONNX for dalle_frame_server.",
    )
    parser.add_argument(
        "--checkpoint",
        default=LARGE_ASR_CHECKPOINT,
        help=f"Hugging Face model id or local folder (default {LARGE_ASR_CHECKPOINT})",
    )
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        help="folder to write, e.g. <models-dir>/asr/wav2vec2-large-960h-lv60-self",
    )
    precision = parser.add_mutually_exclusive_group()
    precision.add_argument(
        "--int8",
        action="store_true",
        help="quantize the MatMul weights to int8 for CPU servers (about 2x faster, approximate)",
    )
    precision.add_argument(
        "--float16",
        action="store_true",
        help="convert weights and operators to float16 for GPU servers (half the memory; "
        "input and output stay float32)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        export_checkpoint(args.checkpoint, args.out, int8=args.int8, float16=args.float16)
    except (OSError, RuntimeError, ValueError) as error:
        _LOGGER.error("Export failed: %s", error)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
