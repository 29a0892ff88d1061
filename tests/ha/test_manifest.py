"""What hassfest and HACS check, re-implemented (neither runs offline here).

Sources: HA's script/hassfest/manifest.py (custom integration schema, key order, version),
script/hassfest/services.py (services.yaml vs translations), script/hassfest/translations.py
(the strings schema's optional `title`), homeassistant/components/brands (the brand images HA
2026.3+ serves from a custom integration's brand/ folder), hacs/integration's
utils/validate.py (hacs.json schema, manifest keys). See research/ha_conventions.md section 4.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest
import voluptuous as vol
import yaml
from awesomeversion import AwesomeVersion, AwesomeVersionStrategy
from homeassistant.const import __version__ as HA_VERSION
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv
from homeassistant.loader import async_get_integration

from custom_components.dalle_frame import render
from custom_components.dalle_frame.const import AUTO_SOURCES, DOMAIN

ROOT = Path(__file__).resolve().parents[2]
INTEGRATION = ROOT / "custom_components" / DOMAIN
# Quality-scale rules HA added between the oldest supported release (2025.12) and 2026.11.
RULES_ADDED_AFTER_THE_OLDEST_RELEASE = {"docs-conditions", "docs-triggers"}
CORE_QUALITY_SCALE = Path(cv.__file__).parents[1] / "components" / "nordpool" / "quality_scale.yaml"
ENTITY_KEYS = {
    "ai_task": {"art_generator"},
    "binary_sensor": {"satellite_connection"},
    "button": {"regenerate", "new_prompt"},
    "image": {"art", "frame"},
    "number": {"auto_interval", "steps", "guidance"},
    "select": {"auto_source"},
    "sensor": {"status", "generation_time", "next_auto_run"}
    | {"satellite_version", "satellite_panel", "last_refresh", "refresh_time"}
    | {"satellite_cpu_temperature", "satellite_uptime", "satellite_wi_fi_signal"}
    | {"satellite_free_disk"},
    "stt": {"speech_to_text"},
    "switch": {"auto_mode"},
    "text": {"prompt"},
}


def _load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _https_url(value: Any) -> str:
    url = cv.url(value)
    if not url.startswith("https://"):
        raise vol.Invalid("must be an https URL")
    return url


def _documentation_url(value: Any) -> str:
    url = _https_url(value)
    if url.startswith("https://www.home-assistant.io/integrations"):
        raise vol.Invalid("custom integrations document themselves elsewhere")
    return url


def _version(value: Any) -> str:
    version = AwesomeVersion(value)
    if version.strategy not in (
        AwesomeVersionStrategy.CALVER,
        AwesomeVersionStrategy.SEMVER,
        AwesomeVersionStrategy.SIMPLEVER,
        AwesomeVersionStrategy.BUILDVER,
        AwesomeVersionStrategy.PEP440,
    ):
        raise vol.Invalid(f"{value} is not a valid version")
    return str(value)


# hassfest's CUSTOM_INTEGRATION_MANIFEST_SCHEMA (no extra keys allowed), for what we may use.
MANIFEST_SCHEMA = vol.Schema(
    {
        vol.Required("domain"): str,
        vol.Required("name"): str,
        vol.Optional("after_dependencies"): [str],
        vol.Required("codeowners"): [vol.Match(r"^@[a-zA-Z0-9_.-]+(/[a-zA-Z0-9_.-]+)?$")],
        vol.Optional("config_flow"): bool,
        vol.Optional("dependencies"): [str],
        vol.Required("documentation"): _documentation_url,
        vol.Optional("integration_type"): vol.In(
            ["device", "entity", "hardware", "helper", "hub", "service", "system"]
        ),
        vol.Required("iot_class"): vol.In(
            [
                "assumed_state",
                "calculated",
                "cloud_polling",
                "cloud_push",
                "local_polling",
                "local_push",
            ]
        ),
        vol.Optional("issue_tracker"): _https_url,
        vol.Optional("loggers"): [str],
        vol.Optional("requirements"): [str],
        vol.Optional("single_config_entry"): bool,
        vol.Required("version"): _version,
    }
)

# hacs/integration utils/validate.py HACS_MANIFEST_JSON_SCHEMA (PREVENT_EXTRA).
HACS_JSON_SCHEMA = vol.Schema(
    {
        vol.Required("name"): str,
        vol.Optional("content_in_root"): bool,
        vol.Optional("country"): vol.Any([str], str),
        vol.Optional("filename"): str,
        vol.Optional("hacs"): str,
        vol.Optional("hide_default_branch"): bool,
        vol.Optional("homeassistant"): str,
        vol.Optional("persistent_directory"): str,
        vol.Optional("render_readme"): bool,
        vol.Optional("zip_release"): bool,
    },
    extra=vol.PREVENT_EXTRA,
)


def test_manifest_schema() -> None:
    """The manifest passes hassfest's custom-integration schema and HACS's key check."""
    manifest = _load_json(INTEGRATION / "manifest.json")
    MANIFEST_SCHEMA(manifest)
    assert manifest["domain"] == INTEGRATION.name == DOMAIN
    for key in ("codeowners", "documentation", "domain", "issue_tracker", "name", "version"):
        assert key in manifest, f"HACS needs {key}"
    assert manifest["requirements"] == []  # Pillow, numpy and aiohttp come with HA
    assert manifest["integration_type"] == "service"
    assert manifest["config_flow"] is True


def test_manifest_key_order() -> None:
    """hassfest sorts the manifest: domain, name, then alphabetical."""
    keys = list(_load_json(INTEGRATION / "manifest.json"))
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])


def _tested_releases() -> list[AwesomeVersion]:
    """The HA releases the test environments install (requirements/ha-*.txt), oldest first."""
    pins = [
        re.search(r"^homeassistant==(\S+)$", path.read_text(), re.MULTILINE)
        for path in (ROOT / "requirements").glob("ha-*.txt")
    ]
    return sorted(AwesomeVersion(pin.group(1)) for pin in pins if pin)


def test_hacs_json() -> None:
    """hacs.json passes HACS's schema; its minimum HA is the oldest release the tests run on."""
    hacs = _load_json(ROOT / "hacs.json")
    HACS_JSON_SCHEMA(hacs)
    tested = _tested_releases()
    assert len(tested) >= 2  # both ends of the supported range
    assert AwesomeVersion(hacs["homeassistant"]) == tested[0]
    assert tested[0] <= AwesomeVersion(HA_VERSION) <= tested[-1]
    assert "zip_release" not in hacs or "filename" in hacs
    assert [
        path.name
        for path in (ROOT / "custom_components").iterdir()
        if path.is_dir() and not path.name.startswith("__")
    ] == [DOMAIN]


def test_no_addon_config_names() -> None:
    """The Supervisor reads every config.yaml/json as an add-on: none in the integration."""
    assert not [
        path for path in INTEGRATION.rglob("config.*") if path.suffix in (".yaml", ".yml", ".json")
    ]


def test_services_yaml_matches_code_and_translations() -> None:
    """Every registered service is in services.yaml, with translated names and fields."""
    services = yaml.safe_load((INTEGRATION / "services.yaml").read_text())
    translations = _load_json(INTEGRATION / "translations" / "en.json")["services"]
    source = (INTEGRATION / "services.py").read_text()
    registered = set(re.findall(r"\(SERVICE_(\w+), ", source))
    assert {name.lower() for name in registered} == set(services) == set(translations)
    icons = _load_json(INTEGRATION / "icons.json")["services"]
    assert set(icons) == set(services)
    for service, spec in services.items():
        assert translations[service]["name"]
        assert translations[service]["description"]
        fields = set((spec or {}).get("fields", {}))
        assert fields == set(translations[service].get("fields", {})), service
        for field in fields:
            assert translations[service]["fields"][field]["name"]
            assert translations[service]["fields"][field]["description"]
            assert "selector" in spec["fields"][field]


def test_entity_translations_and_icons() -> None:
    """Every entity key of docs/ARCHITECTURE.md has a name and an icon; enum states too."""
    translations = _load_json(INTEGRATION / "translations" / "en.json")["entity"]
    icons = _load_json(INTEGRATION / "icons.json")["entity"]
    assert {platform: set(keys) for platform, keys in translations.items()} == ENTITY_KEYS
    assert {platform: set(keys) for platform, keys in icons.items()} == ENTITY_KEYS
    for platform, keys in translations.items():
        for key, entry in keys.items():
            assert entry["name"], (platform, key)
    assert set(translations["select"]["auto_source"]["state"]) == set(AUTO_SOURCES)
    assert set(translations["sensor"]["status"]["state"]) == {"idle", "generating", "error"}
    architecture = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    for keys in ENTITY_KEYS.values():
        for key in keys:
            assert f"`{key}`" in architecture, key


def test_selector_translations_match_render_choices() -> None:
    """The options form's choices are exactly what the renderer (render/) accepts."""
    selector = _load_json(INTEGRATION / "translations" / "en.json")["selector"]
    assert set(selector["orientation"]["options"]) == set(render.ORIENTATIONS)
    assert set(selector["fit"]["options"]) == set(render.FITS)
    assert set(selector["dither"]["options"]) == set(render.DITHERS)
    assert set(selector["background"]["options"]) == set(render.BACKGROUNDS)


def _string_constants(pattern: str) -> set[str]:
    """Strings matched by `pattern` (one group) in the integration's own Python files."""
    found: set[str] = set()
    for path in INTEGRATION.glob("*.py"):
        found |= set(re.findall(pattern, path.read_text()))
    return found


def test_exception_and_issue_translations() -> None:
    """Every translation key raised or reported in the code has a message, and vice versa."""
    strings = _load_json(INTEGRATION / "translations" / "en.json")
    raised = _string_constants(r'translation_key_name(?:: str)? = "(\w+)"')
    raised |= _string_constants(r'_invalid\(\s*"(\w+)"')
    assert raised == set(strings["exceptions"])
    for key, entry in strings["exceptions"].items():
        assert entry["message"].strip(), key
    issues_source = (INTEGRATION / "issues.py").read_text()
    reported = set(re.findall(r'^ISSUE_\w+ = "(\w+)"', issues_source, re.MULTILINE))
    assert reported == set(strings["issues"])


def test_config_flow_errors_are_translated() -> None:
    """Every error and abort reason the config flow can show has a text."""
    strings = _load_json(INTEGRATION / "translations" / "en.json")
    source = (INTEGRATION / "config_flow.py").read_text()
    errors = set(re.findall(r'": "(\w+)"\}', source)) | set(
        re.findall(r'errors\[\w+\] = "(\w+)"', source)
    )
    assert errors <= set(strings["config"]["error"]) | set(strings["options"]["error"])
    aborts = set(re.findall(r'reason="(\w+)"', source))
    assert aborts <= set(strings["config"]["abort"])
    # Discovery confirmation aborts with the validation error's key.
    assert {"cannot_connect", "invalid_auth", "not_a_frame_server", "unknown"} <= set(
        strings["config"]["abort"]
    )


def test_placeholders_match() -> None:
    """Placeholders in exception messages are the ones the code passes."""
    strings = _load_json(INTEGRATION / "translations" / "en.json")["exceptions"]
    tree = ast.parse((INTEGRATION / "errors.py").read_text())
    checked = 0
    for node in tree.body:
        if not isinstance(node, ast.ClassDef) or not isinstance(node.body[-1], ast.Assign):
            continue
        key = node.body[-1].value.value  # translation_key_name = "..."
        documented = re.findall(r"placeholders?: ([\w, ]+)\)", ast.get_docstring(node) or "")
        names = {name.strip() for group in documented for name in group.split(",")}
        assert set(re.findall(r"\{(\w+)\}", strings[key]["message"])) == names, key
        checked += 1
    assert checked >= 10


def _strings(node: Any, path: str = "") -> list[tuple[str, str]]:
    """Every (key path, text) of a translations file."""
    if isinstance(node, dict):
        return [pair for key, value in node.items() for pair in _strings(value, f"{path}.{key}")]
    return [(path, node)]


@pytest.mark.parametrize("language_file", sorted((INTEGRATION / "translations").glob("*.json")))
def test_translation_texts_pass_hassfest(language_file: Path) -> None:
    """hassfest's text rules: no HTML, no placeholder in single quotes, no `config.title`
    (the title is top-level), no surrounding spaces, references only to common strings."""
    strings = _load_json(language_file)
    assert "title" not in strings.get("config", {})
    for path, text in _strings(strings):
        assert isinstance(text, str) and text, path
        assert not re.search(r"<[a-zA-Z/][^>]*>", text), f"{path}: HTML"
        assert not re.search(r"'\{\w+\}'", text), f"{path}: placeholder in single quotes"
        assert text == text.strip(), f"{path}: spaces around"
        for reference in re.findall(r"\[%key:([^%]+)%\]", text):
            assert reference.startswith("common::"), f"{path}: {reference}"


# homeassistant/components/brands/const.py ALLOWED_IMAGES (HA 2026.3+), for older releases.
BRAND_IMAGES = {
    f"{dark}{kind}{scale}.png"
    for dark in ("", "dark_")
    for kind in ("icon", "logo")
    for scale in ("", "@2x")
}


def test_translation_title_is_the_display_name() -> None:
    """The translations' title names the integration as the manifest does (not DALL-E)."""
    manifest = _load_json(INTEGRATION / "manifest.json")
    for language_file in (INTEGRATION / "translations").glob("*.json"):
        title = _load_json(language_file).get("title")
        assert title in (None, manifest["name"]), language_file.name
    assert manifest["name"] == _load_json(ROOT / "hacs.json")["name"] == "AI Art Frame"
    assert "DALL-E" not in manifest["name"]


async def test_brand_images_are_ones_ha_serves(
    hass: HomeAssistant, enable_custom_integrations: None
) -> None:
    """Every file in brand/ is an image HA's brands integration serves; the loader sees it."""
    try:
        from homeassistant.components.brands.const import ALLOWED_IMAGES
    except ImportError:  # before 2026.3: no local brand images (HA shows a placeholder)
        allowed = BRAND_IMAGES
    else:
        allowed = set(ALLOWED_IMAGES)
        assert allowed == BRAND_IMAGES
    names = {path.name for path in (INTEGRATION / "brand").iterdir()}
    assert {"icon.png", "icon@2x.png", "logo.png", "logo@2x.png"} <= names <= allowed
    integration = await async_get_integration(hass, DOMAIN)
    assert getattr(integration, "has_branding", True)


@pytest.mark.parametrize("language_file", sorted((INTEGRATION / "translations").glob("*.json")))
def test_translation_files_are_json(language_file: Path) -> None:
    """Translation files parse (a syntax error would silently drop every text)."""
    assert isinstance(_load_json(language_file), dict)


def test_quality_scale() -> None:
    """quality_scale.yaml lists every rule core integrations list, each with a valid status.

    It follows the newest supported release's rule list: on an older HA only the rules added
    since may be extra.
    """
    ours = yaml.safe_load((INTEGRATION / "quality_scale.yaml").read_text())["rules"]
    core = yaml.safe_load(CORE_QUALITY_SCALE.read_text())["rules"]
    assert set(core) <= set(ours)
    assert set(ours) - set(core) <= RULES_ADDED_AFTER_THE_OLDEST_RELEASE
    for rule, value in ours.items():
        status = value if isinstance(value, str) else value["status"]
        assert status in ("done", "todo", "exempt"), rule
        if status == "exempt":
            assert value["comment"], rule
