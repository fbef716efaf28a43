"""One recognizer class per identifier kind; importing this package registers them all."""

from governance.deid.recognizers import contact, dates, identifiers, locations, names
from governance.deid.recognizers.base import RECOGNIZERS, ClinicalPatternRecognizer, register

__all__ = [
    "RECOGNIZERS",
    "ClinicalPatternRecognizer",
    "register",
    "contact",
    "dates",
    "identifiers",
    "locations",
    "names",
]
