"""Only the network at work keeps its weights resident: the others' file pages are let go.

A request runs the encoder once, the decoder for 256 steps, then the VQGAN detokenizer. When
the networks use their weights in place from memory-mapped files (generation/models/loading.py), the pages
each one touched stay in the process's resident set until released. `WeightResidency` releases
the other networks' pages whenever the work moves to another network, so the process holds the
weights of one network at a time instead of all three: on mini (float32, the 2-core EPYC) the
encoder's ~0.8 GB are gone while the decoder runs. Bringing pages back costs minor page faults
from the page cache (the decoder's first step after a release: ~15 ms more), or disk reads
where the kernel reclaimed them under memory pressure, which is the point: clean file pages
are memory the kernel can take back, anonymous copies are not.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping

from .memory import MappedWeights

_LOGGER = logging.getLogger(__name__)


class WeightResidency:
    """Tracks which network is at work and releases the mapped weights of the others."""

    def __init__(self, mapped: Mapping[str, MappedWeights]) -> None:
        self._mapped = dict(mapped)
        self._current: str | None = None
        self._lock = threading.Lock()

    @property
    def networks(self) -> tuple[str, ...]:
        """The networks whose weights are mapped (the only ones this can release)."""
        return tuple(self._mapped)

    def enter(self, network: str) -> None:
        """Note that `network` starts work; release the others if the work moved."""
        with self._lock:
            if network == self._current:
                return
            self._current = network
            self._release(name for name in self._mapped if name != network)

    def release(self, network: str) -> None:
        """Release one network's mapped weights now (nothing if it has none)."""
        with self._lock:
            if network == self._current:
                self._current = None
            self._release([network] if network in self._mapped else [])

    def release_all(self) -> None:
        """Release every network's mapped weights (after loading, or when idle)."""
        with self._lock:
            self._current = None
            self._release(self._mapped)

    def _release(self, names: Iterable[str]) -> None:
        """Release the named networks' pages and log how much went."""
        released = {name: self._mapped[name].release() for name in names}
        if released:
            _LOGGER.debug(
                "Released mapped weights: %s",
                ", ".join(f"{name} {size / 2**20:.0f} MiB" for name, size in released.items()),
            )
