"""How much memory the server holds: the process's resident set and, on a GPU, the device's.

Reported by /v1/health so a server owner sees what the two models take. The resident set
includes the pages of weights files the networks read in place (generation/models/loading.py);
the GPU figures are torch's allocations (the generator) and the whole device's use, which also
counts ONNX Runtime's CUDA memory (ASR) and every CUDA context on the card.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

_MIB = 2**20


def memory_usage() -> dict[str, Any]:
    """Return {"rss_mb", "peak_rss_mb", "gpu"} (gpu None unless CUDA is in use here)."""
    status = _proc_status()
    return {
        "rss_mb": _kib_to_mib(status.get("VmRSS")),
        "peak_rss_mb": _kib_to_mib(status.get("VmHWM")),
        "gpu": _gpu_usage(),
    }


def _proc_status() -> dict[str, str]:
    """Return the fields of /proc/self/status (empty where there is no /proc)."""
    try:
        text = Path("/proc/self/status").read_text(encoding="ascii")
    except OSError:
        return {}
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


def _kib_to_mib(field: str | None) -> int | None:
    """Convert "123456 kB" to 120 (MiB); None when absent."""
    if not field:
        return None
    return int(field.split()[0]) // 1024


def _gpu_usage() -> dict[str, int] | None:
    """Return torch's and the device's memory use; None while this process has no CUDA.

    Never initializes CUDA itself (that alone would take a few hundred MiB of the card).
    """
    if not torch.cuda.is_available() or not torch.cuda.is_initialized():
        return None
    device = torch.cuda.current_device()
    free, total = torch.cuda.mem_get_info(device)
    return {
        "allocated_mb": torch.cuda.memory_allocated(device) // _MIB,
        "peak_allocated_mb": torch.cuda.max_memory_allocated(device) // _MIB,
        "device_used_mb": (total - free) // _MIB,
        "device_total_mb": total // _MIB,
    }
