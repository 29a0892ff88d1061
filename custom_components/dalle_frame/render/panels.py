"""The e-paper panels a frame can have: sizes, colours and the indices the panels take.

Facts come from the Pimoroni inky 2.6.0 drivers (read, not imported: the integration must not
depend on inky):

- 7-colour panels (``inky_uc8159``: Impression 4" 640x400 and 5.7" 600x448;
  ``inky_ac073tc1a``: Impression 7.3" 800x480) take the colour indices
  BLACK=0, WHITE=1, GREEN=2, BLUE=3, RED=4, YELLOW=5, ORANGE=6 (7 is CLEAN, never used here).
  Their ``set_image`` passes a "P" image's indices to the glass unchanged.
- Spectra 6 panels (``inky_e640``: Impression 4" 600x400; ``inky_e673``: Impression 7.3"
  800x480; ``inky_el133uf1``: Impression 13.3" 1600x1200) take BLACK=0, WHITE=1, YELLOW=2,
  RED=3, BLUE=5, GREEN=6: index 4 is a gap.
  Their driver quantizes to six colours in the order black, white, yellow, red, blue, green
  and then remaps 0-5 to those native indices before sending. Frames rendered here already
  hold the native indices (0, 1, 2, 3, 5, 6), so a program that writes the image's indices
  straight into the driver's buffer (``display.buf``) shows exactly what was rendered.
  Their ``set_image`` does not pass a "P" image's indices on: it converts the image to RGB
  through its palette and matches each pixel to the pure colours, which gives back the same
  indices only while the palette's blue and green stay nearer their pure colours than black
  (saturation up to 0.77; tested with the real driver: identical at 0.5, a quarter of the
  pixels wrong at 0.8).
- Both drivers model the glass colours as ``saturation * SATURATED + (1 - saturation) *
  DESATURATED`` per channel, truncated to an integer (``_palette_blend``). The same blend,
  computed the same way, gives the colours of the PNG palette here, so the PNG previews what
  the panel shows. The 7.3" 7-colour panel has its own SATURATED colours.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, TypeAlias

RGB: TypeAlias = tuple[int, int, int]

DEFAULT_SATURATION: Final = 0.5

# Pure ("desaturated") colours, shared by every driver.
_PURE: Final[dict[str, RGB]] = {
    "black": (0, 0, 0),
    "white": (255, 255, 255),
    "green": (0, 255, 0),
    "blue": (0, 0, 255),
    "red": (255, 0, 0),
    "yellow": (255, 255, 0),
    "orange": (255, 140, 0),
}

# Measured ("saturated") colours of each panel family, from the drivers' SATURATED_PALETTE.
_SATURATED_UC8159: Final[dict[str, RGB]] = {
    "black": (57, 48, 57),
    "white": (255, 255, 255),
    "green": (58, 91, 70),
    "blue": (61, 59, 94),
    "red": (156, 72, 75),
    "yellow": (208, 190, 71),
    "orange": (177, 106, 73),
}
_SATURATED_AC073TC1A: Final[dict[str, RGB]] = {
    "black": (0, 0, 0),
    "white": (217, 242, 255),
    "green": (3, 124, 76),
    "blue": (27, 46, 198),
    "red": (245, 80, 34),
    "yellow": (255, 255, 68),
    "orange": (239, 121, 44),
}
_SATURATED_SPECTRA: Final[dict[str, RGB]] = {
    "black": (0, 0, 0),
    "white": (161, 164, 165),
    "yellow": (208, 190, 71),
    "red": (156, 72, 75),
    "blue": (61, 59, 94),
    "green": (58, 91, 70),
}

# Colour name -> the index the panel takes, in the order the driver blends its palette.
_INDICES_7_COLOUR: Final[dict[str, int]] = {
    "black": 0,
    "white": 1,
    "green": 2,
    "blue": 3,
    "red": 4,
    "yellow": 5,
    "orange": 6,
}
_INDICES_SPECTRA: Final[dict[str, int]] = {
    "black": 0,
    "white": 1,
    "yellow": 2,
    "red": 3,
    "blue": 5,
    "green": 6,
}


def blend_colour(saturated: RGB, pure: RGB, saturation: float) -> RGB:
    """Blend one colour the way inky's ``_palette_blend`` does (same float steps, truncated)."""
    channels = []
    for sat, des in zip(saturated, pure, strict=True):
        channels.append(int(sat * saturation + des * (1.0 - saturation)))
    return (channels[0], channels[1], channels[2])


@dataclass(frozen=True, kw_only=True)
class PanelColour:
    """One colour a panel can show."""

    name: str
    """Lower-case colour name, e.g. "red"."""
    index: int
    """The index the panel takes for this colour (the pixel value of a rendered frame)."""
    saturated: RGB
    """The driver's measured colour (saturation 1)."""
    pure: RGB
    """The driver's pure colour (saturation 0)."""

    def at(self, saturation: float) -> RGB:
        """Return the colour the panel is modelled to show at this saturation."""
        return blend_colour(self.saturated, self.pure, saturation)


@dataclass(frozen=True, kw_only=True)
class Panel:
    """An e-paper panel model: its size in landscape and its colours."""

    key: str
    """The option value, e.g. "inky_impression_5_7"."""
    name: str
    """Human name, e.g. 'Inky Impression 5.7" (7 colours)'."""
    width: int
    """Width in pixels, landscape."""
    height: int
    """Height in pixels, landscape."""
    colours: tuple[PanelColour, ...]
    """The colours in the driver's blend order (black and white first)."""

    @property
    def palette(self) -> tuple[RGB, ...]:
        """The colours at the default saturation, in the order of ``colours``."""
        return self.palette_at(DEFAULT_SATURATION)

    @property
    def indices(self) -> tuple[int, ...]:
        """The panel indices a rendered frame may hold, in the order of ``colours``."""
        return tuple(colour.index for colour in self.colours)

    def palette_at(self, saturation: float) -> tuple[RGB, ...]:
        """Return the colours at ``saturation``, in the order of ``colours``."""
        return tuple(colour.at(saturation) for colour in self.colours)

    def colour(self, name: str) -> PanelColour:
        """Return the colour called ``name``; raise ValueError when the panel lacks it."""
        for colour in self.colours:
            if colour.name == name:
                return colour
        names = ", ".join(colour.name for colour in self.colours)
        raise ValueError(f"The {self.name} panel has no colour {name!r}; it has {names}")

    def png_palette(self, saturation: float) -> list[int]:
        """Return the flat RGB list for a PNG palette indexed by panel index.

        Unused indices (the Spectra gap at 4) repeat black so the table has no holes.
        """
        size = max(self.indices) + 1
        table: list[RGB] = [self.colours[0].at(saturation)] * size
        for colour in self.colours:
            table[colour.index] = colour.at(saturation)
        return [channel for rgb in table for channel in rgb]


def _colours(saturated: dict[str, RGB], indices: dict[str, int]) -> tuple[PanelColour, ...]:
    """Build the colour table of a panel family."""
    return tuple(
        PanelColour(name=name, index=index, saturated=saturated[name], pure=_PURE[name])
        for name, index in indices.items()
    )


_UC8159: Final = _colours(_SATURATED_UC8159, _INDICES_7_COLOUR)
_AC073TC1A: Final = _colours(_SATURATED_AC073TC1A, _INDICES_7_COLOUR)
_SPECTRA: Final = _colours(_SATURATED_SPECTRA, _INDICES_SPECTRA)

PANELS: Final[dict[str, Panel]] = {
    panel.key: panel
    for panel in (
        Panel(
            key="inky_impression_4",
            name='Inky Impression 4" (7 colours)',
            width=640,
            height=400,
            colours=_UC8159,
        ),
        Panel(
            key="inky_impression_5_7",
            name='Inky Impression 5.7" (7 colours)',
            width=600,
            height=448,
            colours=_UC8159,
        ),
        Panel(
            key="inky_impression_7_3",
            name='Inky Impression 7.3" (7 colours)',
            width=800,
            height=480,
            colours=_AC073TC1A,
        ),
        Panel(
            key="inky_impression_spectra_4",
            name='Inky Impression 4" Spectra 6',
            width=600,
            height=400,
            colours=_SPECTRA,
        ),
        Panel(
            key="inky_impression_spectra_7_3",
            name='Inky Impression 7.3" Spectra 6',
            width=800,
            height=480,
            colours=_SPECTRA,
        ),
        Panel(
            key="inky_impression_spectra_13_3",
            name='Inky Impression 13.3" Spectra 6',
            width=1600,
            height=1200,
            colours=_SPECTRA,
        ),
    )
}
