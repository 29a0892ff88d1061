"""realesr-general-x4v3 in ONNX: downloaded once from a pinned revision, checked, then used.

Real-ESRGAN's compact general model (Xintao Wang et al., BSD-3-Clause licence) as Qualcomm
AI Hub exported it to ONNX, mirrored by Microsoft in microsoft/dml-ai-hub-models at a pinned
commit (4.87 MB). No sha256 of this file could be looked up ahead, so none is pinned here:
the download checks the size and the sha256 the hub publishes for the file at that commit
(an LFS file cannot change under a commit), and the graph is then opened and run once to
prove it maps (1, 3, H, W) RGB to a 4x larger picture. A graph that fails is deleted.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import aiohttp
import onnxruntime

from ..downloads import DownloadError, DownloadPolicy, DownloadProgress, download_file
from .onnx_upscaler import check_graph
from .tiny_model import upscalers_dir

_LOGGER = logging.getLogger(__name__)

HUGGING_FACE_URL: Final = "https://huggingface.co"


@dataclass(frozen=True, kw_only=True)
class PretrainedUpscaler:
    """One published upscaler graph: where it is, at which revision, what it should be."""

    name: str
    """The `upscaler` option value and the folder name under `<models-dir>/upscalers/`."""
    repository: str
    revision: str
    """A commit, so the file never changes under the name."""
    graph_path: str
    graph_sha256: str | None
    """The pinned sha256, where one is known; None: the hub's published sha256 is checked."""
    scale: int
    licence: str
    source: str

    def url(self, base_url: str) -> str:
        """Return the download URL of the graph at the pinned revision."""
        return f"{base_url.rstrip('/')}/{self.repository}/resolve/{self.revision}/{self.graph_path}"


REALESR_GENERAL_X4V3: Final = PretrainedUpscaler(
    name="realesr-general-x4v3",
    repository="microsoft/dml-ai-hub-models",
    revision="b657887b89fb809d55d1504acf15c490b057c9f7",
    graph_path="real_esrgan_general_x4v3/real_esrgan_general_x4v3.onnx",
    graph_sha256=None,
    scale=4,
    licence="BSD-3-Clause (Real-ESRGAN, Xintao Wang)",
    source="Real-ESRGAN realesr-general-x4v3 (SRVGG compact, 4x), ONNX by Qualcomm AI Hub",
)

PRETRAINED_UPSCALERS: Final = {model.name: model for model in (REALESR_GENERAL_X4V3,)}


def pretrained_graph_path(models_dir: Path, spec: PretrainedUpscaler) -> Path:
    """Return where the graph of `spec` is kept."""
    return upscalers_dir(models_dir) / spec.name / "model.onnx"


async def ensure_pretrained_upscaler(
    spec: PretrainedUpscaler,
    models_dir: Path,
    *,
    base_url: str = HUGGING_FACE_URL,
    policy: DownloadPolicy | None = None,
    progress: DownloadProgress | None = None,
) -> Path:
    """Return the graph's path, downloading and checking it first when absent.

    Raises DownloadError when it cannot be fetched, or (not retryable) when the file is not
    an upscaler of the expected scale (the file is then deleted).
    """
    graph = pretrained_graph_path(models_dir, spec)
    if graph.is_file():
        return graph
    _LOGGER.info("Upscaler %s: downloading %s@%s", spec.name, spec.repository, spec.revision[:7])
    async with aiohttp.ClientSession() as session:
        await download_file(
            session,
            spec.url(base_url),
            graph,
            policy=policy,
            progress=progress,
            expected_sha256=spec.graph_sha256,
        )
    try:  # opens the graph and runs it once: off the event loop
        scale = await asyncio.to_thread(check_pretrained_graph, graph)
    except ValueError as error:
        graph.unlink(missing_ok=True)
        raise DownloadError(
            f"the upscaler {spec.name} from {spec.repository} is not usable ({error}); the file "
            "was deleted; choose another upscaler or report this",
            retryable=False,
        ) from error
    if scale != spec.scale:
        graph.unlink(missing_ok=True)
        raise DownloadError(
            f"the upscaler {spec.name} from {spec.repository} enlarges {scale}x, not "
            f"{spec.scale}x; the file was deleted; choose another upscaler or report this",
            retryable=False,
        )
    _LOGGER.info("Upscaler %s is ready in %s", spec.name, graph)
    return graph


def check_pretrained_graph(graph: Path) -> int:
    """Open the graph on the CPU and run it once; return its scale (ValueError if unusable)."""
    try:
        session = onnxruntime.InferenceSession(str(graph), providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own exception types
        raise ValueError(f"ONNX Runtime cannot open the graph: {error}") from error
    return check_graph(session).scale
