"""The recognizer contract and registry.

A recognizer is a presidio `PatternRecognizer` subclass whose class attributes are data:
`ENTITY` (one of our `PhiType` labels), `PATTERNS` (named, scored regexes; a `CuedPattern` also
names a word it cannot match without), `CONTEXT` (words that raise the score when nearby) and
`CASE_SENSITIVE`. `@register` adds it to `RECOGNIZERS` by name; `build_registry` (in
`governance.deid.engine`) instantiates every registered class.
"""

from __future__ import annotations

from typing import ClassVar, TypeVar

import regex
from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer, RecognizerResult
from presidio_analyzer.pattern_recognizer import REGEX_TIMEOUT_SECONDS
from spacy.lang.en.stop_words import STOP_WORDS

from governance.deid.errors import DeidError

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


class CuedPattern(Pattern):
    """A pattern that cannot match in a text without its `cue`, a word the pattern itself
    requires ("hospital" for "St. Luke's Hospital"). The recognizer looks for the cue first and
    skips the pattern on a text without it: a regex that starts with words is found several
    times faster than one that starts with a capitalised word or a look-behind, and most notes
    name no facility. The cue must be implied by the pattern (tests check that detections are
    the same with and without cues); it is compiled with the recognizer's flags."""

    def __init__(self, name: str, regex: str, score: float, cue: str) -> None:
        super().__init__(name=name, regex=regex, score=score)
        self.cue = cue


class ClinicalPatternRecognizer(PatternRecognizer):
    ENTITY: ClassVar[str]
    PATTERNS: ClassVar[list[Pattern]]
    CONTEXT: ClassVar[list[str]] = []
    CASE_SENSITIVE: ClassVar[bool] = False
    # Off only in tests, to check that every cue is implied by its pattern.
    use_cues: ClassVar[bool] = True

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
        for pattern in self.patterns:
            pattern.compiled_regex = regex.compile(pattern.regex, flags=flags)
            pattern.compiled_with_flags = flags
        self._cues = [
            regex.compile(p.cue, flags=flags) if isinstance(p, CuedPattern) else None
            for p in self.patterns
        ]

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts=None, regex_flags: int | None = None
    ) -> list[RecognizerResult]:
        """Presidio's pattern loop (same results, explanations and validation hooks), with
        two changes: a `CuedPattern` whose cue is absent is skipped, and a pattern that times
        out raises instead of being skipped, since a skipped pattern is a missed identifier."""
        if regex_flags is not None and regex_flags != self.global_regex_flags:
            return super().analyze(text, entities, nlp_artifacts, regex_flags)
        results: list[RecognizerResult] = []
        for pattern, cue in zip(self.patterns, self._cues, strict=True):
            if cue is not None and self.use_cues and cue.search(text) is None:
                continue
            try:
                results.extend(self._pattern_results(text, pattern))
            except TimeoutError as e:
                raise DeidError(
                    f"de-identification pattern {self.name}/{pattern.name} timed out after "
                    f"{REGEX_TIMEOUT_SECONDS} s"
                ) from e
        return EntityRecognizer.remove_duplicates(results)

    def _pattern_results(self, text: str, pattern: Pattern) -> list[RecognizerResult]:
        flags = self.global_regex_flags
        results = []
        for match in pattern.compiled_regex.finditer(text, timeout=REGEX_TIMEOUT_SECONDS):
            start, end = match.span()
            matched = text[start:end]
            if not matched:
                continue
            validation = self.validate_result(matched)
            explanation = self.build_regex_explanation(
                self.name, pattern.name, pattern.regex, pattern.score, validation, flags
            )
            score = pattern.score
            if validation is not None:
                score = EntityRecognizer.MAX_SCORE if validation else EntityRecognizer.MIN_SCORE
            if self.invalidate_result(matched):
                score = EntityRecognizer.MIN_SCORE
            if score > EntityRecognizer.MIN_SCORE:
                explanation.score = score
                results.append(
                    RecognizerResult(
                        entity_type=self.supported_entities[0],
                        start=start,
                        end=end,
                        score=score,
                        analysis_explanation=explanation,
                        recognition_metadata={
                            RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                        },
                    )
                )
        return results
