"""ONNX Runtime session settings shared by the speech models and the upscaler."""

from __future__ import annotations

import logging
from typing import Final

import onnxruntime

_LOGGER = logging.getLogger(__name__)

CUDA_PROVIDER: Final = "CUDAExecutionProvider"
CPU_PROVIDER: Final = "CPUExecutionProvider"


def session_settings(
    threads: int | None, *, use_cuda: bool, purpose: str
) -> tuple[onnxruntime.SessionOptions, list[str]]:
    """Return session options (intra-op threads; None: ONNX Runtime's own choice) and providers.

    CUDA comes first where it was asked for and this ONNX Runtime has it; where it was asked
    for and is missing, a warning names `purpose` ("ASR", "upscaling") and the CPU runs it.
    """
    options = onnxruntime.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    providers = [CPU_PROVIDER]
    if use_cuda and CUDA_PROVIDER in onnxruntime.get_available_providers():
        providers.insert(0, CUDA_PROVIDER)
    elif use_cuda:
        _LOGGER.warning(
            "ONNX Runtime has no CUDA provider here (install onnxruntime-gpu); %s runs on the CPU",
            purpose,
        )
    return options, providers
