"""The GitHub workflows: valid (schema, references, shell), and running what HACS asks for.

actionlint cannot run here (its PyPI wrapper downloads the binary from GitHub when built), so
this re-checks offline what it would: the workflow schema (check-jsonschema's vendored copy of
SchemaStore's github-workflow schema), job and step references, pinned actions, and
shellcheck on every `run:` script.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)


def _load(path: Path) -> dict[str, Any]:
    # PyYAML reads the key `on` as True (YAML 1.1); GitHub reads it as "on".
    data = yaml.safe_load(path.read_text())
    if True in data:
        data["on"] = data.pop(True)
    return dict(data)


def _steps(workflow: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (job_name, step)
        for job_name, job in workflow["jobs"].items()
        for step in job.get("steps", [])
    ]


def test_there_are_workflows() -> None:
    """CI and release exist."""
    assert {path.name for path in WORKFLOWS} == {"ci.yml", "release.yml"}


def test_workflow_schema() -> None:
    """Every workflow passes SchemaStore's github-workflow schema (vendored, offline)."""
    checker = Path(sys.executable).with_name("check-jsonschema")
    result = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.github-workflows", *map(str, WORKFLOWS)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dependabot_schema() -> None:
    """Dependabot's config (the actions' updates) passes SchemaStore's dependabot schema."""
    checker = Path(sys.executable).with_name("check-jsonschema")
    config = ROOT / ".github" / "dependabot.yml"
    result = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.dependabot", str(config)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_references(path: Path) -> None:
    """`needs` name jobs, `steps.<id>` name earlier steps, actions are pinned to a ref, and
    local reusable workflows exist and can be called."""
    workflow = _load(path)
    jobs = workflow["jobs"]
    for name, job in jobs.items():
        assert set(job.get("needs", [])) <= set(jobs) - {name}, name
        uses = job.get("uses")
        if uses:  # a reusable workflow
            assert uses.startswith("./.github/workflows/"), uses
            called = _load(ROOT / uses)
            assert "workflow_call" in called["on"], uses
            continue
        ids: list[str] = []
        for step in job["steps"]:
            text = json.dumps(step)
            for expression in EXPRESSION.findall(text):
                for step_id in re.findall(r"steps\.([\w-]+)\.", expression):
                    assert step_id in ids, f"{name}: steps.{step_id} before it ran"
            if "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w./-]+@[\w.-]+", step["uses"]), step["uses"]
            else:
                assert "run" in step, step
            if "id" in step:
                ids.append(step["id"])


def _run_scripts() -> list[tuple[str, str]]:
    scripts = []
    for path in WORKFLOWS:
        for job_name, step in _steps(_load(path)):
            if "run" in step:
                scripts.append((f"{path.name}:{job_name}:{step.get('name', '?')}", step["run"]))
    return scripts


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed")
@pytest.mark.parametrize("name, script", _run_scripts(), ids=lambda value: str(value)[:40])
def test_run_scripts_pass_shellcheck(name: str, script: str, tmp_path: Path) -> None:
    """Each `run:` is a clean bash script (GitHub runs them with `bash -e`), as actionlint's
    shellcheck pass checks; `${{ }}` expressions stand in as a plain word."""
    source = tmp_path / "step.sh"
    body = EXPRESSION.sub("EXPRESSION", script)
    source.write_text(f"#!/usr/bin/env bash\nset -e\n{body}\n")
    result = subprocess.run(
        ["shellcheck", "-s", "bash", str(source)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"{name}\n{result.stdout}"


def test_ci_runs_the_test_command_hassfest_and_hacs() -> None:
    """CI on pushes and pull requests: the test command, hassfest and HACS without ignores."""
    ci = _load(ROOT / ".github" / "workflows" / "ci.yml")
    assert {"push", "pull_request"} <= set(ci["on"])
    steps = _steps(ci)
    runs = [step["run"] for _job, step in steps if "run" in step]
    assert ".ci/run" in runs
    assert "exec scripts/test.sh" in (ROOT / ".ci" / "run").read_text()
    uses = {step["uses"].split("@")[0]: step for _job, step in steps if "uses" in step}
    assert "home-assistant/actions/hassfest" in uses
    hacs = uses["hacs/action"]
    assert hacs["with"] == {"category": "integration"}  # no `ignore`: the default store's rule
    release = ci["jobs"]["release"]
    assert set(release["needs"]) == {"tests", "hassfest", "hacs"}
    assert release["permissions"] == {"contents": "write"}
    assert "refs/heads/main" in release["if"]


def test_release_publishes_the_integrations_version() -> None:
    """The release reads the manifest's version, its CHANGELOG notes, and attaches the zip
    hacs.json names."""
    path = ROOT / ".github" / "workflows" / "release.yml"
    assert set(_load(path)["on"]) == {"workflow_call", "workflow_dispatch"}
    text = path.read_text()
    hacs = json.loads((ROOT / "hacs.json").read_text())
    assert hacs["zip_release"] is True
    assert f"build/release/{hacs['filename']}" in text
    assert "custom_components/dalle_frame/manifest.json" in text
    assert ".github/scripts/release_notes.py" in text
    assert '"v$VERSION"' in text
