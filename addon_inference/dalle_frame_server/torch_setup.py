"""The process-wide settings of torch and the C allocator, set once and deliberately at start-up.

min-dalle sets some of torch's as a side effect of being imported (min_dalle_classes undoes
that); the server sets them here instead, where they are visible and configurable. The server
and the Triton node call `configure_torch` before loading anything.
"""

from __future__ import annotations

import logging
import os

import torch
import torch.backends.cudnn

from .generation.models.memory import keep_freed_memory

_LOGGER = logging.getLogger(__name__)


def configure_torch(threads: int | None) -> int:
    """Set torch's threads (default: all cores), autograd off, min-dalle's cuDNN; keep freed memory.

    Returns the thread count. Autograd is a per-thread switch: this turns it off for the
    calling thread; the generation worker also runs under `torch.inference_mode()`.
    cuDNN is enabled with TF32 allowed, as stock min-dalle sets it, so convolutions on a GPU
    compute what stock min-dalle computes.

    glibc then keeps freed memory for reuse (`keep_freed_memory`, models/memory.py): the
    VQGAN's tens-of-megabytes activations stop costing fresh pages on every image (mini on
    the 2-core EPYC, the same pixels: the detokenizer after `fp16` decoding 1.77-1.83 s ->
    1.34-1.50 s, after `fast` 1.32-1.59 s -> 1.29-1.48 s), for up to 256 MiB of freed
    memory kept (first start with the add-on's defaults: peak 1500 MB). The benchmark, whose
    figures assumed it, applies the same to every variant.
    """
    count = threads or os.cpu_count() or 1
    if torch.get_num_threads() != count:
        torch.set_num_threads(count)
    torch.set_grad_enabled(False)
    torch.backends.cudnn.enabled = True
    torch.backends.cudnn.allow_tf32 = True
    _LOGGER.debug("torch uses %d threads; autograd off", count)
    if keep_freed_memory():
        _LOGGER.info("glibc keeps freed memory for reuse (large blocks from the heap)")
    return count
