"""min-dalle's backends by name: `reference`, `fast` (the default), `int8`, `int8-raw`, `fp16`.

`reference` reproduces stock min-dalle's arithmetic step for step; `fast` paints the same
pixels faster; `int8` and `fp16` draft with int8 or float16 weights and keep the float32
decoder's tokens; `int8-raw` is int8 alone (approximate). Where int8 arithmetic
(kernels/int8_path.py) or fbgemm's fp16 GEMM (kernels/fp16.py) is refused on this CPU, the
backends needing it fall back to `fast`, whose `int8_path` then says why ("refused: ...").
Each backend module is imported only when chosen.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from ..interface import GenerationBackend
    from ..models.loading import DalleModules

_LOGGER = logging.getLogger(__name__)

BACKEND_NAMES: Final = ("reference", "fast", "int8", "int8-raw", "fp16")


def make_backend(name: str, modules: DalleModules) -> GenerationBackend:
    """Return the backend called `name` over loaded modules; ValueError for an unknown name."""
    if name == "reference":
        from .reference import ReferenceBackend

        return ReferenceBackend(modules)
    if name == "fast":
        from .fast import FastBackend

        return FastBackend(modules)
    if name in ("int8", "int8-raw", "fp16"):
        refusal = _refusal(name)
        if refusal is not None:
            from .fast import FastBackend

            _LOGGER.warning("Backend %s refused, using fast instead: %s", name, refusal)
            fallback = FastBackend(modules)
            fallback.int8_path = f"refused: {refusal}"
            return fallback
    if name == "fp16":
        from .drafting import DraftedFp16Backend

        return DraftedFp16Backend(modules)
    if name == "int8":
        from .drafting import DraftedInt8Backend

        return DraftedInt8Backend(modules)
    if name == "int8-raw":
        from .int8_raw import Int8Backend

        return Int8Backend(modules)
    raise ValueError(f"unknown generation backend {name!r} (choose {', '.join(BACKEND_NAMES)})")


def _refusal(name: str) -> str | None:
    """Why the CPU backend `name` cannot run here (its kernels' probe), or None."""
    if name == "fp16":
        from .kernels.fp16 import fp16_refusal

        return fp16_refusal()
    from .kernels.int8_path import int8_path

    return int8_path().refusal
