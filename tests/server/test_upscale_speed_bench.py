"""The upscaler benchmark's command runs end to end on a tiny shape and reports every variant."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.upscale_speed.__main__ import VARIANTS, main, parse_targets


def test_benchmark_runs_on_the_test_shape(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """One run per variant: a table on stdout and JSON with a row per target and variant."""
    out = tmp_path / "result.json"
    main(
        [
            "--shape", "test", "--size", "32", "--targets", "80x48,48x80", "--runs", "1",
            "--threads", "1", "--out", str(out),
        ]
    )  # fmt: skip
    results = json.loads(out.read_text(encoding="utf8"))
    assert results["shape"] == {"features": 8, "body_layers": 2, "scale": 4}
    assert "random" in results["weights"]
    rows = {(row["target"], row["variant"]) for row in results["rows"]}
    assert rows == {(target, name) for target in ("80x48", "48x80") for name in VARIANTS}
    assert all(row["seconds"] >= 0 for row in results["rows"])
    printed = capsys.readouterr().out
    assert "| 80x48 | sr |" in printed and "| 48x80 | lanczos |" in printed


def test_bad_targets_are_refused() -> None:
    """A target that is not WIDTHxHEIGHT is named in the error."""
    assert parse_targets("800x480, 1600x1200") == [(800, 480), (1600, 1200)]
    with pytest.raises(ValueError, match="'800by480'"):
        parse_targets("800by480")
