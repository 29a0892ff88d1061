"""The generation speed benchmark's one command runs end to end and says what it measured."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bench.generation_speed.report import summarize, table

ROOT = Path(__file__).resolve().parents[2]


def test_benchmark_command_on_the_test_model(tmp_path: Path, models_dir: Path) -> None:
    """Stock, fast and int8 on the test model, one round: a table, JSON, identical images,
    and int8's drafting rounds timed per token against stock's steps."""
    out = tmp_path / "result.json"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.generation_speed",
            "--models",
            "test",
            "--variants",
            "stock,fast,int8",
            "--grids",
            "1",
            "--rounds",
            "1",
            "--queue",
            "2x1",
            "--threads",
            "1",
            "--models-dir",
            str(models_dir),
            "--out",
            str(out),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "ms/step" in completed.stdout
    result = json.loads(out.read_text())
    rows = {row["variant"]: row for row in result["summary"]["rows"]}
    assert rows["fast"]["identical"] is True
    assert rows["fast"]["token_agreement"] == 1.0
    assert rows["stock"]["step_speedup"] == 1.0
    assert rows["fast"]["peak_rss_mb"] > 0
    modes = {q["mode"]: q for q in result["summary"]["queues"] if q["variant"] == "fast"}
    assert set(modes) == {"sequential", "exact", "any"}
    assert modes["exact"]["same_tokens_as_sequential"] is True
    assert rows["int8"]["token_agreement"] == 1.0
    paired = result["summary"]["paired_steps"]["test"]["grids"]["1"]
    assert paired["drafting"] == ["int8"]
    assert set(paired["ms_per_step"]) == {"stock", "fast", "int8"}
    assert paired["ms_per_step"]["int8"] == paired["mean_ms_per_token"]["int8"]
    assert paired["speedup_vs_stock"]["stock"] == 1.0
    assert "int8" in completed.stdout and "ms per token" in completed.stdout
    # Each one-step variant's step against reading its decoder weights at the measured speed.
    measured = result["summary"]["paired_steps"]["test"]
    assert measured["read_gb_per_s"] > 0.1
    assert measured["decoder_weight_bytes"] > 0
    assert "read bandwidth" in completed.stdout
    assert "fast: " in completed.stdout and "of that limit" in completed.stdout


def _run(variant: str, tokens: list[list[int]], seconds: float, digest: str) -> dict:
    return {
        "model": "m",
        "variant": variant,
        "round": 0,
        "peak_rss_mb": 1000.0 if variant == "stock" else 500.0,
        "job": {"requests": [{"grid_size": 1, "seed": 3}]},
        "outcomes": [
            {
                "timings": {"encode": 0.1, "decode": seconds, "detokenize": 1.0, "total": seconds},
                "tokens": tokens,
                "pixels_sha256": digest,
            }
        ],
        "queue": [],
    }


def test_summary_compares_with_stock() -> None:
    """Speedups, RSS ratio, identity and token agreement come out of the raw runs."""
    stock_tokens = [list(range(256))]
    half_changed = [[t if t < 128 else 0 for t in range(256)]]
    summary = summarize(
        [
            _run("stock", stock_tokens, 25.6, "a"),
            _run("fast", stock_tokens, 12.8, "a"),
            _run("int8", half_changed, 6.4, "b"),
        ]
    )
    rows = {row["variant"]: row for row in summary["rows"]}
    assert rows["fast"]["ms_per_step"] == 50.0
    assert rows["fast"]["step_speedup"] == 2.0
    assert rows["fast"]["identical"] is True
    assert rows["int8"]["identical"] is False
    assert 0.49 < rows["int8"]["token_agreement"] < 0.51
    assert rows["int8"]["rss_vs_stock"] == 0.5
    assert "int8" in table(summary)
