"""The prompt list: the file format, the shipped list, and a user's file with its repair issue."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.dalle_frame.const import CONF_PROMPT_FILE, DOMAIN
from custom_components.dalle_frame.prompts import (
    BUILTIN_PROMPTS_PATH,
    PromptFileError,
    PromptList,
    load_builtin_prompts,
    load_prompt_file,
    parse_prompt_list,
    resolve_prompt_file,
)

from .fake_server import FakeGpuServer

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_lists_are_identical() -> None:
    """prompts.txt at the repository root and inside the integration are the same file."""
    assert (ROOT / "prompts.txt").read_bytes() == BUILTIN_PROMPTS_PATH.read_bytes()


def test_builtin_list_is_richer_than_the_original() -> None:
    """The original frame had 18 subjects x 9 styles = 162 prompts; this list has far more."""
    prompts = load_builtin_prompts()
    assert prompts.source == "built-in"
    assert len(prompts.subjects) >= 60
    assert len(set(prompts.styles)) >= 12
    assert prompts.combinations > 5 * 162
    assert "" in prompts.styles  # the subject on its own, as in the original
    assert all(len(prompts.compose(s, t)) <= 255 for s in prompts.styles for t in prompts.subjects)


def test_parse() -> None:
    """Styles, subjects, comments, blank lines and duplicates."""
    prompts = parse_prompt_list(
        "# comment\n\nstyle:\nstyle:   a  watercolor of \nStyle: a comic of\n"
        "  a red   car \na red car\n\ufeffplanet earth\n",
        "test",
    )
    assert prompts.styles == ("", "a watercolor of", "a comic of")
    assert prompts.subjects == ("a red car", "\ufeffplanet earth")
    assert prompts.combinations == 6
    assert prompts.compose("a comic of", "a red car") == "a comic of a red car"
    assert prompts.compose("", "a red car") == "a red car"


def test_subjects_without_styles() -> None:
    """A file without style lines uses the subjects as they are."""
    prompts = parse_prompt_list("a red car\n", "test")
    assert prompts.styles == ("",)
    assert prompts.random_prompt(random.Random(1)) == "a red car"
    assert prompts.random_prompt(random.Random(1), avoid="a red car") == "a red car"


def test_random_prompt_avoids_the_current_one() -> None:
    """A new prompt differs from the current one whenever the list allows."""
    prompts = parse_prompt_list("style: a painting of\na\nb\n", "test")
    rng = random.Random(0)
    for _ in range(50):
        assert prompts.random_prompt(rng, avoid="a painting of a") == "a painting of b"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "no subjects"),
        ("# only\nstyle: a comic of\n", "no subjects"),
        ("ok\n" + "x" * 201 + "\n", "line 2: the subject is longer than 200"),
        ("style: " + "y" * 51 + "\nok\n", "line 1: the style is longer than 50"),
        ("a red\x07car\n", "line 1: the subject contains control characters"),
    ],
)
def test_parse_errors(text: str, reason: str) -> None:
    """A bad file names the line and the problem."""
    with pytest.raises(PromptFileError, match=reason):
        parse_prompt_list(text, "test")


def test_file_errors(tmp_path: Path) -> None:
    """Files that cannot be read say why."""
    with pytest.raises(PromptFileError, match="does not exist"):
        load_prompt_file(tmp_path / "missing.txt", "missing.txt")
    with pytest.raises(PromptFileError, match="folder, not a file"):
        load_prompt_file(tmp_path, "folder")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9\n".encode("latin-1"))
    with pytest.raises(PromptFileError, match="not UTF-8"):
        load_prompt_file(tmp_path / "latin1.txt", "latin1.txt")
    (tmp_path / "big.txt").write_bytes(b"a\n" * 600_000)
    with pytest.raises(PromptFileError, match="larger than 1 MiB"):
        load_prompt_file(tmp_path / "big.txt", "big.txt")
    (tmp_path / "loop_a").symlink_to(tmp_path / "loop_b")
    (tmp_path / "loop_b").symlink_to(tmp_path / "loop_a")
    with pytest.raises(PromptFileError, match="cannot be read"):
        load_prompt_file(tmp_path / "loop_a", "loop_a")


def test_prompt_file_must_stay_in_config(tmp_path: Path) -> None:
    """A prompt file outside the config folder is refused."""
    config = tmp_path / "config"
    config.mkdir()
    assert resolve_prompt_file(str(config), "prompts/mine.txt") == config / "prompts/mine.txt"
    for outside in ("../secret.txt", "/etc/passwd"):
        with pytest.raises(PromptFileError, match="inside the Home Assistant config folder"):
            resolve_prompt_file(str(config), outside)


async def test_user_prompt_file(
    hass: HomeAssistant,
    server: FakeGpuServer,
    loaded_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A broken user file raises a repair issue and the built-in list is used; fixing clears it."""
    issue_id = f"prompt_file_invalid_{loaded_entry.entry_id}"
    hass.config_entries.async_update_entry(loaded_entry, options={CONF_PROMPT_FILE: "mine.txt"})
    await hass.async_block_till_done()
    controller = loaded_entry.runtime_data.controller
    assert controller.prompts.source == "built-in"
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_placeholders == {
        "title": "Frame",
        "path": "mine.txt",
        "reason": "the file does not exist",
    }
    assert "Prompt file mine.txt of Frame is not used" in caplog.text
    response = await hass.services.async_call(
        DOMAIN, "new_prompt", {}, blocking=True, return_response=True
    )
    assert response["prompt"]

    path = Path(hass.config.path("mine.txt"))
    await hass.async_add_executor_job(path.write_text, "style: a mosaic of\na quiet harbour\n")
    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    controller = loaded_entry.runtime_data.controller
    assert controller.prompts.source == "mine.txt"
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
    response = await hass.services.async_call(
        DOMAIN, "new_prompt", {}, blocking=True, return_response=True
    )
    assert response["prompt"] == "a mosaic of a quiet harbour"

    hass.config_entries.async_update_entry(loaded_entry, options={CONF_PROMPT_FILE: ""})
    await hass.async_block_till_done()
    assert loaded_entry.runtime_data.controller.prompts.source == "built-in"


def test_prompt_list_is_frozen() -> None:
    """A prompt list is a value."""
    prompts = PromptList(subjects=("a",), styles=("",), source="x")
    with pytest.raises(AttributeError):
        prompts.source = "y"  # type: ignore[misc]
