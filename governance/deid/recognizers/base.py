"""The recognizer contract and registry.

A recognizer is a presidio `PatternRecognizer` subclass whose class attributes are data:
`ENTITY` (one of our `PhiType` labels), `PATTERNS` (named, scored regexes), `CONTEXT` (words that
raise the score when nearby) and `CASE_SENSITIVE`. `@register` adds it to `RECOGNIZERS` by name;
`build_registry` (in `governance.deid.engine`) instantiates every registered class.
"""

from __future__ import annotations

from typing import ClassVar, TypeVar

import regex
from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer
from spacy.lang.en.stop_words import STOP_WORDS

RECOGNIZERS: dict[str, type[EntityRecognizer]] = {}
# A score at or above this means a cue (title, relation, role label, credential, named
# facility) found the span: the engine keeps it even when its words are ordinary.
STRONG_CUE_SCORE = 0.6
R = TypeVar("R", bound=type[EntityRecognizer])

# Words that follow "wife", "per", "Dr" etc. without being names ("wife at bedside").
NOT_A_NAME = frozenset(STOP_WORDS) | {
    "male",  # "69yo Male admitted": Faker lists "Male" among given names
    "female",
    "aware",
    "bedside",
    "present",
    "visiting",
    "visited",
    "updated",
    "notified",
    "called",
    "phone",
    "here",
    "home",
    "states",
    "stated",
    "reports",
    "reported",
    "wants",
    "asked",
    "feels",
    "informed",
    "came",
    "left",
    "spoke",
    "plans",
    "concerned",
    "involved",
    "okay",
    "ok",
    "pt",
    "patient",
    "family",
    "team",
    "service",
    "office",
    "note",
    "notes",
    "order",
    "orders",
    "aware.",
    "regarding",
    "re",
    "about",
    "today",
    "tonight",
    "yesterday",
    "tomorrow",
    "protocol",
    "report",
    "request",
    "md",
    "rn",
    "np",
    "np.",
    "iv",
    "po",
    "prn",
    "icu",
    "micu",
    "sicu",
    "ccu",
    "csru",
    "ed",
    "er",
    "or",
    "pacu",
    "floor",
    "unit",
    "nursing",
    "dr",
    "dr.",
    "pager",
    "wife",
    "husband",
    "son",
    "daughter",
    "sister",
    "brother",
    "mother",
    "father",
    "partner",
    "friend",
    # relatives and their roles after another relation word ("proxy is granddaughter", "wife
    # is spokesperson", "GUARDIAN: Niece, Patricia ...": the name, if any, comes next)
    "niece",
    "nephew",
    "aunt",
    "uncle",
    "cousin",
    "grandson",
    "granddaughter",
    "grandmother",
    "grandfather",
    "grandchild",
    "grandchildren",
    "children",
    "kids",
    "parents",
    "sibling",
    "siblings",
    "proxy",
    "guardian",
    "caregiver",
    "spokesperson",
    "hcp",
    "nok",
    # what relatives do in notes ("son said that", "daughter believes"); "said" is also a
    # surname of the gazetteer, so the common-word check alone keeps it
    "said",
    "says",
    "believes",
    "believed",
    "thinks",
    "thought",
    "agrees",
    "agreed",
    "understands",
    "understood",
    "requests",
    "requested",
    "wishes",
    "asks",
    "knows",
    "expressed",
    "verbalized",
    "verbalizes",
    "declined",
    "declines",
    "brought",
    "remains",
    "answered",
    "suddenly",
    "constantly",
    "currently",
    "recently",
    # plans written like names ("Await PT eval")
    "covering",
    "await",
    "awaiting",
}
# Care-team roles written like names ("per Resident", "per Interventional Fellow").
CARE_TEAM_ROLES = frozenset({"resident", "attending", "fellow", "intern", "housestaff"})
NOT_A_NAME |= CARE_TEAM_ROLES


def register(cls: R) -> R:
    name = cls.__name__
    if name in RECOGNIZERS:
        raise ValueError(f"recognizer {name} registered twice")
    RECOGNIZERS[name] = cls
    return cls


class ClinicalPatternRecognizer(PatternRecognizer):
    ENTITY: ClassVar[str]
    PATTERNS: ClassVar[list[Pattern]]
    CONTEXT: ClassVar[list[str]] = []
    CASE_SENSITIVE: ClassVar[bool] = False

    def __init__(self) -> None:
        flags = regex.DOTALL | regex.MULTILINE
        if not self.CASE_SENSITIVE:
            flags |= regex.IGNORECASE
        super().__init__(
            supported_entity=self.ENTITY,
            patterns=list(self.PATTERNS),
            context=list(self.CONTEXT),
            name=type(self).__name__,
            supported_language="en",
            global_regex_flags=flags,
        )
