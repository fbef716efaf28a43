"""Names of patients, clinicians and relatives, found by the words real notes put around them.

spaCy's PERSON entities (see `engine.py`) find capitalised full names; these patterns find the
rest: lower-case or single names after a title ("dr healey"), a relation ("wife Peggy"), a role
label ("Attending: ..."), a reporting verb ("per Rizzo"), or before a credential ("Bean RN").
Accuracy: measured by `cds deid eval` on the PhysioNet nursing notes and the demo corpus
(docs/deid.md).
"""

import regex
from presidio_analyzer import EntityRecognizer, Pattern, RecognizerResult
from spacy.lang.en.stop_words import STOP_WORDS

from governance.deid import lexicon
from governance.deid.recognizers.base import (
    NOT_A_NAME,
    STRONG_CUE_SCORE,
    ClinicalPatternRecognizer,
    CuedPattern,
    register,
)

_WORD = r"[A-Za-z][A-Za-z'\-]+"
_CAP = r"(?-i:\p{Lu}\p{Ll}[\p{L}'\-]*)"  # Capitalised (any script: "Šárka"), not ALL-CAPS
# Titles, and clergy who visit ("Rabbi Klein"); "MS" is mental status, "mr" mitral regurgitation.
_TITLES = r"(?:dr|doctor|prof|rabbi|chaplain|reverend|pastor|mrs|(?-i:Mr|Ms|Miss|Mx|Rev|MR|mr\.))"
# "Dr. Price", "DR.GOLINI", "Dr B Muse", "DR. L. RUUSKA": an optional initial after the title.
_AFTER_TITLE = r"(?:\.\s{0,3}|\s{1,3})"
_INITIAL = r"(?:(?-i:[A-Z])\.?[ \t]+)?"
# Text that ends in a title: what follows is a person ("Dr. Pain"), whatever the word.
ENDS_IN_TITLE = regex.compile(rf"(?i)\b{_TITLES}{_AFTER_TITLE}{_INITIAL}$")
# Cheap checks before a costly look-behind: a word starts here, after a space or a dot.
_WORD_START = r"\b(?=[A-Za-z])(?<=[\s.])"
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
    r"seen by|referred by|referring physician)"
)
# "4L NP", "2-4L NP-": nasal prongs after an oxygen flow, not a nurse practitioner.
_NOT_NASAL_PRONGS = r"(?<!\d[ \t]*(?:l|lpm)[ \t]*np\s*[:\-]?\s*)"
_CREDENTIALS = r"(?-i:(?:RN|MD|NP|PA-C|RRT|MSW|LICSW|LPN|CNA|PharmD|RD|FACP|PhD))"
# Who a team is ("Transplant surgeon", "Renal team"): what comes before is a service.
_TEAM_ROLE = (
    r"(?i:(?:surgeons?|surgery|team|service|fellows?|residents?|attendings?|consult|staff|"
    r"nurses?|physicians?|doctors?)\b)"
)
# Credentials that are also clinical words ("Continue PT", "Hemodynamics PA"): weak cue.
_AMBIGUOUS_CREDENTIALS = r"(?-i:(?:DO|PA|PT|OT|SW))"


@register
class TitledInitialRecognizer(ClinicalPatternRecognizer):
    """ "WITH MS S. CARE", "Mr B. refused": a patient named by title and initial only. Found by
    its form, so the engine keeps it although a lone initial is otherwise no name."""

    ENTITY = "NAME"
    CASE_SENSITIVE = True
    PATTERNS = [
        Pattern(
            "title + initial",
            r"\b(?=[A-Z]\.(?:[ \t]|$))(?<=\b(?:MS|MR|MRS|MISS|Ms|Mr|Mrs|Miss)\.?[ \t]+)[A-Z]",
            0.7,
        )
    ]


@register
class NameRecognizer(ClinicalPatternRecognizer):
    ENTITY = "NAME"
    PATTERNS = [
        Pattern(
            "title + name",
            rf"{_WORD_START}(?<=\b{_TITLES}{_AFTER_TITLE}){_INITIAL}{_WORD}(?:[ \t]+{_CAP})?",
            0.85,
        ),
        # "Drs Ferullo and Saeed", "DRS JOSEPH AND ROBBINSON": every name of the list.
        Pattern(
            "names after drs",
            rf"{_WORD_START}(?<=\bdrs{_AFTER_TITLE}(?:{_WORD}\s*(?:,|and|&)\s*){{0,3}}){_WORD}",
            0.85,
        ),
        # Nurse practitioners and nurses named by their role: "NP CAROL", "per RN Jen".
        Pattern(
            "role + name",
            rf"{_WORD_START}(?<=\b(?-i:NP|RN|Np|np|rn)\s+){_NOT_NASAL_PRONGS}{_INITIAL}{_WORD}",
            0.6,
        ),
        # "MS SANTANGELO": weak, as "MS" is also mental status ("MS CHANGES" is dropped as
        # ordinary language by the engine).
        Pattern("MS + name", rf"{_WORD_START}(?<=\b(?-i:MS)\.?\s+){_WORD}", 0.45),
        CuedPattern(
            "relation + name",
            # "wife Peggy", "son's name is Ray"; not "daughter's wedding" (what she has)
            # (on the relation's line: "MOM\n GU--VOIDING" is a new section)
            rf"(?<=\b{_RELATIONS}(?:(?:'s)?(?:[ \t]*[,(:\-][ \t]*|[ \t]+named[ \t]+|[ \t]+is[ \t]+)"
            rf"|[ \t]+)){_WORD}"
            rf"(?:[ \t]+{_CAP})?",
            0.6,
            cue=rf"\b{_RELATIONS}",
        ),
        CuedPattern(
            "role label + name",
            # "PT - EXPLAINING COURSE": after a dash, "pt" is the patient, and a name is on
            # the label's line
            rf"(?<=\b(?:{_ROLES}\s*:\s*|(?!pt\b|patient\b){_ROLES}[ \t]*-[ \t]*)(?:dr\.?\s+)?)"
            rf"{_NOT_NASAL_PRONGS}{_WORD}"
            rf"(?:[ \t]+{_CAP}){{0,2}}",
            0.7,
            cue=rf"\b{_ROLES}\s*[:\-]",
        ),
        Pattern("name + credential", rf"{_CAP}(?:[ \t]+{_CAP})?(?=,?\s+{_CREDENTIALS}\b)", 0.7),
        Pattern(
            "name + ambiguous credential",
            # "Hemodynamics PA 54/18": a pressure, not a physician assistant
            rf"{_CAP}(?:[ \t]+{_CAP})?(?=,?\s+{_AMBIGUOUS_CREDENTIALS}\b(?![ \t]*[\d.]))",
            0.45,
        ),
        # ALL-CAPS and lower-case notes ("MURIELE WILLIAM RN", "florencia cooke np"): weak, so
        # words that are all ordinary ("NIGHT RN", "covering np") are dropped by the engine.
        CuedPattern(
            "any-case name + credential",
            # "eval by MD", "tox per rn": the credential's person is not named
            rf"\b{_WORD}(?:[ \t]+{_WORD})?(?<!\b(?:by|per|with|from|to|for|of|at|and|or|the|via))"
            r"(?=,?[ \t]+(?:rn|np|md)\b)",
            0.45,
            cue=r"\b(?:rn|np|md)\b",
        ),
        Pattern(
            "reporting verb + capitalised name",
            rf"(?<=\b(?:per|paged|called|spoke with|spoke to|seen by|notified|informed|"
            rf"discussed with|d/w|by)\s+)"
            # not a service: "Seen by Cardiac Transplant surgeon"
            rf"(?!{_CAP}(?:[ \t]+{_CAP})?[ \t]+{_TEAM_ROLE})"
            rf"{_CAP}(?:[ \t]+{_CAP})?(?=\s*(?:[,.;:)]|$|\s))",
            0.35,
        ),
        # Not a side or a symptom pair: "R>L. Suct", "N/V. Droperidol".
        Pattern("initial + surname", r"(?-i:(?<![/<>=])\b[A-Z]\.\s?[A-Z][a-z]+\b)", 0.4),
        # Self-introductions and answers: "My name is Siiri", "last name? Magnusson".
        Pattern(
            "introduced name",
            rf"(?<=\b(?:my name is|name is|named|i am|i'm|this is|name\?|name:)[ \t]+)"
            rf"{_CAP}(?:[ \t]+{_CAP}){{0,2}}",
            0.5,
        ),
    ]
    CONTEXT = ["dr", "doctor", "md", "rn", "wife", "husband", "daughter", "son", "name", "per"]

    def invalidate_result(self, pattern_text: str) -> bool | None:
        # The first word that is not an initial ("B Muse" is judged by "Muse").
        words = [w.strip(".,") for w in pattern_text.split()]
        first_word = next((w for w in words if len(w) >= 2), "")
        first = first_word.lower()
        # "Ms. May" in a mixed-case note is a name ("May" is a stop word but also a given
        # name), and so is "son Said" ("son said that" is not); "CC: Has a cough" is not ("Has"
        # is no name).
        written_like_a_name = first_word[:1].isupper() and not first_word.isupper()
        name_word = written_like_a_name and (
            first in lexicon.ENGLISH_WORD_NAMES
            or (lexicon.is_name(first) and first not in STOP_WORDS)
        )
        return len(first) < 2 or (first in NOT_A_NAME and not name_word)


# A word an eponym stands before: "Graves disease", "DOUGLAS POUCH", "Foley catheter".
_EPONYM_HEAD = regex.compile(
    r"(?i:(?:'s)?[ \t]+(?:disease|syndrome|sign|test|criteria|pouch|reflex|maneuver|manoeuvre|"
    r"catheter|procedure|score|scale|palsy|ulcer|fracture|triad|phenomenon|murmur|node)\b)"
)


# The case a name's next word may have, after a word of each case ("Patricia WAITE").
_NEXT_CASES = {
    "title": ("title", "upper"),
    "upper": ("upper",),
    "lower": ("lower",),
    "initial": ("title", "upper"),
}
# Lower-case particles inside a capitalised name: "Dyan van Gijn", "Villafranca del Cid".
_NAME_PARTICLES = frozenset(
    ("van", "von", "de", "del", "della", "delle", "der", "den", "di", "da", "du", "dos", "das")
    + ("la", "le", "ter", "ten", "bin", "ibn", "al", "y")
)


def _keeps_case(word: str, next_word: str) -> bool:
    """In a mixed-case note, a name's next word keeps its case ("Aloe Vesta oint" and "22#
    gauge PIV" are no names), a particle aside."""
    shape = "initial" if len(word) == 1 else _case(word)
    return (
        _case(next_word) in _NEXT_CASES[shape]
        or next_word in _NAME_PARTICLES
        or (word in _NAME_PARTICLES and _case(next_word) == "title")
    )


def _case(word: str) -> str:
    return "upper" if word.isupper() else "title" if word[:1].isupper() else "lower"


@register
class GazetteerNameRecognizer(EntityRecognizer):
    """Names with no cue around them ("HOUSE STAFF mary souza AWARE", "SUSAN"): a given name
    from the gazetteer (`lexicon.first_names`) that is not an ordinary word, plus up to two
    following name-like words ("KAREN ANN YANULIS": words of the gazetteer count even when
    ordinary); or an initial followed by a known surname ("J SMITH"). Case-blind, so it works
    on ALL-CAPS and all-lower-case notes where NER does not. In a mostly lower-case note, a
    capitalised given name inside a sentence ("supportive to pt, John.") is a name even when
    it is also an ordinary word, unless it is an everyday English word ("Hope")."""

    ENTITY = "NAME"
    _TOKEN = regex.compile(r"[A-Za-z][A-Za-z'\-]*")

    def __init__(self) -> None:
        super().__init__(
            supported_entities=[self.ENTITY], name=type(self).__name__, supported_language="en"
        )

    def load(self) -> None:
        self.first = lexicon.first_names()
        self.last = lexicon.last_names()

    @staticmethod
    def _bare(word: str) -> str:
        """The gazetteer's form of a token: lower case, no possessive ("Smith's" -> "smith")."""
        return word.lower().removesuffix("'s").strip("'-")

    @staticmethod
    def _may_be_a_name(w: str) -> bool:
        """A gazetteer word (bare) that is no everyday word, clinical word or stop word."""
        return (
            w not in lexicon.ENGLISH_WORD_NAMES
            and w not in lexicon.CLINICAL_VOCABULARY  # "Warren Grant EW", "Aline placed"
            and w not in NOT_A_NAME
        )

    def _name_like(self, word: str) -> bool:
        w = self._bare(word)
        return len(w) >= 2 and not lexicon.is_common(w) and w not in NOT_A_NAME

    def _continues_name(self, word: str) -> bool:
        w = self._bare(word)
        if not (w in self.first or w in self.last):
            return self._name_like(word)
        # "seymour black's house": a possessive after a given name is its surname
        if word.lower().endswith("'s") and w in lexicon.ENGLISH_WORD_NAMES:
            return w not in lexicon.CLINICAL_VOCABULARY and w not in NOT_A_NAME
        return self._name_like(word) or self._may_be_a_name(w)

    def _capitalised_name(self, text: str, token: regex.Match, w: str, mixed_case: bool) -> bool:
        """`w` is the token's bare form (`_bare`)."""
        if not (mixed_case and len(w) >= 3 and w in self.first):
            return False
        word = token.group()
        before = text[max(0, token.start() - 10) : token.start()].rstrip(" \t\"'(")
        inside_a_sentence = bool(before) and before[-1] not in ".!?:;\n-*#>"
        return (
            inside_a_sentence
            and word[0].isupper()
            and word[1:].islower()
            and self._may_be_a_name(w)
            and not _EPONYM_HEAD.match(text, token.end())
        )

    def _given_name_before(
        self, text: str, tokens: list[regex.Match], start: int, found: list[RecognizerResult]
    ) -> bool:
        """ "JOHN SMITH", "John Jones called": a given name that medical text also uses
        ("john" of "St John's wort") is the first word of the name it stands before."""
        if start == 0 or (found and found[-1].end >= tokens[start - 1].end()):
            return False
        before, word = tokens[start - 1].group(), tokens[start].group()
        w = self._bare(before)
        return (
            _case(before) == _case(word)
            and len(w) >= 3
            and w in self.first
            and self._may_be_a_name(w)
            and regex.fullmatch(r"[ \t]+", text[tokens[start - 1].end() : tokens[start].start()])
            is not None
            and not self._in_slash_list(text, tokens[start - 1])
        )

    @staticmethod
    def _after_slash(text: str, token: regex.Match) -> bool:
        return text[token.start() - 1 : token.start()] == "/"

    @classmethod
    def _in_slash_list(cls, text: str, token: regex.Match) -> bool:
        """ "LABS-K/MG/CAL": a word joined to others by slashes is an abbreviation."""
        return cls._after_slash(text, token) or text[token.end() : token.end() + 1] == "/"

    def analyze(self, text: str, entities: list[str], nlp_artifacts=None) -> list[RecognizerResult]:
        tokens = list(self._TOKEN.finditer(text))
        # Each token's gazetteer form, once: the loop below looks at most tokens twice.
        bare = [self._bare(t.group()) for t in tokens]
        # map() over str methods counts in C; a generator over the characters took a fifth
        # of this recognizer's time on nursing notes.
        mixed_case = sum(map(str.islower, text)) > 0.7 * sum(map(str.isalpha, text))
        results = []
        i = 0
        while i < len(tokens):
            word = bare[i]
            start = None
            if (
                len(word) >= 3
                and word in self.first
                and self._name_like(word)
                and not self._in_slash_list(text, tokens[i])
                and not _EPONYM_HEAD.match(text, tokens[i].end())  # "DOUGLAS POUCH"
            ):
                start, score = i, 0.5
            elif self._capitalised_name(text, tokens[i], word, mixed_case):
                start, score = i, STRONG_CUE_SCORE
            elif (
                len(word) == 1
                and not self._after_slash(text, tokens[i])  # "S/P cab"
                and i + 1 < len(tokens)
                and bare[i + 1] in self.last
                and self._name_like(tokens[i + 1].group())
                # "W SEVERE ISCHEMIC": a "w" without a dot is "with"
                and regex.fullmatch(
                    r"\.[ \t]+" if word == "w" else r"\.?[ \t]+",
                    text[tokens[i].end() : tokens[i + 1].start()],
                )
            ):
                start, score = i, 0.5
                i += 1
            elif (
                i + 1 < len(tokens)
                and bare[i + 1] in self.last
                and self._continues_name(tokens[i + 1].group())
                and self._given_name_before(text, tokens, i + 1, results)
            ):
                start, score = i, 0.5
            if start is None:
                i += 1
                continue
            if self._given_name_before(text, tokens, start, results):
                start -= 1
            end = i
            while (
                end + 1 < len(tokens)
                and end - i < 2
                and not tokens[end].group().lower().endswith("'s")  # "black's house": it ends
                and regex.fullmatch(r"[ \t]+", text[tokens[end].end() : tokens[end + 1].start()])
                and self._continues_name(tokens[end + 1].group())
                and (
                    not mixed_case
                    # a token cut out of a word by a letter outside ASCII ("J|ú|lia") has no case
                    or text[tokens[end].start() - 1 : tokens[end].start()].isalpha()
                    or _keeps_case(tokens[end].group(), tokens[end + 1].group())
                )
            ):
                end += 1
                score = max(score, 0.6)
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
