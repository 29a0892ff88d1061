"""Secrets across the whole run: no token in any part's log or in HA's diagnostics."""

from __future__ import annotations

import json

import pytest

from .conftest import Stack

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_no_token_in_any_log_or_diagnostics(stack: Stack) -> None:
    """The server token, the satellite's HA token and the owner's tokens appear nowhere."""
    secrets = {
        "GPU server token": stack.server.token,
        "satellite's long-lived HA token": stack.satellite.token,
        "owner's access token": str(stack.ha.tokens["access_token"]),
        "owner's refresh token": str(stack.ha.tokens["refresh_token"]),
    }
    logs = [
        *stack.work.rglob("*.log"),
        stack.ha.config_dir / "home-assistant.log",
        stack.ha.config_dir / "home-assistant.out",
    ]
    entries = await stack.ha.rest(stack.session, "GET", "/api/config/config_entries/entry")
    entry_id = next(e["entry_id"] for e in entries if e["domain"] == "dalle_frame")
    diagnostics = await stack.ha.rest(
        stack.session, "GET", f"/api/diagnostics/config_entry/{entry_id}"
    )
    texts = {str(path): path.read_text(errors="replace") for path in logs if path.exists()}
    texts["diagnostics"] = json.dumps(diagnostics)
    assert len(texts) >= 4, f"expected the logs of all three parts, found {sorted(texts)}"
    for name, secret in secrets.items():
        for where, text in texts.items():
            assert secret not in text, f"the {name} appears in {where}"
