"""Geography below the state (street, city, ZIP) and facility names (hospitals, clinics,
nursing homes), which identify where a patient was seen."""

from presidio_analyzer import Pattern

from governance.deid import lexicon
from governance.deid.recognizers.base import ClinicalPatternRecognizer, CuedPattern, register

# USPS standard street suffixes (Publication 28, common subset) and their abbreviations.
_SUFFIX = (
    r"(?:street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|way|place|pl|"
    r"terrace|ter|circle|cir|parkway|pkwy|highway|hwy|square|sq|trail|trl|crossing|xing|"
    r"course|crse|loop|alley|aly|bypass|byp|causeway|center|ctr|cove|cv|creek|crk|crescent|"
    r"cres|estates|ests|expressway|expy|extension|ext|freeway|fwy|gardens|gdns|gateway|gtwy|"
    r"glen|grove|grv|harbor|hbr|heights|hts|hill|hills|hollow|island|junction|jct|key|knoll|"
    r"knolls|lake|lakes|landing|lndg|manor|mnr|meadow|meadows|mews|mill|mills|mission|motorway|"
    r"mount|mountain|orchard|oval|park|pass|path|pike|pine|pines|plaza|plz|point|pt|port|"
    r"prairie|ranch|ridge|rdg|river|row|run|shoal|shoals|shore|shores|spring|springs|spur|"
    r"spurs|station|sta|stravenue|stream|summit|throughway|trace|track|turnpike|tpke|union|"
    r"valley|vly|via|view|views|village|vlg|ville|vista|walk|wall|well|wells|fork|forks|"
    r"ford|fords|forest|flat|flats|field|fields|falls|ferry|divide|dale|dam|camp|canyon|cape|"
    r"cliff|cliffs|club|common|commons|corner|corners|curve|bluff|bluffs|bottom|branch|"
    r"bridge|brook|brooks|burg|burgs|haven|inlet|isle|light|lights|lock|locks|lodge|neck|"
    r"radial|rapid|rapids|rest|route|shoal|skyway|squares|streets|tunnel|underpass|"
    r"green|greens|garden|ports|parks|ways|keys|overpass|ramp)"
)
# USPS codes and the military "states" of APO/FPO mail.
_STATES = rf"(?-i:{'|'.join((*lexicon.US_STATE_CODES, 'AE', 'AP', 'AA', 'FM', 'MH', 'PW'))})"
# State codes that are also English words or clinical abbreviations ("IN", "OR", "CO" carbon
# monoxide, "PA" physician assistant, "MS" mental status); the others name a state's hospital:
# "from MD Hospital", "at NJ Medical Center".
_STATE_CODES_THAT_ARE_WORDS = (
    "AS", "CO", "DE", "GU", "HI", "ID", "IN", "LA", "ME", "MI", "MP", "MS", "OH", "OK", "OR", "PA",
    "VI",
)  # fmt: skip
_STATE_CODES_NOT_WORDS = (
    rf"(?-i:{'|'.join(c for c in lexicon.US_STATE_CODES if c not in _STATE_CODES_THAT_ARE_WORDS)})"
)
_STATE_NAMES = rf"(?:{'|'.join(lexicon.US_STATE_NAMES)})"
_FACILITY = (
    r"(?:hospital|hosp|medical center|med center|medical centre|health center|health centre|"
    r"health system|clinic|nursing home|nursing facility|rehab(?:ilitation)?(?: center| hospital)?|"
    r"nursing agency|home care agency|home health agency|visiting nurse association|"
    r"urgent care|infirmary|hospice|care center|surgery center|emergency department|"
    r"health clinic|family health clinic|memorial hospital|general hospital|community hospital)"
)
# Every pattern that ends in a facility word needs one in the note (`CuedPattern`).
_FACILITY_CUE = rf"\b{_FACILITY}\b"
_TRANSFER_VERB = r"(?:transfer(?:red|ed)?|trans|go|back|sent|moved|admitted|return(?:ed)?|c/o)"
# A dot ends the word unless a letter follows it ("St.", "S." but not "CASE.TO MEET").
_CAPS = r"(?-i:[A-Z](?:[A-Za-z'\-]|\.(?![A-Za-z]))+)"
# "Calvert", not "CALVERT" in an ALL-CAPS note, and not a courtesy title ("from Dr. Vasquez")
_TITLE_CASE = r"(?-i:(?!(?:Dr|Mr|Mrs|Ms|Prof)\b)[A-Z][a-z][A-Za-z'.\-]*)"
# A name goes on past "St." or "Mt." but not past a sentence's end ("from Florida. Currently").
_NOT_AFTER_SENTENCE_END = r"(?<![a-z]{3}\.)"
# A word of a place name, in any case, that is not a function word ("Holy Cross with fever").
_FUNCTION = (
    r"(?:and|or|with|for|to|at|on|in|of|the|a|an|this|that|today|tonight|tonite|tonoc|tomorrow|"
    r"yesterday|when|if|after|before|via|by|w|s/p|per|until|once|as|so|but|then|now|am|pm|hosp|er|ed|"
    r"from|is|are|was|were|be|been|has|had|have|will|would|not|following|while|during|because|"
    r"due|noon|midnight|night|morning|evening|afternoon|"
    # Relative time in lower case only: "from Tampa last week" ends at "Tampa", while a
    # Title-Case place that starts with one of these words ("Last Chance") is still a place.
    r"(?-i:last|next|overnight|earlier|ago|recently|originally|weekend|(?:day|week|month|year)s?))"
)
# Verbs of going to, coming from or being treated at a place.
_MOVEMENT = (
    r"(?:went|go|goes|going|gone|return|returns|returned|returning|transfer|transferred|"
    r"transfered|transferring|transported|sent|admitted|discharged|presented|presenting|"
    r"followed|seen|treated|transplant|transplanted|flown|flighted|taken|brought|came|come|"
    r"coming|arrived|moved|c/o)"
)
# Not "ADMITTED IN TRANSFER FROM ...": a place word is no function word or movement verb.
_PLACE_WORD = rf"(?!(?:{_FUNCTION}|{_MOVEMENT})\b)[A-Za-z][A-Za-z'\-]+"


# A word of a facility's name: capitalised, and not "TRANSFER FROM" in an ALL-CAPS note.
_FACILITY_NAME_WORD = (
    rf"\b(?-i:(?=[A-Z]))(?!(?i:{_FUNCTION}|{_MOVEMENT}|yo|male|female|man|woman)\b){_CAPS}"
)


@register
class StreetAddressRecognizer(ClinicalPatternRecognizer):
    ENTITY = "LOCATION"
    PATTERNS = [
        Pattern(
            "number + street + suffix",
            rf"\b\d{{1,6}}[A-Z]?\s+(?:[NSEW]\.?\s+)?(?:(?-i:[A-Z][a-z'.\-]+|\d+(?:st|nd|rd|th))\s+){{1,4}}"
            rf"(?-i:(?=[A-Z][a-z])){_SUFFIX}\b\.?"
            r"(?:,?\s*(?:apt|apartment|suite|ste|unit|#|room|rm)\.?\s*#?\s*[\w\-]+)?",
            0.75,
        ),
        Pattern(
            "number + capitalised words before a comma",
            r"(?-i:\b\d{1,6}[ \t]+(?:[A-Z][a-z]+[ \t]+){1,3}?[A-Z][a-z]+"
            r"(?:[ \t]+(?:Apt|Suite|Unit|Ste)\.?[ \t]*#?\d+)?)(?=,)",
            0.6,
        ),
        Pattern("po box", r"\bp\.?\s?o\.?\s+box\s+\d+\b", 0.9),
        Pattern(
            "apartment or suite", r"\b(?:apt|apartment|suite|ste)\.?[ \t]*#?[ \t]*\d+[A-Z]?\b", 0.6
        ),
        # US military mail: "PSC 0413, Box 8144", "APO AE 09012", "USNS Comfort".
        Pattern("military mail", r"(?-i:\b(?:PSC|Unit)[ \t]+\d{4},?[ \t]+Box[ \t]+\d{4}\b)", 0.8),
        Pattern(
            "military post office", r"(?-i:\b(?:APO|FPO|DPO)[ \t]+(?:AA|AE|AP)[ \t]+\d{5}\b)", 0.8
        ),
        Pattern("ship", r"(?-i:\b(?:USNS|USNV|USS|USCGC)[ \t]+[A-Z][a-z]+)", 0.7),
    ]
    CONTEXT = ["address", "lives", "resides", "home", "street"]


@register
class HouseNumberLastRecognizer(ClinicalPatternRecognizer):
    """Street addresses in European order, house number last: "28245 Puruntie 82", "86036 Rua
    do Arenque 1634". Lab values have the same shape ("110 Temp 38"), so the street words must
    not be ordinary or clinical words."""

    ENTITY = "LOCATION"
    CASE_SENSITIVE = True
    _NAME = r"\p{Lu}\p{Ll}[\p{L}'\-]*"
    PATTERNS = [
        Pattern(
            "postcode or number + street + house number",
            rf"(?<![\d.\-])\b\d{{3,6}}[ \t]+{_NAME}"
            rf"(?:[ \t]+(?:d[aeo]s?|de la|van|von|{_NAME})){{0,3}}"
            r"[ \t]+\d{1,5}\b(?![.\-/]?\d)(?![ \t]*(?:mg|mcg|g|units?|cc|ml|%|mmhg))",
            0.5,
        )
    ]

    def invalidate_result(self, pattern_text: str) -> bool | None:
        street = [
            w for w in lexicon.words(pattern_text) if w not in {"da", "de", "do", "dos", "la"}
        ]
        return all(w in lexicon.common_words() for w in street)


@register
class CityStateZipRecognizer(ClinicalPatternRecognizer):
    ENTITY = "LOCATION"
    PATTERNS = [
        Pattern(
            "city before state",
            rf"(?-i:\b[A-Z][a-z'.\-]+(?:[ \t]+[A-Z][a-z'.\-]+){{0,2}})"
            rf"(?=(?:,[ \t]*{_STATES}\b(?:[ \t]+\d{{5}}|[ \t]*$)|[ \t]+{_STATES}[ \t]+\d{{5}}))",
            0.7,
        ),
        Pattern("zip after state", rf"(?<=\b{_STATES},?[ \t]+)\d{{5}}(?:-\d{{4}})?\b", 0.9),
        Pattern("zip labelled", r"(?<=\bzip(?: code)?\s*[:#]?\s*)\d{5}(?:-\d{4})?\b", 0.9),
        Pattern(
            "town after lives in",
            rf"(?<=\b(?:lives in|resides in|from|moved to|native of|home in)\s+)"
            rf"{_TITLE_CASE}(?:{_NOT_AFTER_SENTENCE_END}\s+{_TITLE_CASE})?",
            0.4,
        ),
        # Any case (ALL-CAPS and lower-case notes); ordinary words are dropped by the engine.
        Pattern(
            "place after a living or working cue",
            # "works for" names an employer; "stay for inotropy" is no place
            r"(?<=\b(?:(?:lives?|living|lived|resides?|stays?|staying|vacationing|visiting|born|"
            r"raised|grew up|shelter|church|business|bakery|store|shop)\s+(?:in|at|near|@)|"
            r"(?:works?|worked|working)\s+(?:in|at|for|near|@))\s+(?:the\s+)?)"
            r"[A-Za-z][A-Za-z'\-]+(?:[ \t]+[A-Za-z][A-Za-z'\-]+)?",
            0.5,
        ),
    ]
    CONTEXT = ["city", "town", "lives", "resides", "address", "zip"]


@register
class FacilityRecognizer(ClinicalPatternRecognizer):
    ENTITY = "LOCATION"
    PATTERNS = [
        CuedPattern(
            "named facility",
            rf"(?:(?:st\.?|saint)\s+)?{_FACILITY_NAME_WORD}(?:\s+{_FACILITY_NAME_WORD}){{0,3}}"
            rf"\s+{_FACILITY}\b",
            0.8,
            cue=_FACILITY_CUE,
        ),
        # "HARFORD MEMORIAL", "North Campus": the last word belongs to the name.
        CuedPattern(
            "name + memorial or campus",
            rf"{_FACILITY_NAME_WORD}(?:\s+{_FACILITY_NAME_WORD}){{0,2}}\s+(?:memorial|campus)\b",
            0.8,
            cue=r"\b(?:memorial|campus)\b",
        ),
        # "i'm at the general hospital": a generic name is still the place, in any case.
        Pattern(
            "generic name + hospital (any case)",
            r"\b(?:general|memorial|community|regional|county|city)[ \t]+"
            r"(?:hospital|hosp|medical center)\b",
            0.6,
        ),
        CuedPattern(
            "one word + facility (any case)",
            rf"\b[A-Za-z'\-]{{3,}}(?=\s+{_FACILITY}\b)",
            0.5,
            cue=_FACILITY_CUE,
        ),
        CuedPattern(
            "ward or building + number",
            rf"(?<=\b{_TRANSFER_VERB}\s+(?:(?:to|from)\s+)?(?:the\s+)?)"
            r"[A-Za-z][A-Za-z'\-]+(?=[ \t]*\d)",
            0.5,
            cue=rf"\b{_TRANSFER_VERB}\s",
        ),
        # A plan names where the patient goes: "PLAN: FARR 10 WHEN BED AVAIL", "plan: farr 10
        # this am"; not a dose or a setting ("plan: ativan 2 mg", "PLAN: WEAN 2 PS").
        CuedPattern(
            "ward or building + number in a plan",
            r"\bplan:[ \t]*\K[A-Za-z][A-Za-z'\-]+(?=[ \t]+\d{1,2}[ \t]*"
            r"(?:$|[.,;]|(?:when|this|today|tomorrow|tonight|once|if|after)\b))",
            0.5,
            cue=r"\bplan:",
        ),
        # Any case (ALL-CAPS and lower-case notes): "WENT TO HOLY CROSS", "back to holy cross",
        # "returned to new haven". Weak: ordinary words ("went to the bathroom") are dropped.
        Pattern(
            "place after a movement verb (any case)",
            # (cheap checks first: a word start after a space, then the cue)
            rf"\b(?=[A-Za-z])(?<=\s)(?<=\b{_MOVEMENT}\s+(?:(?:back|home|today|tonight|tomorrow|in|over|him|her|them|pt)\s+)?"
            rf"(?:to|at|from|in|@)\s+(?:the\s+)?(?:\d{{1,4}}[ \t]+)?)"
            r"(?<!\bbrought\s+in\s+(?:the\s+)?)"  # "brought in steak": things, not places
            rf"(?:(?-i:[A-Z])\.?[ \t]+)?{_PLACE_WORD}(?:[ \t]+{_PLACE_WORD}){{0,2}}",
            0.45,
        ),
        # "St Mary's", "ST. JOSEPH'S": a saint's name is a hospital, church or town.
        Pattern(
            "saint + name",
            r"(?-i:\b(?:St|ST|Saint|SAINT)\.?[ \t]+[A-Z][a-z]+(?:'s)?)",
            0.6,
        ),
        Pattern(
            "transfer from/to named place",
            rf"(?<=\b(?:transferred|transfer|transported|sent|admitted|discharged|came|seen|"
            rf"returned)\s+(?:from|to|at)\s+(?:the\s+)?){_TITLE_CASE}"
            rf"(?:{_NOT_AFTER_SENTENCE_END}\s+{_TITLE_CASE}){{0,2}}",
            0.5,
        ),
    ]
    CONTEXT = ["hospital", "transfer", "transferred", "from", "admitted", "clinic"]


@register
class FacilityAcronymRecognizer(ClinicalPatternRecognizer):
    """ "GH", "BIDMC", "VAMC": hospital acronyms, found by their form, so kept even when the
    letters are also an ordinary abbreviation."""

    ENTITY = "LOCATION"
    CASE_SENSITIVE = True
    PATTERNS = [
        Pattern("facility acronym", r"\b(?:[A-Z]{1,4}MC|[A-Z]{0,3}GH|VAMC|VAH)\b", 0.55),
        # Lower-case notes ("followed at gh", "enroute to gh er"): only after a preposition.
        Pattern(
            "facility acronym after a preposition",
            r"(?i:(?<=\b(?:at|to|from|@)\s+)(?:[a-z]{0,3}gh|[a-z]{1,4}mc|vamc|vah)\b)",
            0.55,
        ),
        # "admitted from MD Hospital": a state's code names the hospital (kept by its form;
        # scored above the facility pattern that finds the same span, so this one is kept).
        Pattern(
            "state code + facility",
            rf"\b(?={_STATE_CODES_NOT_WORDS}[ \t])(?i:(?<=\b(?:from|at|to|@)[ \t]+))"
            rf"{_STATE_CODES_NOT_WORDS}[ \t]+(?i:{_FACILITY})\b",
            0.85,
        ),
        # "U Maryland ER", "Univ. of Michigan": a state university's hospital.
        Pattern(
            "state university",
            rf"\b(?:U|UNIV|Univ|University|UNIVERSITY)\.?(?:[ \t]+(?:of|OF|Of))?[ \t]+"
            rf"(?i:{_STATE_NAMES})\b",
            0.6,
        ),
    ]
    CONTEXT = ["transferred", "admitted", "at", "to"]

    def invalidate_result(self, pattern_text: str) -> bool | None:
        # "COUGH", "HIGH" end in GH: longer matches must not be ordinary words.
        return len(pattern_text) > 3 and pattern_text.lower() in lexicon.common_words()
