"""Turning the benchmark's runs into medians, ratios against stock, and a printed table."""

from __future__ import annotations

import statistics
from typing import Any

from .isa import describe_isa

IMAGE_STEPS = 256


def _agreement(tokens: list[list[int]], reference: list[list[int]]) -> float:
    """Share of image tokens equal to the reference's."""
    pairs = [
        (a, b)
        for row, ref_row in zip(tokens, reference, strict=True)
        for a, b in zip(row, ref_row, strict=True)
    ]
    return sum(a == b for a, b in pairs) / len(pairs)


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians per (model, variant, grid), comparisons with stock, and the batched queues."""
    stock: dict[tuple[str, int, int], dict[str, Any]] = {}
    for run in runs:
        if run["variant"] == "stock":
            for request, outcome in zip(run["job"]["requests"], run["outcomes"], strict=True):
                stock[(run["model"], request["grid_size"], request["seed"])] = outcome
    groups: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    rss: dict[tuple[str, str], list[float]] = {}
    for run in runs:
        rss.setdefault((run["model"], run["variant"]), []).append(run["peak_rss_mb"])
        for request, outcome in zip(run["job"]["requests"], run["outcomes"], strict=True):
            reference = stock.get((run["model"], request["grid_size"], request["seed"]))
            groups.setdefault((run["model"], run["variant"], request["grid_size"]), []).append(
                {**outcome, "reference": reference, "gpu_peak_mb": run.get("gpu_peak_mb")}
            )
    rows = []
    for (model, variant, grid), outcomes in groups.items():
        images = grid * grid
        timings = [outcome["timings"] for outcome in outcomes]
        step_ms = statistics.median(t["decode"] / IMAGE_STEPS * 1000 for t in timings)
        per_image = statistics.median(t["total"] / images for t in timings)
        compared = [o for o in outcomes if o["reference"] is not None]
        row = {
            "model": model,
            "variant": variant,
            "grid": grid,
            "rounds": len(outcomes),
            "ms_per_step": step_ms,
            "s_per_image": per_image,
            "images_per_minute": 60 / per_image,
            "encode_s": statistics.median(t["encode"] for t in timings),
            "decode_s": statistics.median(t["decode"] for t in timings),
            "detokenize_s": statistics.median(t["detokenize"] for t in timings),
            "peak_rss_mb": max(rss[(model, variant)]),
            "gpu_peak_mb": max((o["gpu_peak_mb"] or 0) for o in outcomes) or None,
            "identical": (
                all(
                    o["tokens"] == o["reference"]["tokens"]
                    and o["pixels_sha256"] == o["reference"]["pixels_sha256"]
                    for o in compared
                )
                if compared
                else None
            ),
            "token_agreement": (
                statistics.mean(_agreement(o["tokens"], o["reference"]["tokens"]) for o in compared)
                if compared
                else None
            ),
        }
        rows.append(row)
    by_key = {(r["model"], r["variant"], r["grid"]): r for r in rows}
    for row in rows:
        base = by_key.get((row["model"], "stock", row["grid"]))
        row["step_speedup"] = base["ms_per_step"] / row["ms_per_step"] if base else None
        row["image_speedup"] = base["s_per_image"] / row["s_per_image"] if base else None
        stock_rss = max(rss.get((row["model"], "stock"), [0])) or None
        row["rss_vs_stock"] = row["peak_rss_mb"] / stock_rss if stock_rss else None
    paths = {run["variant"]: run["int8_path"] for run in runs if run.get("int8_path")}
    seen = next((run["isa_seen"] for run in runs if run.get("isa_seen")), None)
    return {"rows": rows, "queues": _queues(runs), "isa_seen": seen, "int8_paths": paths}


def _queues(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Batched decoding: decoder seconds per image, and tokens against the sequential run."""
    rows = []
    for run in runs:
        sequential = {q["name"]: q for q in run["queue"] if q["mode"] == "sequential"}
        for queue in run["queue"]:
            alone = sequential[queue["name"]]
            images = sum(r["grid_size"] ** 2 for r in queue["requests"])
            seconds = queue["outcomes"][0]["timings"]["decode"]
            tokens = [row for o in queue["outcomes"] for row in o["tokens"]]
            alone_tokens = [row for o in alone["outcomes"] for row in o["tokens"]]
            rows.append(
                {
                    "model": run["model"],
                    "variant": run["variant"],
                    "queue": queue["name"],
                    "mode": queue["mode"],
                    "decode_s": seconds,
                    "decode_s_per_image": seconds / images,
                    "speedup_vs_sequential": alone["outcomes"][0]["timings"]["decode"] / seconds,
                    "same_tokens_as_sequential": tokens == alone_tokens,
                    "token_agreement_with_sequential": _agreement(tokens, alone_tokens),
                }
            )
    return rows


def _percent(share: float | None) -> float | None:
    """A share as a percentage (None stays None)."""
    return None if share is None else 100 * share


def _fmt(value: Any, spec: str) -> str:
    """Format a value, or '-' when it is missing."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return format(value, spec)


def _bandwidth_lines(paired: dict[str, Any]) -> list[str]:
    """Each one-step variant's grid-1 step against reading its weights at the measured speed."""
    bandwidth = paired.get("read_gb_per_s")
    figures = paired["grids"].get("1")
    if not bandwidth or figures is None:
        return []
    weights = paired["decoder_weight_bytes"]
    floor_ms = weights / (bandwidth * 1e9) * 1000
    lines = [
        f"  read bandwidth {bandwidth:.1f} GB/s (sum over 1 GiB); decoder weights per step "
        f"{weights / 1e9:.2f} GB (float32) -> {floor_ms:.1f} ms per step at best"
    ]
    for name, ms in figures["median_ms_per_step"].items():
        if name not in figures.get("drafting", []) and name in ("stock", "reference", "fast"):
            lines.append(f"    {name}: {ms:.1f} ms per step = {floor_ms / ms:.0%} of that limit")
    return lines


def table(summary: dict[str, Any]) -> str:
    """The summary as a fixed-width text table, after the ISA its workers ran."""
    header = (
        f"{'model':<6}{'variant':<10}{'grid':>4}{'ms/step':>9}{'x':>6}{'s/img':>8}{'x':>6}"
        f"{'img/min':>8}{'enc s':>7}{'dec s':>8}{'vqgan s':>8}{'RSS MB':>8}{'xRSS':>6}"
        f"{'same':>6}{'tok %':>7}"
    )
    lines = [describe_isa(summary.get("isa", "native"), summary.get("isa_seen"))]
    lines += [f"  {name} path: {path}" for name, path in summary.get("int8_paths", {}).items()]
    lines += [header, "-" * len(header)]
    for r in sorted(summary["rows"], key=lambda r: (r["model"], r["grid"], r["variant"])):
        lines.append(
            f"{r['model']:<6}{r['variant']:<10}{r['grid']:>4}{_fmt(r['ms_per_step'], '.1f'):>9}"
            f"{_fmt(r['step_speedup'], '.2f'):>6}{_fmt(r['s_per_image'], '.2f'):>8}"
            f"{_fmt(r['image_speedup'], '.2f'):>6}{_fmt(r['images_per_minute'], '.1f'):>8}"
            f"{_fmt(r['encode_s'], '.2f'):>7}{_fmt(r['decode_s'], '.2f'):>8}"
            f"{_fmt(r['detokenize_s'], '.2f'):>8}{_fmt(r['peak_rss_mb'], '.0f'):>8}"
            f"{_fmt(r['rss_vs_stock'], '.2f'):>6}{_fmt(r['identical'], ''):>6}"
            f"{_fmt(_percent(r['token_agreement']), '.1f'):>7}"
        )
    for model, paired in summary.get("paired_steps", {}).items():
        lines += ["", f"{model}: decoder steps timed alternately ({paired['steps']} per variant)"]
        for grid, figures in paired["grids"].items():
            drafting = figures.get("drafting", [])
            parts = [
                f"{name} {ms:.1f} ms"
                + (" per token" if name in drafting else "")
                + (
                    f" ({figures['speedup_vs_stock'][name]:.2f}x)"
                    if figures["speedup_vs_stock"]
                    else ""
                )
                for name, ms in figures["ms_per_step"].items()
            ]
            lines.append(f"  grid {grid}: " + ", ".join(parts))
        lines += _bandwidth_lines(paired)
    if summary["queues"]:
        lines += ["", "batched decode (queued requests, decoder only)"]
        lines.append(
            f"{'model':<6}{'variant':<10}{'queue':>6}{'mode':>12}{'dec s':>8}{'s/img':>7}"
            f"{'x seq':>7}{'same':>6}{'tok %':>7}"
        )
        for q in summary["queues"]:
            lines.append(
                f"{q['model']:<6}{q['variant']:<10}{q['queue']:>6}{q['mode']:>12}"
                f"{q['decode_s']:>8.2f}{q['decode_s_per_image']:>7.2f}"
                f"{q['speedup_vs_sequential']:>7.2f}{_fmt(q['same_tokens_as_sequential'], ''):>6}"
                f"{100 * q['token_agreement_with_sequential']:>7.1f}"
            )
    return "\n".join(lines)
