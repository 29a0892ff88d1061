"""One benchmark variant in its own process, so its peak memory is its own.

Reads a JSON job from argv[1], loads the pipeline as the variant does, paints the job's
picture `rounds` times and prints one JSON line: load and paint seconds, the time to each
step's end, peak RSS, and where the picture was saved. Run by `bench.diffusion_speed`.
"""

from __future__ import annotations

import io
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from dalle_frame_server.generation.diffusion.components import load_parts
from dalle_frame_server.generation.diffusion.generator import DiffusionGenerator
from dalle_frame_server.generation.diffusion.loader import uses_half_storage
from dalle_frame_server.generation.diffusion.presets import DIFFUSION_PRESETS, DiffusionPreset
from dalle_frame_server.generation.text_to_image import GenerationRequest

CPU = torch.device("cpu")


def peak_rss_mb() -> float:
    """The process's peak resident memory so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_ours(job: dict[str, Any], preset: DiffusionPreset) -> dict[str, Any]:
    """Our loader and generator: PNG bytes out (encoding included in the time).

    Variant "tiny": the same with the tiny VAE decoder of `job["tiny_vae"]`.
    """
    folder = Path(job["folder"])
    tiny_vae = Path(job["tiny_vae"]) if job["variant"] == "tiny" else None
    started = time.monotonic()
    half = uses_half_storage(preset, CPU, torch.float32)
    parts = load_parts(folder, preset, CPU, torch.float32, half_storage=half, tiny_vae=tiny_vae)
    generator = DiffusionGenerator(parts, preset, device=CPU, batching=job["batch"] > 1)
    loaded = time.monotonic() - started
    request = GenerationRequest(
        prompt=job["prompt"],
        seed=job["seed"],
        width=job["width"],
        height=job["height"],
        steps=job["steps"],
    )
    times, step_marks = [], []
    picture = None
    for _ in range(job["rounds"]):
        marks: list[float] = []
        begun = time.monotonic()

        def on_step(step: int, total: int) -> None:
            marks.append(time.monotonic() - begun)  # noqa: B023 (called within the loop)

        (picture,) = generator.generate_pngs([request], [on_step])
        times.append(time.monotonic() - begun)
        step_marks.append(marks)
    assert picture is not None and not isinstance(picture, Exception), picture
    Path(job["png"]).write_bytes(picture.png)
    result = {"load_s": loaded, "paint_s": times, "step_marks": step_marks, "half": half}
    if job["batch"] > 1:
        requests = [
            GenerationRequest(**{**request.__dict__, "seed": job["seed"] + index})
            for index in range(job["batch"])
        ]
        begun = time.monotonic()
        for single in requests:
            generator.generate_pngs([single], [None])
        result["singles_s"] = time.monotonic() - begun
        begun = time.monotonic()
        generator.generate_pngs(requests, [None] * len(requests))
        result["batch_s"] = time.monotonic() - begun
    return result


def run_stock(job: dict[str, Any], preset: DiffusionPreset) -> dict[str, Any]:
    """A stock diffusers pipeline from the same folder, float32, as its docs show it."""
    from diffusers import StableDiffusionPipeline

    started = time.monotonic()
    pipeline = StableDiffusionPipeline.from_pretrained(
        job["folder"],
        variant=preset.variant,
        torch_dtype=torch.float32,
        safety_checker=None,
        requires_safety_checker=False,
    )
    pipeline.scheduler = type(pipeline.scheduler).from_config(
        pipeline.scheduler.config, **preset.scheduler
    )
    pipeline.set_progress_bar_config(disable=True)
    loaded = time.monotonic() - started
    times, step_marks = [], []
    image = None
    for _ in range(job["rounds"]):
        marks: list[float] = []
        begun = time.monotonic()

        def on_step(pipe: object, step: int, timestep: object, kwargs: dict) -> dict:
            marks.append(time.monotonic() - begun)  # noqa: B023 (called within the loop)
            return kwargs

        image = pipeline(
            job["prompt"],
            width=job["width"],
            height=job["height"],
            num_inference_steps=job["steps"],
            guidance_scale=0.0,
            generator=torch.Generator().manual_seed(job["seed"]),
            callback_on_step_end=on_step,
        ).images[0]
        times.append(time.monotonic() - begun)
        step_marks.append(marks)
    assert isinstance(image, Image.Image)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    Path(job["png"]).write_bytes(buffer.getvalue())
    return {"load_s": loaded, "paint_s": times, "step_marks": step_marks}


def main() -> None:
    job = json.loads(sys.argv[1])
    # Imported before any timer: both variants' load times leave the imports out.
    import diffusers  # noqa: F401
    import transformers  # noqa: F401
    from diffusers import StableDiffusionPipeline  # noqa: F401
    from transformers import CLIPTextModel  # noqa: F401

    if job["threads"]:
        torch.set_num_threads(job["threads"])
    preset = DIFFUSION_PRESETS[job["preset"]]
    run = run_stock if job["variant"] == "stock" else run_ours
    result = run(job, preset)
    result.update(variant=job["variant"], peak_rss_mb=peak_rss_mb(), png=job["png"])
    print(json.dumps(result))


if __name__ == "__main__":
    main()
