"""The satellite's panel table and fit modes against the panel contract (docs/panels.json)."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pytest

from dalle_frame_satellite.panels import PANELS
from dalle_frame_satellite.settings import FitMode

CONTRACT: dict[str, Any] = json.loads(
    (Path(__file__).parents[2] / "docs" / "panels.json").read_text(encoding="utf-8")
)


def test_the_satellite_drives_every_panel_of_the_contract() -> None:
    """The satellite knows exactly the panels the contract lists (and HA renders)."""
    assert list(PANELS) == [panel["key"] for panel in CONTRACT["panels"]]


@pytest.mark.parametrize("contract", CONTRACT["panels"], ids=lambda panel: panel["key"])
def test_panel_matches_the_contract(contract: dict[str, Any]) -> None:
    """Size and colour count are the contract's; the inky driver takes its native indices."""
    panel = PANELS[contract["key"]]
    assert list(panel.size) == contract["size"]
    assert panel.colours == len(contract["colours"])
    driver = importlib.import_module(panel.driver)
    native = [getattr(driver, name.upper()) for name in contract["colours"]]
    assert native == contract["native_indices"]


def test_fit_modes_match_the_contract() -> None:
    """The satellite's fit modes are the contract's, in its order."""
    assert [str(mode) for mode in FitMode] == CONTRACT["fits"]
