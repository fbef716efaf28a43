"""Replacing detected PHI with consistent surrogates (or type tags), with presidio-anonymizer.

- Surrogates are derived from HMAC-SHA256(key, patient id | type | normalised value): the same
  real value always maps to the same fake within a patient, across notes, and differs between
  patients. No mapping table exists, so none can leak; without the key the surrogates cannot be
  linked back.
- Dates move by one per-patient offset (HMAC of the patient id: 30..395 days earlier), which
  keeps intervals between a patient's dates; the output keeps the input's format. Partial dates
  ("7/22", "May 3") shift the same way; weekday names and holidays, which cannot be shifted
  without implying a date, become "[DATE]".
- Ages over 89 become "90+".
- `mode="redact"` replaces every span with its type tag, e.g. "[NAME]".
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import random
import re
from collections.abc import Sequence
from typing import Literal

from faker import Faker
from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import OperatorConfig, RecognizerResult

from governance.deid.engine import Detection

Mode = Literal["surrogate", "redact"]
_KEPT_WORDS = {
    "hospital",
    "medical",
    "center",
    "clinic",
    "health",
    "nursing",
    "home",
    "care",
    "memorial",
    "general",
    "community",
    "urgent",
    "infirmary",
    "hospice",
    "rehab",
}

_DATE_FORMATS = (
    "%m/%d/%Y",
    "%m/%d/%y",
    "%m-%d-%Y",
    "%m-%d-%y",
    "%Y-%m-%d",
    "%B %d, %Y",
    "%b %d, %Y",
    "%d %b %Y",
    "%d %B %Y",
    "%B %d %Y",
    "%b. %d, %Y",
)
_PARTIAL_FORMATS = ("%m/%d", "%m-%d", "%B %d", "%b %d", "%d %B", "%d %b")
_REFERENCE_YEAR = 2001  # a non-leap year for month/day-only dates
_FACILITY_WORDS = re.compile(
    r"\b(hospital|medical center|clinic|health center|nursing home|rehab\w*|urgent care|"
    r"infirmary|hospice|care center|memorial|general|community)\b",
    re.IGNORECASE,
)


class Surrogates:
    """Deterministic fake values for one key; `value(...)` is pure in its arguments."""

    def __init__(self, key: bytes):
        if len(key) < 16:
            raise ValueError("de-identification key must be at least 16 bytes")
        self._key = key

    def _digest(self, *parts: str) -> bytes:
        return hmac.new(self._key, "\x1f".join(parts).encode(), hashlib.sha256).digest()

    def _rng(self, *parts: str) -> random.Random:
        return random.Random(int.from_bytes(self._digest(*parts)[:8], "big"))

    def _faker(self, *parts: str) -> Faker:
        fake = Faker("en_US")
        fake.seed_instance(int.from_bytes(self._digest(*parts)[:8], "big"))
        return fake

    def date_offset_days(self, patient_id: str) -> int:
        return 30 + int.from_bytes(self._digest(patient_id, "date-shift")[:4], "big") % 366

    @staticmethod
    def _match_case(original: str, fake: str) -> str:
        if original.isupper():
            return fake.upper()
        if original.islower():
            return fake.lower()
        return fake

    def _shape(self, value: str, rng: random.Random) -> str:
        """Same shape: digits -> random digits, letters -> random letters, rest kept."""
        out = []
        for ch in value:
            if ch.isdigit():
                out.append(str(rng.randrange(10)))
            elif ch.isalpha():
                letter = chr(ord("a") + rng.randrange(26))
                out.append(letter.upper() if ch.isupper() else letter)
            else:
                out.append(ch)
        return "".join(out)

    def shift_date(self, value: str, patient_id: str) -> str:
        delta = dt.timedelta(days=-self.date_offset_days(patient_id))
        cleaned = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", value.strip())
        cleaned = re.sub(r"\s+of\s+", " ", cleaned)
        for fmt in _DATE_FORMATS:
            try:
                return (dt.datetime.strptime(cleaned, fmt) + delta).strftime(fmt)
            except ValueError:
                continue
        for fmt in _PARTIAL_FORMATS:
            try:
                parsed = dt.datetime.strptime(f"{cleaned} {_REFERENCE_YEAR}", f"{fmt} %Y")
            except ValueError:
                continue
            return (parsed + delta).strftime(fmt)
        return "[DATE]"

    def value(
        self, entity: str, original: str, patient_id: str, forbidden: frozenset[str] = frozenset()
    ) -> str:
        """Surrogate for `original`. Words in `forbidden` (the note's real PHI words) never
        appear in a name or place surrogate."""
        norm = " ".join(original.lower().split())
        rng = self._rng(patient_id, entity, norm)
        if entity == "DATE":
            return self.shift_date(original, patient_id)
        if entity == "AGE":
            return "90+"
        if entity in ("NAME", "LOCATION"):
            # Re-draw while a fake word equals a real one (common surnames collide).
            originals = {w.lower() for w in re.findall(r"[A-Za-z']+", original)} | forbidden
            for attempt in range(20):
                fake = self._faker(patient_id, entity, norm, str(attempt))
                candidate = self._name_or_place(entity, original, fake, rng)
                words = {w.lower() for w in re.findall(r"[A-Za-z']+", candidate)}
                if not (words & originals) - _KEPT_WORDS:
                    return candidate
            return f"[{entity}]"
        if entity == "EMAIL":
            return f"{self._faker(patient_id, entity, norm).user_name()}@example.org"
        if entity == "URL":
            return f"https://example.org/{self._shape('xxxxxxxx', rng)}"
        if entity == "IP_ADDRESS":
            return f"192.0.2.{rng.randrange(1, 255)}"  # TEST-NET-1, never routable
        # PHONE, FAX and every numbered identifier keep their shape only.
        return self._shape(original, rng)

    def _name_or_place(self, entity: str, original: str, fake: Faker, rng: random.Random) -> str:
        if entity == "NAME":
            words = original.split()
            fakes = [fake.first_name() for _ in words[:-1]] + [fake.last_name()]
            return " ".join(self._match_case(w, f) for w, f in zip(words, fakes, strict=True))
        facility = _FACILITY_WORDS.search(original)
        if facility:
            return self._match_case(original, f"{fake.last_name()} {facility.group(0)}")
        if original[:1].isdigit() and not original.strip().isdigit():
            return fake.street_address()
        if any(c.isdigit() for c in original):
            return self._shape(original, rng)
        return self._match_case(original, fake.city())


class Anonymizer:
    """Applies surrogates or redaction to detected spans with presidio-anonymizer."""

    def __init__(self, key: bytes, mode: Mode = "surrogate"):
        self.mode = mode
        self.surrogates = Surrogates(key)
        self.engine = AnonymizerEngine()

    def anonymize(self, text: str, detections: Sequence[Detection], patient_id: str) -> str:
        if not detections:
            return text
        results = [RecognizerResult(d.type, d.start, d.end, d.score) for d in detections]
        forbidden = frozenset(
            w.lower()
            for d in detections
            if d.type in ("NAME", "LOCATION")
            for w in re.findall(r"[A-Za-z']+", text[d.start : d.end])
        )
        operators = {}
        for entity in {d.type for d in detections}:
            if self.mode == "redact":
                operators[entity] = OperatorConfig("replace", {"new_value": f"[{entity}]"})
            else:
                operators[entity] = OperatorConfig(
                    "custom",
                    {
                        "lambda": lambda v, e=entity: self.surrogates.value(
                            e, v, patient_id, forbidden
                        )
                    },
                )
        return self.engine.anonymize(text=text, analyzer_results=results, operators=operators).text
