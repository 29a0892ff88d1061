"""The diffusion models the server's --model option offers, and what each one can paint.

Each real preset names the Hugging Face repository, a pinned commit (never a branch: the same
bytes on every machine), the exact files it needs (fp16 variants where the repository has
them: half the download) and how its scheduler runs. The `test-*` presets are built locally
from tiny random configs (test_pipelines.py) and paint noise.

Sources of the facts below: the models' cards on the hub (steps, sizes, licences) and
../shared/research/peers-2026.md. The revisions were found in public code that pins them
(sd-turbo b261bac…, sdxl-turbo 71153311…, stable-diffusion-xl-base-1.0 46216598…,
SDXL-Lightning c9a24f48…); nothing here was downloaded to check them (no network on the
development machines), so the first real download is their check: a wrong commit answers
404 and the loading slot says so, final.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal

from ..text_to_image import Capabilities, StepRange

PipelineKind = Literal["sd", "sdxl"]
"""Which diffusers pipeline a preset runs: StableDiffusionPipeline or StableDiffusionXLPipeline."""


@dataclass(frozen=True, kw_only=True)
class HubFiles:
    """Files of one hub repository at one pinned commit."""

    repo: str
    revision: str
    """A 40-hex commit: the download never follows a moving branch."""
    files: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class DiffusionPreset:
    """One choice of the --model option in the diffusion family."""

    name: str
    title: str
    pipeline: PipelineKind
    capabilities: Capabilities
    source: HubFiles | None
    """Where the pipeline folder comes from; None: built locally (test presets)."""
    unet_file: HubFiles | None = None
    """A UNet state dict replacing the source's UNet weights (SDXL-Lightning), else None."""
    scheduler: dict[str, object] = field(default_factory=dict)
    """Settings laid over the folder's scheduler config (e.g. trailing timesteps)."""
    variant: str | None = None
    """The weights' file variant ("fp16") diffusers is told to load."""
    memory: str = ""
    speed: str = ""
    test: bool = False


def _pipeline_files(*, sdxl: bool, unet: bool = True) -> tuple[str, ...]:
    """Return the files of a diffusers SD or SDXL folder, fp16 weights."""
    parts = ["text_encoder", "tokenizer"] + (["text_encoder_2", "tokenizer_2"] if sdxl else [])
    files = ["model_index.json", "scheduler/scheduler_config.json"]
    for part in parts:
        if part.startswith("tokenizer"):
            files += [f"{part}/{name}" for name in TOKENIZER_FILES]
        else:
            files += [f"{part}/config.json", f"{part}/model.fp16.safetensors"]
    files += ["vae/config.json", "vae/diffusion_pytorch_model.fp16.safetensors", "unet/config.json"]
    if unet:
        files.append("unet/diffusion_pytorch_model.fp16.safetensors")
    return tuple(files)


TOKENIZER_FILES: Final = (
    "merges.txt",
    "special_tokens_map.json",
    "tokenizer_config.json",
    "vocab.json",
)

TRAILING_EULER: Final[dict[str, object]] = {"timestep_spacing": "trailing"}
"""Few-step distilled models sample at the last timesteps (their cards' scheduler setting)."""

SD_TURBO: Final = DiffusionPreset(
    name="sd-turbo",
    title="SD-Turbo (Stability AI, SD 2.1 distilled, 1-4 steps at 512 px)",
    pipeline="sd",
    source=HubFiles(
        repo="stabilityai/sd-turbo",
        revision="b261bac6fd2cf515557d5d0707481eafa0485ec2",
        files=_pipeline_files(sdxl=False),
    ),
    scheduler=TRAILING_EULER,
    variant="fp16",
    capabilities=Capabilities(
        family="diffusion",
        default_size=(512, 512),
        min_side=256,
        max_side=768,
        multiple=8,
        max_pixels=512 * 512,
        steps=StepRange(min=1, max=4, default=1),
        licence="Stability AI Community / non-commercial research licence (see the model card)",
    ),
    memory="2.6 GB download (fp16); peak about 4 GB of RAM on CPU, 3 GB of VRAM on a GPU",
    speed="1 step at 512x512: 35-49 s on 2 shared CPU cores (bench.diffusion_speed, "
    "random weights of its shapes); well under 0.1 s on an H100 (not measured here)",
)

SDXL_TURBO: Final = DiffusionPreset(
    name="sdxl-turbo",
    title="SDXL-Turbo (Stability AI, SDXL distilled, 1-4 steps at 512 px)",
    pipeline="sdxl",
    source=HubFiles(
        repo="stabilityai/sdxl-turbo",
        revision="71153311d3dbb46851df1931d3ca6e939de83304",
        files=_pipeline_files(sdxl=True),
    ),
    scheduler=TRAILING_EULER,
    variant="fp16",
    capabilities=Capabilities(
        family="diffusion",
        default_size=(512, 512),
        min_side=256,
        max_side=1024,
        multiple=8,
        max_pixels=512 * 512,
        steps=StepRange(min=1, max=4, default=1),
        licence="Stability AI non-commercial community licence (sai-nc-community)",
    ),
    memory="7 GB download (fp16); 8 GB of VRAM",
    speed="4 steps at 512x512: 84 ms on an H100 with TensorRT (model card); ~0.1-0.2 s here",
)

SDXL_LIGHTNING: Final = DiffusionPreset(
    name="sdxl-lightning",
    title="SDXL-Lightning 4-step (ByteDance, on SDXL base 1.0, 1024 px)",
    pipeline="sdxl",
    source=HubFiles(
        repo="stabilityai/stable-diffusion-xl-base-1.0",
        revision="462165984030d82259a11f4367a4eed129e94a7b",
        files=_pipeline_files(sdxl=True, unet=False),
    ),
    unet_file=HubFiles(
        repo="ByteDance/SDXL-Lightning",
        revision="c9a24f48e1c025556787b0c58dd67a091ece2e44",
        files=("sdxl_lightning_4step_unet.safetensors",),
    ),
    scheduler=TRAILING_EULER,
    variant="fp16",
    capabilities=Capabilities(
        family="diffusion",
        default_size=(1024, 1024),
        min_side=512,
        max_side=1536,
        multiple=8,
        max_pixels=1024 * 1024,
        steps=StepRange(min=4, max=4, default=4),
        licence="CreativeML Open RAIL++-M (openrail++: commercial use allowed, use limits apply)",
    ),
    memory="7.3 GB download (SDXL base fp16 parts + 5.1 GB Lightning UNet); 9-10 GB of VRAM",
    speed="4 steps at 1024x1024: about 0.3-0.5 s on an H100 (estimate, not measured here)",
)

_TEST_CAPABILITIES: Final = Capabilities(
    family="diffusion",
    default_size=(64, 64),
    min_side=32,
    max_side=256,
    multiple=8,
    max_pixels=128 * 128,
    steps=StepRange(min=1, max=4, default=2),
    licence="test model: random weights, no licence needed",
)

TEST_DIFFUSION: Final = DiffusionPreset(
    name="test-diffusion",
    title="test model (SD pipeline, tiny random weights, paints noise)",
    pipeline="sd",
    source=None,
    scheduler=TRAILING_EULER,
    capabilities=_TEST_CAPABILITIES,
    memory="a few MB",
    speed="well under a second",
    test=True,
)

TEST_SDXL: Final = DiffusionPreset(
    name="test-sdxl",
    title="test model (SDXL pipeline, tiny random weights, paints noise)",
    pipeline="sdxl",
    source=None,
    scheduler=TRAILING_EULER,
    capabilities=_TEST_CAPABILITIES,
    memory="a few MB",
    speed="well under a second",
    test=True,
)

DIFFUSION_PRESETS: Final[dict[str, DiffusionPreset]] = {
    preset.name: preset
    for preset in (SD_TURBO, SDXL_TURBO, SDXL_LIGHTNING, TEST_DIFFUSION, TEST_SDXL)
}
"""Every diffusion choice of --model, by name."""

DIFFUSION_TEST_NOTICE: Final = "test diffusion model: tiny random weights, paints noise"
