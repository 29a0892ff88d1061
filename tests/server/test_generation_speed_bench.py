"""The generation speed benchmark's one command runs end to end and says what it measured."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.generation_speed.isa import ISA_CAPS, isa_environment
from bench.generation_speed.report import summarize, table
from dalle_frame_server.generation.min_dalle.kernels.cpu_isa import CpuIsa, detect_cpu_isa

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
    # Native ISA by default, and what the workers' libraries used is on record.
    assert result["environment"]["isa"] == "native"
    assert completed.stdout.startswith("ISA: native (no cap); in use: aten ")
    assert result["summary"]["isa_seen"]["fbgemm"] == result["runs"][0]["isa_seen"]["fbgemm"]
    assert "int8" in result["summary"]["int8_paths"]


def _run(variant: str, tokens: list[list[int]], seconds: float, digest: str) -> dict:
    return {
        "isa_seen": {"aten": "avx2", "fbgemm": "avx2", "onednn": "avx2"},
        "int8_path": "7-bit (fbgemm, avx2)" if variant == "int8" else None,
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
    lines = table({**summary, "isa": "avx2"}).splitlines()
    assert lines[0] == (
        "ISA: capped to avx2 (MKL, oneDNN, fbgemm, ATen); in use: aten avx2, fbgemm avx2, "
        "onednn avx2"
    )
    assert lines[1] == "  int8 path: 7-bit (fbgemm, avx2)"


@pytest.mark.skipif(
    detect_cpu_isa() in (CpuIsa.NOT_X86, CpuIsa.SSE41, CpuIsa.X86_UNKNOWN),
    reason="the AVX2 cap needs an x86 CPU with AVX2",
)
def test_avx2_cap_reaches_every_library_of_a_worker() -> None:
    """`--isa avx2` caps MKL, oneDNN, fbgemm and ATen in a fresh process: an AVX-512 machine
    runs a machine without AVX-512 (every CI CPU has AVX2, so the cap is what they report)."""
    environment = isa_environment("avx2", {**os.environ, "KEPT": "1"})
    assert environment["KEPT"] == "1"
    assert {key: environment[key] for key in ISA_CAPS["avx2"]} == ISA_CAPS["avx2"]
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json; from bench.generation_speed.isa import seen_isa; "
            "print(json.dumps(seen_isa()))",
        ],
        cwd=ROOT,
        env={**environment, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert json.loads(completed.stdout) == {"aten": "avx2", "fbgemm": "avx2", "onednn": "avx2"}


def test_unknown_isa_is_refused_with_the_choices() -> None:
    """A misspelt cap names the ones there are, and nothing runs uncapped by mistake."""
    with pytest.raises(ValueError, match="unknown ISA 'avx3' \\(choose native, avx2, avx512\\)"):
        isa_environment("avx3", {})
