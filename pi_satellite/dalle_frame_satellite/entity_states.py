"""Entity states kept from Home Assistant's compressed subscribe_entities messages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class EntityState:
    """The state and attributes of one entity."""

    state: str
    """The entity's state; for an image entity, the time its picture last changed."""

    attributes: dict[str, Any] = field(default_factory=dict)
    """The entity's attributes."""


class EntityStates:
    """Applies subscribe_entities events: "a" adds, "c" changes ("+" set, "-" unset), "r" removes.

    See https://developers.home-assistant.io/docs/api/websocket (subscribe_entities).
    """

    def __init__(self) -> None:
        self._states: dict[str, EntityState] = {}

    def get(self, entity_id: str) -> EntityState | None:
        """Return the entity's state, or None when unknown or removed."""
        return self._states.get(entity_id)

    def clear(self) -> None:
        """Forget everything (after a disconnect the next subscription resends all)."""
        self._states.clear()

    def apply(self, event: dict[str, Any]) -> set[str]:
        """Apply one event and return the ids of entities whose state or attributes changed."""
        changed: set[str] = set()
        for entity_id, full in (event.get("a") or {}).items():
            self._states[entity_id] = EntityState(
                state=str(full.get("s", "")), attributes=dict(full.get("a") or {})
            )
            changed.add(entity_id)
        for entity_id, diff in (event.get("c") or {}).items():
            current = self._states.setdefault(entity_id, EntityState(state=""))
            additions = diff.get("+") or {}
            if "s" in additions:
                current.state = str(additions["s"])
            current.attributes.update(additions.get("a") or {})
            for name in (diff.get("-") or {}).get("a") or []:
                current.attributes.pop(name, None)
            changed.add(entity_id)
        for entity_id in event.get("r") or []:
            if self._states.pop(entity_id, None) is not None:
                changed.add(entity_id)
        return changed
