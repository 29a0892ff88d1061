"""HA's panel table and fit modes against the panel contract both parts share (docs/panels.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from custom_components.dalle_frame.render import FITS, PANELS

CONTRACT: dict[str, Any] = json.loads(
    (Path(__file__).parents[2] / "docs" / "panels.json").read_text(encoding="utf-8")
)


def test_the_renderer_draws_every_panel_of_the_contract() -> None:
    """HA renders exactly the panels the contract lists, the satellite's included."""
    assert list(PANELS) == [panel["key"] for panel in CONTRACT["panels"]]


@pytest.mark.parametrize("contract", CONTRACT["panels"], ids=lambda panel: panel["key"])
def test_panel_matches_the_contract(contract: dict[str, Any]) -> None:
    """Size, colours in the driver's order and native indices are the contract's."""
    panel = PANELS[contract["key"]]
    assert [panel.width, panel.height] == contract["size"]
    assert [colour.name for colour in panel.colours] == contract["colours"]
    assert list(panel.indices) == contract["native_indices"]


def test_fit_modes_match_the_contract() -> None:
    """The fit option offers the contract's fit modes, in its order."""
    assert list(FITS) == CONTRACT["fits"]
