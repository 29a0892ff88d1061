"""min-dalle's backends by name: `reference`, `fast` (the default), `int8` and `int8-raw`.

`reference` reproduces stock min-dalle's arithmetic step for step; `fast` paints the same
pixels faster; `int8` drafts with int8 arithmetic and keeps the float32 decoder's tokens;
`int8-raw` is int8 alone (approximate). Where int8 arithmetic is refused on this CPU
(kernels/int8_path.py), `int8` and `int8-raw` fall back to `fast`, whose `int8_path` then
says why. Each backend module is imported only when chosen.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from ..interface import GenerationBackend
    from ..models.loading import DalleModules

_LOGGER = logging.getLogger(__name__)

BACKEND_NAMES: Final = ("reference", "fast", "int8", "int8-raw")


def make_backend(name: str, modules: DalleModules) -> GenerationBackend:
    """Return the backend called `name` over loaded modules; ValueError for an unknown name."""
    if name == "reference":
        from .reference import ReferenceBackend

        return ReferenceBackend(modules)
    if name == "fast":
        from .fast import FastBackend

        return FastBackend(modules)
    if name in ("int8", "int8-raw"):
        from .kernels.int8_path import int8_path

        path = int8_path()
        if path.arithmetic is None:
            from .fast import FastBackend

            _LOGGER.warning("Backend %s refused, using fast instead: %s", name, path.refusal)
            fallback = FastBackend(modules)
            fallback.int8_path = path.label
            return fallback
    if name == "int8":
        from .drafting import DraftedInt8Backend

        return DraftedInt8Backend(modules)
    if name == "int8-raw":
        from .int8_raw import Int8Backend

        return Int8Backend(modules)
    raise ValueError(f"unknown generation backend {name!r} (choose {', '.join(BACKEND_NAMES)})")
