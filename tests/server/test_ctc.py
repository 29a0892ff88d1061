"""Greedy CTC decoding, the vocabulary file, and the exported test ASR model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from dalle_frame_server.asr.ctc import CtcVocabulary
from dalle_frame_server.asr.export import export_ctc_model
from dalle_frame_server.asr.model_folder import AsrModelFolder
from dalle_frame_server.asr.onnx_transcriber import OnnxCtcTranscriber
from dalle_frame_server.asr.tiny_model import TEST_ASR_SOURCE, WAV2VEC2_VOCAB, ensure_test_asr_model
from dalle_frame_server.errors import ModelNotAvailableError


def _logits(ids: list[int], size: int = 32) -> np.ndarray:
    """One-hot logits for a sequence of frame ids."""
    logits = np.zeros((len(ids), size), dtype=np.float32)
    logits[np.arange(len(ids)), ids] = 5.0
    return logits


def test_greedy_decoding_merges_repeats_and_drops_blanks() -> None:
    """H H <pad> E L L <pad> L O | W O ... -> "hello wo"; blanks split real double letters."""
    vocab = CtcVocabulary(WAV2VEC2_VOCAB)
    ids = {token: token_id for token, token_id in WAV2VEC2_VOCAB.items()}
    frames = ["H", "H", "<pad>", "E", "L", "L", "<pad>", "L", "O", "|", "|", "W", "O", "<s>"]
    assert vocab.decode_greedy(_logits([ids[f] for f in frames])) == "hello wo"
    assert vocab.decode_greedy(_logits([ids["|"], ids["<pad>"], ids["|"]])) == ""
    assert vocab.decode_greedy(np.zeros((0, 32), dtype=np.float32)) == ""
    with pytest.raises(ValueError, match="do not fit"):
        vocab.decode_greedy(np.zeros((3, 31), dtype=np.float32))


@pytest.mark.parametrize(
    "content",
    [
        "{'<pad>': 0, 'A': __import__('os').getpid()}",  # Python, not JSON: never evaluated
        "[1, 2]",
        '{"A": "1"}',
        '{"A": 1}',  # no blank
        "not json",
    ],
)
def test_bad_vocabulary_files_are_refused(tmp_path: Path, content: str) -> None:
    """The vocabulary is JSON {token: id} with a blank, or the model is not available."""
    path = tmp_path / "vocab.json"
    path.write_text(content)
    with pytest.raises(ModelNotAvailableError):
        CtcVocabulary.from_file(path)


def test_test_asr_model_is_exported_once(test_asr_folder: AsrModelFolder) -> None:
    """The exported folder has the graph, the vocabulary and metadata naming its source."""
    metadata = test_asr_folder.read_metadata()
    assert metadata is not None
    assert metadata["source"] == TEST_ASR_SOURCE
    assert metadata["sample_rate"] == 16_000
    assert json.loads(test_asr_folder.vocab.read_text()) == WAV2VEC2_VOCAB
    before = test_asr_folder.model.stat().st_mtime_ns
    ensure_test_asr_model(test_asr_folder.root.parent.parent)
    assert test_asr_folder.model.stat().st_mtime_ns == before


def test_onnx_transcriber_matches_pytorch(test_transcriber: OnnxCtcTranscriber) -> None:
    """The ONNX graph and the PyTorch model it came from give the same text for the same audio."""
    from dalle_frame_server.asr.tiny_model import tiny_random_model
    from dalle_frame_server.asr.wav_audio import normalize_for_wav2vec2

    samples = np.random.default_rng(3).uniform(-0.5, 0.5, 24_000).astype(np.float32)
    model = tiny_random_model()
    with torch.no_grad():
        logits = model(torch.from_numpy(normalize_for_wav2vec2(samples))[None]).logits[0].numpy()
    expected = test_transcriber.vocabulary.decode_greedy(logits)
    assert test_transcriber.transcribe(samples) == expected
    assert expected  # random weights say something (gibberish), not nothing


def test_incomplete_model_folder_is_not_loaded(tmp_path: Path) -> None:
    """A folder without its metadata (an export that stopped) is refused with the command."""
    folder = AsrModelFolder(tmp_path / "half")
    folder.root.mkdir()
    folder.model.write_bytes(b"onnx?")
    with pytest.raises(ModelNotAvailableError, match=r"asr\.export"):
        OnnxCtcTranscriber(folder, model_name="half", use_cuda=False)


def test_int8_export_quantizes_and_still_transcribes(tmp_path: Path) -> None:
    """`--int8`: the graph's MatMul weights become int8, the folder says so, and it transcribes."""
    import onnx

    from dalle_frame_server.asr.tiny_model import tiny_random_model

    float_folder = export_ctc_model(
        tiny_random_model(), WAV2VEC2_VOCAB, tmp_path / "float", source="test float"
    )
    int8_folder = export_ctc_model(
        tiny_random_model(), WAV2VEC2_VOCAB, tmp_path / "int8", source="test int8", int8=True
    )
    metadata = int8_folder.read_metadata()
    assert metadata is not None
    assert metadata["weights"] == "int8"
    assert 0.0 <= float(metadata["check_frame_agreement"]) <= 1.0  # type: ignore[arg-type]
    assert float_folder.read_metadata()["weights"] == "float32"  # type: ignore[index]
    operators = {node.op_type for node in onnx.load(str(int8_folder.model)).graph.node}
    assert "MatMulInteger" in operators or "DynamicQuantizeMatMul" in operators
    assert not int8_folder.model.with_name("model.int8.onnx").exists()
    transcriber = OnnxCtcTranscriber(int8_folder, model_name="int8", use_cuda=False)
    samples = np.random.default_rng(3).uniform(-0.5, 0.5, 24_000).astype(np.float32)
    assert isinstance(transcriber.transcribe(samples), str)
