"""Prints one version's section of a CHANGELOG (the release notes); exit 1 if it has none.

    python3 .github/scripts/release_notes.py VERSION [CHANGELOG]

The default CHANGELOG is the integration's. A section starts at a `## ` heading naming the
version (`## [0.3.0] - 2026-12-07`, `## 0.3.0`, `## v0.3.0`) and ends before the next `## `.
Standard library only: the release workflow runs it on a bare runner.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INTEGRATION_CHANGELOG = ROOT / "custom_components" / "dalle_frame" / "CHANGELOG.md"
HEADING = re.compile(r"^## \[?v?(?P<version>[0-9][^\]\s]*)\]?(?:\s.*)?$")


def versions(text: str) -> list[str]:
    """Return the versions of a CHANGELOG's `## ` headings, top first."""
    found = []
    for line in text.splitlines():
        match = HEADING.match(line)
        if match:
            found.append(match.group("version"))
    return found


def section(text: str, version: str) -> str | None:
    """Return the body of `version`'s section (without its heading), or None."""
    lines = text.splitlines()
    body: list[str] | None = None
    for line in lines:
        if line.startswith("## "):
            if body is not None:
                break
            match = HEADING.match(line)
            if match and match.group("version") == version:
                body = []
            continue
        if body is not None:
            body.append(line)
    return None if body is None else "\n".join(body).strip() + "\n"


def main(argv: list[str]) -> int:
    """Print the section; 1 when the version has none, 2 for wrong arguments."""
    if len(argv) not in (1, 2):
        print(__doc__, file=sys.stderr)
        return 2
    path = Path(argv[1]) if len(argv) == 2 else INTEGRATION_CHANGELOG
    notes = section(path.read_text(encoding="utf-8"), argv[0])
    if not notes or not notes.strip():
        print(f"{path} has no section for {argv[0]}", file=sys.stderr)
        return 1
    sys.stdout.write(notes)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
