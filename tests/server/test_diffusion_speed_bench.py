"""The diffusion benchmark's one command runs end to end on the tiny pipeline (so it cannot rot)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_benchmark_command_on_the_test_pipeline(tmp_path: Path, models_dir: Path) -> None:
    """Stock, ours and ours with the tiny decoder side by side: identical pixels (stock and
    ours), times, peak RSS and the ratios."""
    out = tmp_path / "result.json"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.diffusion_speed",
            "--weights",
            "test-diffusion",
            "--size",
            "64x48",
            "--steps",
            "2",
            "--threads",
            "1",
            "--batch",
            "2",
            "--models-dir",
            str(models_dir),
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "pixels: identical (max difference 0" in completed.stdout
    assert "ours vs stock:" in completed.stdout and "peak RSS" in completed.stdout
    result = json.loads(out.read_text())
    assert result["identical"] is True
    for variant in ("ours", "stock"):
        run = result["results"][variant]
        assert run["peak_rss_mb"] > 0 and len(run["step_marks"][0]) == 2
    assert result["results"]["ours"]["batch_s"] > 0
    # the tiny VAE decoder's variant: timed beside them, its difference labelled meaningless
    assert "tiny vs stock:" in completed.stdout
    assert "MEANINGLESS for quality" in completed.stdout
    assert result["tiny"]["max_difference"] > 0
    assert result["results"]["tiny"]["peak_rss_mb"] > 0
