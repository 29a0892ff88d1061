"""Repair issues a user must act on: a broken prompt file, a history folder we cannot write."""

from __future__ import annotations

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .const import DOMAIN

ISSUE_PROMPT_FILE = "prompt_file_invalid"
ISSUE_HISTORY_UNWRITABLE = "history_unwritable"


def issue_id(kind: str, entry_id: str) -> str:
    """Return the id of one entry's issue of a kind."""
    return f"{kind}_{entry_id}"


@callback
def async_report_prompt_file(
    hass: HomeAssistant, entry_id: str, title: str, path: str, reason: str
) -> None:
    """Tell the user their prompt file is not used, and why."""
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id(ISSUE_PROMPT_FILE, entry_id),
        is_fixable=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key=ISSUE_PROMPT_FILE,
        translation_placeholders={"title": title, "path": path, "reason": reason},
    )


@callback
def async_report_history_unwritable(
    hass: HomeAssistant, entry_id: str, title: str, folder: str, reason: str
) -> None:
    """Tell the user new pictures cannot be kept in the history, and why."""
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id(ISSUE_HISTORY_UNWRITABLE, entry_id),
        is_fixable=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key=ISSUE_HISTORY_UNWRITABLE,
        translation_placeholders={"title": title, "folder": folder, "reason": reason},
    )


@callback
def async_clear(hass: HomeAssistant, kind: str, entry_id: str) -> None:
    """Remove one entry's issue of a kind (the problem went away)."""
    ir.async_delete_issue(hass, DOMAIN, issue_id(kind, entry_id))
