"""What the front's model slots hold in Triton mode: the nodes' generator and ASR, remotely.

`RemoteTextToImage` carries what the nodes' generator says about itself (name, device,
capabilities) so the HTTP layer checks requests and shows health as usual; the generation
itself goes through `RemoteGenerationQueue`. `RemoteTranscriber` sends the samples to the
least loaded node that serves ASR (from the worker thread the transcribe view uses).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import tritonclient.grpc as triton_grpc_sync

from ..asr.base import Transcriber, Transcription
from ..errors import ModelFailedError
from ..generation.interface import ProgressCallback
from ..generation.text_to_image import GenerationRequest, Picture, TextToImage
from .nodes import NodePool, _reason
from .protocol import (
    ASR_MODEL,
    LANGUAGE_INPUT,
    LANGUAGE_OUTPUT,
    SAMPLES_INPUT,
    TEXT_OUTPUT,
    capabilities_from_json,
)

ASR_TIMEOUT_SECONDS = 120.0


class RemoteTextToImage(TextToImage):
    """The generator the Triton nodes serve, as the front's HTTP layer sees it."""

    def __init__(self, info: dict[str, Any], pool: NodePool) -> None:
        self.model_name = str(info["model"])
        self.device = str(info["device"])
        self.dtype = str(info["dtype"])
        self.capabilities = capabilities_from_json(info["capabilities"])
        self._describe = dict(info.get("describe") or {})
        self._pool = pool

    def generate_pngs(
        self,
        requests: Sequence[GenerationRequest],
        progress: Sequence[ProgressCallback | None],
    ) -> list[Picture | Exception]:
        """Not used: in Triton mode the front's queue streams each job from a node."""
        raise ModelFailedError(
            "in Triton mode generations go through the remote queue, not generate_pngs"
        )

    def describe(self) -> dict[str, object]:
        """Return the nodes' backend details and every node's state (generator.triton)."""
        return {
            **self._describe,
            "triton": {"nodes": [node.as_json() for node in self._pool.nodes]},
        }


class RemoteTranscriber(Transcriber):
    """Speech to text on the least loaded Triton node that serves ASR."""

    def __init__(self, asr_info: dict[str, Any], pool: NodePool) -> None:
        self.model_name = str(asr_info["model"])
        self.languages = tuple(asr_info.get("languages") or ("en",))
        self._pool = pool

    def transcribe(self, samples: np.ndarray) -> str:
        """Return the text the nodes' model hears; blocking."""
        return self.transcribe_speech(samples).text

    def transcribe_speech(self, samples: np.ndarray, language: str | None = None) -> Transcription:
        """Send the samples to a node (the next one when a node fails); blocking."""
        reasons = []
        candidates = sorted(
            (node for node in self._pool.up_nodes() if node.info and node.info.get("asr")),
            key=lambda node: node.in_flight,
        )
        for node in candidates:
            audio = triton_grpc_sync.InferInput(SAMPLES_INPUT, [len(samples)], "FP32")
            audio.set_data_from_numpy(np.ascontiguousarray(samples, dtype=np.float32))
            asked = triton_grpc_sync.InferInput(LANGUAGE_INPUT, [1], "BYTES")
            asked.set_data_from_numpy(np.array([(language or "").encode()], dtype=object))
            try:
                with triton_grpc_sync.InferenceServerClient(node.target) as client:
                    result = client.infer(
                        ASR_MODEL, [audio, asked], client_timeout=ASR_TIMEOUT_SECONDS
                    )
            except Exception as error:  # a dead node: try the next one
                reasons.append(f"grpc://{node.target}: {_reason(error)}")
                continue
            return Transcription(
                text=bytes(result.as_numpy(TEXT_OUTPUT).reshape(-1)[0]).decode(),
                language=bytes(result.as_numpy(LANGUAGE_OUTPUT).reshape(-1)[0]).decode(),
            )
        raise ConnectionError(
            "no Triton node could transcribe: "
            + ("; ".join(reasons) if reasons else f"none serves ASR ({self._pool.summary()})")
        )
