"""min-dalle's model classes and tokenizer, imported without min-dalle's global side effects.

Importing any part of min-dalle runs its package `__init__`, which imports `min_dalle.min_dalle`,
which at import time calls `torch.set_grad_enabled(False)` (for the importing thread),
`torch.set_num_threads(os.cpu_count())` (for the whole process) and sets two cuDNN flags.
The server decides those settings itself (`dalle_frame_server.torch_setup`), so this module
imports min-dalle once and puts every one of them back the way it found them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.backends.cudnn


@contextmanager
def _global_torch_settings_kept() -> Iterator[None]:
    """Restore grad mode, the thread count and the cuDNN flags when the block ends."""
    grad_enabled = torch.is_grad_enabled()
    thread_count = torch.get_num_threads()
    cudnn_enabled = torch.backends.cudnn.enabled
    cudnn_allow_tf32 = torch.backends.cudnn.allow_tf32
    try:
        yield
    finally:
        torch.set_grad_enabled(grad_enabled)
        if torch.get_num_threads() != thread_count:
            torch.set_num_threads(thread_count)
        torch.backends.cudnn.enabled = cudnn_enabled
        torch.backends.cudnn.allow_tf32 = cudnn_allow_tf32


with _global_torch_settings_kept():
    from min_dalle.models import DalleBartDecoder, DalleBartEncoder, VQGanDetokenizer
    from min_dalle.models.dalle_bart_encoder import AttentionBase
    from min_dalle.text_tokenizer import TextTokenizer

__all__ = [
    "AttentionBase",
    "DalleBartDecoder",
    "DalleBartEncoder",
    "TextTokenizer",
    "VQGanDetokenizer",
]
