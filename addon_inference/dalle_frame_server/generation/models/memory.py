"""Memory settings: glibc keeps freed memory for reuse; a weights file's pages are let go.

`keep_freed_memory`: by default glibc serves every block above a (self-adjusting) threshold
with a fresh `mmap` and returns it to the system on `free`. The VQGAN detokenizer allocates
and frees dozens of tens-of-megabytes activations per image; each one then costs page faults
and the kernel's zeroing of every page. Serving large blocks from the heap and keeping up to
`trim_threshold` bytes of freed memory there made the detokenizer ~20% faster on the 2-core
EPYC (3.15 s -> 2.48 s per image on one thread), with the same arithmetic and so the same
pixels. The price: the process keeps up to `trim_threshold` of freed memory (its peak does
not grow). Process-wide: the server applies it once at start-up (the benchmark does the same
for every variant, stock min-dalle included).

`drop_mapped_pages`: see its docstring; for loading weights without a transient copy.

`MappedWeights`: the address range of a weights file that is memory-mapped and whose tensors
the network uses in place; `release()` lets the process's pages of it go between uses.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import mmap
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import torch

_LOGGER = logging.getLogger(__name__)

_M_TRIM_THRESHOLD: Final = -1
_M_MMAP_THRESHOLD: Final = -3
"""mallopt parameter numbers from glibc's malloc.h."""

_MADV_DONTNEED: Final = 4
"""madvise advice number (Linux): drop these pages; a file mapping re-reads them if touched."""

DEFAULT_MMAP_THRESHOLD: Final = 1 << 30
DEFAULT_TRIM_THRESHOLD: Final = 256 << 20


def keep_freed_memory(
    *,
    mmap_threshold: int = DEFAULT_MMAP_THRESHOLD,
    trim_threshold: int = DEFAULT_TRIM_THRESHOLD,
) -> bool:
    """Serve blocks below `mmap_threshold` from the heap; keep `trim_threshold` freed bytes.

    Returns whether it took effect (False where the C library has no `mallopt`, i.e. is not
    glibc).
    """
    libc = _c_library()
    mallopt = getattr(libc, "mallopt", None) if libc is not None else None
    if mallopt is None:
        _LOGGER.debug("No mallopt in the C library: allocator settings unchanged")
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    applied = bool(mallopt(_M_MMAP_THRESHOLD, mmap_threshold)) and bool(
        mallopt(_M_TRIM_THRESHOLD, trim_threshold)
    )
    _LOGGER.debug(
        "glibc allocator: mmap threshold %d MiB, trim threshold %d MiB (%s)",
        mmap_threshold >> 20,
        trim_threshold >> 20,
        "applied" if applied else "refused",
    )
    return applied


def return_freed_memory() -> bool:
    """Give the pages of freed heap blocks back to the system (glibc `malloc_trim(0)`).

    After building a backend: quantizing the int8 projections frees temporaries between the
    blocks it keeps, which `keep_freed_memory` would otherwise hold on to (mini, int8: 870 to
    1115 MB resident after building, in different runs). Returns whether the C library has it.
    """
    libc = _c_library()
    trim = getattr(libc, "malloc_trim", None) if libc is not None else None
    if trim is None:
        return False
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    trim(0)
    return True


def drop_mapped_pages(tensors: Iterable[torch.Tensor]) -> int:
    """Tell the kernel the pages under these tensors are not needed any more; return bytes.

    For tensors memory-mapped from a weights file (`torch.load(..., mmap=True)`): once a
    tensor has been copied into the network's own storage, its file pages still count in the
    process's resident memory until the whole file is unmapped. Dropping them right after each
    copy keeps the peak of a load near the weights' own size (mini, float32, on the 2-core
    EPYC: 2.88 GB -> 2.17 GB peak RSS, the same 2.16 GB once loaded). Only whole pages inside
    each tensor are dropped. File-mapped data stays readable (the kernel reads it again from
    the file), but anonymous memory reads back as zeros: call it only on tensors whose data has
    been copied elsewhere and that share no storage with a tensor still to be read.
    """
    return sum(
        _drop_range(tensor.data_ptr(), tensor.numel() * tensor.element_size()) for tensor in tensors
    )


@dataclass(frozen=True, slots=True)
class MappedWeights:
    """The part of a memory-mapped weights file that a loaded network reads its weights from.

    The network's tensors are views into a private, read-only-in-practice mapping of the file
    (`torch.load(..., mmap=True)` then `load_state_dict(..., assign=True)`). Touched pages count
    in the process's resident set as file pages; `release()` drops them (`MADV_DONTNEED`): the
    next read faults them back in from the page cache (or the disk, where the kernel reclaimed
    them), the same bytes. Built only by `of_tensors`, which checks that the whole range lies in
    one mapping of that file, so a release can never hit anonymous memory (which would read
    back as zeros).
    """

    path: Path
    start: int
    length: int

    @classmethod
    def of_tensors(cls, path: Path, tensors: Iterable[torch.Tensor]) -> MappedWeights | None:
        """Return the range of `tensors` if all lie in one mapping of `path`, else None."""
        spans = [
            (tensor.data_ptr(), tensor.data_ptr() + tensor.numel() * tensor.element_size())
            for tensor in tensors
            if tensor.numel()
        ]
        if not spans:
            return None
        start = min(begin for begin, _ in spans)
        end = max(finish for _, finish in spans)
        mapping = _mapping_of(start)
        if mapping is None:
            return None
        low, high, mapped_path = mapping
        try:
            same_file = mapped_path is not None and Path(mapped_path).samefile(path)
        except OSError:
            same_file = False
        if not same_file or end > high or start < low:
            return None
        return cls(path, start, end - start)

    def release(self) -> int:
        """Drop the process's pages of the range (whole pages inside it); return the bytes."""
        return _drop_range(self.start, self.length)

    def resident_bytes(self) -> int:
        """Bytes of the file's mapping now resident in this process (Linux smaps; 0 if unknown)."""
        try:
            lines = Path("/proc/self/smaps").read_text().splitlines()
        except OSError:
            return 0
        inside = False
        for line in lines:
            fields = line.split()
            if "-" in fields[0] and not fields[0].endswith(":"):
                low, high = (int(part, 16) for part in fields[0].split("-"))
                inside = low <= self.start < high
            elif inside and fields[0] == "Rss:":
                return int(fields[1]) * 1024
        return 0


def _mapping_of(address: int) -> tuple[int, int, str | None] | None:
    """Return (start, end, file path or None) of the mapping holding `address` (Linux only)."""
    try:
        lines = Path("/proc/self/maps").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        fields = line.split(maxsplit=5)
        low, high = (int(part, 16) for part in fields[0].split("-"))
        if low <= address < high:
            return low, high, fields[5] if len(fields) == 6 else None
    return None


def _drop_range(start: int, length: int) -> int:
    """madvise(MADV_DONTNEED) the whole pages inside [start, start + length); return bytes."""
    libc = _c_library()
    madvise = getattr(libc, "madvise", None) if libc is not None else None
    if madvise is None:
        return 0
    madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    madvise.restype = ctypes.c_int
    page = mmap.PAGESIZE
    first = -(-start // page) * page
    last = (start + length) // page * page
    if last > first and madvise(first, last - first, _MADV_DONTNEED) == 0:
        return last - first
    return 0


def _c_library() -> ctypes.CDLL | None:
    """Return the process's C library, or None when it cannot be opened."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c"))
    except (OSError, TypeError):
        return None
