"""Tests of the caption: word wrapping, hyphen breaks, ellipsis, ASCII folding, drawing."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from PIL import Image

from custom_components.dalle_frame.render import caption as render_caption
from custom_components.dalle_frame.render.caption import (
    ELLIPSIS,
    MAX_LINES,
    draw_caption,
    font_size_for,
    layout_caption,
    load_font,
    to_ascii,
    wrap_words,
)

FONT = load_font(22)
PROMPT = (
    "a watercolor of a lighthouse in a storm at night with huge waves crashing over the "
    "rocks while seagulls circle the lantern"
)


@pytest.mark.parametrize("max_width", [130, 300, 560])
def test_wrapping_never_cuts_a_word_and_every_line_fits(max_width: int) -> None:
    """Lines are whole words, in order, each no wider than the line."""
    lines = wrap_words(PROMPT, FONT, max_width)
    assert " ".join(lines).split() == PROMPT.split()
    for line in lines:
        assert FONT.getlength(line) <= max_width
    # Greedy: the next line's first word would not have fitted on the line before.
    for line, following in itertools.pairwise(lines):
        assert FONT.getlength(f"{line} {following.split()[0]}") > max_width


def test_a_word_longer_than_a_line_is_hyphen_broken() -> None:
    """Only a word wider than the whole line is split, each piece but the last ending in '-'."""
    word = "supercalifragilisticexpialidocious"
    lines = wrap_words(f"a {word} fox", FONT, 120)
    assert lines[0] == "a"
    pieces = [*lines[1:-1], lines[-1].split()[0]]
    assert "".join(piece.removesuffix("-") for piece in pieces) == word
    assert all(piece.endswith("-") for piece in pieces[:-1])
    assert all(FONT.getlength(line) <= 120 for line in lines)
    assert lines[-1].endswith("fox")


def test_short_prompt_is_one_line() -> None:
    """A prompt that fits stays on one line, unchanged."""
    layout = layout_caption("a fox in the snow", 600, 448)
    assert layout is not None
    assert layout.lines == ("a fox in the snow",)


def test_long_prompt_is_limited_and_ends_with_an_ellipsis_at_a_word_boundary() -> None:
    """Too many lines: the last kept line ends with whole words and an ellipsis."""
    text = " ".join([PROMPT] * 4)
    layout = layout_caption(text, 600, 448)
    assert layout is not None
    assert len(layout.lines) == MAX_LINES
    last = layout.lines[-1]
    assert last.endswith(ELLIPSIS)
    kept = " ".join(layout.lines).removesuffix(ELLIPSIS).split()
    assert kept == text.split()[: len(kept)]
    for line in layout.lines:
        assert layout.font.getlength(line) <= 600 - 2 * layout.margin


def test_giant_words_are_cut_with_an_ellipsis_when_too_long() -> None:
    """Only a word longer than a line may be cut, and then the last line still ends in '…'."""
    layout = layout_caption("x" * 400, 600, 448)
    assert layout is not None
    assert len(layout.lines) == MAX_LINES
    assert all(line.endswith("-") for line in layout.lines[:-1])
    assert layout.lines[-1].endswith("x" + ELLIPSIS)
    assert all(layout.font.getlength(line) <= 600 - 2 * layout.margin for line in layout.lines)


def test_ellipsis_trims_a_broken_word_piece_to_fit() -> None:
    """A hyphen-broken piece as the last line loses letters until the ellipsis fits."""
    piece = "x" * 10 + "-"
    width = FONT.getlength(piece)
    shortened = render_caption.with_ellipsis(piece, FONT, width)
    assert shortened.endswith(ELLIPSIS)
    assert shortened.startswith("x")
    assert len(shortened) < len(piece)
    assert FONT.getlength(shortened) <= width
    room = FONT.getlength("a fox" + ELLIPSIS)
    assert render_caption.with_ellipsis("a fox in the snow", FONT, room) == "a fox" + ELLIPSIS


def test_prompt_of_exactly_max_lines_has_no_ellipsis() -> None:
    """No ellipsis when nothing was left out."""
    size = font_size_for(600, 448)
    lines = wrap_words(PROMPT, load_font(size), 600 - 2 * max(2, size // 3))
    assert len(lines) <= MAX_LINES
    layout = layout_caption(PROMPT, 600, 448)
    assert layout is not None
    assert ELLIPSIS not in "".join(layout.lines)


def test_font_size_scales_with_the_panel() -> None:
    """Bigger panels get bigger text; tiny canvases keep a readable minimum."""
    assert font_size_for(600, 448) == 22
    assert font_size_for(448, 600) == 22
    assert font_size_for(1600, 1200) == 60
    assert font_size_for(100, 50) == 12


def test_layout_height_counts_lines_and_margins() -> None:
    """The band is lines times line height plus a margin above and below."""
    layout = layout_caption(PROMPT, 600, 448)
    assert layout is not None
    assert layout.height == len(layout.lines) * layout.line_height + 2 * layout.margin


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("café crème brûlée", "cafe creme brulee"),
        ("\u201cnaïve\u201d Straße", '"naive" Strasse'),
        ("a  fox\n\tin   snow ", "a fox in snow"),
        ("no\u00a0break\u2003space", "no break space"),
        ("rock \u2014 roll\u2026", "rock - roll\u2026"),
        ("\u732b on a mat", "? on a mat"),
    ],
)
def test_text_is_folded_to_what_the_font_can_draw(text: str, folded: str) -> None:
    """The bundled font covers ASCII: accents drop, quotes straighten, others become '?'."""
    assert to_ascii(text) == folded


def test_nothing_printable_means_no_caption() -> None:
    """Whitespace only gives no layout."""
    assert layout_caption(" \n\t ", 600, 448) is None


def test_drawing_writes_only_the_fill_value_inside_the_band() -> None:
    """Text is drawn without anti-aliasing, centred, within the band at the bottom."""
    layout = layout_caption("a fox in the snow", 600, 448)
    assert layout is not None
    canvas = Image.new("L", (600, 448), 1)
    draw_caption(canvas, layout, 0)
    pixels = np.asarray(canvas)
    assert set(np.unique(pixels)) == {0, 1}
    rows = np.flatnonzero((pixels == 0).any(axis=1))
    columns = np.flatnonzero((pixels == 0).any(axis=0))
    assert rows.min() >= 448 - layout.height
    assert abs((columns.min() + columns.max()) / 2 - 300) <= 3
