"""The `test` ASR model: a tiny random `Wav2Vec2ForCTC`, exported to ONNX offline at start-up.

Same graph interface, vocabulary format and decoding as the real model, so every code path
runs; the text it returns is gibberish. Built into `<models-dir>/asr/test/` once and rebuilt
when its metadata names another version.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Final

import torch

from .export import export_ctc_model
from .model_folder import FORMAT_VERSION, AsrModelFolder, asr_model_folder

_LOGGER = logging.getLogger(__name__)

TEST_ASR_MODEL_NAME: Final = "test"
TEST_ASR_SEED: Final = 1960
TEST_ASR_SOURCE: Final = f"test: tiny random Wav2Vec2ForCTC (seed {TEST_ASR_SEED}), v1"
TEST_ASR_NOTICE: Final = "test ASR model: random weights, transcribes gibberish"

WAV2VEC2_VOCAB: Final = {
    token: token_id
    for token_id, token in enumerate(
        ["<pad>", "<s>", "</s>", "<unk>", "|", *"ETAONIHSRDLUMWCFGYPBVK'XJQZ"]
    )
}
"""The vocabulary of facebook/wav2vec2-large-960h(-lv60-self): blank 0, '|' between words."""


def ensure_test_asr_model(models_dir: Path) -> AsrModelFolder:
    """Return the test ASR model's folder, exporting it first when it is absent or stale."""
    folder = asr_model_folder(models_dir, TEST_ASR_MODEL_NAME)
    metadata = folder.read_metadata() if folder.is_complete() else None
    if metadata is not None and (
        metadata.get("source") == TEST_ASR_SOURCE
        and metadata.get("format_version") == FORMAT_VERSION
    ):
        return folder
    _LOGGER.info("Building the test ASR model in %s (%s)", folder.root, TEST_ASR_NOTICE)
    return export_ctc_model(
        tiny_random_model(), WAV2VEC2_VOCAB, folder.root, source=TEST_ASR_SOURCE
    )


def tiny_random_model() -> torch.nn.Module:
    """Build the tiny wav2vec2 with weights from a fixed seed (the global RNG is restored)."""
    from transformers import Wav2Vec2Config, Wav2Vec2ForCTC

    config = Wav2Vec2Config(
        vocab_size=len(WAV2VEC2_VOCAB),
        pad_token_id=WAV2VEC2_VOCAB["<pad>"],
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        conv_dim=(32,) * 7,
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
        feat_extract_norm="layer",
        do_stable_layer_norm=True,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(TEST_ASR_SEED)
        return Wav2Vec2ForCTC(config).eval()
