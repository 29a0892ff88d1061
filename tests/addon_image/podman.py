"""What the image tests share: podman with the project's settings, builds, HTTP calls."""

from __future__ import annotations

import subprocess
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "addon_image.sh"


def podman(*args: str, check: bool = True, timeout: float = 120) -> str:
    """Run podman with the project's settings; return its standard output."""
    result = subprocess.run(
        [str(SCRIPT), "podman", *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and result.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)} failed: {result.stderr[-3000:]}")
    return result.stdout


def build_image(build: str, tag: str) -> str:
    """Build an image with `scripts/addon_image.sh <build>` (layers cached outside the
    checkout); return the tag `scripts/addon_image.sh <tag>` prints."""
    subprocess.run([str(SCRIPT), build], check=True, timeout=40 * 60)
    return subprocess.run(
        [str(SCRIPT), tag], capture_output=True, text=True, check=True
    ).stdout.strip()


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    """POST: (status, headers, body), errors included."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=180) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()
