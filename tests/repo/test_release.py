"""The release workflow's shell steps, run here on a copy of the repository's files.

GitHub runs each `run:` with `bash -e`; so does this test, in a temporary git repository
holding the integration and .github/scripts, with $GITHUB_OUTPUT as a file. What cannot run
here is the last step (`gh release create`, which needs GitHub).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
INTEGRATION = ROOT / "custom_components" / "dalle_frame"
RELEASE_STEPS: list[dict[str, Any]] = yaml.safe_load(
    (ROOT / ".github" / "workflows" / "release.yml").read_text()
)["jobs"]["release"]["steps"]

pytestmark = pytest.mark.skipif(
    shutil.which("zip") is None or shutil.which("git") is None, reason="needs zip and git"
)


def _step(name: str) -> str:
    return next(str(step["run"]) for step in RELEASE_STEPS if step.get("name") == name)


def _run(script: str, cwd: Path, env: dict[str, str]) -> dict[str, str]:
    """Run a step's script as GitHub does; return what it wrote to $GITHUB_OUTPUT."""
    output = cwd / "github_output"
    output.write_text("")
    subprocess.run(
        ["bash", "-e", "-c", script],
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "GITHUB_OUTPUT": str(output), **env},
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(line.split("=", 1) for line in output.read_text().splitlines())


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A git repository with the integration and the release scripts, as the runner has."""
    shutil.copytree(
        INTEGRATION,
        tmp_path / "custom_components" / "dalle_frame",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    (tmp_path / "custom_components" / "dalle_frame" / "__pycache__").mkdir()
    (tmp_path / "custom_components" / "dalle_frame" / "__pycache__" / "x.pyc").write_bytes(b"")
    shutil.copytree(ROOT / ".github" / "scripts", tmp_path / ".github" / "scripts")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(tmp_path)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "release"], check=True)
    return tmp_path


def test_a_new_version_is_released_once(checkout: Path) -> None:
    """Untagged version: new; once tagged v<version>: not new again."""
    version = json.loads((INTEGRATION / "manifest.json").read_text())["version"]
    read_version = _step("Read the version")
    assert _run(read_version, checkout, {}) == {"version": version, "new": "true"}
    subprocess.run(["git", "-C", str(checkout), "tag", f"v{version}"], check=True)
    assert _run(read_version, checkout, {}) == {"version": version, "new": "false"}


def test_notes_and_zip(checkout: Path) -> None:
    """The notes are the version's CHANGELOG section; the zip holds the integration's files
    at its root (HACS unpacks it into custom_components/dalle_frame), without bytecode."""
    version = json.loads((INTEGRATION / "manifest.json").read_text())["version"]
    _run(_step("Release notes and zip"), checkout, {"VERSION": version})
    notes = (checkout / "build" / "release" / "notes.md").read_text()
    changelog = (INTEGRATION / "CHANGELOG.md").read_text()
    assert notes.strip() and notes.strip() in changelog
    assert f"## [{version}]" not in notes
    hacs = json.loads((ROOT / "hacs.json").read_text())
    with zipfile.ZipFile(checkout / "build" / "release" / hacs["filename"]) as archive:
        names = set(archive.namelist())
    assert {"manifest.json", "__init__.py", "brand/icon.png", "translations/en.json"} <= names
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]
    expected = {
        path.relative_to(INTEGRATION).as_posix()
        for path in INTEGRATION.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert {name for name in names if not name.endswith("/")} == expected
