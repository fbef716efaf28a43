"""Names of patients, clinicians and relatives, found by the words real notes put around them.

spaCy's PERSON entities (see `engine.py`) find capitalised full names; these patterns find the
rest: lower-case or single names after a title ("dr healey"), a relation ("wife Peggy"), a role
label ("Attending: ..."), a reporting verb ("per Rizzo"), or before a credential ("Bean RN").
Accuracy: measured by `cds deid eval` on the PhysioNet nursing notes and the demo corpus
(docs/deid.md).
"""

import regex
from presidio_analyzer import EntityRecognizer, Pattern, RecognizerResult

from governance.deid import lexicon
from governance.deid.recognizers.base import NOT_A_NAME, ClinicalPatternRecognizer, register

_WORD = r"[A-Za-z][A-Za-z'\-]+"
_CAP = r"(?-i:[A-Z][a-z][A-Za-z'\-]*)"  # Capitalised, not ALL-CAPS prose
_TITLES = r"(?:dr|doctor|drs|(?-i:Mr|Mrs|Ms|Miss|Mx|Prof|Rev|MR|MRS))"  # "MS" = mental status
_RELATIONS = (
    r"(?:wife|husband|spouse|son|daughter|sister|brother|mother|father|mom|dad|mum|friend|"
    r"niece|nephew|aunt|uncle|grandson|granddaughter|grandmother|grandfather|fiance|fiancee|"
    r"partner|neighbor|neighbour|cousin|sister-in-law|brother-in-law|son-in-law|"
    r"daughter-in-law|mother-in-law|father-in-law|boyfriend|girlfriend|hcp|proxy|guardian|"
    r"caregiver|roommate|stepson|stepdaughter|sibling|child|nok)"
)
_ROLES = (
    r"(?:patient|pt|name|pt name|patient name|attending|resident|intern|fellow|pcp|provider|"
    r"physician|surgeon|np|pa|rn|nurse|case manager|social worker|sw|contact|emergency contact|"
    r"next of kin|signed by|electronically signed by|dictated by|cosigned by|seen and examined by|"
    r"seen by|referred by|referring physician|cc)"
)
_CREDENTIALS = r"(?-i:(?:RN|MD|DO|NP|PA|PA-C|RRT|PT|OT|SW|MSW|LICSW|LPN|CNA|PharmD|RD|FACP|PhD))"


@register
class NameRecognizer(ClinicalPatternRecognizer):
    ENTITY = "NAME"
    PATTERNS = [
        Pattern("title + name", rf"(?<=\b{_TITLES}\.?\s{{1,3}}){_WORD}(?:[ \t]+{_CAP})?", 0.85),
        Pattern(
            "relation + name",
            rf"(?<=\b{_RELATIONS}(?:'s)?(?:\s*[,(:\-]\s*|\s+|\s+named\s+|\s+is\s+)){_WORD}"
            rf"(?:[ \t]+{_CAP})?",
            0.6,
        ),
        Pattern(
            "role label + name",
            rf"(?<=\b{_ROLES}\s*[:\-]\s*(?:dr\.?\s+)?){_WORD}(?:[ \t]+{_CAP}){{0,2}}",
            0.7,
        ),
        Pattern("name + credential", rf"{_CAP}(?:[ \t]+{_CAP})?(?=,?\s+{_CREDENTIALS}\b)", 0.7),
        Pattern(
            "reporting verb + capitalised name",
            rf"(?<=\b(?:per|paged|called|spoke with|spoke to|seen by|notified|informed|"
            rf"discussed with|d/w|by)\s+){_CAP}(?:[ \t]+{_CAP})?(?=\s*(?:[,.;:)]|$|\s))",
            0.35,
        ),
        Pattern("initial + surname", r"(?-i:\b[A-Z]\.\s?[A-Z][a-z]+\b)", 0.4),
    ]
    CONTEXT = ["dr", "doctor", "md", "rn", "wife", "husband", "daughter", "son", "name", "per"]

    def invalidate_result(self, pattern_text: str) -> bool | None:
        first_word = pattern_text.split()[0].strip(".,")
        first = first_word.lower()
        # "Ms. May" in a mixed-case note is a name ("May" is a stop word but also a given
        # name); "CC: Has a cough" is not ("Has" is no name).
        written_like_a_name = first_word[:1].isupper() and not first_word.isupper()
        name_word = written_like_a_name and first in lexicon.ENGLISH_WORD_NAMES
        return len(first) < 2 or (first in NOT_A_NAME and not name_word)


@register
class GazetteerNameRecognizer(EntityRecognizer):
    """Names with no cue around them ("HOUSE STAFF mary souza AWARE", "SUSAN"): a given name
    from the gazetteer (`lexicon.first_names`) that is not an ordinary word, plus up to two
    following name-like words; or an initial followed by a known surname ("J SMITH").
    Case-blind, so it works on ALL-CAPS and all-lower-case notes where NER does not."""

    ENTITY = "NAME"
    _TOKEN = regex.compile(r"[A-Za-z][A-Za-z'\-]*")

    def __init__(self) -> None:
        super().__init__(
            supported_entities=[self.ENTITY], name=type(self).__name__, supported_language="en"
        )

    def load(self) -> None:
        self.first = lexicon.first_names()
        self.last = lexicon.last_names()
        self.common = lexicon.common_words()

    def _name_like(self, word: str) -> bool:
        w = word.lower().strip("'-")
        return len(w) >= 2 and w not in self.common and w not in NOT_A_NAME

    def analyze(self, text: str, entities: list[str], nlp_artifacts=None) -> list[RecognizerResult]:
        tokens = list(self._TOKEN.finditer(text))
        results = []
        i = 0
        while i < len(tokens):
            word = tokens[i].group().lower()
            start = None
            if len(word) >= 3 and word in self.first and self._name_like(word):
                start, score = i, 0.5
            elif (
                len(word) == 1
                and i + 1 < len(tokens)
                and tokens[i + 1].group().lower() in self.last
                and self._name_like(tokens[i + 1].group())
                and regex.fullmatch(r"\.?[ \t]+", text[tokens[i].end() : tokens[i + 1].start()])
            ):
                start, score = i, 0.5
                i += 1
            if start is None:
                i += 1
                continue
            end = i
            while (
                end + 1 < len(tokens)
                and end - i < 2
                and regex.fullmatch(r"[ \t]+", text[tokens[end].end() : tokens[end + 1].start()])
                and self._name_like(tokens[end + 1].group())
            ):
                end += 1
                score = 0.6
            results.append(
                RecognizerResult(
                    self.ENTITY,
                    tokens[start].start(),
                    tokens[end].end(),
                    score,
                    analysis_explanation=None,
                )
            )
            i = end + 1
        return results
