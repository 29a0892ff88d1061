"""The caption under the picture: the prompt, wrapped at word boundaries, crisp on e-paper.

The font is the TrueType font bundled with Pillow (``ImageFont.load_default(size=...)``,
Pillow >= 10.1), so every machine renders the same caption without font files. It covers
ASCII only: other characters are folded to their ASCII letters ("café" -> "cafe") and those
with no ASCII form become "?". Text is drawn without anti-aliasing in one panel colour, so
it stays sharp instead of being dithered.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Final

from PIL import Image, ImageDraw, ImageFont

ELLIPSIS: Final = "\u2026"
HYPHEN: Final = "-"
MAX_LINES: Final = 3
_MIN_FONT_PX: Final = 12
# Font size as a fraction of the panel's shorter side (22 px on the 5.7" 600x448 panel).
_FONT_FRACTION: Final = 0.05
_LINE_SPACING: Final = 1.25
_ASCII_REPLACEMENTS: Final = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u2013": "-",
    "\u2014": "-",
    "\u00df": "ss",
    "\u00e6": "ae",
    "\u00c6": "AE",
    "\u0153": "oe",
    "\u0152": "OE",
    "\u00f8": "o",
    "\u00d8": "O",
}

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@dataclass(frozen=True, kw_only=True)
class CaptionLayout:
    """A caption laid out for one canvas width."""

    lines: tuple[str, ...]
    """The wrapped lines, the last one ending with an ellipsis when text was left out."""
    font: Font
    """The font the lines were measured with."""
    line_height: int
    """Pixels from one baseline to the next."""
    margin: int
    """Pixels above, below and beside the text."""

    @property
    def height(self) -> int:
        """Pixels the caption band takes at the bottom of the canvas."""
        return len(self.lines) * self.line_height + 2 * self.margin


def font_size_for(width: int, height: int) -> int:
    """Return the caption font size in pixels for a canvas, scaled to its shorter side."""
    return max(_MIN_FONT_PX, round(min(width, height) * _FONT_FRACTION))


def load_font(size: int) -> Font:
    """Return Pillow's bundled TrueType font at ``size`` pixels."""
    return ImageFont.load_default(size=size)


def to_ascii(text: str) -> str:
    """Fold ``text`` to the ASCII the bundled font can draw and collapse whitespace."""
    folded = []
    for char in text:
        if char.isascii():
            folded.append(char)
            continue
        if char == ELLIPSIS:
            folded.append(char)
            continue
        if char in _ASCII_REPLACEMENTS:
            folded.append(_ASCII_REPLACEMENTS[char])
            continue
        if char.isspace():
            folded.append(" ")
            continue
        base = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode("ascii")
        folded.append(base or "?")
    return " ".join("".join(folded).split())


def _text_width(font: Font, text: str) -> float:
    """Return the advance width of ``text`` in pixels."""
    return font.getlength(text)


def _break_word(word: str, font: Font, max_width: float) -> list[str]:
    """Split a word wider than a line into pieces that fit, each but the last ending in '-'."""
    pieces = []
    rest = word
    while _text_width(font, rest) > max_width:
        cut = 1
        while cut < len(rest) - 1 and _text_width(font, rest[: cut + 1] + HYPHEN) <= max_width:
            cut += 1
        pieces.append(rest[:cut] + HYPHEN)
        rest = rest[cut:]
    pieces.append(rest)
    return pieces


def wrap_words(text: str, font: Font, max_width: float) -> list[str]:
    """Wrap ``text`` greedily at spaces into lines no wider than ``max_width``.

    Words are never cut, except a single word wider than a whole line, which is broken
    with hyphens.
    """
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if _text_width(font, candidate) <= max_width:
            current = candidate
            continue
        if current:
            lines.append(current)
        pieces = _break_word(word, font, max_width)
        lines.extend(pieces[:-1])
        current = pieces[-1]
    if current:
        lines.append(current)
    return lines


def with_ellipsis(line: str, font: Font, max_width: float) -> str:
    """End ``line`` with an ellipsis after its last whole word that leaves room for it.

    A line that is one piece of a hyphen-broken word keeps as much of it as fits.
    """
    words = line.split()
    while len(words) > 1:
        candidate = " ".join(words) + ELLIPSIS
        if _text_width(font, candidate) <= max_width:
            return candidate
        words.pop()
    piece = words[0].removesuffix(HYPHEN) if words else ""
    while piece and _text_width(font, piece + ELLIPSIS) > max_width:
        piece = piece[:-1]
    return piece + ELLIPSIS


def layout_caption(
    text: str, canvas_width: int, canvas_height: int, max_lines: int = MAX_LINES
) -> CaptionLayout | None:
    """Lay out ``text`` for a canvas; return None when nothing printable is left."""
    clean = to_ascii(text)
    if not clean:
        return None
    size = font_size_for(canvas_width, canvas_height)
    font = load_font(size)
    margin = max(2, size // 3)
    max_width = canvas_width - 2 * margin
    lines = wrap_words(clean, font, max_width)
    if len(lines) > max_lines:
        lines = [*lines[: max_lines - 1], with_ellipsis(lines[max_lines - 1], font, max_width)]
    return CaptionLayout(
        lines=tuple(lines),
        font=font,
        line_height=round(size * _LINE_SPACING),
        margin=margin,
    )


def draw_caption(canvas: Image.Image, layout: CaptionLayout, fill: int) -> None:
    """Draw the caption centred in the band at the bottom of a "P"/"L" canvas.

    ``fill`` is the pixel value of the text; only that value is written (no anti-aliasing).
    """
    draw = ImageDraw.Draw(canvas)
    draw.fontmode = "1"
    top = canvas.height - layout.height + layout.margin
    centre_x = canvas.width / 2
    for number, line in enumerate(layout.lines):
        centre_y = top + number * layout.line_height + layout.line_height / 2
        draw.text((centre_x, centre_y), line, font=layout.font, fill=fill, anchor="mm")
