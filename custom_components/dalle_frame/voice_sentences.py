"""The English sentences the frame understands, and which command a spoken text is.

Several templates can match one text ("paint something new" also fits "paint {prompt}"; "paint
a picture of a cat" fits both "paint {prompt}" and "paint a picture of {prompt}"), and HA's
default agent takes whichever match comes first. `parse_voice_command` decides instead: a
fixed command beats a free prompt, and the template that leaves the shortest prompt wins.
Pure hassil, no HA imports.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Final

from hassil import Intents, recognize_all
from hassil.intents import WildcardSlotList

PROMPT_SLOT: Final = "prompt"


class VoiceAction(StrEnum):
    """What a sentence asks the frame to do."""

    PAINT = "paint"
    NEW_PROMPT = "new_prompt"
    REGENERATE = "regenerate"


SENTENCES: Final[dict[VoiceAction, tuple[str, ...]]] = {
    VoiceAction.PAINT: (
        "[please] paint {prompt}",
        "[please] paint [me] (a|an) (picture|painting|image) of {prompt}",
        "[please] draw [me] {prompt}",
        "[please] draw [me] (a|an) (picture|drawing|image) of {prompt}",
        "[please] show me {prompt} on the [picture] frame",
    ),
    VoiceAction.NEW_PROMPT: (
        "[please] (paint|draw) something (new|else)",
        "[please] (paint|draw) [me] a new (picture|painting|image)",
        "[please] show [me] something new [on the [picture] frame]",
    ),
    VoiceAction.REGENERATE: (
        "[please] regenerate the (picture|painting|image)",
        "[please] repaint the (picture|painting|image)",
        "[please] (paint|draw) (it|that|the picture) again",
    ),
}
"""Templates in hassil syntax: [optional], (one|other), {prompt} is free text."""

ALL_SENTENCES: Final = [sentence for group in SENTENCES.values() for sentence in group]


@dataclass(frozen=True, kw_only=True)
class VoiceCommand:
    """A recognised command; `prompt` is set for PAINT only."""

    action: VoiceAction
    prompt: str | None = None


def parse_voice_command(text: str) -> VoiceCommand | None:
    """Return the command `text` says, or None when it is not one of the frame's sentences."""
    fixed: VoiceAction | None = None
    prompts: list[str] = []
    for result in recognize_all(text, _intents()):
        action = VoiceAction(result.intent.name)
        if action is not VoiceAction.PAINT:
            fixed = fixed or action
        elif (entity := result.entities.get(PROMPT_SLOT)) is not None and (
            prompt := _clean_prompt(str(entity.value))
        ):
            prompts.append(prompt)
    if fixed is not None:
        return VoiceCommand(action=fixed)
    if prompts:
        return VoiceCommand(action=VoiceAction.PAINT, prompt=min(prompts, key=len))
    return None


def _clean_prompt(prompt: str) -> str:
    """Drop a trailing "please" and extra whitespace."""
    words = prompt.split()
    if words and words[-1].lower() == "please":
        words.pop()
    return " ".join(words)


@cache
def _intents() -> Intents:
    """Return the sentences as hassil intents, one per action (built once)."""
    intents = Intents.from_dict(
        {
            "language": "en",
            "intents": {
                action.value: {"data": [{"sentences": list(sentences)}]}
                for action, sentences in SENTENCES.items()
            },
        }
    )
    intents.slot_lists[PROMPT_SLOT] = WildcardSlotList(PROMPT_SLOT)
    return intents
