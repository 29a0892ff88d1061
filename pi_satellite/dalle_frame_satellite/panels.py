"""The e-paper panels the satellite drives: size, colours, inky driver and board pins."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Final

RGB = tuple[int, int, int]

DISPLAY_PINS: Final = frozenset({8, 10, 11, 17, 22, 27})
"""GPIOs every Inky Impression uses: SPI CE0/MOSI/SCLK, busy, data/command, reset."""

STANDARD_BUTTON_PINS: Final = {"A": 5, "B": 6, "C": 16, "D": 24}
"""BCM pins of the four buttons on Inky Impression boards (C moves to 25 on the 13.3")."""


@dataclass(frozen=True)
class Panel:
    """One Inky Impression model."""

    name: str
    """Config name, e.g. inky_impression_5_7 (the same keys as the integration's panel option)."""

    title: str
    """Human name for logs."""

    size: tuple[int, int]
    """Width and height in pixels (landscape, as the driver takes it)."""

    colours: int
    """Number of usable colours; indices 0..colours-1 follow the driver's palette order."""

    driver: str
    """Module of the inky driver class (inky 2.x), e.g. inky.inky_uc8159."""

    eeprom_variants: tuple[int, ...]
    """Display variant numbers its EEPROM reports."""

    extra_pins: frozenset[int] = frozenset()
    """GPIOs the panel uses beyond DISPLAY_PINS."""

    button_pins: tuple[tuple[str, int], ...] = ()
    """Button pins that differ from STANDARD_BUTTON_PINS on this board."""

    refresh_seconds: int = 30
    """About how long a full refresh takes (for log lines)."""

    def driver_class(self) -> Any:
        """Import and return the inky driver class (imports gpiod, so only when needed)."""
        return importlib.import_module(self.driver).Inky

    def palettes(self) -> tuple[list[RGB], list[RGB]]:
        """Return the (saturated, desaturated) colours of indices 0..colours-1 from the driver."""
        cls = self.driver_class()
        saturated = [tuple(c) for c in cls.SATURATED_PALETTE[: self.colours]]
        desaturated = [tuple(c) for c in cls.DESATURATED_PALETTE[: self.colours]]
        return saturated, desaturated

    def blended_palette(self, saturation: float) -> list[RGB]:
        """Return the palette inky itself blends: saturation*measured + (1-s)*pure colours."""
        saturated, desaturated = self.palettes()
        blended: list[RGB] = []
        for sc, dc in zip(saturated, desaturated, strict=True):
            red, green, blue = (
                int(s * saturation + d * (1.0 - saturation)) for s, d in zip(sc, dc, strict=True)
            )
            blended.append((red, green, blue))
        return blended

    def pins(self) -> frozenset[int]:
        """Return every GPIO the panel itself uses."""
        return DISPLAY_PINS | self.extra_pins


PANELS: Final = {
    panel.name: panel
    for panel in (
        Panel(
            name="inky_impression_4",
            title='Inky Impression 4" (7 colours, 640x400)',
            size=(640, 400),
            colours=7,
            driver="inky.inky_uc8159",
            eeprom_variants=(15, 16),
        ),
        Panel(
            name="inky_impression_5_7",
            title='Inky Impression 5.7" (7 colours, 600x448)',
            size=(600, 448),
            colours=7,
            driver="inky.inky_uc8159",
            eeprom_variants=(14,),
        ),
        Panel(
            name="inky_impression_7_3",
            title='Inky Impression 7.3" (7 colours, 800x480)',
            size=(800, 480),
            colours=7,
            driver="inky.inky_ac073tc1a",
            eeprom_variants=(20,),
            refresh_seconds=45,
        ),
        Panel(
            name="inky_impression_spectra_4",
            title='Inky Impression 4" Spectra 6 (600x400)',
            size=(600, 400),
            colours=6,
            driver="inky.inky_e640",
            eeprom_variants=(25,),
        ),
        Panel(
            name="inky_impression_spectra_7_3",
            title='Inky Impression 7.3" Spectra 6 (800x480)',
            size=(800, 480),
            colours=6,
            driver="inky.inky_e673",
            eeprom_variants=(22, 26),
        ),
        Panel(
            name="inky_impression_spectra_13_3",
            title='Inky Impression 13.3" Spectra 6 (1600x1200)',
            size=(1600, 1200),
            colours=6,
            driver="inky.inky_el133uf1",
            eeprom_variants=(21, 27),
            extra_pins=frozenset({16, 26}),
            button_pins=(("C", 25),),
            refresh_seconds=60,
        ),
    )
}

DEFAULT_FILE_PANEL: Final = "inky_impression_5_7"
"""Panel a file display imitates when the config names none."""


def panel_by_name(name: str) -> Panel:
    """Return the panel called name; KeyError names the choices."""
    try:
        return PANELS[name]
    except KeyError:
        raise KeyError(f"unknown panel model {name!r}; choose one of {', '.join(PANELS)}") from None


def panel_for_eeprom_variant(variant: int) -> Panel | None:
    """Return the panel whose EEPROM reports this display variant, or None."""
    for panel in PANELS.values():
        if variant in panel.eeprom_variants:
            return panel
    return None
