"""The server's settings, from the command line or environment variables (see __main__)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

from .asr.pretrained import HUGGING_FACE_URL
from .generation.diffusion.presets import DIFFUSION_PRESETS
from .generation.models.files import MIN_DALLE_BASE_URL

DEFAULT_PORT: Final = 8765
DEFAULT_QUEUE_SIZE: Final = 4
GENERATOR_MODELS: Final = ("test", "mini", "mega", *DIFFUSION_PRESETS)


@dataclass(frozen=True, kw_only=True)
class ServerSettings:
    """Everything that shapes one server process."""

    models_dir: Path
    """Model directory: min-dalle's files (dalle_bart_*/, vqgan/), test/ and asr/."""
    model: str = "test"
    """Text-to-image model: "test" (random weights, paints noise), "mini" or "mega"."""
    asr_model: str = "test"
    """ASR model: "test", or the name of an exported folder under <models_dir>/asr/."""
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    token: str | None = None
    """Bearer token generate and transcribe need; None serves anyone who can connect."""
    device: str | None = None
    """torch device ("cpu", "cuda", "cuda:1"); None picks CUDA when there is a GPU."""
    dtype: str | None = None
    """"float32", "float16" or "bfloat16"; None picks float16 on CUDA, float32 on CPU."""
    backend: str = "fast"
    """Generation backend name (generation.min_dalle.backends.BACKEND_NAMES)."""
    queue_size: int = DEFAULT_QUEUE_SIZE
    """Generation requests that may wait behind the running one; more get HTTP 429."""
    threads: int | None = None
    """CPU threads for torch and ONNX Runtime; None uses every core."""
    download_url: str = MIN_DALLE_BASE_URL
    """Where min-dalle's weight files are downloaded from (a folder URL ending in /)."""
    asr_download_url: str = HUGGING_FACE_URL
    """The hub pre-exported ASR models are downloaded from (`<url>/<repo>/resolve/<rev>/...`)."""
    diffusion_download_url: str = HUGGING_FACE_URL
    """The hub diffusion presets are downloaded from (huggingface_hub's endpoint)."""
    vae_decoder: str = "full"
    """Diffusion models' VAE decoder: "full" (exact) or "tiny" (TAESD, approximate, opt-in)."""
    upscaler: str = "none"
    """Super-resolution after painting: "none", "test" (random weights) or a pretrained name."""
    upscaler_download_url: str = "https://github.com"
    """Where the pretrained upscaler's checkpoint comes from (`<url>/<repo>/releases/...`)."""
    load_retry_seconds: float = 60.0
    """Wait before trying a failed download again (the server keeps serving health)."""
    triton_urls: tuple[str, ...] = ()
    """Triton nodes (gRPC addresses) that serve the models; empty: the models run here."""
