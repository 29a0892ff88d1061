"""Where min-dalle's real weights come from and where they live in the model directory.

The layout matches min-dalle's own (`<models>/dalle_bart_<mini|mega>/…`, `<models>/vqgan/…`),
so a folder filled by min-dalle itself works too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

MIN_DALLE_BASE_URL: Final = "https://huggingface.co/kuprel/min-dalle/resolve/main/"
"""min-dalle's public files (the same host its own download code uses)."""

REAL_MODELS: Final = ("mini", "mega")


@dataclass(frozen=True)
class ModelFile:
    """One file of a real model: its name on the host and its path in the model directory."""

    remote_name: str
    local_path: str


def model_files(model: str) -> tuple[ModelFile, ...]:
    """Return the files `model` ("mini" or "mega") needs, tokenizer first, detokenizer last."""
    if model not in REAL_MODELS:
        raise ValueError(f"no downloadable files for model {model!r} (choose mini or mega)")
    suffix = "" if model == "mega" else "_mini"
    folder = f"dalle_bart_{model}"
    return (
        ModelFile(f"vocab{suffix}.json", f"{folder}/vocab.json"),
        ModelFile(f"merges{suffix}.txt", f"{folder}/merges.txt"),
        ModelFile(f"encoder{suffix}.pt", f"{folder}/encoder.pt"),
        ModelFile(f"decoder{suffix}.pt", f"{folder}/decoder.pt"),
        ModelFile("detoker.pt", "vqgan/detoker.pt"),
    )
