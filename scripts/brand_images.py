"""Draws the project's brand images with Pillow: the integration's and the add-on's.

An original design: a wooden picture frame around a landscape of painted hills in
the 7-colour e-paper palette (Inky Impression 7.3"'s measured inks), with a spark for the AI.
Everything is drawn at 4x and scaled down with Lanczos, so edges stay crisp at every size.

    .venvs/server/bin/python scripts/brand_images.py           # writes the images
    .venvs/server/bin/python scripts/brand_images.py --check   # exits 1 if any differs

Writes `custom_components/dalle_frame/brand/` (icon, logo, dark_logo, each with @2x: HA 2026.3+
serves them for custom integrations) and `addon_inference/icon.png` and `logo.png` (the
add-on store's).
"""

from __future__ import annotations

import argparse
import io
import math
import sys
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parents[1]
BRAND = ROOT / "custom_components" / "dalle_frame" / "brand"
ADDON = ROOT / "addon_inference"
NAME = "AI Art Frame"
SCALE = 4  # drawn at 4x, then scaled down

# The measured inks of the 7.3" 7-colour panel (render/panels.py's AC073TC1A palette).
INK = {
    "black": (0, 0, 0),
    "white": (217, 242, 255),
    "green": (3, 124, 76),
    "blue": (27, 46, 198),
    "red": (245, 80, 34),
    "yellow": (255, 255, 68),
    "orange": (239, 121, 44),
}
WOOD = (110, 70, 40)
WOOD_EDGE = (164, 112, 66)
TEXT_LIGHT = (40, 36, 38)  # logo text for light backgrounds
TEXT_DARK = (236, 236, 236)  # and for dark ones

Box = tuple[float, float, float, float]


def _scaled(box: Box, size: float) -> tuple[int, int, int, int]:
    """Return a box given in units of a 256-wide square in pixels of a `size`-wide canvas."""
    factor = size / 256
    return (
        round(box[0] * factor),
        round(box[1] * factor),
        round(box[2] * factor),
        round(box[3] * factor),
    )


def _hill(
    draw: ImageDraw.ImageDraw,
    ridge: list[tuple[float, float]],
    colour: tuple[int, int, int],
    size: float,
) -> None:
    """Paint a hill: the area below the `ridge` line (256 units) down to the bottom edge."""
    factor = size / 256
    pixels = [(x * factor, y * factor) for x, y in ridge]
    pixels += [(pixels[-1][0], size), (pixels[0][0], size)]
    draw.polygon(pixels, fill=colour)


def _wave(
    x0: float, x1: float, y: float, amplitude: float, phase: float
) -> list[tuple[float, float]]:
    """Return points of a gentle wave from x0 to x1 around height y (256 units)."""
    steps = 24
    return [
        (
            x0 + (x1 - x0) * i / steps,
            y + amplitude * math.sin(phase + 2 * math.pi * i / steps),
        )
        for i in range(steps + 1)
    ]


def _spark(
    draw: ImageDraw.ImageDraw,
    centre: tuple[float, float],
    radius: float,
    colour: tuple[int, int, int],
    size: float,
) -> None:
    """Draw a four-pointed spark (256 units), its waist a fifth of its radius."""
    factor = size / 256
    cx, cy = centre[0] * factor, centre[1] * factor
    outer, inner = radius * factor, radius * factor / 5
    points = []
    for i in range(8):
        angle = math.pi / 2 * (i // 2) + (math.pi / 4 if i % 2 else 0) - math.pi / 2
        reach = inner if i % 2 else outer
        points.append((cx + reach * math.cos(angle), cy + reach * math.sin(angle)))
    draw.polygon(points, fill=colour)


def draw_icon(size: int) -> Image.Image:
    """Draw the square icon: frame, painted landscape, spark; transparent outside the frame."""
    canvas = size * SCALE
    image = Image.new("RGBA", (canvas, canvas), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle(_scaled((0, 0, 256, 256), canvas), radius=canvas * 30 // 256, fill=WOOD)
    draw.rounded_rectangle(
        _scaled((10, 10, 246, 246), canvas),
        radius=canvas * 22 // 256,
        outline=WOOD_EDGE,
        width=max(1, canvas * 4 // 256),
    )
    picture = _scaled((30, 30, 226, 226), canvas)
    draw.rectangle(picture, fill=INK["white"])

    # The painting, clipped to the picture's square.
    painting = Image.new("RGBA", (canvas, canvas), (0, 0, 0, 0))
    paint = ImageDraw.Draw(painting)
    paint.rectangle(_scaled((30, 30, 226, 226), canvas), fill=INK["blue"])
    paint.ellipse(_scaled((138, 62, 190, 114), canvas), fill=INK["yellow"])
    for top, amplitude, phase, colour in (
        (124, 10, 0.6, "orange"),
        (156, 9, 2.4, "red"),
        (188, 8, 4.0, "green"),
        (220, 5, 1.0, "black"),
    ):
        _hill(paint, _wave(20, 236, top, amplitude, phase), INK[colour], canvas)
    mask = Image.new("L", (canvas, canvas), 0)
    ImageDraw.Draw(mask).rectangle(picture, fill=255)
    image.paste(painting, (0, 0), ImageChops.multiply(mask, painting.getchannel("A")))

    _spark(draw, (80, 76), 34, INK["white"], canvas)
    _spark(draw, (80, 76), 24, INK["yellow"], canvas)
    _spark(draw, (112, 52), 12, INK["white"], canvas)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def _font(pixels: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Return Pillow's own bundled font (Aileron), so the logo does not depend on system fonts."""
    return ImageFont.load_default(size=pixels)


def draw_logo(height: int, text_colour: tuple[int, int, int], subtitle: str = "") -> Image.Image:
    """Draw the landscape logo: the icon, then the name (and a smaller subtitle) beside it."""
    canvas_height = height * SCALE
    icon = draw_icon(canvas_height)
    name_font = _font(round(canvas_height * (0.42 if subtitle else 0.5)))
    sub_font = _font(round(canvas_height * 0.26))
    gap = canvas_height // 6
    name_box = name_font.getbbox(NAME, stroke_width=SCALE)
    sub_box = sub_font.getbbox(subtitle) if subtitle else (0, 0, 0, 0)
    text_width = max(name_box[2], sub_box[2])
    width = canvas_height + gap + text_width + SCALE * 2
    width += -width % SCALE  # a whole number of pixels
    image = Image.new("RGBA", (width, canvas_height), (0, 0, 0, 0))
    image.paste(icon, (0, 0), icon)
    draw = ImageDraw.Draw(image)
    name_height = name_box[3] - name_box[1]
    sub_height = sub_box[3] - sub_box[1]
    spacing = canvas_height // 12 if subtitle else 0
    top = (canvas_height - name_height - sub_height - spacing) / 2
    draw.text(
        (canvas_height + gap, top - name_box[1]),
        NAME,
        font=name_font,
        fill=text_colour,
        stroke_width=SCALE,
        stroke_fill=text_colour,
    )
    if subtitle:
        draw.text(
            (canvas_height + gap, top + name_height + spacing - sub_box[1]),
            subtitle,
            font=sub_font,
            fill=text_colour,
        )
    logo = image.resize((width // SCALE, height), Image.Resampling.LANCZOS)
    right = logo.getchannel("A").getbbox()[2]  # trimmed, to an even width (@2x halves exactly)
    return logo.crop((0, 0, right + right % 2, height))


def _half(image: Image.Image) -> Image.Image:
    """Return the image at half its size (the 1x logo from the @2x one)."""
    return image.resize((image.width // 2, image.height // 2), Image.Resampling.LANCZOS)


def _fit_logo(width: int, height: int) -> Image.Image:
    """Draw the add-on store's logo: the logo with a subtitle, centred on width x height."""
    logo = draw_logo(height, TEXT_LIGHT, subtitle="server")
    if logo.width > width:
        logo = logo.resize((width, round(height * width / logo.width)), Image.Resampling.LANCZOS)
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    image.paste(logo, ((width - logo.width) // 2, (height - logo.height) // 2))
    return image


# Every image: its path and how to draw it.
IMAGES: dict[Path, Callable[[], Image.Image]] = {
    BRAND / "icon.png": lambda: draw_icon(256),
    BRAND / "icon@2x.png": lambda: draw_icon(512),
    BRAND / "logo.png": lambda: _half(draw_logo(256, TEXT_LIGHT)),
    BRAND / "logo@2x.png": lambda: draw_logo(256, TEXT_LIGHT),
    BRAND / "dark_logo.png": lambda: _half(draw_logo(256, TEXT_DARK)),
    BRAND / "dark_logo@2x.png": lambda: draw_logo(256, TEXT_DARK),
    ADDON / "icon.png": lambda: draw_icon(128),
    ADDON / "logo.png": lambda: _fit_logo(250, 100),
}


def png_bytes(image: Image.Image) -> bytes:
    """Return the image as an optimised PNG."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def differs(path: Path, image: Image.Image) -> bool:
    """Tell whether the file at `path` is missing or not this image.

    A few levels of rounding are allowed: Pillow's resampling and fonts vary by version.
    """
    if not path.exists():
        return True
    with Image.open(path) as stored:
        if stored.size != image.size:
            return True
        difference = ImageChops.difference(stored.convert("RGBA"), image)
    return max(high for _low, high in difference.getextrema()) > 8


def main(argv: list[str] | None = None) -> int:
    """Write the images, or with --check report the ones that differ from the drawing."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    stale = []
    for path, draw in IMAGES.items():
        image = draw()
        if args.check:
            if differs(path, image):
                stale.append(path)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png_bytes(image))
        print(f"{path.relative_to(ROOT)}: {image.width}x{image.height}")
    for path in stale:
        print(f"differs from its drawing: {path.relative_to(ROOT)}", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
