"""One version story: each part's version is the top entry of its own CHANGELOG.

The integration's version is `manifest.json`'s (HACS and the release tag `v<version>`), the
add-on's `config.yaml`'s (the add-on store), the satellite's `pyproject.toml`'s (and its
package's `__version__`).
"""

from __future__ import annotations

import importlib.util
import json
import re
import tomllib
from pathlib import Path
from types import ModuleType

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _release_notes() -> ModuleType:
    """The release workflow's CHANGELOG reader (.github/scripts/release_notes.py)."""
    path = ROOT / ".github" / "scripts" / "release_notes.py"
    spec = importlib.util.spec_from_file_location("release_notes", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


NOTES = _release_notes()


def integration_version() -> str:
    manifest = json.loads((ROOT / "custom_components/dalle_frame/manifest.json").read_text())
    return str(manifest["version"])


def addon_version() -> str:
    return str(yaml.safe_load((ROOT / "addon_inference/config.yaml").read_text())["version"])


def satellite_version() -> str:
    project = tomllib.loads((ROOT / "pi_satellite/pyproject.toml").read_text())
    version = str(project["project"]["version"])
    init = (ROOT / "pi_satellite/dalle_frame_satellite/__init__.py").read_text()
    assert re.search(rf'^__version__ = "{re.escape(version)}"$', init, re.MULTILINE), (
        "the package's __version__ differs from pyproject.toml's"
    )
    return version


PARTS = {
    "integration": (integration_version, "custom_components/dalle_frame/CHANGELOG.md"),
    "add-on": (addon_version, "addon_inference/CHANGELOG.md"),
    "satellite": (satellite_version, "pi_satellite/CHANGELOG.md"),
}


@pytest.mark.parametrize("part", PARTS)
def test_version_is_the_changelogs_top_entry(part: str) -> None:
    """The part's version heads its CHANGELOG, which lists each version once, newest first."""
    read_version, changelog = PARTS[part]
    path = ROOT / changelog
    assert path.exists(), f"{changelog} is missing"
    versions = NOTES.versions(path.read_text(encoding="utf-8"))
    assert versions, f"{changelog} has no '## <version>' heading"
    assert versions[0] == read_version(), f"{changelog} starts at {versions[0]}"
    assert len(set(versions)) == len(versions), f"{changelog} repeats a version"
    assert NOTES.section(path.read_text(encoding="utf-8"), versions[0]).strip()


def test_release_notes_are_the_top_section() -> None:
    """What the release workflow publishes for the manifest's version: that section only."""
    text = (ROOT / PARTS["integration"][1]).read_text(encoding="utf-8")
    versions = NOTES.versions(text)
    notes = NOTES.section(text, integration_version())
    assert notes.strip()
    assert "## " not in notes.replace("### ", "")
    assert NOTES.main(["0.0.0-never"]) == 1
    if len(versions) > 1:
        assert NOTES.section(text, versions[1]) not in notes


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("## [1.2.0] - 2026-12-07\n\n- a\n\n## 1.1.0\n- b\n", ["1.2.0", "1.1.0"]),
        ("# Changelog\n\n## v2.0.0b1\n- c\n### Added\n", ["2.0.0b1"]),
        ("## Unreleased\n- d\n", []),
    ],
)
def test_changelog_headings(text: str, expected: list[str]) -> None:
    """Both heading styles in the repository are read: Keep a Changelog's and the add-on's."""
    assert NOTES.versions(text) == expected


def test_integration_display_name() -> None:
    """Not OpenAI's trademark: HACS, the manifest and the translations say AI Art Frame."""
    manifest = json.loads((ROOT / "custom_components/dalle_frame/manifest.json").read_text())
    hacs = json.loads((ROOT / "hacs.json").read_text())
    translations = (ROOT / "custom_components/dalle_frame/translations/en.json").read_text()
    assert manifest["domain"] == "dalle_frame"
    assert manifest["name"] == hacs["name"] == "AI Art Frame"
    assert json.loads(translations)["title"] == "AI Art Frame"
    assert "DALL-E" not in translations
    assert "DALL-E" not in (ROOT / "custom_components/dalle_frame/services.yaml").read_text()
