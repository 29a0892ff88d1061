"""Frame rendering benchmark: time per panel and dither, Delta E per dither, ours vs inky's.

Run with bench/render/run.sh (its own environment: Pillow 12 and inky 2.6.0, on which
inky's own RGB conversion still works). For every panel it renders the same fitted test
pictures with render_frame and with the inky driver's set_image (an RGB picture of the panel's
size, saturation 0.5) in the same process, and prints:

- milliseconds per render_frame call (median of --repeat) per dither, the one-thread
  reference pipeline it replaced (reference.py) with the ratio, and inky's set_image on the
  same picture;
- the default dither's time for every orientation and fit (the target is < 50 ms each);
- the stages of the biggest panel's default render (decode, resampling, dithering, PNG);
- the mean CIE76 Delta E (quality.py) of each dither mode, of the one-band Floyd-Steinberg
  it replaced and of inky's conversion, per test picture and on average, plus any index inky
  produced that the panel does not take;
- whether each driver's set_image keeps a rendered frame's indices, per saturation.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import statistics
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from quality import mean_delta_e, quality_pictures  # noqa: E402
from reference import reference_frame, reference_render  # noqa: E402


def load_render_modules() -> types.ModuleType:
    """Import the integration's pure render modules without its HA-bound package __init__.

    The package ``custom_components.dalle_frame`` imports Home Assistant, which this
    environment (built for inky on Pillow 12) does not have; render/ needs only Pillow
    and numpy, so they are loaded into a bare package object instead.
    """
    folder = ROOT / "custom_components" / "dalle_frame"
    for name, path in (
        ("custom_components", folder.parent),
        ("custom_components.dalle_frame", folder),
    ):
        if name not in sys.modules:
            package = types.ModuleType(name)
            package.__path__ = [str(path)]
            sys.modules[name] = package
    spec = importlib.util.find_spec("custom_components.dalle_frame.render")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


render = load_render_modules()

# The inky driver class of each panel and whether it takes Spectra's gapped indices.
INKY_DRIVERS = {
    "inky_impression_4": "inky.inky_uc8159",
    "inky_impression_5_7": "inky.inky_uc8159",
    "inky_impression_7_3": "inky.inky_ac073tc1a",
    "inky_impression_spectra_4": "inky.inky_e640",
    "inky_impression_spectra_7_3": "inky.inky_e673",
    "inky_impression_spectra_13_3": "inky.inky_el133uf1",
}
SATURATION = 0.5


def png_bytes(picture: np.ndarray) -> bytes:
    """Encode an RGB array as PNG."""
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="PNG")
    return buffer.getvalue()


def inky_driver(panel_key: str) -> Any:
    """Construct the panel's inky driver without hardware (resolution given, nothing opened)."""
    module = importlib.import_module(INKY_DRIVERS[panel_key])
    panel = render.PANELS[panel_key]
    return module.Inky(resolution=(panel.width, panel.height))


def fitted_canvas(picture: np.ndarray, panel_key: str) -> tuple[np.ndarray, tuple[slice, slice]]:
    """The picture fitted (contain) on a white canvas of the panel's size, and the art's box."""
    panel = render.PANELS[panel_key]
    art = render.fit_art(Image.fromarray(picture), (panel.width, panel.height), "contain")
    canvas = np.full((panel.height, panel.width, 3), 255, dtype=np.uint8)
    left, top = (panel.width - art.width) // 2, (panel.height - art.height) // 2
    box = (slice(top, top + art.height), slice(left, left + art.width))
    canvas[box] = np.asarray(art)
    return canvas, box


def panel_table(panel_key: str) -> np.ndarray:
    """Colours by panel index (256 entries; indices the panel does not take are black)."""
    table = np.zeros((256, 3), dtype=np.uint8)
    for colour in render.PANELS[panel_key].colours:
        table[colour.index] = colour.at(SATURATION)
    return table


def inky_table(driver: Any, panel_key: str) -> np.ndarray:
    """Colours by index as inky's own quantizer saw them.

    7-colour drivers quantize against their blend plus CLEAN (7, white) and zero padding
    (8-255, black), and send that index as is; Spectra drivers remap their six colours to
    the panel's indices, whose colours are the panel's.
    """
    if "spectra" in panel_key:
        return panel_table(panel_key)
    table = np.zeros((256, 3), dtype=np.uint8)
    blend = driver._palette_blend(SATURATION)  # the colours inky itself dithers to
    table[: len(blend) // 3] = np.array(blend, dtype=np.uint8).reshape(-1, 3)
    return table


def invalid_count(indices: np.ndarray, panel_key: str) -> int:
    """Pixels whose index the panel does not take (CLEAN, or past the palette)."""
    return int((~np.isin(indices, render.PANELS[panel_key].indices)).sum())


def timed(function: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median and best milliseconds of ``repeat`` calls, after one warm-up call."""
    function()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times), min(times)


CAPTION = "a watercolor of a lighthouse in a storm, waves crashing on the rocks"


def time_panel(panel_key: str, png: bytes, canvas: np.ndarray, repeat: int, inky: bool) -> None:
    """Print render_frame's time per dither, against the one-thread reference and inky."""
    inky_ms = inky_best = float("nan")
    if inky:
        driver, image = inky_driver(panel_key), Image.fromarray(canvas)
        inky_ms, inky_best = timed(lambda: driver.set_image(image, saturation=SATURATION), repeat)
    print(
        f"{'render time (ms)':<22}{'median':>8}{'best':>8}{'1 thread':>10}{'ratio':>8}"
        f"{'vs inky':>9}{'caption':>9}"
    )
    for dither in render.DITHERS:
        options = render.RenderOptions(panel=panel_key, dither=dither)
        ms, best = timed(lambda o=options: render.render_frame(png, o), repeat)
        old_ms, _ = timed(lambda o=options: reference_render(render, png, o), repeat)
        captioned = render.RenderOptions(panel=panel_key, dither=dither, caption=CAPTION)
        caption_ms, _ = timed(lambda o=captioned: render.render_frame(png, o), repeat)
        ratio = f"{ms / inky_ms:8.2f}x" if inky else f"{'-':>9}"
        print(
            f"  {dither:<20}{ms:8.1f}{best:8.1f}{old_ms:10.1f}{ms / old_ms:7.2f}x"
            f"{ratio}{caption_ms:9.1f}"
        )
    if inky:
        print(f"  {'inky set_image':<20}{inky_ms:8.1f}{inky_best:8.1f}{'':18}{1.0:8.2f}x")


def time_fits(panel_key: str, png: bytes, repeat: int) -> None:
    """Print the default dither's time for every orientation and fit (target: < 50 ms)."""
    cells = []
    for orientation in render.ORIENTATIONS:
        for fit in render.FITS:
            options = render.RenderOptions(panel=panel_key, orientation=orientation, fit=fit)
            ms, _ = timed(lambda o=options: render.render_frame(png, o), repeat)
            cells.append(f"{orientation[0]}/{fit} {ms:5.1f}")
    print(f"  {'floyd_steinberg, ms':<20}  " + "  ".join(cells))


def time_stages(png: bytes, repeat: int) -> None:
    """Print where the time of the biggest panel's default render goes, stage by stage."""
    panel_key, panel = max(render.PANELS.items(), key=lambda item: item[1].width * item[1].height)
    options = render.RenderOptions(panel=panel_key)
    background = panel.colour(options.background)
    art = render.decode_art(png, background.at(SATURATION))
    plan = render.plan_fit(art.size, options.size, options.fit)
    colours = np.array(panel.palette_at(SATURATION), dtype=np.uint8)
    remap = list(panel.indices)
    frame = render.compose(options, art, panel, background, None)
    stage = render.pipeline  # the stages render_frame runs, timed one by one
    indices = np.asarray(frame)
    palette = panel.png_palette(SATURATION)
    frame.putpalette(palette)

    def pillow_png() -> bytes:
        """Pillow's own PNG writer, as before."""
        buffer = io.BytesIO()
        frame.save(buffer, format="PNG", compress_level=1)
        return buffer.getvalue()

    stages = {
        "decode art": lambda: render.decode_art(png, background.at(SATURATION)),
        "Lanczos horizontal pass": lambda: stage._horizontal_pass(art, plan),
        "fit + dither, 2 bands": lambda: stage._dither_floyd_steinberg(art, plan, colours, remap),
        "compose (all of it)": lambda: render.compose(options, art, panel, background, None),
        "PNG, 2 threads": lambda: render.encode_palette_png(indices, palette),
        "PNG, 1 thread": lambda: render.encode_palette_png(indices, palette, threads=1),
        "PNG, Pillow's writer": pillow_png,
        "render_frame": lambda: render.render_frame(png, options),
    }
    print(f"\n== stages of the {panel.name} default render (median ms, {plan.size} art) ==")
    for name, function in stages.items():
        ms, best = timed(function, repeat)
        print(f"  {name:<26}{ms:7.1f}{best:7.1f}")
    print(f"  PNG size: ours {len(render.encode_palette_png(indices, palette))} bytes, ", end="")
    print(f"Pillow's {len(pillow_png())} bytes")


def quality_panel(
    panel_key: str, pictures: dict[str, np.ndarray], save_images: Path | None
) -> tuple[float, float, float]:
    """Print Delta E per dither, the old one-band Floyd-Steinberg and inky; return their means.

    Returns (default mode, one-band Floyd-Steinberg, inky).
    """
    panel, driver = render.PANELS[panel_key], inky_driver(panel_key)
    names = list(pictures)
    print(f"{'Delta E':<22}" + "".join(f"{name:>13}" for name in names) + f"{'mean':>8}")
    means: dict[str, float] = {}
    invalid_total = 0
    for method in [*render.DITHERS, "one band", "inky"]:
        values = []
        for name in names:
            canvas, box = fitted_canvas(pictures[name], panel_key)
            if method == "one band":
                options = render.RenderOptions(panel=panel_key)
                frame = reference_frame(render, png_bytes(pictures[name]), options)
                indices = np.asarray(frame)
                shown = panel_table(panel_key)[indices]
            elif method == "inky":
                driver.set_image(Image.fromarray(canvas), saturation=SATURATION)
                indices = np.asarray(driver.buf, dtype=np.uint8)
                shown = inky_table(driver, panel_key)[indices]
                invalid_total += invalid_count(indices, panel_key)
            else:
                options = render.RenderOptions(panel=panel_key, dither=method)
                frame = Image.open(
                    io.BytesIO(render.render_frame(png_bytes(pictures[name]), options))
                )
                indices = np.asarray(frame)
                shown = panel_table(panel_key)[indices]
                if invalid_count(indices, panel_key):
                    raise AssertionError(f"{method} produced indices the panel does not take")
            values.append(mean_delta_e(shown[box], canvas[box]))
            if save_images is not None:
                save_images.mkdir(parents=True, exist_ok=True)
                Image.fromarray(shown).save(save_images / f"{panel_key}_{name}_{method}.png")
        means[method] = float(np.mean(values))
        label = {"inky": "inky (set_image)", "one band": "f-s one piece (old)"}.get(method, method)
        print(f"  {label:<20}" + "".join(f"{v:13.2f}" for v in values) + f"{means[method]:8.2f}")
    share = invalid_total / (len(names) * panel.width * panel.height)
    print(
        f"  inky sent {invalid_total} pixels ({share:.2%}) with an index the panel does not "
        "take (7 CLEAN or 8+), counted above as the colour its own palette gives them"
    )
    return means["floyd_steinberg"], means["one band"], means["inky"]


def run(repeat: int, save_images: Path | None, timing_only: bool) -> None:
    """Benchmark every panel and print the tables."""
    pictures = quality_pictures()
    timing_png = png_bytes(pictures["photo_noise"])
    print(
        f"Pillow {Image.__version__}, numpy {np.__version__}; saturation {SATURATION}; "
        f"median and best of {repeat} runs"
        + (
            ""
            if timing_only
            else "; Delta E: mean CIE76 after a Gaussian blur "
            "(sigma 2 px) in linear light, art area only"
        )
    )
    summary = []
    for panel_key, panel in render.PANELS.items():
        print(f"\n== {panel.name} ({panel.width}x{panel.height}) ==")
        canvas = fitted_canvas(pictures["photo_noise"], panel_key)[0]
        time_panel(panel_key, timing_png, canvas, repeat, inky=not timing_only)
        time_fits(panel_key, timing_png, repeat)
        if not timing_only:
            summary.append((panel.name, *quality_panel(panel_key, pictures, save_images)))
    time_stages(timing_png, repeat)
    if timing_only:
        return
    print("\n== default mode (floyd_steinberg) vs inky and vs one piece (old), mean Delta E ==")
    for name, ours, one_band, theirs in summary:
        verdict = "better" if ours < theirs else "WORSE"
        print(
            f"  {name:<36}{ours:7.3f} vs inky {theirs:6.2f} ({ours / theirs:.2f}x, {verdict});"
            f" one piece {one_band:7.3f} ({ours - one_band:+.3f})"
        )
    driver_round_trip(timing_png)


def driver_round_trip(png: bytes) -> None:
    """Print whether each inky driver's set_image keeps a rendered frame's indices."""
    print("\n== inky set_image(rendered frame): does the driver's buffer keep our indices? ==")
    for panel_key, panel in render.PANELS.items():
        driver = inky_driver(panel_key)
        answers = []
        for saturation in (0.0, 0.5, 0.77, 0.8, 1.0):
            options = render.RenderOptions(panel=panel_key, saturation=saturation)
            frame = Image.open(io.BytesIO(render.render_frame(png, options)))
            ours = np.asarray(frame)
            driver.set_image(frame, saturation=saturation)
            same = np.array_equal(np.asarray(driver.buf), ours)
            answers.append(f"{saturation}: {'yes' if same else 'NO'}")
        print(f"  {panel.name:<36}" + ", ".join(answers))
    print("  (Spectra drivers re-match a palette image's colours to pure colours: write")
    print("   display.buf = numpy.asarray(frame) instead of set_image for saturation > 0.77)")


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per case (median)")
    parser.add_argument("--save-images", type=Path, help="write every shown picture here")
    parser.add_argument(
        "--timing-only",
        action="store_true",
        help="only render times, without inky (runs in any environment, e.g. HA's in the sid root)",
    )
    arguments = parser.parse_args()
    run(arguments.repeat, arguments.save_images, arguments.timing_only)


if __name__ == "__main__":
    main()
