"""Telephone and fax numbers, e-mail addresses, URLs and IP addresses."""

from presidio_analyzer import Pattern

from governance.deid.recognizers.base import ClinicalPatternRecognizer, register

_NANP = r"(?:\+?1[\s.\-]?)?\(?\d{3}\)?[\s.\-]?\d{3}[\s.\-]\d{4}"
_CONTACT_WORDS = (
    r"(?:phone|tel|telephone|cell|mobile|home|work|pager|beeper|page|call|number|#|ph|contact)"
)


@register
class PhoneNumberRecognizer(ClinicalPatternRecognizer):
    ENTITY = "PHONE"
    PATTERNS = [
        Pattern("NANP", rf"(?<![\d\-])(?<!fax\W{{0,4}}){_NANP}(?![\d\-])", 0.8),
        Pattern(
            "10 digits", r"(?<![\d\-])\(?\d{3}\)?[ \t\-.]?\d{3}[ \t\-.]?\d{4}\)?(?![\d\-])", 0.5
        ),
        # not a volume range ("800-1000cc")
        Pattern("7 digits", r"(?<![\d\-/.])\d{3}[\-\s.]\d{4}(?![\d\-/.]|[A-Za-z])", 0.5),
        Pattern(
            "number after a contact word",
            rf"(?<=\b{_CONTACT_WORDS}\b[^\n\d]{{0,12}})\d[\d\-\s.()]{{5,14}}\d",
            0.7,
        ),
        Pattern("extension", r"(?<=\b(?:x|ext\.?)\s?)\d{3,6}\b", 0.6),
    ]
    CONTEXT = ["phone", "tel", "cell", "pager", "call", "number", "contact"]


@register
class InternationalPhoneRecognizer(ClinicalPatternRecognizer):
    """Numbers outside the North American plan: "+46 (0)8 928 571 38", "0688 872 49 99" after
    "mobile:" or "messages to", "416 60 039 office". Seven to fifteen digits (ITU E.164)."""

    ENTITY = "PHONE"
    _GROUPS = r"\(?\d{1,8}\)?(?:[ \-.]{1,2}\(?\d{1,8}\)?){1,6}"
    PATTERNS = [
        Pattern(
            "country code",
            rf"(?<![\w+])\+\d{{1,3}}[ \-.]?(?:\(0\)[ ]?)?(?:{_GROUPS}|\d{{6,12}})(?![\d])",
            0.75,
        ),
        Pattern(
            "digit groups after a contact cue",
            r"(?<=\b(?:phone|tel|telephone|mobile|cell|desk|office|fax|whatsapp|messages to|"
            r"reached at|answering at|text me at|call me at|registered)\b[^\d\n]{0,6}\n?[ \t]*)"
            rf"(?:{_GROUPS}|\d{{7,15}})"
            r"(?![\d])",
            0.7,
        ),
        Pattern(
            "digit groups before a phone type",
            rf"(?<![\w+])(?:{_GROUPS}|\d{{7,15}})"
            r"(?=[ \t\-]*(?:office|fax|mobile|cell|home|work)\b)",
            0.6,
        ),
    ]
    CONTEXT = ["phone", "mobile", "tel", "fax", "office"]

    def validate_result(self, pattern_text: str) -> bool | None:
        digits = sum(c.isdigit() for c in pattern_text)
        return 7 <= digits <= 15


@register
class FaxRecognizer(ClinicalPatternRecognizer):
    ENTITY = "FAX"
    PATTERNS = [Pattern("fax", rf"(?<=\bfax\b[^\n\d]{{0,10}}){_NANP}", 0.9)]
    CONTEXT = ["fax"]


@register
class EmailAddressRecognizer(ClinicalPatternRecognizer):
    ENTITY = "EMAIL"
    PATTERNS = [Pattern("email", r"\b[\w.%+\-]+@[\w\-]+(?:\.[\w\-]+)+\b", 0.95)]


@register
class WebAddressRecognizer(ClinicalPatternRecognizer):
    ENTITY = "URL"
    PATTERNS = [
        Pattern("scheme", r"\b(?:https?|ftp)://[^\s<>\"']+", 0.95),
        Pattern("www", r"\bwww\.[\w\-]+(?:\.[\w\-]+)+[^\s<>\"']*", 0.9),
        Pattern(
            "bare domain",
            r"\b[\w\-]+(?:\.[\w\-]+)*\.(?:com|org|net|edu|gov|io|info|biz|us|uk|ca)\b(?:/[^\s]*)?",
            0.5,
        ),
    ]


@register
class IpAddressRecognizer(ClinicalPatternRecognizer):
    ENTITY = "IP_ADDRESS"
    PATTERNS = [
        Pattern(
            "ipv4",
            r"\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b",
            0.8,
        ),
        Pattern(
            "ipv6",
            r"\b(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}\b|\b(?:[0-9a-f]{1,4}:){1,7}:(?:[0-9a-f]{1,4})?\b",
            0.8,
        ),
    ]
