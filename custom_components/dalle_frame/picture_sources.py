"""Picture sources besides the GPU server: what a source hands the frame, and how it is checked.

A ``PictureSource`` gives the frame one finished picture per call (`async_next_picture`);
the controller keeps it in the history, shows it as the Art image and renders the Frame
image from it exactly like generated art (``FrameController.async_show_source_picture``).
Photos (``photo_source``) are one kind; another source (a picture made elsewhere, say) fits
the same protocol by returning its picture with its prompt or name as the title.

``to_png`` turns whatever image bytes a source read (JPEG, PNG, WebP, GIF...) into the PNG
the history and the renderer take: checked size, the camera's EXIF rotation applied, RGB,
scaled down to at most ``MAX_SIDE`` pixels on its long side. It runs in the executor.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Final, Protocol

from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import DalleFrameError

__all__ = [
    "MAX_IMAGE_BYTES",
    "MAX_SIDE",
    "NoPictureError",
    "PictureSource",
    "SourcePicture",
    "UnusableImageError",
    "to_png",
]

# A photo file larger than this is skipped (a 48-megapixel JPEG is about 20 MB).
MAX_IMAGE_BYTES: Final = 40 * 1024 * 1024
# Pictures are kept at most this many pixels on their long side (every panel is smaller).
# A 12-megapixel JPEG takes about 1.5 s to check, scale and write as PNG (level 1) on 2 cores.
MAX_SIDE: Final = 2048
# Pillow's own guard against decompression bombs, stated here: 100 megapixels.
_MAX_PIXELS: Final = 100_000_000


class UnusableImageError(ValueError):
    """The bytes are not an image the frame can show (the message says why)."""


class NoPictureError(DalleFrameError):
    """The picture source gave nothing to show (placeholders: source, reason)."""

    translation_key_name = "no_picture"


@dataclass(frozen=True, kw_only=True)
class SourcePicture:
    """One picture from a source, ready for the history (PNG) and the caption (title)."""

    png: bytes
    title: str
    """The caption: a file name, an image entity's name, or a prompt."""
    source: str
    """Where it came from: a media-source id or an entity id."""


class PictureSource(Protocol):
    """Something that hands the frame its next picture."""

    async def async_next_picture(self) -> SourcePicture:
        """Return the next picture; raise NoPictureError when there is none to show."""
        ...


def to_png(data: bytes) -> bytes:
    """Decode image bytes and return an RGB PNG of at most MAX_SIDE pixels a side.

    Raises UnusableImageError with the reason for empty, oversized or undecodable data.
    """
    if not data:
        raise UnusableImageError("the file is empty")
    if len(data) > MAX_IMAGE_BYTES:
        raise UnusableImageError(
            f"the file has {len(data) / 1e6:.1f} MB, more than {MAX_IMAGE_BYTES / 1e6:.0f} MB"
        )
    try:
        with Image.open(io.BytesIO(data)) as opened:
            width, height = opened.size
            if width * height > _MAX_PIXELS:
                raise UnusableImageError(f"the image has {width}x{height} pixels, too many")
            # Before decoding: a large JPEG is then decoded at a reduced scale (draft).
            opened.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS, reducing_gap=1.0)
            upright = ImageOps.exif_transpose(opened)
            transparent = upright.has_transparency_data
            image = upright.convert("RGBA" if transparent else "RGB")
    except UnidentifiedImageError as err:
        raise UnusableImageError("the file is not an image Pillow can read") from err
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        if isinstance(err, UnusableImageError):
            raise
        raise UnusableImageError(f"the image is damaged: {err}") from err
    if transparent:  # flattened onto white, like a print
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.getchannel("A"))
        image = background
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()
