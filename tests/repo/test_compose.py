"""The GPU server's docker compose file is valid against the Compose specification."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["docker-compose.yml", "docker-compose.triton.yml"])
def test_compose_file_follows_the_compose_spec(name: str) -> None:
    """check-jsonschema's vendored compose-spec schema (offline) accepts the compose files."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            str(ROOT / "addon_inference" / name),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
