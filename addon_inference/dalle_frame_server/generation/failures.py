"""Exceptions of the model turned into the server's own error (a 500 that says what failed)."""

from __future__ import annotations

import logging

import torch

from ..errors import ModelFailedError

_LOGGER = logging.getLogger(__name__)


def model_failure(error: Exception) -> ModelFailedError:
    """Return the `ModelFailedError` for an exception of the model (and log it).

    Out of device memory gets its own code (`out_of_memory`) and frees torch's cached CUDA
    memory, so the next request can work.
    """
    if isinstance(error, ModelFailedError):
        return error
    if isinstance(error, torch.OutOfMemoryError):
        _LOGGER.error("Generation ran out of device memory: %s", error)
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        return ModelFailedError(
            "the device ran out of memory for this generation; try a smaller grid_size, "
            "or run the server with a smaller model or --dtype float16",
            code="out_of_memory",
        )
    _LOGGER.exception("Generation failed", exc_info=error)
    return ModelFailedError(f"the model failed on this request ({type(error).__name__}: {error})")
