"""Every date element but the year: full and partial dates ("7/22", "3rd of May", "May 3"),
weekdays ("last Tuesday") and holidays. A bare year is not PHI under Safe Harbor."""

from presidio_analyzer import Pattern

from governance.deid.recognizers.base import ClinicalPatternRecognizer, register

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|(?-i:May)|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_DAY = r"(?:0?[1-9]|[12]\d|3[01])"
_MON_NUM = r"(?:0?[1-9]|1[0-2])"
_ORD = r"(?:st|nd|rd|th)?"
# "3/10" after "pain", "rated" etc. is a score, not March 10: a score is out of 4 (grade,
# reflexes), 5 (strength), 6 (murmur) or 10 (pain); "PAIN FREE ... 11/22" is a date.
_NOT_A_SCORE = (
    r"(?:(?<!\b(?:pain|intensity|scale|score|severity|rated?|rates|level|swelling|itching|"
    r"onset|sudden|pinpoint|diffuse|strength|power|murmur|grade|cp|c/o|discomfort|pressure|"
    r"headache|ha)\b[^\n]{0,25})|(?=\d{1,2}/(?!(?:0?[456]|10)\b)\d))"
    # ventilator settings ("PS 12/5", "PS - 5/5", "CPAP/PS of 10/5") and fluids ("D5 1/2 NS")
    r"(?<!\b(?:ps|psv|peep|cpap|bipap|simv|imv|ac|vent|ventilator|ips|d5|d5w)"
    r"(?:[ \t:\-]|\bof\b)*)"
    r"(?<!%[ \t,&]{0,4})"  # "50% 8/5", "40%, & 5/8": FiO2, then pressures
    r"(?<!\b\d-)"  # a range of values: "co/ci 5-6/3-4", "3-4/10"
    r"(?<!\d')"  # a list of values: "(70-80'2/30-40's)"
    r"(?<!\b(?:up|q)[ \t]+)"  # a fraction: "rales up 1/4", "suction q 1/2-1 hrs"
)
# Not a date when a fraction or setting follows ("1/2 NS", "1/3 up", "10/5/40%", "5/5 PEEP",
# "10/25 50%").
_NOT_AN_AMOUNT = (
    r"(?![ \t]*(?:%|ns\b|amp\b|strength\b|up\b|way\b|tab|bilat|of\b|hours?\b|hrs?\b|cp\b|"
    r"pain|chest|headache|peep\b|ips\b|ps\b|cpap\b|abg\b|\d{1,3}[ \t]*%|"
    r"l\b|lpm\b|liters?\b|mg\b|mcg\b|units?\b|cc\b|ml\b|x\b|times\b|days?\b|min\b))"
)
# A month number and a slash start here: checked before the costly look-behinds of
# `_NOT_A_SCORE`, which would otherwise run at every character of the note.
_DATE_STARTS = r"(?=\d{1,2}/)"
_COMMON_FRACTION = r"(?:1/[234]|2/[34]|3/4)\b"
_WEEKDAY = r"(?:mon|tues|wednes|thurs|fri|satur|sun)day"  # "sat", "sun" are not dates
# Events a history line dates with a two-digit year: "PMH: NQWMI 13.", "09 PTCA", "CABG in 98".
_DATED_EVENT = (
    r"(?:ptca|pci|cabg|stents?|stented|mi|nqwmi|nstemi|stemi|ami|imi|cath|cva|tia|dvt|pe|chf|"
    r"avr|mvr|aicd|icd|ppm)"
)
_HISTORY_LINE = (
    r"(?<=\b(?:pmh|pmhx|psh|hx|past medical history|past surgical history)\b[^\n]{0,300})"
)
_NOT_A_QUANTITY = (
    r"(?![ \t]*(?:%|/|(?:mm|mg|cm|x|units?|y|yrs?|years?|days?|wks?|weeks?|mos?|months?)\b))"
)


@register
class ClinicalDateRecognizer(ClinicalPatternRecognizer):
    ENTITY = "DATE"
    PATTERNS = [
        # One separator throughout, and no decimal or ratio around it ("CO/CI 5.8/2.71").
        Pattern(
            "m/d/y",
            rf"(?<![\d.]|\d[/.])\b{_MON_NUM}([/\-.]){_DAY}\1(?:19|20)?\d{{2}}\b(?![/.]?\d)"
            rf"{_NOT_AN_AMOUNT}",
            0.9,
        ),
        # A common fraction ("BP DROP 1/2", "CX 1/3") is a date only after a date cue (below).
        Pattern(
            "m/d",
            rf"{_DATE_STARTS}(?!{_COMMON_FRACTION}){_NOT_A_SCORE}(?<![\d/.]|\b\d[ \t])"
            rf"\b{_MON_NUM}/{_DAY}\b(?![/\d]|\.\d){_NOT_AN_AMOUNT}",
            0.6,
        ),
        # A date cue outweighs a nearby score word ("c/o on 9/16 was ...").
        Pattern(
            "m/d after a date cue",
            rf"(?<=\b(?:on|since|until|from|dated|thru|through)[ \t]+){_MON_NUM}/{_DAY}\b"
            rf"(?![/\d]|\.\d){_NOT_AN_AMOUNT}",  # not "on 1/4 NS", "from 5/5 IPS"
            0.6,
        ),
        Pattern("two dates m/d/m/d", rf"\b{_MON_NUM}/{_DAY}/{_MON_NUM}/{_DAY}\b(?![/\d])", 0.6),
        Pattern(
            "m-d after on",
            rf"(?<=\b(?:on|since|until|from)\s+){_MON_NUM}-{_DAY}\b(?![-\d]){_NOT_AN_AMOUNT}"
            r"(?![ \t]+[a-z]{3,}s\b)",  # a count of things: "on 1-2 pillows"
            0.5,
        ),
        Pattern(
            "month alone",
            rf"(?<=\b(?:in|since|until|early|late|mid|during|by|last|next|this|of)\s+)"
            rf"{_MONTH}\b\.?",
            0.5,
        ),
        Pattern(
            "m/yy",
            rf"{_DATE_STARTS}{_NOT_A_SCORE}(?<![\d/.])\b{_MON_NUM}/(?:19|20)?\d{{2}}\b(?![/\d]|\.\d)"
            rf"{_NOT_AN_AMOUNT}",
            0.5,
        ),
        Pattern(
            "iso",
            r"\b(?:19|20)\d{2}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])"
            r"(?:[ T]\d{2}:\d{2}(?::\d{2})?)?\b",  # with its time of day, if any
            0.95,
        ),
        Pattern(
            "month d, y",
            rf"\b{_MONTH}\.?\s+{_DAY}{_ORD}(?:,?\s+(?:19|20)\d{{2}})?\b",
            0.85,
        ),
        Pattern(
            "d month y",
            rf"\b{_DAY}{_ORD}(?:\s+of)?\s+{_MONTH}\.?(?:,?\s+(?:19|20)\d{{2}})?\b"
            r"(?![ \t]*(?:from|to|by|with|->)\b)",  # "O2 dec from 4 to 2": decreased
            0.85,
        ),
        Pattern("month y", rf"\b{_MONTH}\.?\s+(?:of\s+)?(?:19|20)\d{{2}}\b", 0.7),
        # A two-digit year with an apostrophe ("'09 PTCA", "AAA repair in 14'"): PhysioNet
        # and most de-id guidelines treat it as a date element, not a bare four-digit year.
        Pattern(
            "apostrophe year",
            r"(?<![\w'])'\d{2}\b(?!')"
            # trailing apostrophe only after a time cue: "HOB 30'" is thirty degrees
            r"|(?<=\b(?:in|since|until|from|of|smoking|quit|stopped)[ \t]+)\d{2}'(?![\w'])",
            0.5,
        ),
        # On a history line, a two-digit number beside a procedure or event is its year.
        Pattern(
            "two-digit year beside a history event",
            # (cheap check first: two digits here; then the event and the history line)
            rf"\b(?=\d{{2}}\b)(?:\d{{2}}(?=[ \t]+{_DATED_EVENT}\b)"
            rf"|(?<=\b{_DATED_EVENT}[ \t]+(?:in[ \t]+)?)\d{{2}}\b)"
            rf"{_NOT_A_QUANTITY}{_HISTORY_LINE}",
            0.5,
        ),
        # "last Tuesday"; prepositions are not part of the date ("HOME ON MONDAY").
        Pattern("weekday", rf"\b(?:(?:last|next|this)\s+)?{_WEEKDAY}\b", 0.5),
        Pattern(
            "holiday",
            r"\b(?:christmas|xmas|thanksgiving|easter|new year'?s(?: day| eve)?|"
            r"labor day|memorial day|independence day|halloween|valentine'?s day)\b",
            0.5,
        ),
        Pattern(
            "day ordinal",
            rf"(?<=\b(?:on|the|since)\s+(?:the\s+)?){_DAY}(?:st|nd|rd|th)\b"
            r"(?=[ \t]*(?:[,.;:)\n]|$|of\b|at\b|and\b|in\b|when\b))",  # not "the 4th ventricle"
            0.5,
        ),
    ]
    CONTEXT = ["date", "dob", "born", "admitted", "discharged", "seen", "on", "since"]


@register
class AgeOver89Recognizer(ClinicalPatternRecognizer):
    """Ages over 89 are identifiers (Safe Harbor); they are collapsed to "90+"."""

    ENTITY = "AGE"
    PATTERNS = [
        Pattern(
            "age + unit",
            r"\b(?:9\d|1[0-4]\d)(?=\s*-?\s*(?:y/?o\b|yo\b|yrs?\b|years?\b|year-old|-year|y\.o\.))",
            0.9,
        ),
        Pattern("age label", r"(?<=\b(?:age|aged|age:)\s*)(?:9\d|1[0-4]\d)\b", 0.9),
    ]
    CONTEXT = ["age", "old", "yo", "years"]
