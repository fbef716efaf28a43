"""Numbered identifiers: SSN, MRN, health plan, account, certificate/licence, vehicle, device and
other unique ids. Numbers are only taken as identifiers next to the label that names them, except
formats that are unambiguous on their own (SSN, VIN)."""

from presidio_analyzer import Pattern

from governance.deid.recognizers.base import ClinicalPatternRecognizer, register

_SEP = r"\s*(?:no\.?|num(?:ber)?|#|id)?\s*[:#]?\s*"
_ID = r"[A-Z0-9][A-Z0-9\-]{3,24}"


def _labelled(label: str, digits: int = 1) -> str:
    """An id (containing at least `digits` digits) right after `label`. The label is matched
    first and `\\K` drops it from the span: a scan for the label is faster on notes than a
    digit look-ahead plus a look-behind at every word."""
    return rf"\b{label}{_SEP}\K(?=(?:[A-Z\-]*\d){{{digits}}}){_ID}\b"


@register
class SsnRecognizer(ClinicalPatternRecognizer):
    ENTITY = "SSN"
    PATTERNS = [
        Pattern("ssn dashed", r"\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b", 0.85),
        Pattern(
            "ssn labelled",
            r"(?<=\b(?:ssn|social security(?: number| no\.?)?)\s*[:#]?\s*)\d[\d\- ]{7,10}\d",
            0.95,
        ),
    ]
    CONTEXT = ["ssn", "social"]


@register
class MrnRecognizer(ClinicalPatternRecognizer):
    ENTITY = "MRN"
    PATTERNS = [
        Pattern(
            "mrn labelled",
            _labelled(
                r"(?:mrn|mr|medical record|med rec|record|unit|hospital|chart|patient id|pt id)"
            ),
            0.9,
        ),
    ]
    CONTEXT = ["mrn", "record", "chart"]


@register
class HealthPlanRecognizer(ClinicalPatternRecognizer):
    ENTITY = "HEALTH_PLAN"
    PATTERNS = [
        Pattern(
            "plan labelled",
            _labelled(
                r"(?:member|policy|insurance(?: member)?|health plan|plan|medicaid|medicare|"
                r"subscriber|group|beneficiary|insurance member)"
            ),
            0.9,
        ),
    ]


@register
class AccountRecognizer(ClinicalPatternRecognizer):
    ENTITY = "ACCOUNT"
    PATTERNS = [
        Pattern(
            "account labelled",
            _labelled(r"(?:account|acct|billing|invoice|card|credit card|debit card)"),
            0.9,
        )
    ]


@register
class LicenseRecognizer(ClinicalPatternRecognizer):
    ENTITY = "LICENSE"
    PATTERNS = [
        Pattern(
            "licence labelled",
            _labelled(r"(?:licen[cs]e|lic\.?|certificate|cert\.?|dea|npi|driver'?s licen[cs]e|dl)"),
            0.9,
        ),
        Pattern("dea number", r"(?-i:\b[ABFGMPRX][A-Z]\d{7}\b)", 0.6),
    ]


@register
class VehicleRecognizer(ClinicalPatternRecognizer):
    ENTITY = "VEHICLE"
    PATTERNS = [
        Pattern(
            "vin",
            r"(?-i:\b(?=[A-HJ-NPR-Z0-9]*\d)(?=[A-HJ-NPR-Z0-9]*[A-Z])[A-HJ-NPR-Z0-9]{17}\b)",
            0.6,
        ),
        Pattern("plate labelled", _labelled(r"(?:licen[cs]e plate|plate|tag|vin|vehicle)"), 0.9),
    ]


@register
class DeviceRecognizer(ClinicalPatternRecognizer):
    ENTITY = "DEVICE"
    PATTERNS = [
        Pattern(
            "serial labelled",
            _labelled(r"(?:serial|s/n|sn|device|implant|udi|lot|model)"),
            0.85,
        ),
    ]


@register
class OtherIdRecognizer(ClinicalPatternRecognizer):
    ENTITY = "OTHER_ID"
    PATTERNS = [
        Pattern(
            "id labelled",
            _labelled(
                r"(?:identifier|ref(?:erence)?|case|study|specimen|accession|encounter|visit|"
                r"order|requisition)"
            ),
            0.7,
        ),
        # "ID:" also heads the infectious-disease section ("ID: TMAX-99, WBC 12.1").
        Pattern("id labelled ID", _labelled(r"id", digits=3), 0.7),
    ]


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


@register
class PaymentCardRecognizer(ClinicalPatternRecognizer):
    """Card numbers (13 to 19 digits, in groups or not), kept only when the Luhn check passes:
    an account number under Safe Harbor, found by its form."""

    ENTITY = "ACCOUNT"
    PATTERNS = [Pattern("card number", r"(?<![\d\-])\d(?:[ \-]?\d){12,18}(?![\d\-])", 0.6)]
    CONTEXT = ["card", "credit", "visa", "mastercard", "amex"]

    def validate_result(self, pattern_text: str) -> bool | None:
        digits = "".join(c for c in pattern_text if c.isdigit())
        return 13 <= len(digits) <= 19 and _luhn(digits)


@register
class BankIbanRecognizer(ClinicalPatternRecognizer):
    """International bank account numbers, kept only when the ISO 13616 mod-97 check passes."""

    ENTITY = "ACCOUNT"
    CASE_SENSITIVE = True
    PATTERNS = [
        Pattern("iban", r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,30}\b", 0.6),
    ]
    CONTEXT = ["iban", "bank", "account"]

    def validate_result(self, pattern_text: str) -> bool | None:
        code = pattern_text.replace(" ", "")
        rearranged = code[4:] + code[:4]
        number = "".join(str(int(c, 36)) for c in rearranged)
        return int(number) % 97 == 1
