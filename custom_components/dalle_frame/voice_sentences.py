"""The sentences the frame understands, per language, and which command a spoken text is.

English, German, French, Spanish and Dutch, the same three commands in each. Several templates
can match one text ("paint something new" also fits "paint {prompt}"; "paint a picture of a
cat" fits both "paint {prompt}" and "paint a picture of {prompt}"), and HA's default agent
takes whichever match comes first. `parse_voice_command` decides instead: a fixed command
beats a free prompt, and the template that leaves the shortest prompt wins. The speaker's
language is tried first, then the others (a pipeline's language need not be HA's). Pure
hassil, no HA imports.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Final

from hassil import Intents, recognize_all
from hassil.intents import WildcardSlotList

PROMPT_SLOT: Final = "prompt"
DEFAULT_LANGUAGE: Final = "en"


class VoiceAction(StrEnum):
    """What a sentence asks the frame to do."""

    PAINT = "paint"
    NEW_PROMPT = "new_prompt"
    REGENERATE = "regenerate"


SENTENCES_BY_LANGUAGE: Final[dict[str, dict[VoiceAction, tuple[str, ...]]]] = {
    "en": {
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
    },
    "de": {
        VoiceAction.PAINT: (
            "[bitte] (male|mal) [mir] [bitte] {prompt}",
            "[bitte] (male|mal) [mir] [bitte] ein (bild|gemälde) (von|vom) {prompt}",
            "[bitte] zeichne [mir] [bitte] {prompt}",
            "[bitte] zeichne [mir] [bitte] (ein bild|eine zeichnung) (von|vom) {prompt}",
            "[bitte] (zeig|zeige) mir {prompt} (auf dem|im) [bilder]rahmen",
        ),
        VoiceAction.NEW_PROMPT: (
            "[bitte] (male|mal|zeichne) [mir] [bitte] etwas (neues|anderes)",
            "[bitte] (male|mal|zeichne) [mir] [bitte] ein neues (bild|gemälde)",
            "[bitte] (zeig|zeige) [mir] etwas neues [(auf dem|im) [bilder]rahmen]",
        ),
        VoiceAction.REGENERATE: (
            "[bitte] (male|mal|zeichne) (das bild|es) [bitte] (noch einmal|nochmal|neu)",
            "[bitte] (erzeuge|generiere) das bild neu",
        ),
    },
    "fr": {
        VoiceAction.PAINT: (
            "peins[-moi| moi] {prompt}",
            "peins[-moi| moi] (un tableau|une image|une peinture) de {prompt}",
            "dessine[-moi| moi] {prompt}",
            "dessine[-moi| moi] (un dessin|une image) de {prompt}",
            "montre[-moi| moi] {prompt} sur le cadre",
        ),
        VoiceAction.NEW_PROMPT: (
            "(peins|dessine)[-moi| moi] quelque chose de (nouveau|différent)",
            "(peins|dessine)[-moi| moi] quelque chose d'autre",
            "(peins|dessine)[-moi| moi] (une nouvelle image|un nouveau tableau)",
            "montre[-moi| moi] quelque chose de nouveau [sur le cadre]",
        ),
        VoiceAction.REGENERATE: (
            "(repeins|redessine|régénère|refais) (l'image|le tableau|la peinture|le dessin)",
            "(peins|dessine)[-le| le|-la| la] (encore une fois|à nouveau|de nouveau)",
        ),
    },
    "es": {
        VoiceAction.PAINT: (
            "[por favor] (pinta|píntame|pintame) {prompt}",
            "[por favor] (pinta|píntame|pintame) (un cuadro|una imagen|una pintura) de {prompt}",
            "[por favor] (dibuja|dibújame|dibujame) {prompt}",
            "[por favor] (dibuja|dibújame|dibujame) (un dibujo|una imagen) de {prompt}",
            "[por favor] (muéstrame|muestrame) {prompt} en el marco",
        ),
        VoiceAction.NEW_PROMPT: (
            "[por favor] (pinta|píntame|pintame|dibuja|dibújame|dibujame) algo "
            "(nuevo|diferente|distinto)",
            "[por favor] (pinta|píntame|pintame|dibuja|dibújame|dibujame) "
            "(una nueva imagen|una imagen nueva|un nuevo cuadro|un cuadro nuevo)",
            "[por favor] (muéstrame|muestrame) algo nuevo [en el marco]",
        ),
        VoiceAction.REGENERATE: (
            "[por favor] (regenera|repinta) (la imagen|el cuadro|la pintura)",
            "[por favor] (pinta|píntalo|pintalo|dibuja|dibújalo|dibujalo) (otra vez|de nuevo)",
        ),
    },
    "nl": {
        VoiceAction.PAINT: (
            "schilder [voor me] {prompt}",
            "schilder [voor me] een (schilderij|afbeelding|plaatje) van {prompt}",
            "teken [voor me] {prompt}",
            "teken [voor me] een (tekening|afbeelding|plaatje) van {prompt}",
            "laat [me] {prompt} zien op de [foto]lijst",
        ),
        VoiceAction.NEW_PROMPT: (
            "(schilder|teken) [voor me] iets (nieuws|anders)",
            "(schilder|teken) [voor me] (een nieuw schilderij|een nieuwe afbeelding|een nieuw "
            "plaatje|een nieuwe tekening)",
            "laat [me] iets nieuws zien [op de [foto]lijst]",
        ),
        VoiceAction.REGENERATE: (
            "(schilder|teken) (het|dat|het schilderij|de afbeelding) opnieuw",
            "(genereer|maak) (het schilderij|de afbeelding|het plaatje) opnieuw",
        ),
    },
}
"""Templates in hassil syntax: [optional], (one|other), {prompt} is free text."""

SENTENCES: Final = SENTENCES_BY_LANGUAGE[DEFAULT_LANGUAGE]
"""The English templates."""

LANGUAGES: Final = tuple(SENTENCES_BY_LANGUAGE)

ALL_SENTENCES: Final = list(
    dict.fromkeys(
        sentence
        for sentences in SENTENCES_BY_LANGUAGE.values()
        for group in sentences.values()
        for sentence in group
    )
)
"""Every language's templates, each once: what the built-in agent is given."""

_POLITE_ENDINGS: Final = (
    ("please",),
    ("bitte",),
    ("s'il", "te", "plaît"),
    ("s'il", "vous", "plaît"),
    ("por", "favor"),
    ("alsjeblieft",),
    ("alstublieft",),
)


@dataclass(frozen=True, kw_only=True)
class VoiceCommand:
    """A recognised command; `prompt` is set for PAINT only."""

    action: VoiceAction
    prompt: str | None = None


def base_language(language: str | None) -> str:
    """Return the sentence language for an HA language tag ("de-CH" -> "de"; else English)."""
    code = (language or DEFAULT_LANGUAGE).replace("_", "-").split("-")[0].lower()
    return code if code in SENTENCES_BY_LANGUAGE else DEFAULT_LANGUAGE


def parse_voice_command(text: str, language: str | None = None) -> VoiceCommand | None:
    """Return the command `text` says, or None when it is not one of the frame's sentences.

    The sentences of `language` (an HA language tag; None: English) are tried first, then
    those of the other languages.
    """
    first = base_language(language)
    for code in (first, *(other for other in LANGUAGES if other != first)):
        command = _parse_in(text, code)
        if command is not None:
            return command
    return None


def _parse_in(text: str, language: str) -> VoiceCommand | None:
    """Return the command `text` says in `language`'s sentences, or None."""
    fixed: VoiceAction | None = None
    prompts: list[str] = []
    for result in recognize_all(text, _intents(language)):
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
    """Drop a trailing "please" (in any of the languages) and extra whitespace."""
    words = prompt.split()
    for ending in _POLITE_ENDINGS:
        tail = [word.lower().replace("’", "'").strip(",.!?") for word in words[-len(ending) :]]
        if len(words) >= len(ending) and tuple(tail) == ending:
            words = words[: -len(ending)]
            break
    return " ".join(words).rstrip(",")


@cache
def _intents(language: str) -> Intents:
    """Return one language's sentences as hassil intents, one per action (built once)."""
    intents = Intents.from_dict(
        {
            "language": language,
            "intents": {
                action.value: {"data": [{"sentences": list(sentences)}]}
                for action, sentences in SENTENCES_BY_LANGUAGE[language].items()
            },
        }
    )
    intents.slot_lists[PROMPT_SLOT] = WildcardSlotList(PROMPT_SLOT)
    return intents
