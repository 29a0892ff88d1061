"""Choosing the torch device and dtype a model runs on."""

from __future__ import annotations

from typing import Final

import torch

DTYPES: Final = {
    "float32": torch.float32,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
}
"""The dtypes min-dalle runs in, by the names the server's options use."""


def choose_device_and_dtype(
    device: str | None = None, dtype: str | None = None
) -> tuple[torch.device, torch.dtype]:
    """Return the device and dtype to run on: CUDA in float16 when there is a GPU, else CPU float32.

    Raises ValueError for a device or dtype that cannot work: an unknown name, CUDA without a
    GPU, or float16/bfloat16 anywhere but CUDA (min-dalle keeps parts of its attention in
    float32, which only CUDA's autocast reconciles; on CPU it fails with a dtype error).
    """
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        torch_device = torch.device(device)
    except RuntimeError as error:
        raise ValueError(f"unknown torch device {device!r} (use cpu, cuda or cuda:N)") from error
    if torch_device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device {device!r} asked for, but torch sees no CUDA GPU here "
            "(check the NVIDIA runtime and driver, or use device cpu)"
        )
    if dtype is None:
        dtype = "float16" if torch_device.type == "cuda" else "float32"
    if dtype not in DTYPES:
        raise ValueError(f"unknown dtype {dtype!r} (choose one of {', '.join(DTYPES)})")
    if dtype != "float32" and torch_device.type != "cuda":
        raise ValueError(
            f"min-dalle runs {dtype} only on CUDA; on {torch_device.type} use float32 "
            "(or leave the dtype unset to have it chosen)"
        )
    if dtype == "bfloat16" and not torch.cuda.is_bf16_supported():
        raise ValueError("this GPU does not support bfloat16: use float16 or float32")
    return torch_device, DTYPES[dtype]
