"""Encode a frame of panel indices as a small palette PNG, quickly.

Pillow's PNG writer deflates the whole picture on one thread, and Pillow 12+ wheels bundle a
zlib that is about twice as slow at level 1 as the system zlib Python's ``zlib`` uses (a
1600x1200 frame: 24 ms against 11 ms). This writer packs the indices at 4 bits per pixel (or
fewer / 8 when the palette needs), cuts the rows into one chunk per thread and deflates each
chunk with run-length matching on its own thread. A flush at the end of every chunk but the
last leaves the bit stream byte-aligned, so the chunks join into one valid deflate stream
(as pigz does); the zlib header and the Adler-32 of all rows wrap it. The PNG holds IHDR,
PLTE, one IDAT and IEND, and every reader sees exactly the indices and colours given (tested
by decoding with Pillow).
"""

from __future__ import annotations

import itertools
import struct
import zlib
from collections.abc import Sequence
from functools import partial
from typing import Final

import numpy as np
import numpy.typing as npt

from .parallel import run_in_parallel

_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
_COLOUR_TYPE_PALETTE: Final = 3
# zlib header: deflate with a 32 KiB window, "fastest" level, no preset dictionary.
_ZLIB_HEADER: Final = b"\x78\x01"
# Run-length matching: a dithered frame has few long repeats, and on this CPU it deflates a
# 1600x1200 frame in 6.4 ms (default strategy: 10.7 ms) to a similar size (-4 %..+8 %).
_STRATEGY: Final = zlib.Z_RLE
_LEVEL: Final = 1
# Below this many pixels one thread deflates everything (a thread would cost more than it saves).
_PARALLEL_PIXELS: Final = 200_000


def bit_depth_for(colours: int) -> int:
    """Return the smallest PNG bit depth (1, 2, 4 or 8) that indexes ``colours`` entries."""
    if not 1 <= colours <= 256:
        raise ValueError(f"A PNG palette holds 1 to 256 colours, not {colours}")
    for depth in (1, 2, 4):
        if colours <= 1 << depth:
            return depth
    return 8


def _chunk(kind: bytes, data: bytes) -> bytes:
    """Return one PNG chunk: length, type, data and the CRC of type and data."""
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(data, zlib.crc32(kind)))
    )


def _scanlines(indices: npt.NDArray[np.uint8], depth: int) -> bytes:
    """Return PNG scan lines of ``indices``: a filter byte 0 and the packed pixels per row."""
    height, width = indices.shape
    per_byte = 8 // depth
    row_bytes = -(-width // per_byte)
    rows = np.zeros((height, 1 + row_bytes), dtype=np.uint8)
    if per_byte == 1:
        rows[:, 1:] = indices
        return rows.tobytes()
    padded = indices
    if width % per_byte:
        padded = np.zeros((height, row_bytes * per_byte), dtype=np.uint8)
        padded[:, :width] = indices
    packed = rows[:, 1:]
    for position in range(per_byte):
        shift = depth * (per_byte - 1 - position)
        packed |= padded[:, position::per_byte] << shift
    return rows.tobytes()


def _deflate(indices: npt.NDArray[np.uint8], depth: int, last: bool) -> tuple[bytes, bytes]:
    """Deflate the scan lines of some rows; return (raw deflate data, the scan lines)."""
    lines = _scanlines(indices, depth)
    compressor = zlib.compressobj(_LEVEL, zlib.DEFLATED, -15, 9, _STRATEGY)
    data = compressor.compress(lines) + compressor.flush(
        zlib.Z_FINISH if last else zlib.Z_FULL_FLUSH
    )
    return data, lines


def encode_palette_png(
    indices: npt.NDArray[np.uint8], palette: Sequence[int], *, threads: int = 2
) -> bytes:
    """Return a palette PNG of ``indices`` (height, width) with ``palette`` (flat RGB list).

    Raises ValueError when the palette is not 1..256 RGB colours or an index lies past it.
    """
    if indices.ndim != 2 or indices.dtype != np.uint8 or 0 in indices.shape:
        raise ValueError("The indices must be a non-empty 2-D uint8 array")
    if len(palette) % 3:
        raise ValueError(f"The palette must hold whole RGB colours, not {len(palette)} values")
    colours = len(palette) // 3
    depth = bit_depth_for(colours)
    if int(indices.max()) >= colours:
        raise ValueError(f"Index {int(indices.max())} lies past the {colours}-colour palette")
    height, width = indices.shape
    parts = max(1, min(threads, height, indices.size // _PARALLEL_PIXELS))
    bounds = [height * part // parts for part in range(parts + 1)]
    chunks = run_in_parallel(
        [
            partial(_deflate, indices[top:bottom], depth, last=bottom == height)
            for top, bottom in itertools.pairwise(bounds)
        ]
    )
    checksum = 1  # Adler-32 of nothing
    for _, lines in chunks:
        checksum = zlib.adler32(lines, checksum)
    stream = b"".join([_ZLIB_HEADER, *(data for data, _ in chunks), struct.pack(">I", checksum)])
    header = struct.pack(">IIBBBBB", width, height, depth, _COLOUR_TYPE_PALETTE, 0, 0, 0)
    return b"".join(
        [
            _SIGNATURE,
            _chunk(b"IHDR", header),
            _chunk(b"PLTE", bytes(palette)),
            _chunk(b"IDAT", stream),
            _chunk(b"IEND", b""),
        ]
    )
