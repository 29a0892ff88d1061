"""The user guide: every docs rule of HA's quality scale has its section, and it is true to
the integration (options, entities, actions, supported HA range); links and images resolve."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "USER_GUIDE.md"
INTEGRATION = ROOT / "custom_components" / "dalle_frame"
REPOSITORY = "https://github.com/dalle-frame/dalle_frame"
# Quality-scale docs rule -> the guide's sections that cover it.
RULE_SECTIONS = {
    "docs-high-level-description": ["AI Art Frame: user guide"],
    "docs-installation-instructions": [
        "Requirements",
        "Choose where pictures are painted",
        "Installation",
    ],
    "docs-installation-parameters": ["Setup parameters"],
    "docs-configuration-parameters": ["Options"],
    "docs-removal-instructions": ["Removal"],
    "docs-actions": ["Actions"],
    "docs-data-update": ["How data is updated"],
    "docs-examples": ["Examples"],
    "docs-use-cases": ["Examples"],
    "docs-supported-devices": ["Supported devices"],
    "docs-supported-functions": ["Entities", "Actions", "Voice"],
    "docs-troubleshooting": ["Troubleshooting"],
    "docs-known-limitations": ["Known limitations"],
}
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _headings(text: str) -> list[str]:
    return [line.lstrip("#").strip() for line in text.splitlines() if line.startswith("#")]


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def test_every_docs_rule_has_its_section() -> None:
    """Each docs rule's sections exist, and quality_scale.yaml marks the rule done."""
    headings = _headings(GUIDE.read_text())
    rules = yaml.safe_load((INTEGRATION / "quality_scale.yaml").read_text())["rules"]
    docs_rules = {rule for rule in rules if rule.startswith("docs-")}
    assert docs_rules - {"docs-conditions", "docs-triggers"} == set(RULE_SECTIONS)
    for rule, sections in RULE_SECTIONS.items():
        for section in sections:
            assert section in headings, f"{rule}: no section {section!r}"
        assert rules[rule]["status"] == "done", rule
    for rule in ("docs-conditions", "docs-triggers"):
        assert rules[rule]["status"] == "exempt"
    assert "no automation triggers or conditions" in GUIDE.read_text()


def test_manifest_documentation_is_the_guide() -> None:
    """The manifest's documentation URL is this guide on the repository, issues its issues."""
    manifest = json.loads((INTEGRATION / "manifest.json").read_text())
    assert manifest["documentation"] == f"{REPOSITORY}/blob/main/docs/USER_GUIDE.md"
    assert manifest["issue_tracker"] == f"{REPOSITORY}/issues"
    assert manifest["codeowners"] == ["@dalle-frame"]
    assert (
        REPOSITORY in (ROOT / "README.md").read_text()
        or "docs/USER_GUIDE.md" in (ROOT / "README.md").read_text()
    )


@pytest.mark.parametrize("document", ["README.md", "docs/USER_GUIDE.md"])
def test_relative_links_resolve(document: str) -> None:
    """Links to files exist; links to a section name one of the target's headings."""
    path = ROOT / document
    for target in LINK.findall(path.read_text()):
        if re.match(r"[a-z]+:", target):
            continue
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        assert linked.exists(), f"{document}: {target}"
        if anchor and linked.suffix == ".md":
            anchors = {_anchor(heading) for heading in _headings(linked.read_text())}
            assert anchor in anchors, f"{document}: {target}"


def test_screenshots_are_committed() -> None:
    """The guide's screenshots (taken by the e2e suite) are PNGs in docs/images/."""
    images = re.findall(r"!\[[^\]]*\]\((images/[^)]+)\)", GUIDE.read_text())
    assert set(images) == {"images/dashboard.png", "images/options_dialog.png"}
    for image in images:
        with Image.open(GUIDE.parent / image) as picture:
            assert picture.format == "PNG"
            assert picture.width >= 800


def test_supported_range_matches_hacs_and_the_tested_releases() -> None:
    """The HA range the guide and the README state is hacs.json's minimum to the newest tested."""
    minimum = json.loads((ROOT / "hacs.json").read_text())["homeassistant"]
    pins = sorted(
        re.search(r"^homeassistant==(\d+\.\d+)", path.read_text(), re.MULTILINE).group(1)
        for path in (ROOT / "requirements").glob("ha-2*.txt")
        if re.search(r"^homeassistant==", path.read_text(), re.MULTILINE)
    )
    stated = f"Home Assistant {pins[0]} to {pins[-1]}"
    assert minimum.startswith(pins[0] + ".")
    assert stated in GUIDE.read_text()
    assert stated in (ROOT / "README.md").read_text()


def test_options_entities_and_actions_are_all_documented() -> None:
    """Every option label, entity and action of the integration appears in the guide."""
    guide = GUIDE.read_text()
    strings = json.loads((INTEGRATION / "translations" / "en.json").read_text())
    for label in strings["options"]["step"]["init"]["data"].values():
        assert f"**{label}**" in guide, label
    for label in strings["config"]["step"]["user"]["data"].values():
        assert f"**{label}**" in guide, label
    for platform, keys in strings["entity"].items():
        for key in keys:
            assert f"`{platform}.frame_{key}`" in guide, (platform, key)
    for service in yaml.safe_load((INTEGRATION / "services.yaml").read_text()):
        assert f"`dalle_frame.{service}`" in guide, service
