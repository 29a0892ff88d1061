"""A model being loaded in the background: its state for /v1/health and for the handlers."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from .errors import ModelLoadingError, ModelNotAvailableError

ModelT = TypeVar("ModelT")


class SlotState(enum.StrEnum):
    """Where a model is in its life."""

    LOADING = "loading"
    READY = "ready"
    FAILED = "failed"
    DISABLED = "disabled"


@dataclass(eq=False)
class ModelSlot(Generic[ModelT]):
    """One model (generator or transcriber) and what is known about its loading."""

    kind: str
    """"generator" or "asr", for messages."""
    name: str
    """The model's name as configured ("test", "mini", ...)."""
    retry_after: int = 10
    """Seconds a client is told to wait (Retry-After) while this model loads."""
    state: SlotState = SlotState.LOADING
    detail: str = "waiting to load"
    """What the loader is doing right now (shown in /v1/health)."""
    error: str | None = None
    model: ModelT | None = field(default=None, repr=False)

    def set_detail(self, detail: str) -> None:
        """Record the loader's current step."""
        self.detail = detail

    def set_ready(self, model: ModelT) -> None:
        """Publish the loaded model."""
        self.model = model
        self.state = SlotState.READY
        self.detail = "ready"
        self.error = None

    def set_disabled(self) -> None:
        """Record that this model is switched off by configuration."""
        self.state = SlotState.DISABLED
        self.detail = "disabled"

    def set_failed(self, error: str, *, retrying: bool) -> None:
        """Record why loading failed; `retrying` keeps the state "loading"."""
        self.error = error
        self.state = SlotState.LOADING if retrying else SlotState.FAILED
        self.detail = "waiting to try again" if retrying else "failed"

    def require(self) -> ModelT:
        """Return the model, or raise the 503 that says why there is none yet."""
        if self.state is SlotState.READY and self.model is not None:
            return self.model
        if self.state is SlotState.LOADING:
            reason = f" (last attempt failed: {self.error})" if self.error else ""
            raise ModelLoadingError(
                f"the {self.kind} model {self.name!r} is still loading: {self.detail}{reason}; "
                f"try again in {self.retry_after} s",
                retry_after=self.retry_after,
            )
        if self.state is SlotState.DISABLED:
            raise ModelNotAvailableError(f"the {self.kind} model is disabled on this server")
        raise ModelNotAvailableError(
            f"the {self.kind} model {self.name!r} could not be loaded: {self.error}"
        )
