"""torch's process-wide settings, set once and deliberately at start-up.

min-dalle sets some of these as a side effect of being imported (min_dalle_classes undoes
that); the server sets them here instead, where they are visible and configurable.
"""

from __future__ import annotations

import logging
import os

import torch
import torch.backends.cudnn

_LOGGER = logging.getLogger(__name__)


def configure_torch(threads: int | None) -> int:
    """Set torch's thread count (default: every core), autograd off, cuDNN as min-dalle has it.

    Returns the thread count. Autograd is a per-thread switch: this turns it off for the
    calling thread; the generation worker also runs under `torch.inference_mode()`.
    cuDNN is enabled with TF32 allowed, as stock min-dalle sets it, so convolutions on a GPU
    compute what stock min-dalle computes.
    """
    count = threads or os.cpu_count() or 1
    if torch.get_num_threads() != count:
        torch.set_num_threads(count)
    torch.set_grad_enabled(False)
    torch.backends.cudnn.enabled = True
    torch.backends.cudnn.allow_tf32 = True
    _LOGGER.debug("torch uses %d threads; autograd off", count)
    return count
