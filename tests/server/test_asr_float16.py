"""The `--float16` ASR export (GPU servers): its graph, its checks, and how a CPU server runs it."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto

from dalle_frame_server.asr.export import export_ctc_model, main
from dalle_frame_server.asr.model_folder import AsrModelFolder
from dalle_frame_server.asr.onnx_transcriber import OnnxCtcTranscriber
from dalle_frame_server.asr.tiny_model import WAV2VEC2_VOCAB, tiny_random_model
from dalle_frame_server.errors import ModelNotAvailableError


@pytest.fixture(scope="module")
def float16_folder(tmp_path_factory: pytest.TempPathFactory) -> AsrModelFolder:
    """The tiny random test model exported with float16."""
    out_dir = tmp_path_factory.mktemp("asr") / "float16"
    return export_ctc_model(
        tiny_random_model(), WAV2VEC2_VOCAB, out_dir, source="test float16", float16=True
    )


def _speech_like_samples() -> np.ndarray:
    """1.5 s of deterministic noise in -0.5..0.5 (random weights: any audio gives tokens)."""
    return np.random.default_rng(3).uniform(-0.5, 0.5, 24_000).astype(np.float32)


def test_float16_export_has_float16_weights_and_float32_io(float16_folder: AsrModelFolder) -> None:
    """Every float weight is float16; the server still feeds and reads float32 arrays."""
    graph = onnx.load(str(float16_folder.model)).graph
    weight_types = {
        TensorProto.DataType.Name(tensor.data_type)
        for tensor in graph.initializer
        if tensor.data_type in (TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.DOUBLE)
    }
    assert weight_types == {"FLOAT16"}
    convolutions = [node for node in graph.node if node.op_type == "Conv"]
    assert convolutions  # the feature encoder's convolutions are in the graph, now in float16
    assert [(v.name, v.type.tensor_type.elem_type) for v in graph.input] == [
        ("input_values", TensorProto.FLOAT)
    ]
    assert [(v.name, v.type.tensor_type.elem_type) for v in graph.output] == [
        ("logits", TensorProto.FLOAT)
    ]
    assert not float16_folder.model.with_name("model.float16.onnx").exists()


def test_float16_metadata_names_weights_and_agreement(float16_folder: AsrModelFolder) -> None:
    """The metadata says float16 and how many check frames keep the float32 model's token."""
    metadata = float16_folder.read_metadata()
    assert metadata is not None
    assert metadata["weights"] == "float16"
    assert metadata["source"] == "test float16"
    # float16 rounding only flips frames whose two best tokens are nearly tied
    assert 0.95 <= float(metadata["check_frame_agreement"]) <= 1.0  # type: ignore[arg-type]


def test_float16_model_runs_on_cpu_with_a_warning(
    float16_folder: AsrModelFolder,
    test_transcriber: OnnxCtcTranscriber,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """ORT's CPU provider runs the float16 graph (through float32 casts), with advice logged."""
    with caplog.at_level(logging.WARNING, logger="dalle_frame_server.asr.onnx_transcriber"):
        transcriber = OnnxCtcTranscriber(float16_folder, model_name="half", use_cuda=False)
    assert transcriber.provider == "CPUExecutionProvider"
    assert transcriber.weights == "float16"
    assert "export it without --float16" in caplog.text
    samples = _speech_like_samples()
    text = transcriber.transcribe(samples)
    assert text  # random weights say something
    assert text == test_transcriber.transcribe(samples)  # same seed's weights, float32


def test_float32_and_int8_models_load_without_the_float16_warning(
    test_asr_folder: AsrModelFolder, caplog: pytest.LogCaptureFixture
) -> None:
    """The warning is only for float16 models on a CPU."""
    with caplog.at_level(logging.WARNING, logger="dalle_frame_server.asr.onnx_transcriber"):
        transcriber = OnnxCtcTranscriber(test_asr_folder, model_name="test", use_cuda=False)
    assert transcriber.weights == "float32"
    assert "float16" not in caplog.text


def test_unloadable_float16_model_on_cpu_says_what_to_do(
    float16_folder: AsrModelFolder, tmp_path: Path
) -> None:
    """A float16 folder ONNX Runtime cannot open on a CPU points at exporting without it."""
    broken = AsrModelFolder(tmp_path / "broken")
    broken.root.mkdir()
    broken.model.write_bytes(b"not an onnx graph")
    broken.vocab.write_bytes(float16_folder.vocab.read_bytes())
    broken.metadata.write_bytes(float16_folder.metadata.read_bytes())
    with pytest.raises(
        ModelNotAvailableError, match="for a CPU server export it without --float16"
    ):
        OnnxCtcTranscriber(broken, model_name="broken", use_cuda=False)


def test_model_that_overflows_float16_is_refused_and_keeps_the_old_export(
    float16_folder: AsrModelFolder, tmp_path: Path
) -> None:
    """Activations beyond float16's range (65504) fail the export; nothing is replaced.

    ONNX Runtime's CPU provider runs this model's float16 graph to finite logits (its MatMuls
    run in float32 there), so only the PyTorch float16-activation check can see the overflow.
    """
    model = tiny_random_model()
    with torch.no_grad():
        # The final layer norm hides the blow-up from float32, not from float16.
        model.wav2vec2.encoder.layers[-1].feed_forward.output_dense.weight.mul_(1e6)
    out_dir = tmp_path / "asr"
    previous = export_ctc_model(model, WAV2VEC2_VOCAB, out_dir, source="float32 of it")
    before = previous.model.read_bytes()
    with pytest.raises(RuntimeError, match=r"overflows float16.*without --float16"):
        export_ctc_model(model, WAV2VEC2_VOCAB, out_dir, source="float16 of it", float16=True)
    assert previous.model.read_bytes() == before
    assert previous.read_metadata()["source"] == "float32 of it"  # type: ignore[index]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["asr"]  # no .part left


def test_int8_and_float16_together_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command line and the function both refuse the two options together."""
    with pytest.raises(SystemExit) as stopped:
        main(["--out", str(tmp_path / "asr"), "--int8", "--float16"])
    assert stopped.value.code == 2
    assert "--float16: not allowed with argument --int8" in capsys.readouterr().err
    with pytest.raises(ValueError, match="not both"):
        export_ctc_model(
            tiny_random_model(),
            WAV2VEC2_VOCAB,
            tmp_path / "asr",
            source="x",
            int8=True,
            float16=True,
        )
    assert list(tmp_path.iterdir()) == []
