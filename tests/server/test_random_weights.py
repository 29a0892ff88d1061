"""Random-weight models in min-dalle's layout: deterministic, real formats, loadable."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from dalle_frame_server.errors import ModelNotAvailableError
from dalle_frame_server.generation.models.loading import (
    ModelPaths,
    load_dalle_modules,
    load_tokenizer,
)
from dalle_frame_server.generation.models.random_weights import tokenizer_files, write_random_model
from dalle_frame_server.generation.models.shapes import MEGA_SHAPE, TEST_SHAPE, DalleShape
from dalle_frame_server.generation.models.tiny_model import TEST_MODEL_SEED

SMALL = DalleShape(
    layer_count=1,
    attention_head_count=2,
    embed_count=16,
    glu_embed_count=32,
    text_vocab_count=100,
    image_vocab_count=16384,
)


def _digest(path: Path) -> str:
    """sha256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_seed_same_files_other_seed_other_weights(
    tmp_path: Path, test_model_paths: ModelPaths
) -> None:
    """Byte-identical files for the same seed; different weights for another."""
    again = write_random_model(tmp_path, TEST_SHAPE, seed=TEST_MODEL_SEED, layout_name="again")
    for name in ("vocab", "merges", "encoder", "decoder", "detokenizer"):
        assert _digest(getattr(again, name)) == _digest(getattr(test_model_paths, name)), name
    other = write_random_model(tmp_path, SMALL, seed=1, layout_name="other")
    other_too = write_random_model(tmp_path, SMALL, seed=2, layout_name="other_too")
    assert _digest(other.decoder) != _digest(other_too.decoder)


def test_global_rng_is_untouched(tmp_path: Path) -> None:
    """Writing weights draws nothing from torch's global RNG."""
    before = torch.random.get_rng_state()
    write_random_model(tmp_path, SMALL, seed=5, layout_name="small")
    assert torch.equal(before, torch.random.get_rng_state())


def test_min_dalle_layout_and_tokenizer_format(test_model_paths: ModelPaths) -> None:
    """dalle_bart_mini/ and vqgan/ as min-dalle keeps them; merges.txt as its reader needs."""
    root = test_model_paths.detokenizer.parent.parent
    assert test_model_paths.vocab == root / "dalle_bart_mini" / "vocab.json"
    assert test_model_paths.detokenizer == root / "vqgan" / "detoker.pt"
    merges = test_model_paths.merges.read_text(encoding="utf8")
    assert merges.startswith("#version")
    assert merges.endswith("\n")
    tokenizer = load_tokenizer(test_model_paths, TEST_SHAPE, remedy="-")
    tokens = tokenizer.tokenize("A Lighthouse in the storm!")
    assert tokens[0] == tokenizer.token_from_subword["<s>"]
    assert tokens[-1] == tokenizer.token_from_subword["</s>"]
    assert tokenizer.token_from_subword["<pad>"] == 1
    # BPE really merges: "Ġ l" first, then "t h" inside "lighthouse".
    assert tokenizer.token_from_subword["Ġl"] in tokens
    assert tokenizer.token_from_subword["th"] in tokens
    assert max(tokens) < TEST_SHAPE.text_vocab_count


def test_mega_shape_goes_to_the_mega_folder(tmp_path: Path) -> None:
    """A mega-shaped model is written where stock min-dalle looks for mega (paths only)."""
    vocab, _merges = tokenizer_files(MEGA_SHAPE)
    assert max(vocab.values()) < MEGA_SHAPE.text_vocab_count
    with pytest.raises(ValueError, match="at least"):
        tokenizer_files(
            DalleShape(
                layer_count=1,
                attention_head_count=1,
                embed_count=8,
                glu_embed_count=8,
                text_vocab_count=10,
                image_vocab_count=16384,
            )
        )


def test_damaged_weights_are_refused_with_the_files_name(
    tmp_path: Path, test_model_paths: ModelPaths
) -> None:
    """A truncated weights file is never loaded: the error names it and the remedy."""
    copy = write_random_model(tmp_path, SMALL, seed=3, layout_name="damaged")
    data = copy.decoder.read_bytes()
    copy.decoder.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelNotAvailableError, match=r"decoder\.pt") as raised:
        load_dalle_modules(
            copy, SMALL, torch.device("cpu"), torch.float32, remedy="download it again"
        )
    assert "download it again" in str(raised.value)


def test_importing_min_dalle_keeps_global_settings() -> None:
    """min-dalle's import-time side effects (grad off, thread count) are undone."""
    code = (
        "import torch; torch.set_num_threads(1); "
        "import dalle_frame_server.generation.models.min_dalle_classes; "
        "print(torch.get_num_threads(), torch.is_grad_enabled())"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.split() == ["1", "True"]


def test_configure_torch_sets_threads_and_grad() -> None:
    """The server sets torch's global state deliberately, in a fresh interpreter."""
    code = (
        "import torch; from dalle_frame_server.torch_setup import configure_torch; "
        "print(configure_torch(3), torch.get_num_threads(), torch.is_grad_enabled(), "
        "torch.backends.cudnn.allow_tf32)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.split() == ["3", "3", "False", "True"]
