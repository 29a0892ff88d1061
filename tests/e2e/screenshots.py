"""Browser sessions logged in as the demo user, and the screenshots the docs show.

Screenshots land in build/test-results/e2e/. With DALLE_FRAME_UPDATE_DOCS_IMAGES=1 they are
also copied to docs/images/, the copies the user guide shows (commit them after a look):

    DALLE_FRAME_UPDATE_DOCS_IMAGES=1 .venvs/satellite/bin/python -m pytest tests/e2e \\
        -k "dashboard or options_dialog"
"""

from __future__ import annotations

import json
import os
import time

from tests.stack import ROOT

from .conftest import ARTIFACTS, Stack

DOCS_IMAGES = ROOT / "docs" / "images"
UPDATE_DOCS_IMAGES = "DALLE_FRAME_UPDATE_DOCS_IMAGES"


def login_script(stack: Stack) -> str:
    """JavaScript that puts the demo user's tokens where HA's frontend looks for them."""
    tokens = {
        "hassUrl": stack.ha.url,
        "clientId": f"{stack.ha.url}/",
        "access_token": stack.ha.tokens["access_token"],
        "refresh_token": stack.ha.tokens["refresh_token"],
        "token_type": "Bearer",
        "expires_in": stack.ha.tokens["expires_in"],
        "expires": int(time.time() * 1000) + 1000 * int(stack.ha.tokens["expires_in"]),
    }
    return f"localStorage.setItem('hassTokens', {json.dumps(json.dumps(tokens))});"


def keep_screenshot(name: str, png: bytes) -> None:
    """Write a screenshot to the test results, and to docs/images/ when asked to."""
    (ARTIFACTS / name).write_bytes(png)
    if os.environ.get(UPDATE_DOCS_IMAGES) == "1":
        DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
        (DOCS_IMAGES / name).write_bytes(png)
