"""The pre-commit hooks: the same lint and type checks as the test command, nothing to fetch."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _hooks() -> list[dict[str, Any]]:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text(encoding="utf8"))
    assert [repo["repo"] for repo in config["repos"]] == ["local"]
    return list(config["repos"][0]["hooks"])


def test_pre_commit_accepts_the_config() -> None:
    """pre-commit's own validation (no hook is run: that would stash the working tree)."""
    result = subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-config", ".pre-commit-config.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hooks_use_the_project_environments_only() -> None:
    """Every hook runs a program of the system or the project's own environments."""
    for hook in _hooks():
        assert hook["language"] == "system", hook["id"]
        program = shlex.split(hook["entry"])[0]
        if "/" in program:
            assert program.startswith((".venvs/", "scripts/")), hook["id"]
            if program.startswith("scripts/"):
                assert (ROOT / program).is_file(), program
        else:
            assert shutil.which(program) is not None, program


def test_hooks_are_the_test_commands_lint_and_type_steps() -> None:
    """Each hook's command stands in scripts/test.sh too, so the two cannot drift apart."""
    test_script = (ROOT / "scripts" / "test.sh").read_text(encoding="utf8")
    ids = {hook["id"] for hook in _hooks()}
    assert {"ruff", "ruff-format", "shellcheck", "mypy-server", "mypy-satellite"} <= ids
    assert "mypy-integration" in ids
    for hook in _hooks():
        arguments = [word for word in shlex.split(hook["entry"]) if word != "--fix"]
        tool = Path(arguments[0]).name if arguments[0] != "scripts/ha_root.sh" else "mypy"
        assert tool in test_script, hook["id"]
        for word in arguments[1:]:
            if word.startswith("--config-file") or word.endswith((".ini", ".toml")):
                assert word in test_script, (hook["id"], word)
                if not word.startswith("-"):
                    assert (ROOT / word).is_file(), word
