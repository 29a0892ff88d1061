"""realesr-general-x4v3: its official checkpoint downloaded once, checked, exported to ONNX here.

Real-ESRGAN's compact general model (Xintao Wang et al., BSD-3-Clause licence) is published
by its authors as a PyTorch checkpoint in the v0.2.5.0 release of xinntao/Real-ESRGAN on
GitHub (4,885,111 bytes). Its sha256 is pinned here, so a changed or damaged file is refused.
The checkpoint is loaded without pickled code (`weights_only`) into `CompactSrNetwork` (the
same layer order as Real-ESRGAN's SRVGGNetCompact), exported to ONNX with free height and
width and PReLUs written as `MixedRelu`, and the graph is checked against the network on a
probe picture before it is renamed into place. ONNX exports published elsewhere carry no hash
that could be pinned, some take only 128x128 tiles, and all keep PRelu nodes, which ONNX
Runtime runs slower on a CPU.
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import aiohttp
import numpy as np
import onnxruntime
import torch

from ..downloads import DownloadError, DownloadPolicy, DownloadProgress, download_file
from .network import REAL_SHAPE, CompactSrNetwork, SrShape, export_onnx
from .tiny_model import upscalers_dir

_LOGGER = logging.getLogger(__name__)

GITHUB_URL: Final = "https://github.com"
_CHECK_TOLERANCE: Final = 1e-3


@dataclass(frozen=True, kw_only=True)
class PretrainedUpscaler:
    """One published checkpoint: where it is, its pinned sha256 and its network's shape."""

    name: str
    """The `upscaler` option value and the folder name under `<models-dir>/upscalers/`."""
    repository: str
    release: str
    file_name: str
    sha256: str
    shape: SrShape
    licence: str
    source: str

    def url(self, base_url: str) -> str:
        """Return the checkpoint's release download URL."""
        return (
            f"{base_url.rstrip('/')}/{self.repository}/releases/download/{self.release}/"
            f"{self.file_name}"
        )


REALESR_GENERAL_X4V3: Final = PretrainedUpscaler(
    name="realesr-general-x4v3",
    repository="xinntao/Real-ESRGAN",
    release="v0.2.5.0",
    file_name="realesr-general-x4v3.pth",
    sha256="8dc7edb9ac80ccdc30c3a5dca6616509367f05fbc184ad95b731f05bece96292",
    shape=REAL_SHAPE,
    licence="BSD-3-Clause (Real-ESRGAN, Xintao Wang)",
    source="Real-ESRGAN realesr-general-x4v3 (SRVGG compact, 4x), xinntao/Real-ESRGAN v0.2.5.0",
)

PRETRAINED_UPSCALERS: Final = {model.name: model for model in (REALESR_GENERAL_X4V3,)}


def pretrained_graph_path(models_dir: Path, spec: PretrainedUpscaler) -> Path:
    """Return where the exported graph of `spec` is kept."""
    return upscalers_dir(models_dir) / spec.name / "model.onnx"


async def ensure_pretrained_upscaler(
    spec: PretrainedUpscaler,
    models_dir: Path,
    *,
    base_url: str = GITHUB_URL,
    policy: DownloadPolicy | None = None,
    progress: DownloadProgress | None = None,
) -> Path:
    """Return the exported graph, downloading and exporting the checkpoint first when absent.

    Raises DownloadError when the checkpoint cannot be fetched, misses the pinned sha256, or
    (not retryable) is not a checkpoint of the expected network (the file is then deleted).
    """
    graph = pretrained_graph_path(models_dir, spec)
    if graph.is_file():
        return graph
    checkpoint = graph.with_name(spec.file_name)
    _LOGGER.info("Upscaler %s: downloading %s %s", spec.name, spec.repository, spec.release)
    async with aiohttp.ClientSession() as session:
        await download_file(
            session,
            spec.url(base_url),
            checkpoint,
            policy=policy,
            progress=progress,
            expected_sha256=spec.sha256,
        )
    try:  # loads, exports and checks: off the event loop
        await asyncio.to_thread(export_checkpoint, checkpoint, spec.shape, graph)
    except ValueError as error:
        checkpoint.unlink(missing_ok=True)
        raise DownloadError(
            f"the upscaler {spec.name} from {spec.repository} is not usable ({error}); the file "
            "was deleted; choose another upscaler or report this",
            retryable=False,
        ) from error
    _LOGGER.info("Upscaler %s is ready in %s (%s)", spec.name, graph, spec.licence)
    return graph


def export_checkpoint(checkpoint: Path, shape: SrShape, graph: Path) -> None:
    """Load a Real-ESRGAN compact checkpoint into the network, export and check it.

    Raises ValueError when the file is not such a checkpoint or the graph disagrees.
    """
    try:
        state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    except Exception as error:  # pickle and torch raise many kinds of errors
        raise ValueError(f"torch cannot read the checkpoint: {error}") from error
    if isinstance(state, dict):
        state = state.get("params_ema", state.get("params", state))
    network = CompactSrNetwork(shape).eval()
    try:
        network.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as error:
        raise ValueError(f"the checkpoint is not a {shape} compact SR network: {error}") from error
    partial = graph.with_name(f"{graph.name}.{os.getpid()}.part")
    export_onnx(network, str(partial))
    try:
        _check_export(network, partial)
    except ValueError:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(graph)


def _check_export(network: CompactSrNetwork, graph: Path) -> None:
    """Run the graph and the network on one probe picture; ValueError when they differ."""
    probe = torch.rand(1, 3, 24, 40, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = network(probe).numpy()
    session = onnxruntime.InferenceSession(str(graph), providers=["CPUExecutionProvider"])
    (result,) = session.run(None, {"image": probe.numpy()})[:1]
    difference = float(np.max(np.abs(np.asarray(result) - expected)))
    if not difference <= _CHECK_TOLERANCE:
        raise ValueError(f"the exported graph differs from the network by {difference}")
