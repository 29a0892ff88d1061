"""Tests of the palette PNG writer: any reader sees exactly the indices and colours given."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from custom_components.dalle_frame.render.png import bit_depth_for, encode_palette_png


def random_indices(shape: tuple[int, int], colours: int, seed: int = 0) -> np.ndarray:
    """Random indices below ``colours``."""
    return np.random.default_rng(seed).integers(0, colours, shape, dtype=np.uint8)


def palette_for(colours: int) -> list[int]:
    """A flat RGB palette of distinct colours."""
    return [(index * 37 + channel * 85) % 256 for index in range(colours) for channel in range(3)]


def chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    """Split a PNG into (type, data) chunks, checking every CRC."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    found, position = [], 8
    while position < len(png):
        (length,) = struct.unpack(">I", png[position : position + 4])
        kind = png[position + 4 : position + 8]
        data = png[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", png[position + 8 + length : position + 12 + length])
        assert crc == zlib.crc32(kind + data)
        found.append((kind, data))
        position += 12 + length
    return found


@pytest.mark.parametrize(
    ("colours", "depth"), [(1, 1), (2, 1), (3, 2), (4, 2), (7, 4), (16, 4), (17, 8), (256, 8)]
)
def test_bit_depth_is_the_smallest_that_indexes_the_palette(colours: int, depth: int) -> None:
    """1, 2, 4 or 8 bits, as few as the palette allows."""
    assert bit_depth_for(colours) == depth


@pytest.mark.parametrize("colours", [2, 3, 7, 16, 17, 256])
@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (37, 41), (448, 601), (1200, 1600)])
def test_pillow_reads_back_the_exact_indices_and_palette(
    colours: int, shape: tuple[int, int]
) -> None:
    """Every depth, odd and even widths, one thread and two: same indices, same colours."""
    indices = random_indices(shape, colours)
    palette = palette_for(colours)
    png = encode_palette_png(indices, palette)
    image = Image.open(io.BytesIO(png))
    image.load()
    assert image.format == "PNG"
    assert image.mode == "P"
    assert image.size == (shape[1], shape[0])
    assert np.array_equal(np.asarray(image), indices)
    assert image.getpalette() == palette
    assert image.info.get("transparency") is None


@pytest.mark.parametrize("threads", [1, 2, 3, 8])
def test_chunks_deflated_apart_form_one_valid_zlib_stream(threads: int) -> None:
    """The IDAT is one zlib stream (Adler-32 checked) of filter-0 scan lines, 4 bits a pixel."""
    indices = random_indices((1200, 1600), 7, seed=threads)
    indices[:300] = 1  # long runs as well as noise
    png = encode_palette_png(indices, palette_for(7), threads=threads)
    found = chunks(png)
    assert [kind for kind, _ in found] == [b"IHDR", b"PLTE", b"IDAT", b"IEND"]
    assert found[0][1] == struct.pack(">IIBBBBB", 1600, 1200, 4, 3, 0, 0, 0)
    lines = np.frombuffer(zlib.decompress(found[2][1]), dtype=np.uint8).reshape(1200, 801)
    assert (lines[:, 0] == 0).all()
    assert np.array_equal(lines[:, 1:] >> 4, indices[:, 0::2])
    assert np.array_equal(lines[:, 1:] & 15, indices[:, 1::2])


def test_output_is_deterministic() -> None:
    """The same frame gives the same bytes."""
    indices = random_indices((600, 800), 6)
    assert encode_palette_png(indices, palette_for(7)) == encode_palette_png(
        indices.copy(), palette_for(7)
    )


@pytest.mark.parametrize(
    ("indices", "palette", "message"),
    [
        (np.zeros((0, 4), dtype=np.uint8), palette_for(2), "non-empty 2-D uint8"),
        (np.zeros((4,), dtype=np.uint8), palette_for(2), "non-empty 2-D uint8"),
        (np.zeros((4, 4), dtype=np.int32), palette_for(2), "non-empty 2-D uint8"),
        (np.zeros((4, 4), dtype=np.uint8), [1, 2], "whole RGB colours"),
        (np.zeros((4, 4), dtype=np.uint8), [], "1 to 256 colours"),
        (np.full((4, 4), 7, dtype=np.uint8), palette_for(7), "Index 7 lies past"),
    ],
)
def test_bad_input_raises_a_clear_value_error(indices, palette, message: str) -> None:
    """Nothing is written for indices or palettes a PNG cannot hold."""
    with pytest.raises(ValueError, match=message):
        encode_palette_png(indices, palette)
